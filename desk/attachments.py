"""Saving an attachment: download it through its channel into the agent's folder."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from frontdesk.backends.base import Backend, BackendError, safe_filename, write_unique
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.store import Store


SHARED_ATTACHMENT_BYTES = 32 << 20
"""Largest attachment the desk hands to an attached console: it travels in one frame."""


@dataclass(slots=True)
class AttachmentData:
    """An attachment's bytes and the name the customer gave it (untrusted: made safe on saving)."""

    name: str
    data: bytes


class _Bounded(io.BytesIO):
    """A download buffer that refuses to grow past `SHARED_ATTACHMENT_BYTES`."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def write(self, data) -> int:  # noqa: ANN001 - BinaryIO's buffer types
        if self.tell() + len(data) > SHARED_ATTACHMENT_BYTES:
            raise DeskError(
                f"{self.name} is over {SHARED_ATTACHMENT_BYTES >> 20} MiB: save it on the desk's "
                "machine as its owner (`frontdesk --solo` there) or from the channel itself"
            )
        return super().write(data)


class Attachments:
    """The part of the Desk that saves attachments (with the desk's `conversation`)."""

    store: Store
    channels: dict[str, Backend]
    _broker: Broker
    _outgoing_folder: Callable[[int], Path]  # OutgoingFiles': where a reply's files are kept

    async def save_attachment(
        self, conv_id: int, message_id: int, index: int, downloads_dir: str | os.PathLike[str]
    ) -> Path:
        """Download attachment `index` of a message into `downloads_dir`; returns the new file's path.

        The file name is the attachment's, made safe (no folders, no traversal, no reserved
        names) and never overwriting: the path is always inside `downloads_dir`.
        """
        kept = await self._kept_attachment(conv_id, message_id, index)
        if kept is not None:  # a file sent from here: the desk's own copy, not the channel's
            try:
                return write_unique(Path(downloads_dir), safe_filename(kept.name), kept.data)
            except BackendError as exc:
                raise DeskError(str(exc)) from None
        attachment, backend = await self._attachment_source(conv_id, message_id, index)
        try:
            path = await backend.save_attachment(attachment.ref, downloads_dir, attachment.name)
        except NotImplementedError as exc:
            raise DeskError(str(exc)) from None
        except (BackendError, OSError) as exc:
            raise DeskError(f"{attachment.name}: {backend.redact(str(exc))}") from None
        self._record_size(conv_id, message_id, index, path.stat().st_size)
        return path

    async def attachment_data(self, conv_id: int, message_id: int, index: int) -> AttachmentData:
        """Attachment `index` of a message as bytes, for an attached console to save as its agent:
        the desk's Unix user never writes into a folder a console names."""
        kept = await self._kept_attachment(conv_id, message_id, index)
        if kept is not None:
            return kept
        attachment, backend = await self._attachment_source(conv_id, message_id, index)
        buffer = _Bounded(attachment.name)
        try:
            await backend.download_attachment(attachment.ref, buffer)
        except NotImplementedError as exc:
            raise DeskError(str(exc)) from None
        except (BackendError, OSError) as exc:
            raise DeskError(f"{attachment.name}: {backend.redact(str(exc))}") from None
        data = buffer.getvalue()
        self._record_size(conv_id, message_id, index, len(data))
        return AttachmentData(attachment.name, data)

    async def _kept_attachment(
        self, conv_id: int, message_id: int, index: int
    ) -> AttachmentData | None:
        """A file an agent sent from here, read from the copy the desk kept under its data dir
        (None for a file the channel holds)."""
        message = self.store.message(conv_id, message_id)
        if message is None or not 0 <= index < len(message.attachments):
            return None
        attachment = message.attachments[index]
        folder = self._outgoing_folder(message_id).resolve()
        if not attachment.ref or Path(attachment.ref).parent != folder:
            return None
        buffer = _Bounded(attachment.name)
        try:
            with open(attachment.ref, "rb") as kept:
                shutil.copyfileobj(kept, buffer)
        except OSError:
            raise DeskError(
                f"{attachment.name}: frontdesk keeps a file it sends only until the channel has it "
                "— save it from your own copy or from the chat itself"
            ) from None
        return AttachmentData(attachment.name, buffer.getvalue())

    async def _attachment_source(self, conv_id: int, message_id: int, index: int):
        """The attachment and the running channel that can fetch it, or a DeskError saying why not."""
        conv = await self.conversation(conv_id)
        message = self.store.message(conv_id, message_id)
        if message is None or not 0 <= index < len(message.attachments):
            raise DeskError(f"no attachment {index + 1} on message #{message_id}")
        attachment = message.attachments[index]
        if not attachment.ref:
            raise DeskError(
                f"{attachment.name!r} cannot be downloaded: the channel sent no way to fetch it"
            )
        backend = self.channels.get(conv.channel)
        if backend is None:
            raise DeskError(
                f"channel {conv.channel!r} is not running here; configure it to download its attachments"
            )
        return attachment, backend

    def _record_size(self, conv_id: int, message_id: int, index: int, size: int) -> None:
        """List an attachment with the size of the file saved (a channel's own figure, or the
        part of a large mail read at ingest, can be wrong)."""
        message = self.store.message(conv_id, message_id)
        if (
            message is None
            or index >= len(message.attachments)
            or message.attachments[index].size == size
        ):
            return
        with self.store.batch():
            message.attachments[index] = replace(message.attachments[index], size=size)
            self.store.put_message(message)
        self._broker.publish([Change(ChangeKind.MESSAGE, conv_id, message_id)])
