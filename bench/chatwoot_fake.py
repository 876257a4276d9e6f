"""A fake Chatwoot on loopback: the Application API's routes and the ActionCable `/cable`
websocket in one aiohttp app, recording each request, with controls for the bad days
(revoked token, 429, 5xx, a request left unanswered, sockets dropped).

Run it for a person to try the console against: `python -m frontdesk.bench.chatwoot_fake
--port 3300 --token T --seed 200` prints the URL and logs each request on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from frontdesk.bench.chatwoot_fake_seed import CUSTOMER_LINES, seed, setup_account
from frontdesk.bench.chatwoot_fake_state import (
    Account,
    Agent,
    Conversation,
    Event,
    Invalid,
    NotFound,
)

CABLE_PROTOCOLS = ("actioncable-v1-json", "actioncable-unsupported")
HIDDEN = "[hidden]"
"""What a recorded request shows in place of the access token."""
MAX_BODY = 1 << 20
_key = getattr(web, "RequestKey", lambda name, _type: name)  # typed keys since aiohttp 3.12
AGENT = _key("agent", Agent)
BODY = _key("body", object)


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
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        body = "" if self.json is None else " " + json.dumps(self.json, ensure_ascii=False)
        return f"{self.method} {self.path}{'?' + query if query else ''}{body}"


@dataclass(eq=False)
class _Socket:
    """One /cable connection and the identifiers it subscribed with (identifier -> user id)."""

    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: dict[str, int] = field(default_factory=dict)


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
        self.ping_seconds = ping_seconds
        self.requests: list[Recorded] = []
        self.cable_received: list[dict[str, Any]] = []
        """Each cable command a client sent, parsed (subscribe, message, unsubscribe)."""
        self.events: list[Event] = []
        """Each event broadcast (sent to the subscribers there were, if any)."""
        self.refuse_cable = False
        """True: new /cable connections are refused (503), as behind a proxy that is down."""
        self._log = log
        self._sockets: set[_Socket] = set()
        self._waiters: list[tuple[Callable[[Recorded], bool], asyncio.Future]] = []
        self._changed = asyncio.Event()
        self._rate_limited: list[float] = []
        self._fail: list[_Rule] = []
        self._hang: list[_Rule] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

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
        self._routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        """Close every cable socket (telling clients to reconnect) and stop serving."""
        self._released.set()
        for sock in list(self._sockets):
            await self._send(
                sock, {"type": "disconnect", "reason": "server_restart", "reconnect": True}
            )
            await sock.ws.close()
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

    # ---- controls for tests --------------------------------------------------------------

    def add_token(self, token: str, agent_id: int) -> None:
        """Let `token` act as agent `agent_id` (a second console as another agent)."""
        self.tokens[token] = agent_id

    def revoke_token(self, token: str | None = None) -> None:
        """Revoke `token` (default: agent 1's): its requests get 401 from now on."""
        self.tokens.pop(token if token is not None else self.token, None)

    def rate_limit(self, next_n: int = 1, retry_after: float = 1) -> None:
        """Answer the next `next_n` requests 429 with Retry-After (rack-attack's answer)."""
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
        for sock in list(self._sockets):
            transport = sock.request.transport
            if transport is not None:
                transport.abort()
            else:
                await sock.ws.close()

    @property
    def subscribers(self) -> int:
        """Confirmed RoomChannel subscriptions over every open socket."""
        return sum(len(sock.subscriptions) for sock in self._sockets)

    async def wait_subscribed(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until at least `n` subscriptions are confirmed."""
        await self._wait(lambda: self.subscribers >= n, timeout, f"{n} cable subscriptions")

    async def wait_sockets(self, n: int, timeout: float = 5.0) -> None:
        """Wait until exactly `n` cable sockets are open (0: every client is gone)."""
        await self._wait(lambda: len(self._sockets) == n, timeout, f"{n} cable sockets")

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

    async def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        async def watch() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(watch(), timeout)
        except TimeoutError:
            raise TimeoutError(f"waited {timeout}s for {what}") from None

    def _notify(self) -> None:
        self._changed.set()

    # ---- what customers and the server do (test helpers) ---------------------------------

    async def customer_says(self, conv_id: int, text: str) -> dict[str, Any]:
        """The contact writes in `conv_id`: the message (as its JSON) and its events."""
        conv = self.account.conversation(conv_id)
        msg, events = self.account.create_message(conv, None, text)
        await self._broadcast(events)
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
        contact = (
            account.contact(contact_id)
            if contact_id is not None
            else account.add_contact(name, email=f"c{len(account.contacts) + 1}@example.net")
        )
        conv = account.add_conversation(
            inbox_id, contact.id, source_id=contact.email or "", **fields
        )
        await self._broadcast([("conversation.created", account.conversation_event(conv))])
        _, events = account.create_message(conv, None, text)
        await self._broadcast(events)
        return account.conversation_json(conv)

    async def customer_typing(self, conv_id: int, on: bool = True) -> None:
        """The contact starts (or stops) typing in `conv_id`."""
        conv = self.account.conversation(conv_id)
        who = self.account.contacts[conv.contact_id].push_data()
        await self._broadcast([self.account.typing(conv, who, on, False)])

    async def customer_read(self, conv_id: int) -> None:
        """The contact read the conversation: conversation.read."""
        await self._broadcast(self.account.contact_read(self.account.conversation(conv_id)))

    async def message_status(self, message_id: int, status: str, error: str | None = None):
        """The channel reports a message `sent`/`delivered`/`read`/`failed` (with `error`)."""
        msg = self.account.messages[message_id]
        await self._broadcast([self.account.update_message_status(msg, status, error)])

    async def agent_acts(self, agent_id: int, conv_id: int, action: str, value: Any) -> None:
        """Another agent, in Chatwoot's web app, changes a conversation: `action` is "status",
        "priority", "assignee", "team", "labels" or "reply"."""
        agent = self.account.agents[agent_id]
        conv = self.account.conversation(conv_id)
        await self._broadcast(self._act(agent, conv, action, value))

    async def set_availability(self, agent_id: int, status: str) -> None:
        """An agent goes online/busy/offline: presence.update to every subscriber."""
        self.account.agents[agent_id].availability_status = status
        await self._broadcast([("presence.update", self._presence())])

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        """Broadcast any event, as given, to every subscriber."""
        await self._broadcast([(event, data)])

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

    # ---- HTTP ----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path == "/cable":
            return await handler(request)
        rec = await self._record(request)
        if self._rate_limited:
            wait = self._rate_limited.pop(0)
            return web.Response(
                status=429, text="Retry later\n", headers={"Retry-After": f"{wait:g}"}
            )
        fail = self._take(self._fail, request.path)
        if fail is not None:
            return web.json_response({"error": "Internal Server Error"}, status=fail.status)
        agent_id = self.tokens.get(request.headers.get("api_access_token", ""))
        if agent_id is None:
            return web.json_response({"error": "Invalid Access Token"}, status=401)
        request[AGENT] = self.account.agents[agent_id]
        request[BODY] = rec.json
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

    async def _record(self, request: web.Request) -> Recorded:
        raw = await request.read() if request.can_read_body else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        query = _query_params(request)
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
        return rec

    def _routes(self, app: web.Application) -> None:
        a = f"/api/v1/accounts/{self.account.id}"
        c = f"{a}/conversations/{{id:\\d+}}"
        app.router.add_get("/cable", self._cable)
        app.router.add_get("/api/v1/profile", self._profile)
        app.router.add_get(f"{a}/conversations", self._list)
        app.router.add_get(f"{a}/conversations/meta", self._meta)
        app.router.add_get(f"{a}/conversations/search", self._list)
        app.router.add_get(f"{a}/search/conversations", self._search)
        app.router.add_get(c, self._show)
        app.router.add_get(f"{c}/messages", self._messages)
        app.router.add_post(f"{c}/messages", self._create_message)
        app.router.add_post(f"{c}/toggle_status", self._toggle_status)
        app.router.add_post(f"{c}/toggle_priority", self._toggle_priority)
        app.router.add_post(f"{c}/assignments", self._assignments)
        app.router.add_get(f"{c}/labels", self._labels)
        app.router.add_post(f"{c}/labels", self._set_labels)
        app.router.add_post(f"{c}/update_last_seen", self._update_last_seen)
        app.router.add_post(f"{c}/toggle_typing_status", self._typing)
        app.router.add_get(f"{a}/agents", self._agents)
        app.router.add_get(f"{a}/teams", self._teams)
        app.router.add_get(f"{a}/inboxes", self._inboxes)
        app.router.add_get(f"{a}/labels", self._account_labels)
        app.router.add_get(f"{a}/canned_responses", self._canned)
        p = f"{a}/contacts/{{id:\\d+}}"
        app.router.add_get(p, self._contact)
        app.router.add_put(p, self._update_contact)
        app.router.add_patch(p, self._update_contact)
        app.router.add_get(f"{p}/conversations", self._contact_conversations)
        app.router.add_get(f"{p}/notes", self._notes)
        app.router.add_post(f"{p}/notes", self._create_note)

    def _body(self, request: web.Request) -> dict[str, Any]:
        body = request[BODY]
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        return body

    def _conv(self, request: web.Request) -> Conversation:
        return self.account.conversation(request.match_info["id"])

    async def _profile(self, request: web.Request) -> web.Response:
        agent: Agent = request[AGENT]
        token = next(t for t, a in self.tokens.items() if a == agent.id)
        account = {"id": self.account.id, "name": self.account.name, "role": agent.role}
        return web.json_response(
            {
                **agent.json(self.account.id),
                "access_token": token,
                "display_name": agent.name,
                "message_signature": "",
                "pubsub_token": agent.pubsub_token,
                "type": "User",
                "uid": agent.email,
                "ui_settings": {},
                "accounts": [{**account, "active_at": None, "availability": "online"}],
            }
        )

    async def _list(self, request: web.Request) -> web.Response:
        convs, counts = self.account.find(request[AGENT].id, _query_params(request))
        page = self.account.page(convs, request.query.get("page"))
        payload = [self.account.conversation_json(c) for c in page]
        return web.json_response({"data": {"meta": counts, "payload": payload}})

    async def _meta(self, request: web.Request) -> web.Response:
        _, counts = self.account.find(request[AGENT].id, _query_params(request))
        return web.json_response({"meta": counts})

    async def _search(self, request: web.Request) -> web.Response:
        found = self.account.search(request.query.get("q", ""))
        page = max(1, _as_int(request.query.get("page", 1)))
        convs = found[(page - 1) * 15 : page * 15]
        payload = [self.account.conversation_json(c) for c in convs]
        return web.json_response({"payload": {"conversations": payload}})

    async def _show(self, request: web.Request) -> web.Response:
        return web.json_response(self.account.conversation_json(self._conv(request)))

    async def _messages(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        msgs = self.account.message_page(
            conv, request.query.get("before"), request.query.get("after")
        )
        assignee = self.account.agents.get(conv.assignee_id or 0)
        meta = {
            "labels": list(conv.labels),
            "additional_attributes": conv.additional_attributes,
            "contact": self.account.contacts[conv.contact_id].push_data(),
            "assignee": assignee.json(self.account.id) if assignee else None,
            "agent_last_seen_at": conv.agent_last_seen_at,
            "assignee_last_seen_at": conv.assignee_last_seen_at,
        }
        payload = [self.account.message_json(m) for m in msgs]
        return web.json_response({"meta": meta, "payload": payload})

    async def _create_message(self, request: web.Request) -> web.Response:
        body = self._body(request)
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise Invalid("Content can't be blank")
        msg, events = self.account.create_message(
            self._conv(request),
            request[AGENT].id,
            content,
            private=bool(body.get("private")),
            echo_id=body.get("echo_id"),
            content_type=body.get("content_type"),
            content_attributes=body.get("content_attributes"),
        )
        await self._broadcast(events)
        return web.json_response(self.account.message_json(msg))

    async def _toggle_status(self, request: web.Request) -> web.Response:
        body = self._body(request)
        conv = self._conv(request)
        events = self.account.set_status(
            conv, request[AGENT], body.get("status"), body.get("snoozed_until")
        )
        await self._broadcast(events)
        payload = {
            "success": True,
            "conversation_id": conv.id,
            "current_status": conv.status,
            "snoozed_until": conv.snoozed_until,
        }
        return web.json_response({"meta": {}, "payload": payload})

    async def _toggle_priority(self, request: web.Request) -> web.Response:
        body = self._body(request)
        events = self.account.set_priority(
            self._conv(request), request[AGENT], body.get("priority")
        )
        await self._broadcast(events)
        return web.Response(status=200)

    async def _assignments(self, request: web.Request) -> web.Response:
        body = self._body(request)
        conv, agent = self._conv(request), request[AGENT]
        if "assignee_id" in body:
            await self._broadcast(self.account.assign_agent(conv, agent, body["assignee_id"]))
            assignee = self.account.agents.get(conv.assignee_id or 0)
            return web.json_response(assignee.json(self.account.id) if assignee else None)
        if "team_id" in body:
            await self._broadcast(self.account.assign_team(conv, agent, body["team_id"]))
            team = self.account.teams.get(conv.team_id or 0)
            return web.json_response(team.json(self.account.id, agent.id) if team else None)
        return web.json_response(None)

    async def _labels(self, request: web.Request) -> web.Response:
        return web.json_response({"payload": list(self._conv(request).labels)})

    async def _set_labels(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        labels = self._body(request).get("labels", [])
        await self._broadcast(self.account.set_labels(conv, request[AGENT], labels))
        return web.json_response({"payload": list(conv.labels)})

    async def _update_last_seen(self, request: web.Request) -> web.Response:
        self.account.mark_seen(self._conv(request), request[AGENT])
        return web.Response(status=204)

    async def _typing(self, request: web.Request) -> web.Response:
        body = self._body(request)
        state = body.get("typing_status")
        if state not in ("on", "off"):
            return web.Response(status=200)
        agent: Agent = request[AGENT]
        event = self.account.typing(
            self._conv(request), agent.push_data(), state == "on", bool(body.get("is_private"))
        )
        await self._broadcast([event], exclude=agent.id)
        return web.Response(status=200)

    async def _agents(self, request: web.Request) -> web.Response:
        return web.json_response([a.json(self.account.id) for a in self.account.agents.values()])

    async def _teams(self, request: web.Request) -> web.Response:
        user = request[AGENT].id
        teams = [t.json(self.account.id, user) for t in self.account.teams.values()]
        return web.json_response(teams)

    async def _inboxes(self, request: web.Request) -> web.Response:
        return web.json_response({"payload": [i.json() for i in self.account.inboxes.values()]})

    async def _account_labels(self, request: web.Request) -> web.Response:
        return web.json_response({"payload": list(self.account.labels.values())})

    async def _canned(self, request: web.Request) -> web.Response:
        search = request.query.get("search", "").lower()
        found = [
            c
            for c in self.account.canned.values()
            if search in c["short_code"].lower() or search in c["content"].lower()
        ]
        return web.json_response(found)

    async def _contact(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        return web.json_response({"payload": contact.json()})

    async def _update_contact(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        await self._broadcast(self.account.update_contact(contact, self._body(request)))
        return web.json_response({"payload": contact.json()})

    async def _contact_conversations(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        convs = [c for c in self.account.conversations.values() if c.contact_id == contact.id]
        convs.sort(key=lambda c: c.last_activity_at, reverse=True)
        return web.json_response({"payload": [self.account.conversation_json(c) for c in convs]})

    async def _notes(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        notes = [n for n in self.account.notes.values() if n.contact_id == contact.id]
        notes.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return web.json_response([self.account.note_json(n) for n in notes])

    async def _create_note(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        note = self.account.add_note(contact, request[AGENT], self._body(request).get("content"))
        return web.json_response(self.account.note_json(note))

    # ---- the cable -----------------------------------------------------------------------

    async def _cable(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_cable:
            return web.Response(status=503, text="cable refused by the test\n")
        ws = web.WebSocketResponse(protocols=CABLE_PROTOCOLS, autoping=True)
        await ws.prepare(request)
        sock = _Socket(ws, request)
        self._sockets.add(sock)
        self._notify()
        pinger = asyncio.ensure_future(self._ping(sock))
        try:
            await self._send(sock, {"type": "welcome"})
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    await self._command(sock, frame.data)
        finally:
            pinger.cancel()
            self._sockets.discard(sock)
            self._notify()
        return ws

    async def _ping(self, sock: _Socket) -> None:
        while not sock.ws.closed:
            await asyncio.sleep(self.ping_seconds)
            await self._send(sock, {"type": "ping", "message": self.account.now()})

    async def _command(self, sock: _Socket, text: str) -> None:
        try:
            command = json.loads(text)
            identifier = command["identifier"]
            params = json.loads(identifier)
        except (ValueError, KeyError, TypeError):
            return  # ActionCable logs and ignores a frame it cannot read
        if not isinstance(command, dict) or not isinstance(params, dict):
            return
        self.cable_received.append(command)
        if self._log:
            self._log(f"CABLE {command.get('command')} {text}")
        kind = command.get("command")
        if kind == "subscribe":
            await self._subscribe(sock, identifier, params)
        elif kind == "unsubscribe":
            sock.subscriptions.pop(identifier, None)
            self._notify()
        elif kind == "message" and identifier in sock.subscriptions:
            await self._perform(command.get("data"))

    async def _subscribe(self, sock: _Socket, identifier: str, params: dict[str, Any]) -> None:
        """RoomChannel#subscribed: the pubsub_token must be the user's, in this account."""
        agent = self.account.agents.get(_as_int(params.get("user_id")))
        ok = (
            params.get("channel") == "RoomChannel"
            and agent is not None
            and params.get("pubsub_token") == agent.pubsub_token
            and _as_int(params.get("account_id")) == self.account.id
        )
        if not ok:
            await self._send(sock, {"identifier": identifier, "type": "reject_subscription"})
            return
        sock.subscriptions[identifier] = agent.id
        await self._send(sock, {"identifier": identifier, "type": "confirm_subscription"})
        self._notify()
        await self._broadcast([("presence.update", self._presence())])

    async def _perform(self, data: Any) -> None:
        try:
            action = json.loads(data).get("action")
        except (ValueError, TypeError, AttributeError):
            return
        if action == "update_presence":
            await self._broadcast([("presence.update", self._presence())])

    def _presence(self) -> dict[str, Any]:
        """OnlineStatusTracker: the agents present (subscribed) or not offline, by id."""
        present = {agent for sock in self._sockets for agent in sock.subscriptions.values()}
        users = {
            str(a.id): a.availability_status
            for a in self.account.agents.values()
            if a.id in present or a.availability_status != "offline"
        }
        return {"account_id": self.account.id, "users": users, "contacts": {}}

    async def _broadcast(self, events: list[Event], exclude: int | None = None) -> None:
        """Send each event to every subscription (every agent sees the account's inboxes),
        but not to agent `exclude` (whose own typing Chatwoot does not echo)."""
        for name, data in events:
            self.events.append((name, data))
            if "account_id" not in data:
                data = {**data, "account_id": self.account.id}
            for sock in list(self._sockets):
                for identifier, agent_id in list(sock.subscriptions.items()):
                    if agent_id != exclude:
                        message = {"event": name, "data": data}
                        await self._send(sock, {"identifier": identifier, "message": message})

    @staticmethod
    async def _send(sock: _Socket, frame: dict[str, Any]) -> None:
        if sock.ws.closed:
            return
        try:
            await sock.ws.send_str(json.dumps(frame))
        except (ConnectionError, RuntimeError):
            pass  # the socket went away between the check and the send


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# ---- the script -------------------------------------------------------------------------


def _query_params(request: web.Request) -> dict[str, Any]:
    """The query as the finder reads it: `x[]` keys as lists, the others as their last value."""
    params: dict[str, Any] = {}
    for key, value in request.query.items():
        if key.endswith("[]"):
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params


async def _chatter(fake: FakeChatwoot, every: float, rng: random.Random) -> None:
    """A customer writes in a random open conversation every `every` seconds."""
    while True:
        await asyncio.sleep(every)
        open_ids = [c.id for c in fake.account.conversations.values() if c.status == "open"]
        if open_ids:
            await fake.customer_says(rng.choice(open_ids), rng.choice(CUSTOMER_LINES))


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeChatwoot(args.token, args.account_id, log=lambda line: print(line, flush=True))
    fake.seed(args.seed, args.messages, args.rng_seed)
    url = await fake.start(args.host, args.port)
    print(f"fake Chatwoot at {url} (account {args.account_id}, token {args.token!r}; Ctrl-C stops)")
    print(f'[desk] kind = "chatwoot"  url = "{url}"  account_id = {args.account_id}', flush=True)
    try:
        if args.chatter:
            await _chatter(fake, args.chatter, random.Random(args.rng_seed))
        else:
            await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontdesk.bench.chatwoot_fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3300)
    parser.add_argument("--token", default="fake-token", help="agent 1's api_access_token")
    parser.add_argument("--account-id", type=int, default=1)
    parser.add_argument("--seed", type=int, default=200, help="conversations to make up")
    parser.add_argument("--messages", type=int, default=4, help="messages in each, about")
    parser.add_argument("--rng-seed", type=int, default=0)
    parser.add_argument("--chatter", type=float, default=0.0, help="a customer writes every N s")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
