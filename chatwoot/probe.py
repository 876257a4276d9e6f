"""What `frontdesk doctor` asks a Chatwoot server: the URL, the token and account, the websocket.

Each check is a `Finding`: ok or not, and one line (a problem's line names the fix). Nothing
here follows a redirect (the token would travel with it), prints the profile (it holds the
token) or repeats the token in any line.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from frontdesk.chatwoot.api import ANSWER_DEADLINE
from frontdesk.chatwoot.token import missing_token_line, refused_token_line
from frontdesk.credentials import redact

if TYPE_CHECKING:
    import httpx

    from frontdesk.config import DeskConfig

MAX_BODY = 1 << 20
"""The most of an answer read (a profile or a count is a few kilobytes)."""
CABLE_PROTOCOLS = ("actioncable-v1-json", "actioncable-unsupported")
"""The subprotocols Chatwoot's dashboard offers (ActionCable's own JavaScript client)."""
MAX_SHOWN = 120
SHOWN_ACCOUNTS = 5
"""The most of an agent's accounts named when the configured one is not among them."""
"""The most of a server's own text (a Location, a reason) put in a line."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome: `ok`, and the line to print (with the fix when not ok)."""

    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class Agent:
    """What the profile says of the token's agent on the configured account."""

    user_id: int
    name: str
    pubsub_token: str


async def probe(desk: DeskConfig, token: str | None, *, timeout: float = 10.0) -> list[Finding]:
    """Ask the server at `desk.url` what the console will ask: the profile (is it a Chatwoot,
    is the token good, is the account the agent's), the account's counts, then the websocket.
    Later checks are skipped when an earlier one failed (they could only fail the same way)."""
    import httpx

    found: list[Finding] = []
    async with httpx.AsyncClient(
        base_url=desk.url, timeout=timeout, follow_redirects=False
    ) as http:
        answer = await _get(http, "/api/v1/profile", token)
        reached = _reached(desk, answer)
        found.append(reached)
        if not reached.ok:
            return _redacted(found, token)
        if token is None:
            return [*found, Finding(False, missing_token_line())]
        agent = _account(desk, answer, found)
        if agent is None:
            return _redacted(found, token)
        found.append(await _counts(http, desk, token))
    found.append(await _cable(desk, agent, timeout))
    return _redacted(found, token)


def cache_finding(folder: Path) -> Finding:
    """Whether the console can keep what it saw in `folder` (made on first use when missing)."""
    fix = "fix its permissions or point --data-dir / FRONTDESK_DATA_DIR at a writable folder"
    if folder.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            return Finding(False, f"cannot write the Chatwoot cache {folder} ({_os(exc)}); {fix}")
        return Finding(True, f"cache {folder}")
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if folder.exists() or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return Finding(False, f"cannot create the Chatwoot cache {folder} in {parent}; {fix}")
    return Finding(True, f"cache {folder} (made when the console first runs)")


# ---- the profile --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: bytes = b""
    location: str = ""
    retry_after: str = ""
    failure: str = ""  # why no answer came (connect, DNS, TLS, timeout)


async def _get(http: httpx.AsyncClient, path: str, token: str | None, **params: str) -> _Answer:
    import httpx

    headers = {"Accept": "application/json"}
    if token is not None:
        headers["api_access_token"] = token
    try:
        async with asyncio.timeout(http.timeout.read * ANSWER_DEADLINE):  # a trickle never ends
            async with http.stream("GET", path, headers=headers, params=params) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        break
                return _Answer(
                    response.status_code,
                    bytes(body[:MAX_BODY]),
                    response.headers.get("location", ""),
                    response.headers.get("retry-after", ""),
                )
    except (httpx.TimeoutException, TimeoutError):
        return _Answer(0, failure=f"no answer within {http.timeout.read:g} s")
    except httpx.HTTPError as exc:
        return _Answer(0, failure=_text(str(exc) or type(exc).__name__))


def _reached(desk: DeskConfig, answer: _Answer) -> Finding:
    """Whether a Chatwoot answered at the URL (200 with a profile, or 401 when it refuses)."""
    where = f"{desk.url}/api/v1/profile"
    fix = "check [desk] url"
    if answer.failure:
        return Finding(
            False, f"cannot reach {desk.url} ({answer.failure}); {fix} and that the server is up"
        )
    if 300 <= answer.status < 400:
        to = _text(answer.location) or "elsewhere"
        return Finding(
            False,
            f"{desk.url} redirects to {to} (HTTP {answer.status}); set [desk] url to the address "
            "it redirects to (frontdesk does not follow: the token would go along)",
        )
    if answer.status == 429:
        wait = f"{_text(answer.retry_after)} s" if answer.retry_after else "a while"
        return Finding(False, f"{desk.url} asks to wait {wait} (HTTP 429); run doctor again then")
    if answer.status == 404:
        return Finding(
            False,
            f"{where} is not found (HTTP 404): not a Chatwoot server, or [desk] url lacks the "
            "path prefix of the proxy in front of it",
        )
    if answer.status >= 500:
        return Finding(False, f"{where} answered HTTP {answer.status}; see the server's logs")
    data = _json(answer.body)
    looks = (answer.status == 200 and _profile_shape(data)) or (
        answer.status == 401 and isinstance(data, dict) and ("error" in data or "errors" in data)
    )
    if not looks:
        return Finding(
            False,
            f"{where} answered HTTP {answer.status} but not as Chatwoot does; {fix} (a proxy's "
            "login page or another service answers there)",
        )
    return Finding(True, f"Chatwoot answers at {desk.url}")


def _account(desk: DeskConfig, answer: _Answer, found: list[Finding]) -> Agent | None:
    """The token's agent on the configured account, with a finding either way."""
    if answer.status == 401:
        found.append(Finding(False, refused_token_line()))
        return None
    data = _json(answer.body)
    name = _text(str(data.get("available_name") or data.get("name") or "?"))
    email = _text(str(data.get("email") or ""))
    accounts = [a for a in data.get("accounts") or () if isinstance(a, dict)]
    mine = next((a for a in accounts if a.get("id") == desk.account_id), None)
    if mine is None:
        theirs = ", ".join(
            f"{_text(str(a.get('id')))} ({_text(str(a.get('name', '')))})"
            for a in accounts[:SHOWN_ACCOUNTS]
        ) + (
            f" and {len(accounts) - SHOWN_ACCOUNTS} more" if len(accounts) > SHOWN_ACCOUNTS else ""
        )
        found.append(
            Finding(
                False,
                f"the token's agent {name} has no account {desk.account_id} (theirs: "
                f"{theirs or 'none'}); fix [desk] account_id, or use a token of that account",
            )
        )
        return None
    account = f"account {desk.account_id} ({_text(str(mine.get('name', '')))})"
    if mine.get("status") == "suspended":
        found.append(Finding(False, f"{account} is suspended; ask the server's administrator"))
        return None
    role = _text(str(mine.get("role") or "agent"))
    found.append(
        Finding(
            True, f"token of {name}" + (f" <{email}>" if email else "") + f", {role} on {account}"
        )
    )
    pubsub = data.get("pubsub_token")
    if not isinstance(pubsub, str) or not pubsub:
        found.append(
            Finding(
                False,
                "the profile has no pubsub_token, so no live updates can come; "
                "check the server's version and logs",
            )
        )
        return None
    return Agent(int(data["id"]), name, pubsub)


def _profile_shape(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("id"), int)
        and isinstance(data.get("accounts"), list)
    )


async def _counts(http: httpx.AsyncClient, desk: DeskConfig, token: str) -> Finding:
    """The account's open conversations, as the console's first list asks for them."""
    path = f"/api/v1/accounts/{desk.account_id}/conversations/meta"
    answer = await _get(http, path, token, status="open")
    meta = _json(answer.body).get("meta") if answer.status == 200 else None
    if not isinstance(meta, dict):
        why = answer.failure or f"HTTP {answer.status}"
        return Finding(
            False,
            f"the token cannot list account {desk.account_id}'s conversations ({why}); check "
            "the agent's access to the account's inboxes",
        )
    counts = {k: meta.get(k) for k in ("all_count", "mine_count", "unassigned_count")}
    shown = [
        f"{value} {label}"
        for (key, label) in (
            ("mine_count", "mine"),
            ("unassigned_count", "unassigned"),
        )
        if isinstance(value := counts[key], int)
    ]
    total = counts["all_count"] if isinstance(counts["all_count"], int) else "?"
    return Finding(
        True,
        f"account {desk.account_id}: {total} open conversations"
        + (f" ({', '.join(shown)})" if shown else ""),
    )


# ---- the websocket ------------------------------------------------------------------------------


def cable_url(url: str) -> str:
    """The ActionCable address beside the API: ws(s)://host[/prefix]/cable."""
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/cable"


async def _cable(desk: DeskConfig, agent: Agent, timeout: float) -> Finding:
    """Welcome, then RoomChannel for the agent's pubsub_token: confirmed or not, within `timeout`."""
    import aiohttp

    where = cable_url(desk.url)
    parts = urlsplit(desk.url)
    identifier = json.dumps(
        {
            "channel": "RoomChannel",
            "pubsub_token": agent.pubsub_token,
            "account_id": desk.account_id,
            "user_id": agent.user_id,
        }
    )

    async def talk() -> Finding:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                where,
                headers={"Origin": f"{parts.scheme}://{parts.netloc}"},
                protocols=CABLE_PROTOCOLS,
                max_msg_size=MAX_BODY,
            ) as ws,
        ):
            return await _subscribe(ws, where, identifier, welcomed)

    welcomed: list[bool] = []  # one item once the server said welcome
    try:
        return await asyncio.wait_for(talk(), timeout)
    except TimeoutError:
        if not welcomed:
            return Finding(
                False,
                f"the websocket {where} sent no welcome within {timeout:g} s; check that "
                "/cable reaches Chatwoot (a proxy must pass websocket upgrades)",
            )
        return Finding(
            False,
            f"the websocket {where} did not confirm RoomChannel within {timeout:g} s; the "
            "server may not know this agent's pubsub_token: check the server's logs",
        )
    except aiohttp.WSServerHandshakeError as exc:
        return Finding(
            False,
            f"no websocket at {where} (HTTP {exc.status}); a proxy in front of Chatwoot must "
            "pass /cable with its Upgrade and Connection headers",
        )
    except (aiohttp.ClientError, OSError) as exc:
        return Finding(
            False, f"cannot open the websocket {where} ({_text(str(exc) or type(exc).__name__)})"
        )


async def _subscribe(ws: Any, where: str, identifier: str, welcomed: list[bool]) -> Finding:
    import aiohttp

    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        data = _json(message.data.encode())
        kind = data.get("type")
        if kind == "welcome" and not welcomed:
            welcomed.append(True)
            await ws.send_str(json.dumps({"command": "subscribe", "identifier": identifier}))
        elif kind == "disconnect":
            reason = _text(str(data.get("reason") or "no reason given"))
            return Finding(False, f"the websocket {where} closed at once ({reason})")
        elif kind == "reject_subscription" and data.get("identifier") == identifier:
            return Finding(
                False,
                f"the websocket {where} refused RoomChannel for this agent; run doctor again, "
                "and if it persists check the server's logs",
            )
        elif kind == "confirm_subscription" and data.get("identifier") == identifier:
            return Finding(True, f"websocket {where}: RoomChannel confirmed")
    step = "subscribing" if welcomed else "before its welcome"
    return Finding(False, f"the websocket {where} closed {step}; check the server's logs")


# ---- text -------------------------------------------------------------------------------------


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _text(text: str) -> str:
    """A server's text as a short single line (doctor strips control characters when printing)."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_SHOWN else line[: MAX_SHOWN - 1] + "…"


def _os(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _redacted(found: list[Finding], token: str | None) -> list[Finding]:
    """The findings with the token masked wherever a server's text repeated it."""
    return [Finding(f.ok, redact(f.text, [token])) for f in found]
