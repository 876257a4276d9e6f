"""Escalation hooks: the JSON an escalation sends, running an HTTP or command hook, reading its ticket.

A hook is either an HTTP POST of the JSON (httpx) or a local program run without a shell
with the JSON on stdin. Either may answer with the ticket it opened, as
`{"id": …, "url": …}` or `{"ticket": {"id": …, "url": …}}`; the answer is untrusted, so it
is read only up to MAX_RESPONSE bytes and the id and URL are bounded and checked.

`run_hook` raises `HookError(permanent=False)` for what is worth trying again (connect
errors, timeouts, 429, 5xx, a non-zero exit) and `HookError(permanent=True)` for what is
not (4xx, a program that does not exist). The hook's `timeout` bounds the whole run: for a
URL hook, connecting, sending and reading the entire answer.

A command hook gets only the variables of HOOK_ENVIRONMENT (and LC_*) from frontdesk's
environment: never a channel secret, the keyring's unlock password, or proxy credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontdesk.model import Contact, Conversation, Message, MessageKind, Ticket
from frontdesk.store.records import HookJob

__all__ = ["HookError", "HookJob", "HookSpec", "build_payload", "parse_ticket", "run_hook"]

LAST_MESSAGES = 20
"""How many of the newest messages and notes an escalation carries."""
MAX_RESPONSE = 64 * 1024
MAX_STDERR = 4000  # the end of a failing command's stderr, for its last line
"""Bytes of a hook's answer that are read; the rest is ignored."""
MAX_ID = 64
MAX_URL = 500
MAX_REASON = 300
HOOK_ENVIRONMENT = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
"""What a command hook inherits, besides LC_*: enough to find programs, files, the locale and the time zone."""
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+\Z")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class HookError(Exception):
    """A hook run failed; `permanent` says whether trying again could help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class HookSpec:
    """A configured hook as the desk runs it (built from `[[escalation.hooks]]` plus its secret)."""

    name: str
    url: str | None = None
    command: tuple[str, ...] = ()
    timeout: float = 10.0
    targets: tuple[str, ...] = ()
    token: str | None = field(default=None, repr=False)
    """Sent as `Authorization: Bearer …` to a URL hook; never logged or shown."""

    def applies_to(self, target: str) -> bool:
        return not self.targets or target in self.targets

    def redact(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


# ---- what an escalation sends -------------------------------------------------------------


def build_payload(
    conv: Conversation,
    contact: Contact | None,
    messages: Sequence[Message],
    *,
    reason: str,
    target: str,
    priority: str,
    agent: str,
    at: datetime,
) -> dict[str, Any]:
    """The JSON every hook of one escalation receives: who, what, why, and the last messages.

    Notes are included with `"note": true` (the receiver is the team's own helpdesk);
    inline events (assigned, resolved …) are left out.
    """
    spoken = [m for m in messages if m.kind is not MessageKind.ACTIVITY][-LAST_MESSAGES:]
    return {
        "event": "escalation",
        "escalated_at": at.isoformat(),
        "target": target,
        "priority": priority,
        "reason": reason,
        "agent": agent,
        "conversation": {
            "id": conv.id,
            "channel": conv.channel,
            "subject": conv.subject,
            "status": conv.status.value,
            "labels": list(conv.labels),
            "assignee": conv.assignee,
            "created_at": conv.created_at.isoformat(),
        },
        "contact": None
        if contact is None
        else {
            "id": contact.id,
            "name": contact.name,
            "emails": list(contact.emails),
            "phones": list(contact.phones),
            "language": contact.language,
            "identities": [str(i) for i in contact.identities],
            "attributes": dict(contact.attributes),
        },
        "messages": [
            {
                "id": m.id,
                "direction": m.direction.value,
                "author": m.author,
                "body": m.body,
                "note": m.is_note,
                "attachments": [a.name for a in m.attachments],
                "created_at": m.created_at.isoformat(),
            }
            for m in spoken
        ],
    }


# ---- reading a hook's answer ----------------------------------------------------------------


def parse_ticket(hook: str, answer: bytes, at: datetime) -> Ticket | None:
    """The ticket in a hook's answer, or None when it names none (an empty or non-JSON answer)."""
    try:
        data = json.loads(answer[:MAX_RESPONSE].decode("utf-8", "replace"))
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("ticket"), dict):
        data = data["ticket"]
    if not isinstance(data, dict):
        return None
    raw_id, raw_url = data.get("id"), data.get("url")
    ticket_id = (
        _bounded(str(raw_id), MAX_ID)
        if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool)
        else ""
    )
    url = raw_url.strip() if isinstance(raw_url, str) else ""
    url = url if len(url) <= MAX_URL and _URL.match(url) else ""
    if not ticket_id and not url:
        return None
    return Ticket(hook=hook, id=ticket_id, url=url, created_at=at)


def _bounded(text: str, limit: int) -> str:
    text = " ".join(_CONTROLS.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- running one hook -------------------------------------------------------------------------


async def run_hook(
    spec: HookSpec, payload: dict[str, Any], key: str, at: datetime
) -> Ticket | None:
    """Run `spec` once with `payload`; the ticket it reports, or HookError."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    if spec.url is not None:
        answer = await _post(spec, body, key)
    else:
        answer = await _run_command(spec, body)
    return parse_ticket(spec.name, answer, at)


async def _post(spec: HookSpec, body: bytes, key: str) -> bytes:
    import httpx

    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "User-Agent": "frontdesk-escalation",
    }
    if spec.token:
        headers["Authorization"] = f"Bearer {spec.token}"
    try:
        # the whole exchange within the timeout: httpx's own applies per read, which a trickle never trips
        async with asyncio.timeout(spec.timeout):
            async with httpx.AsyncClient(timeout=spec.timeout, follow_redirects=False) as client:
                async with client.stream(
                    "POST", spec.url, content=body, headers=headers
                ) as response:
                    answer = await _read_bounded(response)
    except (httpx.TimeoutException, TimeoutError):
        raise HookError(f"no answer within {spec.timeout:g}s", permanent=False) from None
    except httpx.HTTPError as exc:
        raise HookError(
            spec.redact(f"cannot reach {spec.url}: {_describe(exc)}"), permanent=False
        ) from None
    status = response.status_code
    if status == 429 or status >= 500:
        raise HookError(f"HTTP {status}{_snippet(answer)}", permanent=False)
    if status >= 300:
        raise HookError(f"HTTP {status}{_snippet(answer)}", permanent=True)
    return answer


async def _read_bounded(response: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE:
            break
    return b"".join(chunks)[:MAX_RESPONSE]


async def _run_command(spec: HookSpec, body: bytes) -> bytes:
    program = spec.command[0]
    try:
        process = await asyncio.create_subprocess_exec(
            *spec.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=hook_environment(),
        )
    except FileNotFoundError:
        raise HookError(
            f"command {program!r} not found; fix `command` of this hook in the config",
            permanent=True,
        ) from None
    except PermissionError:
        raise HookError(
            f"command {program!r} is not executable; fix its permissions or `command` in the config",
            permanent=True,
        ) from None
    try:
        async with asyncio.timeout(spec.timeout):
            _, out, err = await asyncio.gather(
                _feed(process, body),
                _read_capped(process.stdout, MAX_RESPONSE),
                _read_capped(process.stderr, MAX_STDERR, tail=True),
            )
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise HookError(
            f"{program} did not finish within {spec.timeout:g}s", permanent=False
        ) from None
    if process.returncode != 0:
        last = next(
            (
                line
                for line in reversed(err.decode("utf-8", "replace").splitlines())
                if line.strip()
            ),
            "",
        )
        said = f": {_bounded(last, MAX_REASON)}" if last else ""
        raise HookError(
            f"{os.path.basename(program)} exited with {process.returncode}{said}", permanent=False
        )
    return out


async def _feed(process: asyncio.subprocess.Process, body: bytes) -> None:
    try:
        process.stdin.write(body)
        await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # a command that does not read its input
    finally:
        process.stdin.close()


async def _read_capped(stream: asyncio.StreamReader, cap: int, *, tail: bool = False) -> bytes:
    """At most `cap` bytes of what a command printed (its start, or with `tail` its end); the
    rest is read and dropped, so a chatty command neither blocks on a full pipe nor fills memory."""
    kept = bytearray()
    while chunk := await stream.read(1 << 16):
        kept += chunk
        if len(kept) > cap:
            kept = kept[-cap:] if tail else kept[:cap]
    return bytes(kept)


def hook_environment() -> dict[str, str]:
    """The environment for a command hook: an allow-list, so a secret added to ours later cannot leak."""
    return {
        key: value
        for key, value in os.environ.items()
        if key in HOOK_ENVIRONMENT or key.startswith("LC_")
    }


def _snippet(answer: bytes) -> str:
    """The start of an answer for a failure reason: one bounded line, or nothing."""
    text = answer[:2000].decode("utf-8", "replace")
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            for name in ("error", "message", "detail"):
                if isinstance(data.get(name), str):
                    text = data[name]
                    break
    except ValueError:
        pass
    text = _bounded(text, MAX_REASON)
    return f": {text}" if text else ""


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
