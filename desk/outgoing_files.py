"""Files sent with a reply: read as the agent, checked against the channel's limits, a copy kept
until the reply is sent for good."""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import stat
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from frontdesk.backends.base import Backend, BackendError, open_unique, safe_filename
from frontdesk.desk.attachments import SHARED_ATTACHMENT_BYTES
from frontdesk.desk.errors import DeskError
from frontdesk.model import Attachment, Delivery, FileUpload, Message
from frontdesk.store import Store

OUTGOING_FOLDER = "outgoing"
"""Under the data dir: `outgoing/<message id>/<file>`, the copies the outbox sends (and resends)."""
REPLY_FILES_BYTES = SHARED_ATTACHMENT_BYTES
"""All files of one reply together: an attached console sends them in one frame."""
REPLY_FILES = 10
"""Most files one reply carries (each is one request on chat channels)."""
CONVERSATION_MARK = ".conversation"
"""In a message's folder: its conversation's id, so a start finds the message (`safe_filename`
never starts a name with a dot, so no kept file can take this name)."""
SENT_FOR_GOOD = (Delivery.SENT, Delivery.DELIVERED, Delivery.READ)


_MIME = re.compile(r"[\w.+-]{1,60}/[\w.+-]{1,100}", re.ASCII)


def mib(size: int) -> str:
    """A size for people: "2.4 MiB", "812 KiB"."""
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{max(1, size >> 10)} KiB"


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def clean_upload(upload: FileUpload) -> FileUpload:
    """The upload with a safe file name and a well-formed type (a console's are untrusted)."""
    name = safe_filename(upload.name, "file")
    mime = upload.mime if _MIME.fullmatch(upload.mime or "") else guess_mime(name)
    return FileUpload(name, mime.lower(), upload.data)


def probe_file(path: str | os.PathLike[str]) -> tuple[Path, int]:
    """The file at `path` (`~` expanded) and its size, or a DeskError in one line saying why it
    cannot be attached (missing, a folder, not a regular file, over the reply's cap)."""
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except FileNotFoundError:
        raise DeskError(f"{file}: no such file — check the path (Tab completes it)") from None
    except OSError as exc:
        raise DeskError(f"{file}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DeskError(f"{file} is a folder: attach the files in it one at a time")
    if not stat.S_ISREG(info.st_mode):
        raise DeskError(f"{file} is not a regular file")
    if info.st_size > REPLY_FILES_BYTES:
        raise DeskError(
            f"{file.name} is {mib(info.st_size)}: frontdesk sends at most "
            f"{mib(REPLY_FILES_BYTES)} of files with one reply — share a link instead"
        )
    return file, info.st_size


def read_upload(path: str | os.PathLike[str]) -> FileUpload:
    """The file at `path` as an upload, read by whoever runs this (the console: the agent)."""
    file, _ = probe_file(path)
    try:
        with file.open("rb") as handle:
            data = handle.read(REPLY_FILES_BYTES + 1)
    except OSError as exc:
        raise DeskError(f"{file}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > REPLY_FILES_BYTES:  # it grew since it was checked
        raise DeskError(f"{file.name} is over {mib(REPLY_FILES_BYTES)}: share a link instead")
    return FileUpload(file.name, guess_mime(file.name), data)


class OutgoingFiles:
    """The part of the Desk that checks a reply's files and keeps the copies the outbox sends
    (with the desk's `conversation`): kept while the reply waits, failed or is unconfirmed (the
    agent may retry it), dropped once it is sent and the channel fetches nothing more."""

    store: Store
    channels: dict[str, Backend]
    now: Callable[[], datetime]

    async def file_problem(self, conv_id: int, name: str, mime: str, size: int) -> str | None:
        """Why a file `name` of `mime` and `size` bytes cannot go with a reply in this
        conversation, in one line; None when it can (asked when the agent attaches it)."""
        conv = await self.conversation(conv_id)
        return self._file_problem(conv.channel, name, mime, size)

    def _file_problem(self, channel: str, name: str, mime: str, size: int) -> str | None:
        backend = self.channels.get(channel)
        if backend is None:
            return f"channel {channel!r} is not running here, so it cannot send files"
        problem = backend.attachment_problem(name, mime, size)
        if problem:
            return problem
        if size > REPLY_FILES_BYTES:
            return f"{name} is {mib(size)}: frontdesk sends at most {mib(REPLY_FILES_BYTES)} of files with one reply"
        return None

    def _check_files(self, channel: str, files: Sequence[FileUpload]) -> None:
        """Refuse a reply whose files the channel or the desk would not send, before it is queued."""
        if not files:
            return
        if len(files) > REPLY_FILES:
            raise DeskError(
                f"{len(files)} files: one reply carries at most {REPLY_FILES} — send the rest in another"
            )
        for upload in files:
            problem = self._file_problem(channel, upload.name, upload.mime, len(upload.data))
            problem = problem or self.channels[channel].content_problem(
                upload.name, upload.mime, upload.data
            )
            if problem:
                raise DeskError(problem)
        total = sum(len(upload.data) for upload in files)
        backend = self.channels[channel]  # _file_problem refused a channel not running
        limit = backend.attachments_total_limit
        if limit is not None and total > limit:
            raise DeskError(
                f"{channel}: the files come to {total / 1e6:.1f} MB; one message carries at most "
                f"{limit / 1e6:.0f} MB — send them in several replies"
            )
        if total > REPLY_FILES_BYTES:
            raise DeskError(
                f"the files come to {mib(total)}; one reply carries at most "
                f"{mib(REPLY_FILES_BYTES)} — send them in several replies"
            )

    def _outgoing_folder(self, message_id: int) -> Path:
        return self.store.root / OUTGOING_FOLDER / str(message_id)

    def _keep_files(
        self, conv_id: int, message_id: int, files: Sequence[FileUpload]
    ) -> list[Attachment]:
        """Write each (cleaned) file into the message's own folder (0600 in 0700 folders, synced before
        the message that names them is committed, so a retry after a crash finds them)."""
        folder = self._outgoing_folder(message_id)
        attachments: list[Attachment] = []
        try:
            for parent in (folder.parent, folder):
                parent.mkdir(mode=0o700, exist_ok=True)
            _mark_conversation(folder, conv_id)
            for upload in files:
                path, out = open_unique(folder, upload.name)
                with out:
                    os.fchmod(out.fileno(), 0o600)
                    out.write(upload.data)
                    out.flush()
                    os.fsync(out.fileno())
                attachments.append(
                    Attachment(upload.name, upload.mime, len(upload.data), str(path))
                )
            _sync_folder(folder)
        except (OSError, BackendError) as exc:
            self._drop_files(message_id)
            raise DeskError(f"cannot keep the files to send in {folder}: {exc}") from None
        return attachments

    def _drop_files(self, message_id: int) -> None:
        """Forget the copies of a reply: never queued, sent for good, or gone."""
        shutil.rmtree(self._outgoing_folder(message_id), ignore_errors=True)

    def _release_files(self, channel: str, message: Message) -> None:
        """A reply was just sent: drop its copies unless the channel fetches them later (the
        start's prune drops those once the channel's span is over)."""
        backend = self.channels.get(channel)
        if message.attachments and not (backend and backend.sent_files_fetched_for):
            self._drop_files(message.id)

    def _prune_outgoing(self) -> None:
        """At start: drop the copies no reply needs any more (its message sent for good, or gone:
        a crash came between the commit and the drop); keep those of replies waiting, failed or
        unconfirmed."""
        try:
            folders = [p for p in (self.store.root / OUTGOING_FOLDER).iterdir() if p.is_dir()]
        except OSError:
            return  # no reply with files yet
        queued = {e.message_id: e.conversation_id for e in self.store.outbox()}
        conversations = self._conversations_of(folders, queued)
        for folder in folders:
            if not folder.name.isdigit() or int(folder.name) in queued:
                continue
            message_id = int(folder.name)
            conv_id = conversations.get(message_id)
            message = self.store.message(conv_id, message_id) if conv_id is not None else None
            if message is None or self._sent_and_fetched(conv_id, message):
                self._drop_files(message_id)

    def _sent_and_fetched(self, conv_id: int, message: Message) -> bool:
        if message.delivery not in SENT_FOR_GOOD:
            return False
        conv = self.store.conversation(conv_id)
        backend = self.channels.get(conv.channel) if conv else None
        span = backend.sent_files_fetched_for if backend else None
        return span is None or self.now() - message.created_at > span

    def _conversations_of(self, folders: list[Path], queued: dict[int, int]) -> dict[int, int]:
        """message id -> conversation id for the kept folders: from each folder's mark; a folder
        kept before marks existed is found once by reading the threads, then marked."""
        found: dict[int, int] = dict(queued)
        unmarked: dict[int, Path] = {}
        for folder in folders:
            if not folder.name.isdigit() or int(folder.name) in found:
                continue
            try:
                found[int(folder.name)] = int((folder / CONVERSATION_MARK).read_text())
            except (OSError, ValueError):
                unmarked[int(folder.name)] = folder
        if unmarked:
            for conv in self.store.conversations():
                for message in self.store.messages(conv.id):
                    if message.id in unmarked:
                        found[message.id] = conv.id
                        _mark_conversation(unmarked[message.id], conv.id)
        return found


def _mark_conversation(folder: Path, conv_id: int) -> None:
    try:
        (folder / CONVERSATION_MARK).write_text(str(conv_id))
    except OSError:
        pass  # the start then finds the conversation by reading the threads


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
