"""The Chatwoot Application API as the desk uses it: one method per endpoint, answers parsed, errors typed.

Every request carries the account's `api_access_token` header (never logged, never in an error);
answers are read up to `MAX_ANSWER` bytes; whatever goes wrong becomes one of `chatwoot.errors`,
typed by what the caller may do next (send again, wait, ask for a new token, give up).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from frontdesk.chatwoot.errors import (
    ChatwootError,
    RateLimited,
    Refused,
    TokenRefused,
    Unconfirmed,
    Unreachable,
)

if TYPE_CHECKING:  # httpx is imported with the first request: a console paints before it
    import httpx

MAX_ANSWER = 8 * 1024 * 1024
"""Bytes of one answer read; a larger one is refused (no page of 25 conversations comes near)."""
MAX_DOWNLOAD = 25 * 1024 * 1024
"""Bytes of one attachment downloaded."""
MAX_RETRY_AFTER = 3600.0
ANSWER_DEADLINE = 4
"""A whole answer (or download) must be in within this many read timeouts: a server sending a
byte now and then never trips a read timeout, and would hold the request forever."""
DEFAULT_RETRY_AFTER = 5.0
TOKEN_FIX = (
    "Chatwoot refused the token: set a new one with `frontdesk creds set chatwoot api_access_token`"
)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_GATEWAY = frozenset({502, 503, 504})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def retry_after(value: str | None) -> float:
    """Seconds a 429's Retry-After asks for: a negative, unreadable or missing one is the default
    wait, a longer one than `MAX_RETRY_AFTER` is capped (it comes from the network)."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
    if not seconds >= 0:  # negative or NaN
        return DEFAULT_RETRY_AFTER
    return min(seconds, MAX_RETRY_AFTER)


def server_reason(body: bytes, limit: int = 200) -> str:
    """The server's own words from an error answer (`error`, `message` or `errors`), one clean line."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # nested past what the reader goes: no words read
        return ""
    found: Any = ""
    if isinstance(data, dict):
        found = data.get("error") or data.get("message") or data.get("errors") or ""
    if isinstance(found, list):
        found = "; ".join(str(item) for item in found[:5] if isinstance(item, str | int))
    if not isinstance(found, str):
        return ""
    line = " ".join(_CONTROL.sub(" ", found).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class ChatwootApi:
    """A keep-alive client of one Chatwoot account (`url` is the server's base, without /api)."""

    def __init__(
        self,
        url: str,
        account_id: int,
        token: str,
        *,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.account_id = account_id
        self.host = urlsplit(self.url).netloc or self.url
        self._token, self._timeout, self._transport = token, timeout, transport
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """The keep-alive HTTP client, made on the first request."""
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                base_url=self.url,
                headers={"api_access_token": self._token, "Accept": "application/json"},
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                transport=self._transport,
                follow_redirects=False,
            )
        return self._http

    @property
    def token(self) -> str:
        return self._token

    def set_token(self, token: str) -> None:
        """Use `token` from the next request on (the agent set a new one after a 401)."""
        self._token = token
        if self._http is not None:
            self._http.headers["api_access_token"] = token

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # ---- the one way a request is made -------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        body: Any = None,
        account: bool = True,
        form: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> Any:
        """`method path` (under the account unless `account` is False) with a JSON `body`, or a
        multipart `form` with `files`; the answer's JSON."""

        full = f"/api/v1/accounts/{self.account_id}{path}" if account else f"/api/v1{path}"
        if files is not None:
            request = self._client.build_request(
                method, full, params=params, data=dict(form or {}), files=list(files)
            )
        else:
            request = self._client.build_request(method, full, params=params, json=body)
        what = f"{method} {full}"
        response, data = await self._exchange(request, what, MAX_ANSWER)
        return self._answer(response, data, what)

    async def _exchange(
        self, request: httpx.Request, what: str, limit: int
    ) -> tuple[httpx.Response, bytes]:
        """`request` sent and its answer read (up to `limit` bytes, else Refused); a failure on the
        way becomes the error that says whether it may have taken effect (`what` names it)."""
        import httpx

        method = request.method
        try:
            async with asyncio.timeout(self._timeout * ANSWER_DEADLINE):
                response = await self._client.send(request, stream=True)
                try:
                    data = await _read_bounded(response, limit, what, self.host)
                finally:
                    await response.aclose()
        except ChatwootError:
            raise
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise self._timed_out(method, what, exc) from None
        except httpx.HTTPError as exc:
            sent = method in _WRITES and not isinstance(exc, httpx.ConnectError)
            if sent and isinstance(exc, httpx.RemoteProtocolError):
                raise Unconfirmed(
                    f"Chatwoot at {self.host} dropped the connection after {what} was sent: "
                    "it may have taken effect"
                ) from None
            raise Unreachable(f"Chatwoot at {self.host} is unreachable: {_why(exc)}") from None
        return response, data

    def _timed_out(self, method: str, what: str, exc: Exception) -> ChatwootError:
        import httpx

        sent = isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | TimeoutError)
        if method in _WRITES and sent:
            return Unconfirmed(
                f"Chatwoot at {self.host} did not answer {what} in time: it may have taken effect"
            )
        return Unreachable(f"Chatwoot at {self.host} did not answer {what} in time")

    def _answer(self, response: httpx.Response, data: bytes, what: str) -> Any:
        status = response.status_code
        if status == 401:
            raise TokenRefused(TOKEN_FIX)
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"))
            raise RateLimited(f"Chatwoot at {self.host} asks to wait {wait:g} s (rate limit)", wait)
        if status >= 500 or status in _GATEWAY:
            raise Unreachable(f"Chatwoot at {self.host} failed {what} (HTTP {status}); try later")
        if status >= 400 or 300 <= status < 400:
            reason = server_reason(data) or response.reason_phrase or "refused"
            raise Refused(f"Chatwoot refused {what} (HTTP {status}): {reason}", status)
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise Unreachable(
                f"Chatwoot at {self.host} answered {what} with something not JSON: "
                "is the [desk] url the Chatwoot server itself (not a login page or proxy)?"
            ) from None

    # ---- the account ----------------------------------------------------------------------

    async def profile(self) -> Any:
        return await self.request("GET", "/profile", account=False)

    async def agents(self) -> Any:
        return await self.request("GET", "/agents")

    async def teams(self) -> Any:
        return await self.request("GET", "/teams")

    async def inboxes(self) -> Any:
        return await self.request("GET", "/inboxes")

    async def labels(self) -> Any:
        return await self.request("GET", "/labels")

    async def canned_responses(self) -> Any:
        return await self.request("GET", "/canned_responses")

    # ---- conversations --------------------------------------------------------------------

    async def conversations(self, query: Sequence[tuple[str, Any]], page: int) -> Any:
        return await self.request("GET", "/conversations", params=[*query, ("page", page)])

    async def conversations_meta(self, query: Sequence[tuple[str, Any]]) -> Any:
        return await self.request("GET", "/conversations/meta", params=list(query))

    async def conversation(self, conv_id: int) -> Any:
        return await self.request("GET", f"/conversations/{int(conv_id)}")

    async def search_conversations(self, query: str, page: int = 1) -> Any:
        return await self.request(
            "GET", "/conversations/search", params={"q": query[:500], "page": page}
        )

    async def messages(self, conv_id: int, before: int | None = None) -> Any:
        params = {"before": before} if before is not None else None
        return await self.request("GET", f"/conversations/{int(conv_id)}/messages", params=params)

    async def create_message(
        self, conv_id: int, content: str, *, private: bool, echo_id: str | None = None
    ) -> Any:
        body: dict[str, Any] = {
            "content": content,
            "private": private,
            "message_type": "outgoing",
        }
        if echo_id:
            body["echo_id"] = echo_id
        return await self.request("POST", f"/conversations/{int(conv_id)}/messages", body=body)

    async def create_message_with_files(
        self,
        conv_id: int,
        content: str,
        files: Sequence[tuple[str, bytes, str]],
        *,
        private: bool = False,
        echo_id: str | None = None,
    ) -> Any:
        """A reply with files (name, bytes, MIME type): Chatwoot takes them as `attachments[]`."""
        form = {"content": content, "private": "true" if private else "false"}
        form["message_type"] = "outgoing"
        if echo_id:
            form["echo_id"] = echo_id
        return await self.request(
            "POST",
            f"/conversations/{int(conv_id)}/messages",
            form=form,
            files=[("attachments[]", file) for file in files],
        )

    async def toggle_status(
        self, conv_id: int, status: str, snoozed_until: int | None = None
    ) -> Any:
        body: dict[str, Any] = {"status": status}
        if snoozed_until is not None:
            body["snoozed_until"] = snoozed_until
        return await self.request("POST", f"/conversations/{int(conv_id)}/toggle_status", body=body)

    async def toggle_priority(self, conv_id: int, priority: str) -> Any:
        return await self.request(
            "POST", f"/conversations/{int(conv_id)}/toggle_priority", body={"priority": priority}
        )

    async def assign_agent(self, conv_id: int, agent_id: int | None) -> Any:
        return await self.request(
            "POST", f"/conversations/{int(conv_id)}/assignments", body={"assignee_id": agent_id}
        )

    async def assign_team(self, conv_id: int, team_id: int | None) -> Any:
        return await self.request(
            "POST", f"/conversations/{int(conv_id)}/assignments", body={"team_id": team_id}
        )

    async def conversation_labels(self, conv_id: int) -> Any:
        return await self.request("GET", f"/conversations/{int(conv_id)}/labels")

    async def set_labels(self, conv_id: int, labels: Sequence[str]) -> Any:
        """Replace the conversation's whole label set with `labels` (Chatwoot's POST replaces)."""
        return await self.request(
            "POST", f"/conversations/{int(conv_id)}/labels", body={"labels": list(labels)}
        )

    async def toggle_typing(self, conv_id: int, typing: bool) -> Any:
        return await self.request(
            "POST",
            f"/conversations/{int(conv_id)}/toggle_typing_status",
            body={"typing_status": "on" if typing else "off"},
        )

    async def update_last_seen(self, conv_id: int) -> Any:
        return await self.request("POST", f"/conversations/{int(conv_id)}/update_last_seen")

    # ---- contacts -------------------------------------------------------------------------

    async def contact(self, contact_id: int) -> Any:
        return await self.request("GET", f"/contacts/{int(contact_id)}")

    async def contact_conversations(self, contact_id: int) -> Any:
        return await self.request("GET", f"/contacts/{int(contact_id)}/conversations")

    async def contact_notes(self, contact_id: int) -> Any:
        return await self.request("GET", f"/contacts/{int(contact_id)}/notes")

    async def add_contact_note(self, contact_id: int, content: str) -> Any:
        return await self.request(
            "POST", f"/contacts/{int(contact_id)}/notes", body={"content": content}
        )

    async def update_contact(self, contact_id: int, custom_attributes: Mapping[str, str]) -> Any:
        return await self.request(
            "PUT",
            f"/contacts/{int(contact_id)}",
            body={"custom_attributes": dict(custom_attributes)},
        )

    async def delete_contact_attributes(self, contact_id: int, keys: Sequence[str]) -> Any:
        """Remove custom attributes (Chatwoot's update only adds and changes them)."""
        return await self.request(
            "POST",
            f"/contacts/{int(contact_id)}/destroy_custom_attributes",
            body={"custom_attributes": list(keys)},
        )

    async def search_contacts(self, query: str) -> Any:
        return await self.request("GET", "/contacts/search", params={"q": query[:500]})

    # ---- attachments ----------------------------------------------------------------------

    async def download(self, url: str, limit: int = MAX_DOWNLOAD) -> bytes:
        """The bytes at an attachment's `data_url`, which must be on this server (the token goes
        with the request, so never to another host)."""

        target = urlsplit(url)
        if target.scheme not in ("http", "https") or target.netloc != self.host:
            raise Refused(f"the attachment is not on {self.host}: open it in Chatwoot", 0)
        what = f"GET {target.path}"
        response, data = await self._exchange(self._client.build_request("GET", url), what, limit)
        if response.status_code >= 300:
            self._answer(response, data, what)
            raise Refused(f"Chatwoot refused {what} (HTTP {response.status_code})", 0)
        return data


async def _read_bounded(response: httpx.Response, limit: int, what: str, host: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(f"Chatwoot at {host} answered {what} with more than {limit} bytes", 0)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise Refused(f"Chatwoot at {host} answered {what} with more than {limit} bytes", 0)
        chunks.append(chunk)
    return b"".join(chunks)


def _why(exc: httpx.HTTPError) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return "cannot connect (is the [desk] url right and the server up?)"
    return " ".join(str(exc).split())[:200] or type(exc).__name__
