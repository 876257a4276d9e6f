"""The served desk's status as `frontdesk doctor` shows it: a hello that looks without joining."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from frontdesk.team.protocol import (
    MAX_CLIENT_FRAME,
    MAX_SERVER_FRAME,
    PROTOCOL_VERSION,
    Hello,
    ProtocolError,
    Refused,
    Welcome,
    decode_server,
    encode,
    frame,
    read_frame,
)


@dataclass(frozen=True, slots=True)
class DeskStatus:
    """What a desk's socket answered: not running, refused (with the desk's reason) or welcome."""

    path: Path
    running: bool
    version: str = ""
    protocol: int = 0
    online: list[str] = field(default_factory=list)  # display names of the agents attached
    refused: str = ""
    problem: str = ""  # the socket is there but could not be asked (permissions, garbage)


async def desk_status(path: Path, version: str, timeout: float = 5.0) -> DeskStatus:
    """Ask the desk at `path` who it is and who is attached, without showing up as online."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        return DeskStatus(path, running=False)
    except PermissionError:
        return DeskStatus(
            path,
            running=True,
            problem=f"no permission to connect to {path}; are you in the socket's group?",
        )
    except (OSError, TimeoutError) as exc:
        return DeskStatus(path, running=False, problem=f"cannot connect to {path}: {exc}")
    try:
        writer.write(frame(encode(Hello(PROTOCOL_VERSION, version, join=False)), MAX_CLIENT_FRAME))
        payload = await asyncio.wait_for(read_frame(reader, MAX_SERVER_FRAME), timeout)
        answer = decode_server(payload) if payload is not None else None
    except (ProtocolError, OSError, TimeoutError) as exc:
        return DeskStatus(path, running=True, problem=f"the desk at {path} did not answer: {exc}")
    finally:
        writer.close()
    if isinstance(answer, Refused):
        return DeskStatus(path, running=True, refused=answer.reason)
    if not isinstance(answer, Welcome):
        return DeskStatus(path, running=True, problem=f"the desk at {path} did not welcome us")
    names = answer.state.agent_names
    online = [names.get(user, user) for user in answer.state.presence.online]
    return DeskStatus(path, True, answer.version, answer.protocol, online)
