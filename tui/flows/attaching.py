"""Files with a reply: the path prompt, the checks before a file is attached, reading them on sending."""

from __future__ import annotations

import asyncio

from textual import work

from frontdesk.desk import DeskError
from frontdesk.desk.outgoing_files import (
    REPLY_FILES,
    REPLY_FILES_BYTES,
    guess_mime,
    mib,
    probe_file,
    read_upload,
)
from frontdesk.model import FileUpload
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.attach_dialog import AttachDialog
from frontdesk.tui.widgets.attached_files import AttachedFile, AttachedFiles


class Attaching:
    """Mixed into the App (its desk, composer and the conversation the composer writes for).

    Files belong to the reply of one conversation: they never follow the agent to another
    customer, and a note (never sent) carries none.
    """

    @property
    def attached_files(self) -> AttachedFiles:
        return self.query_one("#attached-files", AttachedFiles)

    def on_composer_attach_requested(self) -> None:
        if self.refuse("attach_file", "Attach"):  # the composer's key is not greyed: it says why
            return
        conv_id = self._draft_for
        if conv_id is None:
            self._current()  # says no conversation is highlighted
            return
        if self.composer.mode != "reply":
            self._refuse_file(
                f"Files go with replies, never notes: press {self._key_for('reply')} to write the reply."
            )
            return
        self.attach_file(conv_id)

    def on_composer_detach_requested(self) -> None:
        files = self._attached.get(self._draft_for, [])
        if files and self.composer.mode == "reply":
            dropped = files.pop()
            self.notify(f"Took {clean_line(dropped.name)} off the reply.", timeout=3, markup=False)
            self.show_files()

    @work(exclusive=True, group="attach", exit_on_error=False)
    async def attach_file(self, conv_id: int) -> None:
        """Ask for a path, check the file here and against the channel, and attach it."""
        typed = await self.push_screen_wait(
            AttachDialog(self.composer.channel, start=self._attach_from)
        )
        if typed is None:
            self.composer.focus()
            return
        try:
            path, size = await asyncio.to_thread(probe_file, typed)
        except DeskError as exc:
            self._refuse_file(str(exc))
            return
        problem = await self._attempt(
            "Not attached", self.desk.file_problem(conv_id, path.name, guess_mime(path.name), size)
        )
        if problem is FAILED:
            return
        files = self._attached.setdefault(conv_id, [])
        total = sum(f.size for f in files) + size
        if problem is None and len(files) >= REPLY_FILES:
            problem = f"one reply carries at most {REPLY_FILES} files — send these first"
        if problem is None and total > REPLY_FILES_BYTES:
            problem = f"the files would come to {mib(total)}; one reply carries at most {mib(REPLY_FILES_BYTES)}"
        if problem:
            self._refuse_file(problem)
            return
        files.append(AttachedFile(str(path), path.name, size))
        folder = typed.rpartition("/")[0]  # as typed (`~` kept): the next prompt starts there
        self._attach_from = f"{folder}/" if folder else ""
        if self._draft_for == conv_id:
            self.show_files()
            self.composer.focus()

    def _refuse_file(self, reason: str) -> None:
        self.notify(
            clean_line(reason), title="Not attached", severity="error", timeout=8, markup=False
        )

    def show_files(self) -> None:
        """The files of the composer's reply above it (none in note mode)."""
        files = self._attached.get(self._draft_for, []) if self.composer.mode == "reply" else []
        self.attached_files.show_files(files, self._key_for("detach-file", "composer"))
        self.composer.files_attached = len(files)

    async def files_to_send(self, conv_id: int) -> list[FileUpload] | None:
        """The reply's files read now, as the agent; None when one cannot be read (said so)."""
        uploads: list[FileUpload] = []
        for attached in self._attached.get(conv_id, []):
            try:
                uploads.append(await asyncio.to_thread(read_upload, attached.path))
            except DeskError as exc:
                self._error("Not sent", exc)
                return None
        return uploads

    def files_sent(self, conv_id: int) -> None:
        self._attached.pop(conv_id, None)
        self.show_files()
