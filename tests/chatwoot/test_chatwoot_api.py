"""The REST client: requests as Chatwoot documents them, and every failure typed for what comes next."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.chatwoot.api import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    ChatwootApi,
    retry_after,
    server_reason,
)
from frontdesk.chatwoot.errors import (
    RateLimited,
    Refused,
    TokenRefused,
    Unconfirmed,
    Unreachable,
)

TOKEN = "s3cret-token-value"


def api_answering(handler, seen: list | None = None) -> ChatwootApi:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    return ChatwootApi("https://chat.example.com/", 7, TOKEN, transport=httpx.MockTransport(record))


async def test_requests_carry_the_token_and_the_account_path():
    seen: list[httpx.Request] = []
    api = api_answering(lambda r: httpx.Response(200, json={"payload": []}), seen)
    await api.conversations((("assignee_type", "me"), ("status", "open")), 2)
    await api.set_labels(12, ["vip", "billing"])
    await api.profile()
    await api.aclose()
    listing, labels, profile = seen
    assert listing.headers["api_access_token"] == TOKEN
    assert listing.url.path == "/api/v1/accounts/7/conversations"
    assert dict(listing.url.params) == {"assignee_type": "me", "status": "open", "page": "2"}
    assert (labels.method, labels.url.path) == (
        "POST",
        "/api/v1/accounts/7/conversations/12/labels",
    )
    assert json.loads(labels.content) == {"labels": ["vip", "billing"]}
    assert profile.url.path == "/api/v1/profile"


async def test_a_reply_and_a_note_differ_only_by_private():
    seen: list[httpx.Request] = []
    api = api_answering(lambda r: httpx.Response(200, json={"id": 1}), seen)
    await api.create_message(3, "hello", private=False, echo_id="e1")
    await api.create_message(3, "internal", private=True)
    await api.aclose()
    assert [json.loads(r.content) for r in seen] == [
        {"content": "hello", "private": False, "message_type": "outgoing", "echo_id": "e1"},
        {"content": "internal", "private": True, "message_type": "outgoing"},
    ]


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "Invalid Access Token"}, TokenRefused),
        (404, {"error": "Resource could not be found"}, Refused),
        (422, {"errors": ["Status is not included in the list"]}, Refused),
        (500, {}, Unreachable),
        (502, {}, Unreachable),
        (503, {}, Unreachable),
    ],
)
async def test_error_answers_are_typed(status, body, error):
    api = api_answering(lambda r: httpx.Response(status, json=body))
    with pytest.raises(error) as raised:
        await api.toggle_status(1, "open")
    await api.aclose()
    assert TOKEN not in str(raised.value)
    if error is TokenRefused:
        assert "frontdesk creds set chatwoot api_access_token" in str(raised.value)
    if error is Refused:
        assert raised.value.status == status
        reason = body.get("error") or body["errors"][0]
        assert reason in str(raised.value)


async def test_429_carries_its_retry_after():
    api = api_answering(lambda r: httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as raised:
        await api.agents()
    await api.aclose()
    assert raised.value.retry_after == 7


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        (None, DEFAULT_RETRY_AFTER),
        ("-3", DEFAULT_RETRY_AFTER),
        ("nan", DEFAULT_RETRY_AFTER),
        ("soon", DEFAULT_RETRY_AFTER),
        ("1e9", MAX_RETRY_AFTER),
        ("2.5", 2.5),
    ],
)
def test_retry_after_is_bounded(header, wait):
    assert retry_after(header) == wait


async def test_a_timeout_on_a_write_is_unconfirmed_and_on_a_read_unreachable():
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    api = api_answering(slow)
    with pytest.raises(Unconfirmed):
        await api.create_message(1, "hi", private=False)
    with pytest.raises(Unreachable):
        await api.messages(1)
    await api.aclose()


async def test_a_download_fails_as_a_read_does_and_never_shows_the_token():
    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("slow.png"):
            raise httpx.ReadTimeout("timed out", request=request)
        raise httpx.RemoteProtocolError("dropped", request=request)

    api = api_answering(failing)
    base = "https://chat.example.com/rails/active_storage"
    with pytest.raises(
        Unreachable, match=r"did not answer GET /rails/\S+/slow.png in time"
    ) as slow:
        await api.download(f"{base}/slow.png")
    with pytest.raises(Unreachable, match="is unreachable: dropped") as dropped:
        await api.download(f"{base}/x.png")
    await api.aclose()
    assert TOKEN not in str(slow.value) + str(dropped.value)


async def test_an_answer_that_is_not_json_says_to_check_the_url():
    api = api_answering(lambda r: httpx.Response(200, text="<html>login</html>"))
    with pytest.raises(Unreachable, match="not JSON"):
        await api.inboxes()
    await api.aclose()


async def test_an_oversized_answer_is_refused_unread(monkeypatch):
    monkeypatch.setattr("frontdesk.chatwoot.api.MAX_ANSWER", 1000)
    api = api_answering(lambda r: httpx.Response(200, content=b"[" + b"1," * 2000 + b"1]"))
    with pytest.raises(Refused, match="more than 1000 bytes"):
        await api.labels()
    await api.aclose()


async def test_a_server_not_listening_is_unreachable():
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        api = ChatwootApi(f"http://127.0.0.1:{port}", 1, TOKEN, timeout=2)
        with pytest.raises(Unreachable, match="cannot connect") as raised:
            await api.profile()
        await api.aclose()
    assert TOKEN not in str(raised.value)


async def test_downloads_never_take_the_token_to_another_host():
    seen: list[httpx.Request] = []
    api = api_answering(lambda r: httpx.Response(200, content=b"data"), seen)
    with pytest.raises(Refused, match="not on chat.example.com"):
        await api.download("https://evil.example.net/file.png")
    assert await api.download("https://chat.example.com/rails/active_storage/x.png") == b"data"
    await api.aclose()
    assert [r.url.host for r in seen] == ["chat.example.com"]


@given(st.binary(max_size=300))
def test_server_reason_never_fails_and_stays_one_bounded_line(body):
    line = server_reason(body)
    assert "\n" not in line and len(line) <= 200


@given(
    st.recursive(
        st.none() | st.text() | st.integers(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=10,
    )
)
def test_server_reason_reads_any_json(value):
    line = server_reason(json.dumps({"error": value, "errors": value}).encode())
    assert isinstance(line, str) and "\x1b" not in line
