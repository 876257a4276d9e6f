"""The fake Chatwoot's server: the account's REST routes and /cable in one aiohttp app on
loopback, each request recorded, and the controls and helpers tests drive it with."""

from __future__ import annotations

import asyncio
import email.policy
import json
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Any

from aiohttp import web

from frontdesk.bench.chatwoot_fake.account import Account
from frontdesk.bench.chatwoot_fake.cable import Cable
from frontdesk.bench.chatwoot_fake.records import (
    Agent,
    Conversation,
    Event,
    Invalid,
    Message,
    NotFound,
)
from frontdesk.bench.chatwoot_fake.rest import AGENT, BLOBS, BODY, FILES, Rest, query_params
from frontdesk.bench.chatwoot_fake.seed import seed, setup_account

HIDDEN = "[hidden]"
"""What a recorded request shows in place of the access token."""
SIGN_IN = "You need to sign in or sign up before continuing."
MAX_BODY = 40 << 20
"""Chatwoot's attachment size limit; a larger body gets 413."""


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: the query's `x[]` keys as lists, the JSON body or None,
    and the headers with the access token's value hidden."""

    method: str
    path: str
    query: dict[str, Any]
    json: Any
    headers: dict[str, str]

    def line(self) -> str:
        """The request on one line, as the script logs it."""
        pairs = [(k, x) for k, v in self.query.items() for x in (v if isinstance(v, list) else [v])]
        query = "&".join(f"{k}={v}" for k, v in pairs)
        body = "" if self.json is None else " " + json.dumps(self.json, ensure_ascii=False)
        return f"{self.method} {self.path}{'?' + query if query else ''}{body}"


@dataclass
class _Rule:
    """A control armed by a test: the next request whose path contains `fragment`."""

    fragment: str
    status: int = 0
    applied: bool = False


class FakeChatwoot:
    """A Chatwoot account on loopback for agent 1 ("Aiko Tanaka") with `token`."""

    def __init__(
        self,
        token: str = "fake-token",
        account_id: int = 1,
        *,
        ping_seconds: float = 3.0,
        clock: Callable[[], float] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.account = Account(account_id, clock)
        setup_account(self.account)
        self.tokens: dict[str, int] = {token: 1}
        self.cable = Cable(self.account, ping_seconds, log)
        self.requests: list[Recorded] = []
        self.deliver_after: float | None = None
        """Seconds after which each reply is reported delivered (and read after as many
        again), as a channel reports; None: replies stay `sent`."""
        self._deliveries: set[asyncio.Task] = set()
        self._rest = Rest(self.account, self.cable, self.tokens, self._sent)
        self._log = log
        self._waiters: list[tuple[Callable[[Recorded], bool], asyncio.Future]] = []
        self._rate_limited: list[float | None] = []
        self._fail: list[_Rule] = []
        self._hang: list[_Rule] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def events(self) -> list[Event]:
        """Each event broadcast (sent to the subscribers there were, if any)."""
        return self.cable.events

    @property
    def cable_received(self) -> list[dict[str, Any]]:
        """Each cable command a client sent, parsed (subscribe, message, unsubscribe)."""
        return self.cable.received

    @property
    def refuse_cable(self) -> bool:
        """True: new /cable connections are refused (503), as behind a proxy that is down."""
        return self.cable.refuse

    @refuse_cable.setter
    def refuse_cable(self, refuse: bool) -> None:
        self.cable.refuse = refuse

    # ---- life ----------------------------------------------------------------------------

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def profile(self) -> Agent:
        return self.account.agents[1]

    @property
    def token(self) -> str:
        """Agent 1's access token (the one given to the constructor, while not revoked)."""
        return next((t for t, agent in self.tokens.items() if agent == 1), "")

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port); the base URL, e.g. http://127.0.0.1:3300."""
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_BODY)
        app.router.add_get("/cable", self.cable.serve)
        self._rest.add_routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        self.account.base_url = self.url
        return self.url

    async def stop(self) -> None:
        """Close every cable socket (telling clients to reconnect) and stop serving."""
        self._released.set()
        for task in self._deliveries:
            task.cancel()
        await self.cable.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeChatwoot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def seed(self, n: int, messages: int = 4, rng_seed: int = 0) -> None:
        """Add `n` conversations of about `messages` messages each over the last two weeks."""
        seed(self.account, n, messages, rng_seed)

    def _sent(self, msg: Message) -> None:
        if self.deliver_after is not None:
            task = asyncio.ensure_future(self._deliver(msg, self.deliver_after))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, msg: Message, after: float) -> None:
        for status in ("delivered", "read"):
            await asyncio.sleep(after)
            await self.cable.broadcast([self.account.update_message_status(msg, status, None)])

    # ---- controls for tests --------------------------------------------------------------

    def add_token(self, token: str, agent_id: int) -> None:
        """Let `token` act as agent `agent_id` (a second console as another agent)."""
        self.tokens[token] = agent_id

    def revoke_token(self, token: str | None = None) -> None:
        """Revoke `token` (default: agent 1's): its requests get 401 from now on."""
        self.tokens.pop(token if token is not None else self.token, None)

    def rate_limit(self, next_n: int = 1, retry_after: float | None = 1) -> None:
        """Answer the next `next_n` requests 429 (rack-attack's answer), with Retry-After
        unless `retry_after` is None."""
        self._rate_limited.extend([retry_after] * next_n)

    def fail_next(self, path_substring: str, status: int = 500) -> None:
        """Answer the next request whose path contains `path_substring` with `status`, doing
        nothing (a server error before any effect)."""
        self._fail.append(_Rule(path_substring, status))

    def hang_next(self, path_substring: str, applied: bool = False) -> None:
        """Accept the next request whose path contains `path_substring` and never answer it
        (the client times out after sending). `applied`: the request takes effect (and its
        events go out) before the silence, as when a server is slow to answer."""
        self._hang.append(_Rule(path_substring, applied=applied))

    async def drop_sockets(self) -> None:
        """Cut every cable socket without a closing handshake, as a lost link does."""
        await self.cable.drop()

    @property
    def subscribers(self) -> int:
        """Confirmed RoomChannel subscriptions over every open socket."""
        return self.cable.subscribers

    async def wait_subscribed(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least `n` subscriptions are confirmed."""
        await self.cable.wait(lambda: self.subscribers >= n, timeout, f"{n} cable subscriptions")

    async def wait_sockets(self, n: int, timeout: float = 5.0) -> None:
        """Wait until exactly `n` cable sockets are open (0: every client is gone)."""
        await self.cable.wait(lambda: len(self.cable.sockets) == n, timeout, f"{n} sockets")

    async def wait_for_request(
        self, predicate: Callable[[Recorded], bool], timeout: float = 5.0, after: int = 0
    ) -> Recorded:
        """The first request from index `after` on that satisfies `predicate`, waiting for it
        to come; TimeoutError naming what did come after `timeout` seconds."""
        for rec in self.requests[after:]:
            if predicate(rec):
                return rec
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            seen = "; ".join(r.line()[:120] for r in self.requests[after:][-10:]) or "nothing"
            raise TimeoutError(f"no such request in {timeout}s; received: {seen}") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    # ---- what customers and the server do (test helpers) ---------------------------------

    async def customer_says(self, conv_id: int, text: str) -> dict[str, Any]:
        """The contact writes in `conv_id`: the message (as its JSON) and its events."""
        conv = self.account.conversation(conv_id)
        msg, events = self.account.create_message(conv, None, text)
        await self.cable.broadcast(events)
        return self.account.message_json(msg)

    async def new_conversation(
        self,
        text: str = "Hello, I need help with my order.",
        inbox_id: int = 1,
        contact_id: int | None = None,
        name: str = "New Customer",
        **fields: Any,
    ) -> dict[str, Any]:
        """A contact (`contact_id`, or a new one named `name`) opens a conversation with
        `text`: conversation.created then message.created; the conversation's JSON."""
        account = self.account
        if inbox_id not in account.inboxes:
            raise NotFound(f"inbox {inbox_id}")
        if contact_id is None:
            contact = account.add_contact(name, email=f"c{len(account.contacts) + 1}@example.net")
            await self.cable.broadcast([("contact.created", contact.push_data())])
        else:
            contact = account.contact(contact_id)
        conv = account.add_conversation(
            inbox_id, contact.id, source_id=contact.email or "", **fields
        )
        await self.cable.broadcast([("conversation.created", account.conversation_event(conv))])
        _, events = account.create_message(conv, None, text)
        await self.cable.broadcast(events)
        return account.conversation_json(conv)

    async def customer_typing(self, conv_id: int, on: bool = True) -> None:
        """The contact starts (or stops) typing in `conv_id`."""
        conv = self.account.conversation(conv_id)
        who = self.account.contacts[conv.contact_id].push_data()
        await self.cable.broadcast([self.account.typing(conv, who, on, False)])

    async def customer_read(self, conv_id: int) -> None:
        """The contact read the conversation: conversation.read."""
        await self.cable.broadcast(self.account.contact_read(self.account.conversation(conv_id)))

    async def wake_snoozed(self) -> None:
        """Chatwoot's periodic job: conversations whose snooze ended open again."""
        await self.cable.broadcast(self.account.wake_snoozed())

    async def message_status(self, message_id: int, status: str, error: str | None = None):
        """The channel reports a message `sent`/`delivered`/`read`/`failed` (with `error`)."""
        msg = self.account.messages[message_id]
        await self.cable.broadcast([self.account.update_message_status(msg, status, error)])

    async def agent_acts(self, agent_id: int, conv_id: int, action: str, value: Any) -> None:
        """Another agent, in Chatwoot's web app, changes a conversation: `action` is "status",
        "priority", "assignee", "team", "labels" or "reply"."""
        agent = self.account.agents[agent_id]
        conv = self.account.conversation(conv_id)
        await self.cable.broadcast(self._act(agent, conv, action, value))

    async def set_availability(self, agent_id: int, status: str) -> None:
        """An agent goes online/busy/offline: presence.update to every subscriber."""
        self.account.agents[agent_id].availability_status = status
        await self.cable.broadcast([("presence.update", self.cable.presence())])

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        """Broadcast any event, as given, to every subscriber."""
        await self.cable.broadcast([(event, data)])

    def _act(self, agent: Agent, conv: Conversation, action: str, value: Any) -> list[Event]:
        account = self.account
        if action == "status":
            return account.set_status(conv, agent, value)
        if action == "priority":
            return account.set_priority(conv, agent, value)
        if action == "assignee":
            return account.assign_agent(conv, agent, value)
        if action == "team":
            return account.assign_team(conv, agent, value)
        if action == "labels":
            return account.set_labels(conv, agent, value)
        if action == "reply":
            return account.create_message(conv, agent.id, value)[1]
        raise ValueError(f"unknown action {action!r}")

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path == "/cable":
            return await handler(request)
        rec, files = await self._record(request)
        if self._rate_limited:
            wait = self._rate_limited.pop(0)
            headers = {} if wait is None else {"Retry-After": f"{wait:g}"}
            return web.Response(status=429, text="Retry later\n", headers=headers)
        fail = self._take(self._fail, request.path)
        if fail is not None:
            return web.json_response({"error": "Internal Server Error"}, status=fail.status)
        if request.path.startswith(BLOBS):
            return await handler(request)  # Active Storage's URLs are signed, not token-checked
        token = request.headers.get("api_access_token")
        if not token:  # no token: Devise's session check answers
            return web.json_response({"errors": [SIGN_IN]}, status=401)
        agent_id = self.tokens.get(token)
        if agent_id is None:
            return web.json_response({"error": "Invalid Access Token"}, status=401)
        request[AGENT] = self.account.agents[agent_id]
        request[BODY] = rec.json
        request[FILES] = files
        hang = self._take(self._hang, request.path)
        if hang is not None:
            if hang.applied:
                await self._answer(handler, request)
            await self._released.wait()
            raise web.HTTPServiceUnavailable()
        return await self._answer(handler, request)

    async def _answer(self, handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except NotFound:
            return web.json_response({"error": "Resource could not be found"}, status=404)
        except Invalid as exc:
            return web.json_response({"message": str(exc), "error": str(exc)}, status=422)

    @staticmethod
    def _take(rules: list[_Rule], path: str) -> _Rule | None:
        for rule in rules:
            if rule.fragment in path:
                rules.remove(rule)
                return rule
        return None

    async def _record(self, request: web.Request) -> tuple[Recorded, list[tuple[str, bytes]]]:
        """Record the request; its files, when it is a multipart upload."""
        raw = await request.read() if request.can_read_body else b""
        files: list[tuple[str, bytes]] = []
        if request.content_type == "multipart/form-data":
            body, files = _form(request.headers["Content-Type"], raw)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        query = query_params(request)
        headers = {
            k: HIDDEN if k.lower() == "api_access_token" else v for k, v in request.headers.items()
        }
        rec = Recorded(request.method, request.path, query, body, headers)
        self.requests.append(rec)
        if self._log:
            self._log(rec.line())
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(rec):
                future.set_result(rec)
        return rec, files


def _form(content_type: str, raw: bytes) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A multipart body's fields (its files as name and size, for the record) and its files."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, Any] = {}
    files: list[tuple[str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode("utf-8", "replace")
            continue
        files.append((filename, data))
        fields.setdefault(name, []).append({"filename": filename, "size": len(data)})
    return fields, files
