"""Make untrusted text (anything a customer or a channel sent) inert before it reaches the screen.

`clean` removes terminal escape sequences, control characters, bidi overrides and
invisible characters; `safe_text` builds a Rich `Text` from the cleaned string without
parsing markup, so `[bold]` stays literal. Imports Rich only (no Textual).
"""

from __future__ import annotations

import re

from rich.style import StyleType
from rich.text import Text

TAB = "    "

# Escape sequences, 7-bit (ESC …) and 8-bit (C1) forms. A string introducer (OSC, DCS,
# SOS, PM, APC) swallows everything up to its terminator — BEL or ST — or the end of the
# text, like a terminal would: an unterminated OSC 52 must not leak its payload either.
_STRING_SEQ = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[\s\S]*?(?:\x07|\x1b\\|\x9c|$)"
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
_OTHER_ESC = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_ESCAPES = re.compile(f"{_STRING_SEQ}|{_CSI}|{_OTHER_ESC}")

# Characters dropped outright after the escape sequences are gone:
# C0 controls except \n (tab and CR are converted first), DEL, C1 controls,
# bidi embeddings/overrides/isolates and marks, zero-width and other invisible
# format characters, Unicode tag characters (used to smuggle hidden text), and lone
# surrogates (legal in a channel's JSON as "\\ud800"; no terminal can be sent one).
_DROP = re.compile(
    "["
    "\x00-\x09\x0b-\x1f\x7f"
    "\x80-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u200b-\u200d\u2060-\u2064\ufeff\u180e"
    "\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000e0000-\U000e007f"
    "]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """Return `text` with escape sequences, controls, bidi and invisible characters removed.

    Newlines are kept (CR LF, CR and Unicode line separators become `\\n`); a tab becomes
    four spaces. Printable text, CJK and emoji pass unchanged.
    """
    if not text:
        return ""
    text = _ESCAPES.sub("", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = text.replace("\t", TAB)
    return _DROP.sub("", text)


def clean_line(text: str) -> str:
    """`clean`, then fold every run of whitespace (newlines included) into one space."""
    return _SPACES.sub(" ", clean(text)).strip()


def safe_text(text: str, style: StyleType = "", *, one_line: bool = False) -> Text:
    """A Rich `Text` of the cleaned `text`; markup is never parsed (`[bold]` stays literal)."""
    return Text(clean_line(text) if one_line else clean(text), style=style, end="")
