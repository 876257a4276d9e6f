"""Answers nested deeper than Python's JSON reader goes: typed like any answer not understood, never a crash."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.chatwoot import probe
from frontdesk.chatwoot.api import ChatwootApi, server_reason
from frontdesk.chatwoot.errors import Refused, Unreachable

DEEP = [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000]


def api_answering(status: int, body: bytes) -> ChatwootApi:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    return ChatwootApi("https://chat.example.com", 1, "token", transport=transport)


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
async def test_a_deeply_nested_answer_is_not_understood_not_a_crash(body) -> None:
    api = api_answering(200, body)
    with pytest.raises(Unreachable, match="not JSON"):
        await api.conversations((("status", "open"),), 1)
    await api.aclose()


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
async def test_a_deeply_nested_refusal_is_refused_without_the_servers_words(body) -> None:
    assert server_reason(body) == ""
    api = api_answering(422, body)
    with pytest.raises(Refused, match="HTTP 422"):
        await api.create_message(1, "hi", private=False)
    await api.aclose()


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects"])
def test_doctor_reads_a_deeply_nested_answer_as_no_answer(body) -> None:
    assert probe._json(body) == {}
