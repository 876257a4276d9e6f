"""Turn raw RFC 5322 mail into what the desk shows: text body, attachments, threading ids, loop flags.

Pure functions over bytes (no network), used by the email backend and testable alone.

Conventions the thread view relies on (the body is the full text, nothing is dropped):
- `QUOTE_MARKER` on a line of its own marks where quoted history begins (the part a
  reader collapses); everything after it is the quoted earlier mail.
- A line that is exactly "-- " starts a signature (RFC 3676), as mail clients write it.
- Mail sent by a machine (auto-replies, bounces, bulk/list mail) has a first line
  `[auto: <kind>]` (`AUTO_PREFIX`), kind one of "auto-replied", "bounce", "bulk"; such
  mail must never trigger automation.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from frontdesk.backends.email_html import html_to_text
from frontdesk.model import QUOTE_MARKER

AUTO_PREFIX = "[auto: "
#: a body longer than this is cut (with a note): a terminal thread is no place for a novel
MAX_BODY_CHARS = 200_000
#: text parts bigger than this are not decoded (a "text" part of 20 MB is an attachment)
MAX_TEXT_PART_BYTES = 5_000_000

_REPLY_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|ref|rif|antw|odp|fw|fwd|wg|tr|回复|回覆|答复|転送|返信)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.I,
)
_MSGID = re.compile(r"<[^<>\s]+>")
# charsets as mail clients label them, mapped to the Python codec that decodes what they really send
_CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-2022-jp-ms": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "iso-8859-1": "cp1252",
}


@dataclass(slots=True)
class PartInfo:
    """An attachment as listed in the thread: `index` is its position in `msg.walk()`."""

    name: str
    mime: str
    size: int
    index: int


@dataclass(slots=True)
class ParsedMail:
    external_id: str
    message_id: str  # "" when the mail has none
    in_reply_to: str
    references: list[str]
    subject: str
    from_name: str
    from_addr: str
    reply_to: str  # where replies go (Reply-To, else From)
    to: list[str]
    date: datetime
    body: str
    attachments: list[PartInfo] = field(default_factory=list)
    auto: str = ""  # "", "auto-replied", "bounce", "bulk"
    problems: list[str] = field(default_factory=list)


class _ParsedOncePolicy(policy.EmailPolicy):
    """policy.default, but a header is parsed once per value: the standard library parses it again on
    every read, and reads Content-Type about six times per mail (most of the time a first sync spends)."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return _parsed_header(
            self.header_factory, name, value.replace("\r", "").replace("\n", "")
        )  # as EmailPolicy does


@lru_cache(maxsize=256)
def _parsed_header(factory, name: str, value: str):
    return factory(name, value)


_POLICY = _ParsedOncePolicy()


def parse(raw: bytes, received_at: datetime | None = None) -> ParsedMail:
    """Parse one mail; never raises for bad input (problems are noted in `problems` and the body)."""
    problems: list[str] = []
    try:
        msg = message_from_bytes(raw, policy=_POLICY)
    except Exception as exc:  # the parser is lenient; this is a last resort
        msg = EmailMessage()
        problems.append(f"unparseable message ({type(exc).__name__})")
    for defect in getattr(msg, "defects", [])[:3]:
        problems.append(type(defect).__name__)

    message_id = first_msgid(header(msg, "Message-ID"))
    external_id = (
        message_id or "<sha256." + hashlib.sha256(raw).hexdigest()[:40] + "@frontdesk.invalid>"
    )
    from_name, from_addr = _address(header(msg, "From"))
    reply_name, reply_addr = _address(header(msg, "Reply-To"))
    date = _date(header(msg, "Date")) or received_at or datetime.now(timezone.utc)
    body, attachments = _content(msg, problems)
    auto = auto_kind(msg, from_addr)
    if auto:
        body = f"{AUTO_PREFIX}{auto}]\n{body}"
    if problems and not body.strip():
        body = "(this mail could not be read: " + "; ".join(problems) + ")"
    return ParsedMail(
        external_id=external_id,
        message_id=message_id,
        in_reply_to=first_msgid(header(msg, "In-Reply-To")),
        references=msgids(header(msg, "References")),
        subject=_clean_line(header(msg, "Subject")),
        from_name=_clean_line(from_name or reply_name),
        from_addr=from_addr,
        reply_to=reply_addr or from_addr,
        to=[
            a.lower() for _, a in _addresses(header(msg, "To")) + _addresses(header(msg, "Cc")) if a
        ],
        date=date,
        body=body,
        attachments=attachments,
        auto=auto,
        problems=problems,
    )


def parse_headers(raw: bytes) -> ParsedMail:
    """The threading headers of a mail (from a header-only FETCH), parsed cheaply: enough to group a
    mailbox into conversations before reading it (the full `parse` costs many times more)."""
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    except Exception:
        msg = Message()

    def get(name: str) -> str:
        value = msg.get(name)
        if value is None:
            return ""
        try:
            return str(make_header(decode_header(str(value))))
        except Exception:
            return str(value)

    from_name, from_addr = _address(get("From"))
    reply_name, reply_addr = _address(get("Reply-To"))
    message_id = first_msgid(get("Message-ID"))
    return ParsedMail(
        external_id=message_id,
        message_id=message_id,
        in_reply_to=first_msgid(get("In-Reply-To")),
        references=msgids(get("References")),
        subject=_clean_line(get("Subject")),
        from_name=_clean_line(from_name or reply_name),
        from_addr=from_addr,
        reply_to=reply_addr or from_addr,
        to=[a.lower() for _, a in _addresses(get("To")) + _addresses(get("Cc")) if a],
        date=_date(get("Date")) or datetime.now(timezone.utc),
        body="",
    )


# ---- headers ------------------------------------------------------------------------------------


def header(msg: Message, name: str) -> str:
    """A header as text, decoded (RFC 2047, any charset); "" when missing or undecodable."""
    try:
        value = msg.get(name)
    except Exception:
        value = None
        try:
            raw = msg.get_all(name, failobj=[]) if hasattr(msg, "get_all") else []
            value = str(raw[0]) if raw else None
        except Exception:
            return ""
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""


def first_msgid(value: str) -> str:
    found = _MSGID.search(value or "")
    return found.group(0) if found else ""


def msgids(value: str) -> list[str]:
    return list(dict.fromkeys(_MSGID.findall(value or "")))


def _addresses(value: str) -> list[tuple[str, str]]:
    try:
        return [(n, a) for n, a in getaddresses([value]) if "@" in a]
    except Exception:
        return []


def _address(value: str) -> tuple[str, str]:
    if not value:
        return "", ""
    try:
        name, addr = parseaddr(value)
    except Exception:
        return "", ""
    return name.strip(), addr.strip().lower() if "@" in addr else ""


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except Exception:
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _clean_line(text: str) -> str:
    return " ".join(text.split())


def normalise_subject(subject: str) -> str:
    """The subject without Re:/Fwd:/AW:/[ticket] prefixes, lower-cased, spaces folded."""
    text = _clean_line(subject)
    while True:
        stripped = _REPLY_PREFIX.sub("", text)
        stripped = (
            re.sub(r"^\s*\[[^\]]{1,40}\]\s*", "", stripped)
            if stripped != text or text.startswith("[")
            else stripped
        )
        if stripped == text:
            break
        text = stripped
    return text.casefold().strip()


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject or ""))


def reply_subject(subject: str) -> str:
    """`Re: <subject>` without stacking prefixes (Re: Re: AW: x → Re: x)."""
    base = _REPLY_PREFIX.sub("", _clean_line(subject)).strip()
    return f"Re: {base}" if base else "Re: your message"


# ---- loop safety -----------------------------------------------------------------------------------


def auto_kind(msg: Message, from_addr: str) -> str:
    """Why this mail was sent by a machine ("bounce", "auto-replied", "bulk"), or "" for a person."""
    ctype = (msg.get_content_type() if hasattr(msg, "get_content_type") else "").lower()
    local = from_addr.split("@", 1)[0].lower()
    null_sender = header(msg, "Return-Path").strip() == "<>"
    if ctype == "multipart/report" or local in ("mailer-daemon", "postmaster") or null_sender:
        return "bounce"
    auto_submitted = header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-replied"
    if any(
        header(msg, h).strip().lower() not in ("", "no") for h in ("X-Autoreply", "X-Autorespond")
    ):
        return "auto-replied"
    precedence = header(msg, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return "auto-replied" if precedence == "auto_reply" else "bulk"
    if header(msg, "List-Id") or header(msg, "List-Unsubscribe"):
        return "bulk"
    if local in ("noreply", "no-reply", "donotreply", "do-not-reply"):
        return "bulk"
    return ""


# ---- content -------------------------------------------------------------------------------------


def _content(msg: Message, problems: list[str]) -> tuple[str, list[PartInfo]]:
    plain: list[str] = []
    htmls: list[str] = []
    attachments: list[PartInfo] = []
    try:
        parts = list(msg.walk())
    except Exception as exc:
        problems.append(f"broken MIME structure ({type(exc).__name__})")
        parts = [msg]
    for index, part in enumerate(parts):
        try:
            if part.is_multipart():
                continue
            ctype = part.get_content_type().lower()
            disposition = (part.get_content_disposition() or "").lower()
            name = _filename(part)
            if (
                ctype.startswith("text/")
                and ctype in ("text/plain", "text/html")
                and disposition != "attachment"
                and not name
            ):
                payload = part.get_payload(decode=True) or b""
                if len(payload) > MAX_TEXT_PART_BYTES:
                    attachments.append(
                        PartInfo(
                            f"part-{index}.{'html' if 'html' in ctype else 'txt'}",
                            ctype,
                            len(payload),
                            index,
                        )
                    )
                    continue
                text = decode_text(payload, part.get_content_charset())
                (plain if ctype == "text/plain" else htmls).append(text)
                continue
            if ctype == "message/rfc822" and not name:
                name = "forwarded.eml"
            payload = part.get_payload(decode=True)
            size = (
                len(payload) if isinstance(payload, bytes) else len(str(part.get_payload() or ""))
            )
            attachments.append(PartInfo(name or f"part-{index}{_ext(ctype)}", ctype, size, index))
        except Exception as exc:
            problems.append(f"part {index} unreadable ({type(exc).__name__})")
    if plain:
        body = "\n\n".join(t.strip("\n") for t in plain)
    elif htmls:
        body = "\n\n".join(html_to_text(t) for t in htmls)
    else:
        body = ""
    body = _normalise_newlines(body)
    if len(body) > MAX_BODY_CHARS:
        body = (
            body[:MAX_BODY_CHARS]
            + f"\n[… cut: the mail has {len(body):,} characters; open it in a mail client for the rest]"
        )
    return mark_quoted(body), attachments


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    return _clean_line(str(name))


def _ext(ctype: str) -> str:
    import mimetypes

    return mimetypes.guess_extension(ctype) or ".bin"


def decode_text(payload: bytes, charset: str | None) -> str:
    """Bytes of a text part in `charset` (label as sent), with fallbacks; never raises."""
    label = (charset or "").strip().strip('"').lower()
    candidates = []
    if label:
        candidates.append(_CHARSET_ALIASES.get(label, label))
    candidates += ["utf-8"]
    if payload.startswith(b"\x1b$") or b"\x1b$B" in payload[:4096]:
        candidates.insert(0, "iso2022_jp_ext")
    for codec in dict.fromkeys(candidates):
        try:
            codecs.lookup(codec)
            return payload.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    for codec in ("cp932", "euc_jis_2004"):
        try:
            text = payload.decode(codec)
            if any("\u3040" <= ch <= "\u30ff" for ch in text[:2000]):
                return text
        except UnicodeDecodeError:
            continue
    return payload.decode(
        _CHARSET_ALIASES.get(label, label) if _known(label) else "utf-8", errors="replace"
    )


def _known(label: str) -> bool:
    try:
        codecs.lookup(_CHARSET_ALIASES.get(label, label))
        return bool(label)
    except LookupError:
        return False


def _normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n")


# quoted-history starts: attribution lines and forwarded/original headers
_ATTRIBUTION = re.compile(
    r"^(On .{3,200} wrote:|Le .{3,200} a écrit ?:|Am .{3,200} schrieb .{1,200}:|El .{3,200} escribió:|"
    r"Il .{3,200} ha scritto:|Op .{3,200} schreef .{1,200}:|.{1,200}(さんは|のメッセージ:|wrote:$|書きました[:：]?$)|"
    r"-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|元のメッセージ|Forwarded message)\s*-{2,}|"
    r"_{10,})\s*$",
    re.I,
)
_OUTLOOK_FROM = re.compile(r"^(From|Von|De|差出人|送信者)\s*[:：]\s*\S", re.I)
_OUTLOOK_NEXT = re.compile(
    r"^(Sent|Gesendet|Envoyé|Date|送信日時|日時|To|An|À|宛先|Subject|Betreff|Objet|件名)\s*[:：]",
    re.I,
)


def quote_start(lines: list[str]) -> int | None:
    """Index of the line where quoted history begins, or None (never 0: there must be new text first)."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if i == 0 or not stripped:
            continue
        if _ATTRIBUTION.match(stripped):
            return i
        if (
            _OUTLOOK_FROM.match(stripped)
            and i + 1 < len(lines)
            and _OUTLOOK_NEXT.match(lines[i + 1].strip())
        ):
            return i
        if stripped.startswith(">"):
            rest = [l.strip() for l in lines[i:] if l.strip()]
            # a trailing quote block (allowing a signature or short interleaved lines after it)
            quoted = sum(1 for l in rest if l.startswith(">"))
            if quoted >= max(1, int(len(rest) * 0.6)):
                # an attribution line right before the block belongs to the history too
                j = i - 1
                while j > 0 and not lines[j].strip():
                    j -= 1
                if j > 0 and lines[j].rstrip().endswith((":", "：")):
                    return j
                return i
    return None


def mark_quoted(body: str) -> str:
    """`body` with `QUOTE_MARKER` inserted on its own line where quoted history begins."""
    if not body:
        return body
    lines = body.split("\n")
    start = quote_start(lines)
    if start is None or not any(l.strip() for l in lines[:start]):
        return body
    return "\n".join([*lines[:start], QUOTE_MARKER, *lines[start:]])


def split_quoted(body: str) -> tuple[str, str]:
    """(new text, quoted history) as the thread view would collapse them."""
    head, sep, tail = body.partition("\n" + QUOTE_MARKER + "\n")
    return (head, tail) if sep else (body, "")
