"""Hostile-input suite: every parser of untrusted input, quarantine, terminal safety on screen, file names, size bounds.

- Parsers (hypothesis): the Telegram update parser and the Twilio message parser (through
  each backend's poll path against its fake, so a bad record must be quarantined with a
  log line while the rest of the batch is kept), the email parser (messages built with the
  email package from generated parts, broken charsets and MIME included), the config
  loader (arbitrary TOML text and arbitrary structures) and the keymap loader: nothing
  but the documented error escapes.
- The rendered screen of a Pilot app whose customer names, messages, attachment names and
  email subjects hold Rich markup, ANSI CSI, OSC 52 and OSC 0/2, C0/C1 controls, bidi
  overrides and zero-width characters: no control reaches a visible Strip, no hyperlink
  or style is created from customer text, and the markup is shown literally.
- Attachment names (`../`, absolute, CON, NUL.txt, empty, huge, NUL bytes) are saved inside
  the downloads dir, through the shared sanitiser every backend uses.
- Oversized bodies (5 MB, 100,000 lines) are bounded by the desk, the cut is stated with the
  original size, and the console opens the thread quickly.

Not repeated here: `clean`/`safe_text` properties (tests/unit/test_safe.py), the small
workspace's hostile contact on screen (tests/tui/test_tui_app.py::test_hostile_text_is_inert_on_screen),
a bad event in a desk batch (tests/unit/test_desk.py::test_bad_event_is_quarantined_and_rest_of_batch_kept),
the fixed malformed Telegram/Twilio cases (tests/backends/test_telegram.py, tests/backends/test_twilio_sms.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import tomllib
from email.message import Message as EmailMessageCompat
from email.mime.multipart import MIMEMultipart
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from textual.geometry import Region


from conftest import NOW, FakeChannel, FixedClock, small_workspace  # noqa: E402
from fakes import telegram as tg  # noqa: E402
from fakes import twilio as tw  # noqa: E402
from fakes.server import FakeServer  # noqa: E402

from frontdesk import config  # noqa: E402
from frontdesk.backends.base import FILE_NAME_BYTES, safe_filename, write_unique  # noqa: E402
from frontdesk.backends.email import EmailBackend  # noqa: E402
from frontdesk.backends.email_parse import MAX_BODY_CHARS as MAIL_BODY_CHARS  # noqa: E402
from frontdesk.backends.email_parse import parse as parse_mail  # noqa: E402
from frontdesk.backends.httpchannel import MALFORMED  # noqa: E402
from frontdesk.backends.telegram import TelegramBackend  # noqa: E402
from frontdesk.backends.telegram_parse import MESSAGE_KINDS, parse_update  # noqa: E402
from frontdesk.backends.twilio_parse import delivery_update  # noqa: E402
from frontdesk.backends.twilio_sms import TwilioSMSBackend  # noqa: E402
from frontdesk.desk import Desk  # noqa: E402
from frontdesk.desk.ingest import MAX_BODY_BYTES, MAX_BODY_LINES, TRUNCATED, bound_body  # noqa: E402
from frontdesk.keymaps.loader import KeymapError, load_keymap, presets  # noqa: E402
from frontdesk.model import (  # noqa: E402
    Attachment,
    Contact,
    ContactRef,
    Conversation,
    Delivery,
    Direction,
    Identity,
    Inbound,
    Message,
)
from frontdesk.store import Store  # noqa: E402

#: examples per property: modest by default; FRONTDESK_HOSTILE_EXAMPLES=2000 for the long run
EXAMPLES = int(os.environ.get("FRONTDESK_HOSTILE_EXAMPLES", "60"))
QUICK = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NETWORKED = settings(
    max_examples=max(1, EXAMPLES // 5),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# ---- strategies ------------------------------------------------------------------------------------

NASTY = [
    "\x1b[2J",
    "\x1b]52;c;SGVsbG8=\x07",
    "\x1b]0;pwned\x07",
    "\x1b]2;title\x1b\\",
    "\x9b31m",
    "\x9d0;x\x9c",
    "\x00",
    "\x07",
    "\x08",
    "\r",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200b",
    "\ufeff",
    "[bold]",
    "[link=https://evil.example]",
    "[/]",
    "../",
    "CON",
    "日本語",
    "😀",
    "\ud800",
]
texts = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=4), max_size=8).map("".join),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), texts
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the valid shape, sometimes any JSON value in its place."""
    return st.one_of(valid, valid, json_values)


# ---- Telegram -----------------------------------------------------------------------------------------

user = st.fixed_dictionaries(
    {"id": maybe(st.integers(1, 10**12)), "is_bot": st.booleans()},
    optional={
        "first_name": maybe(texts),
        "last_name": maybe(texts),
        "username": maybe(texts),
        "language_code": maybe(texts),
    },
)
file_item = st.fixed_dictionaries(
    {"file_id": maybe(st.text(min_size=1, max_size=20))},
    optional={
        "file_unique_id": maybe(texts),
        "file_name": maybe(texts),
        "mime_type": maybe(texts),
        "file_size": maybe(st.integers(-5, 2**40)),
        "duration": maybe(st.integers()),
        "width": maybe(st.integers()),
    },
)
tg_message = st.fixed_dictionaries(
    {
        "message_id": maybe(st.integers(1, 10**9)),
        "date": maybe(st.integers(-(2**70), 2**70)),
        "chat": maybe(
            st.fixed_dictionaries(
                {
                    "id": maybe(st.integers(-(10**13), 10**13)),
                    "type": maybe(st.sampled_from(["private", "group", "supergroup", "channel"])),
                },
                optional={"title": maybe(texts)},
            )
        ),
    },
    optional={
        "from": maybe(user),
        "sender_chat": maybe(user),
        "text": maybe(texts),
        "caption": maybe(texts),
        "edit_date": maybe(st.integers(-(2**70), 2**70)),
        "photo": maybe(st.lists(file_item, max_size=3)),
        "document": maybe(file_item),
        "voice": maybe(file_item),
        "video": maybe(file_item),
        "sticker": maybe(st.fixed_dictionaries({}, optional={"emoji": maybe(texts)})),
        "location": maybe(
            st.fixed_dictionaries({"latitude": maybe(st.floats()), "longitude": maybe(st.floats())})
        ),
        "contact": maybe(user),
        "poll": maybe(st.fixed_dictionaries({"question": maybe(texts)})),
        "reply_to_message": maybe(st.fixed_dictionaries({"text": maybe(texts)})),
        "quote": maybe(st.fixed_dictionaries({"text": maybe(texts)})),
        "forward_origin": maybe(
            st.fixed_dictionaries(
                {}, optional={"sender_user": maybe(user), "sender_user_name": maybe(texts)}
            )
        ),
    },
)
tg_update = st.one_of(
    json_values,
    st.builds(
        lambda uid, kind, msg: {"update_id": uid, kind: msg},
        maybe(st.integers(0, 2**31)),
        st.sampled_from([*MESSAGE_KINDS, "callback_query"]),
        tg_message,
    ),
)


@QUICK
@given(tg_update)
@example(
    {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 10**18,
            "chat": {"id": 1, "type": "private"},
            "text": "x",
        },
    }
)
@example(
    {
        "update_id": 1,
        "edited_message": {
            "message_id": 1,
            "date": 1,
            "edit_date": -(10**13),
            "chat": {"id": 1},
            "text": "x",
        },
    }
)
def test_telegram_parser_raises_only_malformed(update):
    try:
        events = parse_update(update)
    except MALFORMED:
        return
    for event in events:
        assert isinstance(event, Inbound) and isinstance(event.body, str) and event.external_id
        assert len(event.body) < 70_000 and len(event.sender.name) < 200
        assert all("/" not in a.name and "\\" not in a.name for a in event.attachments)


def good_update(n: int) -> dict[str, Any]:
    return {
        "message": {
            "message_id": n,
            "from": {"id": 5, "is_bot": False, "first_name": "Mia"},
            "chat": {"id": 5, "type": "private"},
            "date": 1_780_000_000 + n,
            "text": f"good {n}",
        }
    }


class Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logged(logger: str) -> Counting:
    handler = Counting()
    logging.getLogger(logger).addHandler(handler)
    return handler


@NETWORKED
@given(st.lists(tg_update, min_size=1, max_size=6))
@example(
    [
        {
            "update_id": 1,
            "message": {"message_id": 1, "date": 10**18, "chat": {"id": 1}, "text": "poison"},
        }
    ]
)
def test_telegram_bad_updates_are_quarantined_and_the_batch_kept(updates):
    fake = tg.FakeTelegram()
    fake.push(good_update(1))
    bad = 0
    for update in updates:
        if not isinstance(update, dict):
            update = {"junk": update}
        update = {k: v for k, v in update.items() if k != "update_id"}  # the fake numbers them
        pushed = fake.push(update)
        try:
            parse_update(pushed)
        except MALFORMED:
            bad += 1
    fake.push(good_update(2))
    handler = logged("frontdesk.backends.telegram")
    with (
        FakeServer(fake) as server,
        tempfile.TemporaryDirectory() as tmp,
        Store.open(Path(tmp) / "data") as store,
    ):
        backend = TelegramBackend(
            "tg",
            {"base_url": server.url, "request_timeout": 5.0},
            secrets=lambda k: tg.TOKEN,
            cursor=None,
        )
        desk = Desk(store, {"tg": backend})

        async def run() -> None:
            await backend.fetch_once(desk)
            await backend.close()

        asyncio.run(run())
        bodies = [m.body for c in store.conversations() for m in store.messages(c.id)]
        assert "good 1" in bodies and "good 2" in bodies
        assert len(store.quarantined()) == bad
        assert store.cursor("tg") == str(
            fake.next_update_id
        )  # read past the bad ones: no poison pill
    logging.getLogger("frontdesk.backends.telegram").removeHandler(handler)
    assert sum("skipped a malformed Telegram update" in line for line in handler.lines) == bad


# ---- Twilio ----------------------------------------------------------------------------------------------

twilio_override = st.fixed_dictionaries(
    {},
    optional={
        "sid": maybe(st.text(alphabet="SMabcdef0123456789", min_size=34, max_size=34)),
        "from": maybe(texts),
        "body": maybe(texts),
        "direction": maybe(st.sampled_from(["inbound", "outbound-api"])),
        "date_sent": maybe(
            st.sampled_from(
                [
                    "Mon, 02 Nov 2026 10:00:00 +0000",
                    "yesterday",
                    "",
                    "Mon, 02 Nov 99999 10:00:00 +0000",
                ]
            )
        ),
        "num_media": maybe(st.sampled_from(["0", "1", "11", "-3", "x"])),
        "subresource_uris": maybe(st.fixed_dictionaries({"media": maybe(texts)})),
        "messaging_service_sid": json_values,
    },
)


@NETWORKED
@given(st.lists(twilio_override, min_size=1, max_size=5))
def test_twilio_bad_messages_are_quarantined_and_the_batch_kept(overrides):
    fake = tw.FakeTwilio()
    fake.inbound("+15550001", "good first")
    for override in overrides:
        if "date_sent" in override and override["date_sent"] == "Mon, 02 Nov 2026 10:00:00 +0000":
            override["date_sent"] = tw.rfc2822(fake.tick())  # inside the backfill
        raw = fake.inbound("+15550002", "maybe")
        with fake.lock:
            raw.update(override)
    fake.inbound("+15550001", "good last")
    handler = logged("frontdesk.backends.twilio_sms")
    with (
        FakeServer(fake) as server,
        tempfile.TemporaryDirectory() as tmp,
        Store.open(Path(tmp) / "data") as store,
    ):
        backend = TwilioSMSBackend(
            "sms",
            {
                "base_url": server.url,
                "account_sid": tw.ACCOUNT,
                "from_number": tw.NUMBER,
                "request_timeout": 5.0,
            },
            secrets={"auth_token": tw.TOKEN}.get,
        )
        desk = Desk(store, {"sms": backend})

        async def run() -> None:
            await backend.fetch_once(desk)
            await backend.close()

        asyncio.run(run())
        bodies = [m.body for c in store.conversations() for m in store.messages(c.id)]
        assert "good first" in bodies and "good last" in bodies
        quarantined = len(store.quarantined())
    logging.getLogger("frontdesk.backends.twilio_sms").removeHandler(handler)
    assert (
        sum("skipped a malformed Twilio message" in line for line in handler.lines) == quarantined
    )


@QUICK
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "status": maybe(
                st.sampled_from(
                    ["sent", "delivered", "failed", "undelivered", "queued", "read", "canceled"]
                )
            ),
            "error_code": maybe(st.one_of(st.integers(), st.floats(), st.text(max_size=12))),
            "error_message": maybe(texts),
            "sid": json_values,
        },
    )
    | json_values
)
@example({"status": "failed", "error_code": float("inf")})
def test_twilio_delivery_status_parser_never_raises(raw):
    update = delivery_update(raw)
    if update is not None:
        assert isinstance(update.reason, str) and len(update.reason) < 600


# ---- email -----------------------------------------------------------------------------------------------

charsets = st.sampled_from(
    [
        "utf-8",
        "shift_jis",
        "iso-2022-jp",
        "x-no-such-charset",
        "utf-16",
        "utf-7",
        "",
        "us-ascii",
        "euc-jp",
        "koi8-r",
        '"broken',
        "utf-8\x00",
    ]
)
encodings = st.sampled_from(
    ["base64", "quoted-printable", "8bit", "7bit", "x-uuencode", "bogus", ""]
)
content_types = st.sampled_from(
    [
        "text/plain",
        "text/html",
        "application/pdf",
        "message/rfc822",
        "image/png",
        "multipart/mixed",
        "text/x-unknown",
        "garbage",
        "",
    ]
)
header_values = st.one_of(
    texts,
    st.sampled_from(
        [
            "=?x-bogus?B?w6k=?=",
            "=?utf-8?Q?caf=C3=A9?=",
            "=?utf-8?B?!!!?=",
            "<a@b>",
            "Mia <mia@example.com>",
            '"unclosed <x@y',
            "@@@",
        ]
    ),
)


@st.composite
def mime_parts(draw, depth: int = 0) -> EmailMessageCompat:
    part = MIMEMultipart() if depth < 2 and draw(st.booleans()) else EmailMessageCompat()
    ctype = draw(content_types)
    if isinstance(part, MIMEMultipart):
        for _ in range(draw(st.integers(0, 3))):
            part.attach(draw(mime_parts(depth + 1)))
        # always a boundary of ours: the email package would otherwise draw one with `random`
        part.set_boundary(
            draw(st.sampled_from([f"frontdesk-{depth}", "b", "=_", "x" * 80, "--", "a b"]))
        )
    else:
        if ctype:
            part["Content-Type"] = f'{ctype}; charset="{draw(charsets)}"'
        cte = draw(encodings)
        if cte:
            part["Content-Transfer-Encoding"] = cte
        if draw(st.booleans()):
            part["Content-Disposition"] = f'attachment; filename="{draw(texts)}"'
        payload = draw(st.one_of(st.binary(max_size=200), texts))
        part.set_payload(payload.decode("latin-1") if isinstance(payload, bytes) else payload)
    return part


@st.composite
def mails(draw) -> bytes:
    msg = draw(mime_parts())
    for name in (
        "Subject",
        "From",
        "Reply-To",
        "To",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Auto-Submitted",
    ):
        if draw(st.booleans()):
            msg[name] = draw(header_values)
    try:
        raw = msg.as_bytes()
    except Exception:  # the email package refuses to serialise some of what we built: send it raw
        raw = (
            msg.as_string().encode("utf-8", "surrogatepass")
            if _can_string(msg)
            else b"Subject: x\r\n\r\n"
        )
    if draw(st.booleans()):  # and damage it in transit
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(st.binary(max_size=40)) + raw[cut:]
    return raw


def _can_string(msg: EmailMessageCompat) -> bool:
    try:
        msg.as_string()
        return True
    except Exception:
        return False


@QUICK
@given(mails())
@example(
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=x-bogus\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n--b"
)
@example(b"\xff\xfe\x00\x1b]52;c;SGVsbG8=\x07")
def test_email_parser_never_raises_and_the_backend_path_ingests_or_quarantines(raw):
    mail = parse_mail(raw)
    assert isinstance(mail.body, str) and isinstance(mail.subject, str)
    assert len(mail.body) <= MAIL_BODY_CHARS + 200
    assert "\n" not in mail.subject and "\r" not in mail.subject
    backend = EmailBackend(
        "mail", {"imap_host": "imap.example.com", "username": "support@example.com"}
    )
    event = backend.inbound_event(backend.cfg, "INBOX", 1, 7, raw, {}, False, len(raw))
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "data") as store:
        asyncio.run(Desk(store, {"mail": backend}).ingest("mail", [event]))
        stored = sum(c.message_count for c in store.conversations())
        assert stored + len(store.quarantined()) == 1


# ---- config and keymaps ------------------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """`value` as a TOML literal (inline tables and arrays), for generated structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{toml_value(str(k))} = {toml_value(v)}" for k, v in value.items())
            + "}"
        )
    return '""'


toml_scalars = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=20)
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
channel_block = st.dictionaries(
    st.sampled_from(
        [
            "name",
            "backend",
            "base_url",
            "enabled",
            "poll_timeout",
            "poll_interval",
            "token",
            "account_sid",
            "allowed_updates",
            "from_number",
            "password",
            "nmae",
        ]
    ),
    st.one_of(
        toml_values, st.sampled_from(["support-bot", "telegram", "twilio_sms", "BAD NAME", ""])
    ),
    max_size=6,
)
config_structures = st.fixed_dictionaries(
    {},
    optional={
        "agent": st.one_of(
            toml_values,
            st.dictionaries(st.sampled_from(["name", "agents", "x"]), toml_values, max_size=3),
        ),
        "ui": st.one_of(
            toml_values,
            st.dictionaries(
                st.sampled_from(["keymap", "theme", "keys", "y"]), toml_values, max_size=3
            ),
        ),
        "channels": st.one_of(toml_values, st.lists(channel_block, max_size=3)),
        "other": toml_values,
    },
)
SCHEMAS = {
    "telegram": TelegramBackend.settings_schema,
    "twilio_sms": TwilioSMSBackend.settings_schema,
}


def load(tmp: Path, text: str | bytes) -> None:
    path = tmp / "config.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        config.load_config(path, backend_schemas=SCHEMAS.get)
    except config.ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path)[:10]), str(exc)


@QUICK
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=100),
        st.lists(
            st.sampled_from(
                [
                    "[agent]",
                    "[[channels]]",
                    "name = ",
                    '"x"',
                    "[ui.keys]",
                    "=",
                    "\n",
                    "'''",
                    "{",
                    'backend = "telegram"',
                    "a.b.c = 1",
                    "[channels]",
                    "\x00",
                    "1979-05-27",
                ]
            ),
            max_size=12,
        ).map("".join),
    )
)
def test_config_loader_on_arbitrary_text_raises_only_config_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        load(Path(tmp), text)


@QUICK
@given(config_structures)
def test_config_loader_on_arbitrary_structures_raises_only_config_error(structure):
    text = "".join(f"{toml_value(key)} = {toml_value(value)}\n" for key, value in structure.items())
    tomllib.loads(
        text
    )  # the generator writes valid TOML: the loader's checks are under test, not tomllib's
    with tempfile.TemporaryDirectory() as tmp:
        load(Path(tmp), text)


KNOWN_IDS = {
    binding: "app"
    for binding in tomllib.loads(
        (Path(__file__).resolve().parents[2] / "keymaps" / "default.toml").read_text()
    )["bindings"]
}


@QUICK
@given(
    st.one_of(st.sampled_from(presets()), texts),
    st.dictionaries(
        st.one_of(st.sampled_from(sorted(KNOWN_IDS)), st.text(max_size=10)),
        st.one_of(st.text(max_size=10), st.lists(st.text(max_size=5), max_size=3), json_values),
        max_size=4,
    ),
)
def test_keymap_loader_raises_only_keymap_error(preset, overrides):
    from frontdesk.tui.keys import is_key_name

    try:
        keymap = load_keymap(preset, overrides, KNOWN_IDS, valid_key=is_key_name)
    except KeymapError as exc:
        assert str(exc)
        return
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in keymap.items())


# ---- attachment names -----------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd",
    "/etc/shadow",
    "..\\..\\boot.ini",
    "C:\\Windows\\x.dll",
    "CON",
    "NUL.txt",
    "con .txt",
    "com1.tar.gz",
    "LPT¹",
    "",
    ".",
    "..",
    ".bashrc",
    "a\x00b.txt",
    "x" * 400,
    "😀" * 200,
    "a." + "b" * 300,
    "\u202etxt.exe",
    "\x1b]52;c;SGVsbG8=\x07.png",
    " ",
    "...",
    "CONIN$",
    "aux.",
]


@QUICK
@given(st.one_of(st.sampled_from(HOSTILE_NAMES), texts, st.text(max_size=400)))
def test_any_attachment_name_is_saved_inside_the_downloads_dir(name):
    safe = safe_filename(name)
    assert (
        safe
        and "/" not in safe
        and "\\" not in safe
        and "\x00" not in safe
        and not safe.startswith(".")
    )
    assert len(safe.encode()) <= FILE_NAME_BYTES
    assert safe.split(".")[0].rstrip(" ").lower() not in {
        "con",
        "prn",
        "aux",
        "nul",
        "com1",
        "lpt1",
        "conin$",
    }
    with tempfile.TemporaryDirectory() as tmp:
        downloads = Path(tmp) / "downloads"
        first = write_unique(downloads, safe, b"1")
        second = write_unique(downloads, safe, b"2")
        assert first.parent == second.parent == downloads.resolve()
        assert first != second and first.read_bytes() == b"1"
        assert [p.name for p in Path(tmp).iterdir()] == ["downloads"]


async def test_telegram_attachments_with_hostile_names_are_saved_inside_the_downloads_dir(tmp_path):
    fake = tg.FakeTelegram()
    for i, name in enumerate(HOSTILE_NAMES):
        fake.files[f"documents/F{i}.bin"] = f"file {i}".encode()
        fake.message(
            5, None, document={"file_id": f"F{i}", "file_unique_id": f"u{i}", "file_name": name}
        )
    downloads = tmp_path / "downloads"
    with FakeServer(fake) as server, Store.open(tmp_path / "data") as store:
        backend = TelegramBackend("tg", {"base_url": server.url}, secrets=lambda k: tg.TOKEN)
        await backend.fetch_once(Desk(store, {"tg": backend}))
        attachments = [
            a for c in store.conversations() for m in store.messages(c.id) for a in m.attachments
        ]
        assert len(attachments) == len(HOSTILE_NAMES)
        saved = [await backend.save_attachment(a.ref, downloads, a.name) for a in attachments]
        await backend.close()
    assert all(path.parent == downloads.resolve() for path in saved)
    assert len(set(saved)) == len(saved)
    assert sorted(p.read_bytes() for p in saved) == sorted(
        f"file {i}".encode() for i in range(len(HOSTILE_NAMES))
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "downloads"]


# ---- oversized messages ----------------------------------------------------------------------------------------


def test_bound_body_keeps_small_bodies_and_states_the_cut():
    assert bound_body("hello\nthere") == "hello\nthere"
    assert bound_body("é" * (MAX_BODY_BYTES // 2)) == "é" * (
        MAX_BODY_BYTES // 2
    )  # exactly the limit in bytes
    big = "x" * (5 * 1024 * 1024)
    cut = bound_body(big)
    assert len(cut.encode()) < MAX_BODY_BYTES + 300 and cut.startswith("x" * 1000)
    assert f"{TRUNCATED} 5,242,880 bytes in 1 lines" in cut
    many = "\n".join(f"line {i}" for i in range(100_000))
    cut = bound_body(many)
    assert (
        cut.count("\n") == MAX_BODY_LINES
        and cut.splitlines()[MAX_BODY_LINES - 1] == f"line {MAX_BODY_LINES - 1}"
    )
    assert "in 100,000 lines" in cut
    wide = "日本" * MAX_BODY_BYTES  # cut inside a character: never half a character
    assert bound_body(wide).split("\n")[0] == "日本" * (MAX_BODY_BYTES // 6) + "日" * (
        (MAX_BODY_BYTES % 6) // 3
    )
    assert bound_body(
        "\ud800" * MAX_BODY_BYTES
    )  # a lone surrogate from hostile JSON does not crash it


async def test_desk_bounds_oversized_bodies_at_ingest(tmp_path):
    with Store.open(tmp_path / "data") as store:
        desk = Desk(store, {"wa": FakeChannel("wa")})
        await desk.ingest(
            "wa",
            [
                Inbound("big", "+1", ContactRef("+1"), "y" * (5 * 1024 * 1024)),
                Inbound("tall", "+1", ContactRef("+1"), "z\n" * 100_000),
                Inbound("small", "+1", ContactRef("+1"), "fine"),
            ],
        )
        conv = store.conversations()[0]
        big, tall, small = store.messages(conv.id)
        assert len(big.body.encode()) <= MAX_BODY_BYTES + 300 and "5,242,880 bytes" in big.body
        assert tall.body.count("\n") == MAX_BODY_LINES and "100,001 lines" in tall.body
        assert small.body == "fine"
        assert (tmp_path / "data").stat().st_size < 10 * 1024 * 1024


def hostile_workspace():
    """The small workspace plus a conversation whose every customer-given field is hostile,
    and one with a 100,000-line message ingested through the desk."""
    ws = small_workspace()
    name = "[link=https://evil.example]Eve[/link]\x1b]0;owned\x07\x9b2J\u2066Ev\u2069e\u200b\x1b[1;31m\ud800"
    subject = "[bold]Refund[/bold]\x1b]2;title\x1b\\ \u202etnuocca\u202c\x9d52;c;SGVsbG8=\x9c\x85done\u200d"
    body = (
        "[link=https://evil.example]click[/link] \x1b]52;c;SGVsbG8=\x07copied \x1b[2J\x1b[Hcleared "
        "\x9b31mred\x07bell \x08\x08back \u202eesrever\u202c \u2066iso\u2069 zero\u200bwidth\ufeff \x1b]0;t\x07end"
    )
    attachment = "\x1b[31minv[red]oice\u202egpj.exe\x9b\x07"
    ws.contacts.append(Contact(5, name, identities=[Identity("mail", "eve@example.com")]))
    ws.conversations.append(
        Conversation(
            5,
            "mail",
            5,
            "eve@example.com",
            subject=subject,
            preview=body,
            unread=1,
            last_activity_at=NOW,
            message_count=2,
        )
    )
    ws.messages.append(
        Message(
            9,
            5,
            Direction.IN,
            body,
            author=name,
            created_at=NOW,
            attachments=[Attachment(attachment, "application/pdf", 10)],
        )
    )
    # a channel's error text is untrusted too (a hostile proxy or API server writes it)
    ws.messages.append(
        Message(
            10,
            5,
            Direction.OUT,
            "our answer",
            author="Aiko",
            created_at=NOW,
            delivery=Delivery.FAILED,
            delivery_reason="Telegram refused sendMessage: \x1b]52;c;SGVsbG8=\x07[bold]no[/bold]\x9b2J",
        )
    )
    return ws


FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)


def visible_segments(app) -> list[Segment]:
    """Every segment the visible widgets put on screen (their Strips)."""
    segments: list[Segment] = []
    for widget in (app.conversation_list, app.thread, app.contact_panel):
        region = Region(0, 0, widget.size.width, widget.size.height)
        for strip in widget.render_lines(region):
            segments.extend(strip)
    return segments


async def test_hostile_text_renders_inert_on_the_screen(tmp_path):
    from pilot_helpers import make_app
    from pilot_helpers import idle, screen_text

    ws = hostile_workspace()
    clock = FixedClock()
    with Store.open(tmp_path / "data") as store:
        desk = Desk(
            store,
            {"wa": FakeChannel("wa"), "mail": FakeChannel("mail", "email")},
            agent="Aiko",
            clock=clock,
        )
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        app = make_app(desk, clock)
        async with app.run_test(
            size=(260, 40)
        ) as pilot:  # wide enough for the name and subject in the title
            await idle(pilot)
            await pilot.press("enter")  # conversation 5 is the newest: first in the list
            await idle(pilot)
            assert app.conversation_list.current_id == 5
            screen = screen_text(app)
            segments = visible_segments(app)
            thread = "".join(app.thread.plain_lines).replace(" ", "").replace("▌", "")
    shown = "".join(s.text for s in segments)
    assert not FORBIDDEN.search(shown), repr(FORBIDDEN.search(shown))
    assert not FORBIDDEN.search(screen)
    for leaked in ("SGVsbG8=", "owned", "]52;", "]0;", "]2;", "2J", "31m"):
        assert leaked not in shown and leaked not in screen, leaked
    assert not any(
        s.style and (s.style.link or s.style.meta) for s in segments
    )  # no hyperlink from [link=…]
    assert (
        "[link=https://evil.example]Eve[/link]Eve" in screen
    )  # markup shown as written, in the list and panel
    assert (
        "[link=https://evil.example]click[/link]copiedclearedredbellbackesreverisozerowidthend"
        in thread
    )
    assert "[bold]Refund[/bold] tnuocca" in screen  # the subject in the thread's title, literally
    assert "inv[red]oicegpj.exe" in shown
    assert (
        "NotDelivered:Telegramrefusedsendmessage:[bold]no[/bold]—retry?".lower() in thread.lower()
    )
    assert "Refund" in screen


async def test_a_100000_line_message_opens_quickly_and_keys_respond(tmp_path):
    from pilot_helpers import make_app
    from pilot_helpers import idle

    clock = FixedClock()
    with Store.open(tmp_path / "data") as store:
        ws = small_workspace()
        desk = Desk(
            store,
            {"wa": FakeChannel("wa"), "mail": FakeChannel("mail", "email")},
            agent="Aiko",
            clock=clock,
        )
        await desk.load_workspace(ws.contacts, ws.conversations, ws.messages)
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "huge",
                    "+15550001",
                    ContactRef("+15550001", "Mia"),
                    "\n".join(f"line {i}" for i in range(100_000)),
                    created_at=NOW,
                )
            ],
        )
        app = make_app(desk, clock)
        async with app.run_test(size=(140, 40)) as pilot:
            started = time.monotonic()
            await idle(pilot)
            assert app.conversation_list.current_id == 1
            assert (
                "frontdesk kept only the start of this message: it had 1,088,889 bytes in 100,000 lines"
                in " ".join(line.strip(" ▌") for line in app.thread.plain_lines)
            )
            opened = time.monotonic() - started
            started = time.monotonic()
            await pilot.press("j")
            await idle(pilot)
            assert app.conversation_list.current_id == 2
            moved = time.monotonic() - started
    assert opened < 4.0 and moved < 2.0, (opened, moved)


# ---- escape sequences in channel errors, on the real terminal ----------------------------------------------

HOSTILE_GATEWAY = "<html>\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]2;PWNED\x07 gateway</html>"


def run_console_on_a_pty(
    argv: list[str], env: dict[str, str], until, timeout: float = 90.0
) -> bytes:
    """Run `argv` on a pseudo-terminal until `until(output so far)` holds, press q, and return
    every byte the program wrote to its terminal (stdout and stderr are both the terminal)."""
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))  # rows, columns
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    seen = bytearray()

    def pump(seconds: float) -> None:
        if select.select([master], [], [], seconds)[0]:
            try:
                seen.extend(os.read(master, 65536))
            except OSError:  # the child closed the terminal
                pass

    try:
        deadline = time.monotonic() + timeout
        while not until(bytes(seen)):
            assert proc.poll() is None and time.monotonic() < deadline, bytes(seen[-2000:]).decode(
                "utf-8", "replace"
            )
            pump(0.05)
        os.write(master, b"q")
        while proc.poll() is None and time.monotonic() < deadline:
            pump(0.05)
        pump(0.2)
        assert proc.poll() == 0, bytes(seen[-2000:]).decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return bytes(seen)


def test_a_hostile_channel_error_never_reaches_the_consoles_terminal(tmp_path):
    from fakes.server import Response

    fake = tg.FakeTelegram()
    fake.persistent["getUpdates"] = Response(
        200, HOSTILE_GATEWAY.encode(), {"Content-Type": "text/html"}
    )
    data = tmp_path / "data"
    log_file = data / "logs" / "frontdesk.log"
    with FakeServer(fake) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[agent]\nname = "Aiko"\n\n[[channels]]\nname = "tg"\nbackend = "telegram"\n'
            f'base_url = "{server.url}"\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDESK_", "TEXTUAL"))}
        env.update(
            FRONTDESK_SECRET_TG_TOKEN=tg.TOKEN,
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            TERM="xterm-256color",
            HOME=str(tmp_path),
            XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        )

        def refused_and_drawn(output: bytes) -> bool:
            logged = log_file.exists() and "refused getUpdates" in log_file.read_text(
                "utf-8", "replace"
            )
            header_drawn = "● tg".encode() in re.sub(
                rb"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]", b"", output
            )  # colours removed
            return (
                fake.count("getUpdates") >= 1
                and (logged or b"refused getUpdates" in output)
                and header_drawn
            )

        raw = run_console_on_a_pty(
            [sys.executable, "-m", "frontdesk", "--config", str(cfg), "--data-dir", str(data)],
            env,
            refused_and_drawn,
        )
    for leaked in (b"\x1b]52", b"\x9d52", b"ZWNobyBwd25lZA", b"PWNED", b"frontdesk: channel tg"):
        assert leaked not in raw, leaked
    written = log_file.read_text("utf-8")
    assert "channel tg: Telegram refused getUpdates: <html> gateway</html>" in written
    assert not FORBIDDEN.search(written.replace("\n", " ")) and "PWNED" not in written
    assert log_file.stat().st_mode & 0o777 == 0o600


def test_headless_commands_print_a_hostile_channel_error_cleaned(tmp_path, monkeypatch, capsys):
    from fakes.server import Response

    from frontdesk import cli

    fake = tg.FakeTelegram()
    fake.persistent["getUpdates"] = Response(
        200, HOSTILE_GATEWAY.encode(), {"Content-Type": "text/html"}
    )
    fake.persistent["getMe"] = Response(
        200, HOSTILE_GATEWAY.encode(), {"Content-Type": "text/html"}
    )
    monkeypatch.setenv("FRONTDESK_SECRET_TG_TOKEN", tg.TOKEN)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with FakeServer(fake) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[[channels]]\nname = "tg"\nbackend = "telegram"\nbase_url = "{server.url}"\n'
        )
        given = ["--config", str(cfg), "--data-dir", str(tmp_path / "data")]
        assert cli.main([*given, "sync", "--once"]) == cli.EXIT_FAILURE
        assert cli.main([*given, "doctor"]) == cli.EXIT_FAILURE
    out, err = capsys.readouterr()
    assert "channel tg: Telegram refused getUpdates: <html> gateway</html>" in err
    assert "channel tg:" in out
    for leaked in ("\x1b", "\x07", "PWNED", "ZWNobyBwd25lZA"):
        assert leaked not in out + err, leaked
