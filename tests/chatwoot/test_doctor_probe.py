"""`frontdesk doctor`'s Chatwoot checks against servers that are not Chatwoot, and the cache folder."""

from __future__ import annotations

import socket

import pytest
from aiohttp import web

from frontdesk.chatwoot.probe import cable_url, cache_finding, probe
from frontdesk.config import DeskConfig

TOKEN = "Xq7vLh2pWc9sRtYb3nKd"


def desk(url: str, account: int = 1) -> DeskConfig:
    return DeskConfig(kind="chatwoot", url=url, account_id=account)


async def serving(handler) -> tuple[web.AppRunner, str]:
    """A loopback HTTP server answering every GET with `handler`; the runner and its base URL."""
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.example.com", "wss://chat.example.com/cable"),
        ("http://localhost:3000", "ws://localhost:3000/cable"),
        ("https://example.com/support/cw", "wss://example.com/support/cw/cable"),
    ],
)
def test_the_cable_sits_beside_the_api(url, expected):
    assert cable_url(url) == expected


async def test_a_closed_port_is_unreachable_and_nothing_else_is_asked():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    found = await probe(desk(f"http://127.0.0.1:{port}"), TOKEN, timeout=5)
    assert len(found) == 1 and not found[0].ok
    assert found[0].text.startswith(f"cannot reach http://127.0.0.1:{port} (")
    assert "check [desk] url" in found[0].text


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            lambda: web.Response(status=404, text="Not Found"),
            "/api/v1/profile is not found (HTTP 404): not a Chatwoot server, or [desk] url lacks",
        ),
        (
            lambda: web.Response(
                text="<html>Sign in to the proxy</html>", content_type="text/html"
            ),
            "/api/v1/profile answered HTTP 200 but not as Chatwoot does; check [desk] url",
        ),
        (
            lambda: web.json_response({"ok": True}),
            "/api/v1/profile answered HTTP 200 but not as Chatwoot does",
        ),
        (
            lambda: web.Response(status=301, headers={"Location": "https://chat.example.com/"}),
            "redirects to https://chat.example.com/ (HTTP 301); set [desk] url to the address",
        ),
        (
            lambda: web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "30"}
            ),
            "asks to wait 30 s (HTTP 429); run doctor again then",
        ),
        (
            lambda: web.Response(status=502, text="Bad Gateway"),
            "/api/v1/profile answered HTTP 502; see the server's logs",
        ),
    ],
    ids=["404", "html", "other-json", "redirect", "429", "502"],
)
async def test_a_server_that_is_not_a_chatwoot_is_named_with_the_fix(answer, expected):
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("api_access_token"))
        return answer()

    runner, url = await serving(handler)
    try:
        found = await probe(desk(url), TOKEN, timeout=5)
    finally:
        await runner.cleanup()
    assert [f.ok for f in found] == [False], found
    assert expected in found[0].text
    assert seen == [TOKEN]  # one request: a redirect is not followed with the token


async def test_a_server_repeating_the_token_never_gets_it_printed():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"/login?t={TOKEN}"})

    runner, url = await serving(handler)
    try:
        found = await probe(desk(url), TOKEN, timeout=5)
    finally:
        await runner.cleanup()
    assert "redirects to /login?t=*** " in found[0].text and TOKEN not in found[0].text


async def test_a_huge_answer_is_read_only_so_far():
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(64):  # 8 MiB of a never-ending JSON string
            await response.write(b'{"x":"' + b"a" * (1 << 17))
        return response

    runner, url = await serving(handler)
    try:
        found = await probe(desk(url), TOKEN, timeout=5)
    finally:
        await runner.cleanup()
    assert [f.ok for f in found] == [False] and "not as Chatwoot does" in found[0].text


def test_the_cache_folder_writable_made_on_first_use_or_not(tmp_path):
    folder = tmp_path / "data" / "chatwoot-chat.example.com-1"
    first = cache_finding(folder)
    assert first.ok and "made when the console first runs" in first.text
    assert not folder.exists()  # doctor only looks
    folder.mkdir(parents=True)
    assert cache_finding(folder).ok and list(folder.iterdir()) == []


def test_a_cache_folder_that_cannot_be_made_is_a_problem(tmp_path):
    (tmp_path / "data").write_text("a file where the data dir should be")
    found = cache_finding(tmp_path / "data" / "chatwoot-chat.example.com-1")
    assert not found.ok
    assert found.text.startswith("cannot create the Chatwoot cache")
    assert "--data-dir / FRONTDESK_DATA_DIR" in found.text


async def cable_server(behaviour: str) -> tuple[web.AppRunner, str]:
    """A server with Chatwoot's profile and counts whose /cable stays silent, welcomes and then
    stays silent, or welcomes and rejects every subscription."""
    profile = {
        "id": 1,
        "name": "Aiko",
        "email": "aiko@example.com",
        "pubsub_token": "pub",
        "access_token": TOKEN,
        "accounts": [{"id": 1, "name": "Acme", "role": "agent", "status": "active"}],
    }

    async def cable(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("actioncable-v1-json",))
        await ws.prepare(request)
        if behaviour != "silent":
            await ws.send_json({"type": "welcome"})
        async for frame in ws:
            if behaviour == "reject":
                identifier = frame.json()["identifier"]
                await ws.send_json({"identifier": identifier, "type": "reject_subscription"})
        return ws

    async def me(request: web.Request) -> web.Response:
        return web.json_response(profile)

    async def meta(request: web.Request) -> web.Response:
        return web.json_response({"meta": {"all_count": 3, "mine_count": 1}})

    app = web.Application()
    app.router.add_get("/api/v1/profile", me)
    app.router.add_get("/api/v1/accounts/1/conversations/meta", meta)
    app.router.add_get("/cable", cable)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("silent", "/cable sent no welcome within 0.5 s; check that /cable reaches Chatwoot"),
        ("welcome", "/cable did not confirm RoomChannel within 0.5 s; the server may not know"),
        ("reject", "/cable refused RoomChannel for this agent"),
    ],
)
async def test_a_websocket_that_does_not_confirm(behaviour, expected):
    runner, url = await cable_server(behaviour)
    try:
        found = await probe(desk(url), TOKEN, timeout=0.5)
    finally:
        await runner.cleanup()
    assert [f.ok for f in found] == [True, True, True, False], found
    assert found[1].text == "token of Aiko <aiko@example.com>, agent on account 1 (Acme)"
    assert found[2].text == "account 1: 3 open conversations (1 mine)"
    assert expected in found[3].text
    assert all(TOKEN not in f.text for f in found)


async def test_a_hostile_profile_is_named_in_a_bounded_line():
    accounts = [{"id": n, "name": "\x1b[2J" + "x" * 500} for n in range(2, 1002)]

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "name": "A" * 5000, "accounts": accounts})

    runner, url = await serving(handler)
    try:
        found = await probe(desk(url), TOKEN, timeout=5)
    finally:
        await runner.cleanup()
    assert [f.ok for f in found] == [True, False]
    assert found[1].text.startswith("the token's agent AAA")
    assert "and 995 more); fix [desk] account_id" in found[1].text
    assert len(found[1].text) < 1200 and "\n" not in found[1].text


async def test_a_profile_without_a_pubsub_token_is_a_problem_before_the_websocket():
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"id": 1, "name": "Aiko", "accounts": [{"id": 1, "name": "A"}]})

    runner, url = await serving(handler)
    try:
        found = await probe(desk(url), TOKEN, timeout=5)
    finally:
        await runner.cleanup()
    assert [f.ok for f in found] == [True, True, False]
    assert found[2].text.startswith("the profile has no pubsub_token")
