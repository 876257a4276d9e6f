"""What LINE takes by URL from frontdesk: the file types and sizes, the message object for each,
an audio file's length read from its MP4 boxes, and the preview picture a video needs (written
beside the video's kept copy; nothing else here touches the disk or the network)."""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from frontdesk.backends.base import PermanentError
from frontdesk.model import Attachment

MB = 1024 * 1024


@dataclass(frozen=True)
class Kind:
    """One kind of file LINE shows from a URL."""

    message: str
    """The message object's type: "image", "video" or "audio"."""
    types: tuple[str, ...]
    limit: int
    """Bytes, as LINE's reference gives them."""
    what: str
    """How the refusal names it ("pictures")."""


KINDS = (
    Kind("image", ("image/jpeg", "image/png"), 10 * MB, "JPEG or PNG pictures"),
    Kind("video", ("video/mp4",), 200 * MB, "MP4 videos"),
    Kind("audio", ("audio/mp4", "audio/x-m4a", "audio/m4a"), 200 * MB, "M4A audio"),
)
TAKEN = ", ".join(k.what for k in KINDS[:-1]) + f" and {KINDS[-1].what}"
"""What frontdesk sends on LINE, for the refusals ("JPEG or PNG pictures, MP4 videos and M4A audio")."""
PREVIEW_NAME = ".line-video-preview.png"
"""Beside a video's kept copy: the picture LINE shows before it plays (`safe_filename` never
starts a name with a dot, so no kept file takes this name)."""
#: how far into a file the MP4 boxes are followed to find the movie header
_MAX_BOXES = 64


def kind_of(mime: str) -> Kind | None:
    return next((k for k in KINDS if mime in k.types), None)


def size_problem(name: str, mime: str, size: int) -> str | None:
    """Why LINE would not take this file by URL, in one line; None when it would."""
    kind = kind_of(mime)
    if kind is None:
        return f"{name}: LINE takes only {TAKEN} from frontdesk; share other files by a link in the text"
    if size > kind.limit:
        return (
            f"{name} is {size / MB:.1f} MB; LINE takes {kind.what} up to {kind.limit // MB} MB "
            "— send a smaller file or a link"
        )
    return None


def file_message(attachment: Attachment, serve: Callable[[Path], str]) -> dict[str, Any]:
    """The image, video or audio message object for a kept file LINE may take (checked by
    `size_problem`); `serve` gives the URL LINE fetches a file from."""
    path = Path(attachment.ref)
    kind = kind_of(attachment.mime)
    if kind is None:
        raise PermanentError(f"{attachment.name}: LINE takes only {TAKEN} from frontdesk")
    if kind.message == "audio":
        duration = mp4_duration_ms(path)
        if problem := audio_problem(attachment.name, duration):
            raise PermanentError(problem)
        return {"type": "audio", "originalContentUrl": serve(path), "duration": duration}
    url = serve(path)
    if kind.message == "video":
        preview = serve(preview_beside(path))
        return {"type": "video", "originalContentUrl": url, "previewImageUrl": preview}
    return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}


def preview_beside(video: Path) -> Path:
    """The picture shown before `video` plays, written beside its kept copy once (it goes when
    the copy's folder does)."""
    path = video.parent / PREVIEW_NAME
    if not path.is_file():
        try:
            path.write_bytes(preview_png())
        except OSError as exc:
            raise PermanentError(
                f"cannot write the video's preview picture in {video.parent}: {exc.strerror or exc}"
            ) from None
    return path


def mp4_duration_ms(source: Path | bytes) -> int | None:
    """The length of an MP4/M4A file (a path or its bytes) in milliseconds from its movie header
    (`moov/mvhd`), or None when it has none that reads (not MP4, cut short, no time scale, no
    length)."""
    try:
        if isinstance(source, bytes):
            return _duration(io.BytesIO(source), len(source))
        with source.open("rb") as handle:
            return _duration(handle, os.fstat(handle.fileno()).st_size)
    except OSError:
        return None


def audio_problem(name: str, length_ms: int | None) -> str | None:
    """LINE's audio message needs the file's length."""
    if length_ms:
        return None
    return (
        f"{name}: LINE needs an audio file's length and frontdesk cannot read it from this "
        "file — send it as M4A (AAC audio in an MP4 file)"
    )


def _duration(handle: BinaryIO, size: int) -> int | None:
    moov = _find_box(handle, b"moov", 0, size)
    mvhd = _find_box(handle, b"mvhd", *moov) if moov else None
    if mvhd is None:
        return None
    handle.seek(mvhd[0])
    return _mvhd_duration(handle.read(min(mvhd[1] - mvhd[0], 120)))


def _find_box(handle: BinaryIO, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(body start, body end) of the first box of `kind` among the boxes in [start, end)."""
    at = start
    for _ in range(_MAX_BOXES):
        if at + 8 > end:
            return None
        handle.seek(at)
        header = handle.read(16)
        if len(header) < 8:
            return None
        size, found = struct.unpack(">I4s", header[:8])
        body = at + 8
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return None
            size, body = struct.unpack(">Q", header[8:16])[0], at + 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - at
        if size < body - at or at + size > end:
            return None
        if found == kind:
            return body, at + size
        at += size
    return None


def _mvhd_duration(body: bytes) -> int | None:
    if not body:
        return None
    if body[0] == 1 and len(body) >= 32:  # version 1: 64-bit times and duration
        scale, duration = struct.unpack(">IQ", body[20:32])
    elif body[0] == 0 and len(body) >= 20:
        scale, duration = struct.unpack(">II", body[12:20])
    else:
        return None
    if scale == 0 or duration == 0xFFFFFFFF or duration == 0xFFFFFFFFFFFFFFFF:
        return None  # no time scale, or "unknown length"
    return duration * 1000 // scale or None  # under a millisecond: no length to give LINE


@cache
def preview_png(size: int = 240) -> bytes:
    """A neutral picture with a play mark, for LINE to show before a video plays (frontdesk
    cannot draw a frame of the video without a decoder)."""
    rows = []
    mid, half = size // 2, size // 5
    for y in range(size):
        row = bytearray(b"\x00")  # filter: none
        reach = half - abs(y - mid)  # a triangle pointing right, centred
        for x in range(size):
            inside = reach > 0 and mid - half // 2 <= x < mid - half // 2 + reach * 2
            row += b"\xf0\xf0\xf0" if inside else b"\x3c\x40\x48"
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
