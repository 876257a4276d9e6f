"""One call of a served desk from a command (`frontdesk report`): looks without joining."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from frontdesk.desk.interface import REMOTE_METHODS, DeskAPI
from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    PROTOCOL_VERSION,
    CallCodec,
    Error,
    Hello,
    ProtocolError,
    Refused,
    Result,
    Welcome,
    decode_server,
    encode,
    frame,
    read_frame,
)

_CODEC = CallCodec(DeskAPI, REMOTE_METHODS)


class NoDesk(Exception):
    """Nothing answers on the socket: the caller works on the cache itself."""


class CallFailed(Exception):
    """The desk refused the call or could not answer it: one line for the user."""


async def call_desk(
    path: Path, version: str, method: str, args: dict[str, Any], timeout: float = 60.0
) -> Any:
    """`method(**args)` on the desk served at `path`, not shown online; NoDesk when nothing
    answers, CallFailed with the desk's reason when it refuses or fails."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise NoDesk(path) from None
    except PermissionError:
        raise CallFailed(
            f"no permission to connect to {path}; are you in the socket's group?"
        ) from None
    try:
        async with asyncio.timeout(timeout):
            writer.write(
                frame(encode(Hello(PROTOCOL_VERSION, version, join=False)), MAX_CLIENT_FRAME)
            )
            answer = await _next(reader)
            if isinstance(answer, Refused):
                raise CallFailed(answer.reason)
            if not isinstance(answer, Welcome):
                raise CallFailed(f"the desk at {path} did not welcome us")
            writer.write(frame(_CODEC.encode_call(1, method, args), MAX_CLIENT_FRAME))
            while True:
                answer = await _next(reader)
                if isinstance(answer, Result) and answer.id == 1:
                    return _CODEC.decode_value(method, answer)
                if isinstance(answer, Error) and answer.id == 1:
                    raise CallFailed(answer.message)
    except TimeoutError:
        raise CallFailed(f"the desk at {path} did not answer within {timeout:g} s") from None
    except (ProtocolError, OSError) as exc:
        raise CallFailed(f"the desk at {path} did not answer: {exc}") from None
    finally:
        writer.close()


async def _next(reader: asyncio.StreamReader) -> Any:
    payload = await read_frame(reader, MAX_SERVER_FRAME)
    if payload is None:
        raise ProtocolError("the desk closed the connection")
    return decode_server(payload)
