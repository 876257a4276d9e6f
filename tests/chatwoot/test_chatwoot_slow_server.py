"""A server that answers a byte at a time: every request ends within its deadline, typed as a timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from frontdesk.chatwoot.api import ChatwootApi
from frontdesk.chatwoot.errors import Unconfirmed, Unreachable

TOKEN = "trickle-token-value"


@asynccontextmanager
async def trickling_server(every: float) -> AsyncIterator[str]:
    """An HTTP server on loopback that sends its headers, then one byte of body every `every` s
    and never finishes (each read gets a byte well within any read timeout)."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            writer.write(b"Transfer-Encoding: chunked\r\n\r\n")
            while True:
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                await asyncio.sleep(every)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in writers:
            writer.close()
        server.close()


@pytest.mark.parametrize("write", [False, True])
async def test_an_answer_trickling_in_ends_at_the_deadline(write) -> None:
    async with trickling_server(every=0.02) as url:
        api = ChatwootApi(url, 1, TOKEN, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(Unconfirmed if write else Unreachable, match="in time") as caught:
            if write:
                await api.create_message(1, "hello", private=False)
            else:
                await api.conversations((("status", "open"),), 1)
        assert time.monotonic() - started < 3.0
        assert TOKEN not in str(caught.value)
        await api.aclose()


async def test_a_download_trickling_in_ends_at_the_deadline() -> None:
    async with trickling_server(every=0.02) as url:
        api = ChatwootApi(url, 1, TOKEN, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(Unreachable, match="in time"):
            await api.download(f"{url}/rails/active_storage/blobs/x/receipt.pdf")
        assert time.monotonic() - started < 3.0
        await api.aclose()


async def test_doctor_on_a_trickling_server_says_it_did_not_answer_in_time() -> None:
    from frontdesk.chatwoot.probe import probe
    from frontdesk.config import DeskConfig

    async with trickling_server(every=0.02) as url:
        started = time.monotonic()
        found = await probe(DeskConfig(kind="chatwoot", url=url, account_id=1), TOKEN, timeout=0.3)
        assert time.monotonic() - started < 3.0
    assert not found[0].ok and "no answer within" in found[0].text
    assert all(TOKEN not in f.text for f in found)
