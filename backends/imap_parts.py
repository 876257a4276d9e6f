"""Reading one MIME part of a mail over IMAP without the whole mail: BODYSTRUCTURE and streaming decoders.

- `parse_bodystructure(lines)` reads the server's FETCH answer (lines and literals, as
  aioimaplib hands them) into nested lists; it raises ValueError on anything malformed
  (the answer is untrusted).
- `walk_sections(structure)` lists the parts in the order of Python's `Message.walk()` —
  the order attachment indexes were taken in at ingest — with each part's IMAP section
  ("2", "3.1"; None for a multipart container), transfer encoding and encoded size.
- `decoder(encoding)` turns the encoded part, fed chunk by chunk, into its bytes, holding
  at most a line or a base64 quantum between chunks.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\}\s*\Z|([^\s()"]+))')
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
#: nesting deeper than this is not a real mail (and would blow the stack)
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Section:
    """A part as `Message.walk()` yields it: its IMAP section (None: a container), encoding, encoded size."""

    section: str | None
    encoding: str = "7bit"
    size: int = 0
    filename: str = ""
    """The part's own file name (Content-Disposition filename, else Content-Type name), decoded."""


def _tokens(lines: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in lines:
        if isinstance(item, (bytearray, memoryview)):
            out.append(bytes(item).decode("utf-8", "replace"))  # a literal: a string
            continue
        if not isinstance(item, bytes):
            continue
        pos = 0
        while pos < len(item):
            found = _TOKEN.match(item, pos)
            if found is None or found.end() == pos:
                if item[pos:].strip():
                    raise ValueError("unexpected character in BODYSTRUCTURE")
                break
            pos = found.end()
            opened, closed, quoted, _literal, atom = found.groups()
            if opened:
                out.append(_OPEN)
            elif closed:
                out.append(_CLOSE)
            elif quoted is not None:
                out.append(re.sub(rb"\\(.)", rb"\1", quoted).decode("utf-8", "replace"))
            elif atom is not None:
                text = atom.decode("utf-8", "replace")
                out.append(None if text.upper() == "NIL" else Atom(text))
            # a literal's marker: its text is the next item
    return out


class Atom(str):
    """An unquoted IMAP atom (UID, BODYSTRUCTURE, a number)."""


_OPEN, _CLOSE = object(), object()


def _nest(tokens: list[Any]) -> list[Any]:
    stack: list[list[Any]] = [[]]
    for token in tokens:
        if token is _OPEN:
            if len(stack) > MAX_DEPTH:
                raise ValueError("BODYSTRUCTURE nested too deeply")
            stack.append([])
        elif token is _CLOSE:
            if len(stack) == 1:
                raise ValueError("unbalanced parentheses in BODYSTRUCTURE")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1:
        raise ValueError("unbalanced parentheses in BODYSTRUCTURE")
    return stack[0]


def parse_bodystructure(lines: list[Any]) -> list[Any]:
    """The BODYSTRUCTURE in a `UID FETCH n (UID BODYSTRUCTURE)` answer, as nested lists."""
    for item in _nest(_tokens(lines)):
        if isinstance(item, list):
            for name, value in zip(item, item[1:]):
                if (
                    isinstance(name, Atom)
                    and name.upper() == "BODYSTRUCTURE"
                    and isinstance(value, list)
                ):
                    return value
    raise ValueError("no BODYSTRUCTURE in the answer")


def _is_multipart(node: list[Any]) -> bool:
    return bool(node) and isinstance(node[0], list)


def _part(node: Any, section: str, depth: int) -> list[Section]:
    if not isinstance(node, list) or depth > MAX_DEPTH:
        raise ValueError("malformed body part")
    if _is_multipart(node):
        children: list[Any] = []
        for item in node:  # the parts, then the subtype and extension data
            if not isinstance(item, list):
                break
            children.append(item)
        out = [Section(None)]  # a container: nothing of its own to save
        for number, child in enumerate(children, 1):
            out += _part(child, f"{section}.{number}" if section else str(number), depth + 1)
        return out
    if len(node) < 7:
        raise ValueError("malformed body part")
    kind, subtype, encoding, size = node[0], node[1], node[5], node[6]
    try:
        octets = int(size) if size is not None else 0
    except ValueError:
        octets = 0
    here = Section(section or "1", str(encoding or "7bit").lower(), max(0, octets), _filename(node))
    if (
        str(kind).lower() == "message"
        and str(subtype).lower() == "rfc822"
        and len(node) > 8
        and isinstance(node[8], list)
    ):
        return [here, *_message(node[8], f"{here.section}.", depth + 1)]
    return [here]


def _filename(node: list[Any]) -> str:
    """The file name in a part's disposition or type parameters (RFC 2231 and 2047 decoded)."""
    kind, subtype = str(node[0]).lower(), str(node[1]).lower()
    # the disposition follows the body fields, which are longer for text and message/rfc822
    at = 9 if kind == "text" else 11 if (kind, subtype) == ("message", "rfc822") else 8
    disposition = node[at] if len(node) > at else None
    found: dict[str, str] = {}
    for params, wanted in (
        (node[2], "name"),
        (
            disposition[1] if isinstance(disposition, list) and len(disposition) > 1 else None,
            "filename",
        ),
    ):
        if isinstance(params, list):
            for key, value in zip(params[::2], params[1::2]):
                if (
                    isinstance(key, str)
                    and isinstance(value, str)
                    and key.lower().rstrip("*") == wanted
                ):
                    found[key.lower()] = value
    for key in ("filename*", "filename", "name*", "name"):
        if key in found:
            return _decoded_param(key, found[key])
    return ""


def _decoded_param(key: str, value: str) -> str:
    from email import policy

    quoted = (
        value if key.endswith("*") else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    )
    try:
        header = policy.default.header_factory(
            "content-disposition",
            f"attachment; {key.rstrip('*')}{'*' if key.endswith('*') else ''}={quoted}",
        )
        return str(header.params.get(key.rstrip("*"), "") or "")
    except Exception:  # a malformed parameter: no name (the caller has a fallback)
        return ""


def _message(node: Any, prefix: str, depth: int) -> list[Section]:
    """A message's parts as walk() yields them: itself, then what it holds."""
    if isinstance(node, list) and _is_multipart(node):
        return _part(node, prefix.rstrip("."), depth)
    return _part(node, f"{prefix}1", depth)


def walk_sections(structure: list[Any]) -> list[Section]:
    """The parts of a mail in `Message.walk()` order, with their IMAP sections."""
    return _message(structure, "", 0)


# ---- decoding a part chunk by chunk ----------------------------------------------------------------


class _Identity:
    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def flush(self) -> bytes:
        return b""


class _Base64:
    def __init__(self) -> None:
        self.rest = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.rest + _NOT_BASE64.sub(b"", chunk)
        whole = len(data) // 4 * 4
        self.rest = data[whole:]
        return binascii.a2b_base64(data[:whole]) if whole else b""

    def flush(self) -> bytes:
        rest, self.rest = self.rest, b""
        rest = rest.rstrip(b"=")
        if len(rest) % 4 == 1:
            rest = rest[:-1]  # a lone sextet holds no byte (the email package drops it too)
        return binascii.a2b_base64(rest + b"=" * (-len(rest) % 4)) if rest else b""


class _QuotedPrintable:
    def __init__(self) -> None:
        self.rest = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.rest + chunk
        end = data.rfind(b"\n") + 1  # decode whole lines only: a soft break may span chunks
        self.rest = data[end:]
        return binascii.a2b_qp(data[:end]) if end else b""

    def flush(self) -> bytes:
        rest, self.rest = self.rest, b""
        return binascii.a2b_qp(rest) if rest else b""


def decoder(encoding: str) -> _Identity | _Base64 | _QuotedPrintable:
    """A decoder for a part's Content-Transfer-Encoding (7bit, 8bit, binary and unknown ones pass through)."""
    encoding = encoding.lower()
    if encoding == "base64":
        return _Base64()
    if encoding == "quoted-printable":
        return _QuotedPrintable()
    return _Identity()
