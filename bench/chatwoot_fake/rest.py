"""The fake Chatwoot's Application API: each route the console uses, answered from the
account in Chatwoot's JSON, its writes broadcast on the cable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from frontdesk.bench.chatwoot_fake.account import Account
from frontdesk.bench.chatwoot_fake.cable import Cable
from frontdesk.bench.chatwoot_fake.records import (
    Agent,
    Conversation,
    Invalid,
    Message,
    int_or_none,
    iso,
)

BLOBS = "/rails/active_storage/blobs/redirect/"
"""Where attachments are served (Active Storage's URLs are signed: no token asked)."""
_key = getattr(web, "RequestKey", lambda name, _type: name)  # typed keys since aiohttp 3.12
AGENT = _key("agent", Agent)
BODY = _key("body", object)
FILES = _key("files", list)


def query_params(request: web.Request) -> dict[str, Any]:
    """The query as Rails reads it: `x[]` keys as lists, the others as their last value."""
    params: dict[str, Any] = {}
    for key, value in request.query.items():
        if key.endswith("[]"):
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params


def as_int(value: Any, default: int = 1) -> int:
    number = int_or_none(value)
    return default if number is None else number


class Rest:
    """The routes; the middleware has put the agent, the body and any files on the request."""

    def __init__(
        self,
        account: Account,
        cable: Cable,
        tokens: dict[str, int],
        sent: Callable[[Message], None] = lambda msg: None,
    ) -> None:
        self.account = account
        self.cable = cable
        self.tokens = tokens
        self.sent = sent
        """Called with each reply an agent sends (the channel's delivery reports follow)."""

    def add_routes(self, app: web.Application) -> None:
        a = f"/api/v1/accounts/{self.account.id}"
        c = f"{a}/conversations/{{id:\\d+}}"
        app.router.add_get(f"{BLOBS}{{id:\\d+}}/{{name}}", self._blob)
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
        app.router.add_get(f"{a}/contacts/search", self._search_contacts)
        p = f"{a}/contacts/{{id:\\d+}}"
        app.router.add_get(p, self._contact)
        app.router.add_put(p, self._update_contact)
        app.router.add_patch(p, self._update_contact)
        app.router.add_get(f"{p}/conversations", self._contact_conversations)
        app.router.add_get(f"{p}/notes", self._notes)
        app.router.add_post(f"{p}/notes", self._create_note)
        app.router.add_get(a, self._account)
        app.router.add_route("*", "/api/v1/accounts/{other}{tail:(/.*)?}", self._not_a_member)

    def _body(self, request: web.Request) -> dict[str, Any]:
        body = request[BODY]
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        return body

    def _conv(self, request: web.Request) -> Conversation:
        return self.account.conversation(request.match_info["id"])

    async def _blob(self, request: web.Request) -> web.Response:
        att = self.account.blobs.get(int(request.match_info["id"]))
        if att is None or att.name != request.match_info["name"]:
            raise web.HTTPNotFound()
        return web.Response(body=att.data, content_type="application/octet-stream")

    async def _account(self, request: web.Request) -> web.Response:
        account = self.account
        return web.json_response(
            {"id": account.id, "name": account.name, "locale": "en", "features": {}}
        )

    async def _not_a_member(self, request: web.Request) -> web.Response:
        """Another account's routes: Chatwoot's base controller refuses a user not in it."""
        if request.match_info["other"] == str(self.account.id):
            raise web.HTTPNotFound()  # a route of this account the fake does not have
        error = "You are not authorized to access this account"
        return web.json_response({"error": error}, status=401)

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
        convs, counts = self.account.find(request[AGENT].id, query_params(request))
        page = self.account.page(convs, request.query.get("page"))
        payload = [self.account.conversation_json(c) for c in page]
        return web.json_response({"data": {"meta": counts, "payload": payload}})

    async def _meta(self, request: web.Request) -> web.Response:
        _, counts = self.account.find(request[AGENT].id, query_params(request))
        return web.json_response({"meta": counts})

    async def _search(self, request: web.Request) -> web.Response:
        found = self.account.search(request.query.get("q", ""))
        page = max(1, as_int(request.query.get("page", 1)))
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
        meta: dict[str, Any] = {
            "labels": list(conv.labels),
            "additional_attributes": conv.additional_attributes,
            "contact": self.account.contacts[conv.contact_id].push_data(),
            "agent_last_seen_at": iso(conv.agent_last_seen_at),
        }
        if conv.assignee_id in self.account.agents:
            meta["assignee"] = self.account.agents[conv.assignee_id].push_data()
        payload = [self.account.message_json(m) for m in msgs]
        return web.json_response({"meta": meta, "payload": payload})

    async def _create_message(self, request: web.Request) -> web.Response:
        body = self._body(request)
        msg, events = self.account.create_message(
            self._conv(request),
            request[AGENT].id,
            body.get("content"),
            files=request[FILES],
            private=body.get("private") in (True, "true", "1"),
            echo_id=body.get("echo_id"),
            content_type=body.get("content_type"),
            content_attributes=body.get("content_attributes"),
        )
        await self.cable.broadcast(events)
        if not msg.private:
            self.sent(msg)
        return web.json_response(self.account.message_json(msg, echo=True))

    async def _toggle_status(self, request: web.Request) -> web.Response:
        body = self._body(request)
        conv = self._conv(request)
        events = self.account.set_status(
            conv, request[AGENT], body.get("status"), body.get("snoozed_until")
        )
        await self.cable.broadcast(events)
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
        await self.cable.broadcast(events)
        return web.Response(status=200)

    async def _assignments(self, request: web.Request) -> web.Response:
        body = self._body(request)
        conv, agent = self._conv(request), request[AGENT]
        if "assignee_id" in body:
            await self.cable.broadcast(self.account.assign_agent(conv, agent, body["assignee_id"]))
            assignee = self.account.agents.get(conv.assignee_id or 0)
            return web.json_response(assignee.json(self.account.id) if assignee else None)
        if "team_id" in body:
            await self.cable.broadcast(self.account.assign_team(conv, agent, body["team_id"]))
            team = self.account.teams.get(conv.team_id or 0)
            return web.json_response(team.json(self.account.id, agent.id) if team else None)
        return web.json_response(None)

    async def _labels(self, request: web.Request) -> web.Response:
        return web.json_response({"payload": list(self._conv(request).labels)})

    async def _set_labels(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        labels = self._body(request).get("labels", [])
        await self.cable.broadcast(self.account.set_labels(conv, request[AGENT], labels))
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
        await self.cable.broadcast([event], exclude=agent.id)
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

    async def _search_contacts(self, request: web.Request) -> web.Response:
        found = self.account.search_contacts(request.query.get("q", ""))
        page = max(1, as_int(request.query.get("page", 1)))
        payload = [c.json() for c in found[(page - 1) * 15 : page * 15]]
        meta = {"count": len(found), "current_page": str(page)}
        return web.json_response({"meta": meta, "payload": payload})

    async def _contact(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        return web.json_response({"payload": contact.json()})

    async def _update_contact(self, request: web.Request) -> web.Response:
        contact = self.account.contact(request.match_info["id"])
        await self.cable.broadcast(self.account.update_contact(contact, self._body(request)))
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
