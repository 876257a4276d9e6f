"""Untrusted text is made inert: no escapes, controls, bidi or invisible characters; markup literal."""

import re

from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from frontdesk.tui.safe import clean, clean_line, safe_text

FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\U000e0000-\U000e007f]"
)

# Text that is likely to hold escape sequences: pieces of real ones glued to anything.
PIECES = [
    "\x1b",
    "\x1b[",
    "\x1b]",
    "\x1bP",
    "\x1b_",
    "\x1b^",
    "\x1bX",
    "\x07",
    "\x1b\\",
    "\x9b",
    "\x9d",
    "\x9c",
    "2J",
    "31m",
    "52;c;SGVsbG8=",
    "0;title",
    "[bold]",
    "[/]",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    "\r",
    "\t",
    "\n",
    "日本語",
    "😀",
    "a",
    " ",
    ";",
    "m",
]
hostile = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=30).map(
    "".join
)


@given(hostile)
@example("\x1b]52;c;SGVsbG8=\x07after")
@example("\x1b]0;pwned\x1b\\x")
@example("\x1b[2J\x1b[31mred")
@example("\x1bPq#0;2;0;0;0\x1b\\")
def test_clean_output_holds_no_control_escape_bidi_or_invisible(text):
    out = clean(text)
    assert not FORBIDDEN.search(out), repr(out)
    assert "\x1b" not in out
    assert clean(out) == out  # idempotent


@given(hostile)
def test_clean_line_is_one_line(text):
    out = clean_line(text)
    assert "\n" not in out
    assert not FORBIDDEN.search(out)


@given(
    st.text(
        alphabet=st.characters(
            categories=["L", "N", "P", "S", "Zs"],
            exclude_characters="\u00a0\u3000\u2028\u2029\u0085",
        )
    )
)
def test_ordinary_text_passes_unchanged(text):
    # Format characters (Cf: bidi, zero-width) are excluded by the category filter.
    assert clean(text) == text


def test_escape_sequences_are_removed_with_their_payload():
    assert clean("a\x1b[2Jb") == "ab"
    assert clean("x\x1b]52;c;SGVsbG8=\x07y") == "xy"
    assert clean("x\x1b]0;evil title\x1b\\y") == "xy"
    assert clean("x\x1b]52;c;SGVsbG8=") == "x"  # unterminated: payload never shown
    assert clean("x\x1b_apc\x1b\\y") == "xy"
    assert clean("\x9b31mred") == "red"
    assert clean("lone\x1b") == "lone"


def test_controls_tabs_and_line_breaks():
    assert clean("a\tb") == "a    b"
    assert clean("a\r\nb\rc") == "a\nb\nc"
    assert clean("a\x00b\x08c\x7fd\x85e") == "abc" + "d\ne"
    assert clean("\u202eevil\u202c \u2066x\u2069 \u200bz\ufeff") == "evil x z"


def test_lone_surrogates_are_dropped():
    # legal in a channel's JSON ("\\ud800"), but writing one to the terminal raises
    assert clean("a\ud800b\udfffc") == "abc"
    assert clean("😀") == "😀"


def test_cjk_and_emoji_are_kept():
    assert clean("こんにちは 😀 Mia 🌸") == "こんにちは 😀 Mia 🌸"


@given(hostile)
def test_safe_text_keeps_markup_literal(text):
    rendered = safe_text(text)
    assert rendered.plain == clean(text)
    assert not rendered.spans


def test_safe_text_renders_markup_as_written():
    console = Console(width=80, record=True, color_system=None)
    console.print(safe_text("[bold]x[/bold] \x1b[2J"))
    assert console.export_text().rstrip("\n") == "[bold]x[/bold] "
    assert safe_text("a\nb", one_line=True).plain == "a b"
