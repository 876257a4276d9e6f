"""Actions on the open thread: send a failed reply again (or rerun failed hooks), save a file."""

from __future__ import annotations

import platformdirs
from textual import work

from frontdesk.model import Delivery, Direction, MessageKind
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.screens.picker_dialog import PickerDialog
from frontdesk.tui.widgets.formatting import clock_time, human_size


class ThreadActions:
    """Mixed into the App (which has the desk and the thread pane these act on)."""

    async def action_retry_delivery(self) -> None:
        conv_id = self.thread.conversation_id
        failed = [
            m
            for m in self.thread.messages
            if m.direction is Direction.OUT
            and not m.private
            and m.kind is not MessageKind.ACTIVITY
            and m.delivery in (Delivery.FAILED, Delivery.UNCONFIRMED)
        ]
        if (
            conv_id is not None
            and not failed
            and any(j.state == "failed" for j in self.desk.hook_jobs(conv_id))
        ):
            await self._retry_hooks(conv_id)
            return
        if conv_id is None or not failed:
            self.notify("No failed or unconfirmed reply in this thread.", severity="warning")
            return
        if (
            await self._attempt("Could not retry", self.desk.retry(conv_id, failed[-1].id))
            is FAILED
        ):
            return
        self.notify("Sending again.", timeout=2)

    def action_save_attachment(self) -> None:
        """Pick an attachment of the open thread (newest first) and save it to the downloads folder."""
        conv_id = self.thread.conversation_id
        files = [
            (m, i, a) for m in reversed(self.thread.messages) for i, a in enumerate(m.attachments)
        ]
        if conv_id is None or not files:
            self.notify("No attachments in this thread.", severity="warning")
            return
        # name, size and when first: the picker is narrow and cuts the end (the type) off long lines
        labels = [
            f"{a.name} · {human_size(a.size)} · {clock_time(m.created_at, self.clock())} · {a.mime}"
            for m, _, a in files
        ]

        def picked(choice: int | None) -> None:
            if choice is not None:
                message, index, _ = files[choice]
                self.save_attachment(conv_id, message.id, index)

        self.push_screen(PickerDialog("Save attachment", labels), picked)

    @work(group="downloads", exit_on_error=False)
    async def save_attachment(self, conv_id: int, message_id: int, index: int) -> None:
        folder = self.downloads_dir or platformdirs.user_downloads_path() / "frontdesk"
        path = await self._attempt(
            "Attachment not saved", self.desk.save_attachment(conv_id, message_id, index, folder)
        )
        if path is FAILED:
            return
        self.notify(f"Saved {path}", title="Attachment saved", timeout=8, markup=False)
