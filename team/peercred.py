"""Who is at the other end of a Unix socket, as the kernel says (SO_PEERCRED), never as the peer says."""

from __future__ import annotations

import pwd
import socket
import struct
from dataclasses import dataclass

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass(frozen=True, slots=True)
class PeerCred:
    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCred:
    """The connected peer's process, user and group, read from the kernel (Linux)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return PeerCred(*_UCRED.unpack(raw))


def user_name(uid: int) -> str:
    """The login name of `uid`; a uid without a passwd entry is its number (never allowed in)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
