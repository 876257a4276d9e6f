"""Reading: the thread, contact panel and composer follow the list's cursor; read marks."""

from __future__ import annotations

from rich.text import Text
from textual import work

from frontdesk.desk.limits import WindowState
from frontdesk.model import MessageKind
from frontdesk.desk.presence import TYPING_SECONDS
from frontdesk.tui.change_plan import ThreadFollow
from frontdesk.tui.messages import ThreadLoaded
from frontdesk.tui.safe import clean_line
from frontdesk.tui.widgets.conversation_list import ConversationList

WINDOW_REFRESH_SECONDS = 30.0
"""How often the messaging-window badge is recomputed (it counts down)."""


class Reading:
    """Mixed into the App: load the conversation the cursor rests on or the agent opens, bring
    the open one up to date as changes come, and mark read what the agent is reading."""

    def on_conversation_list_cursor_rested(self) -> None:
        self.show_highlighted()

    def show_highlighted(self) -> None:
        """Read the highlighted conversation into the thread now, if it is not what it shows."""
        if self.panes_gone:
            return
        current = self.conversation_list.current_id
        if current is not None and not self.thread_shows(current):
            self.load_thread(current)

    def thread_shows(self, conv_id: int) -> bool:
        """True when the thread shows `conv_id` with every change it has had."""
        return conv_id == self.thread.conversation_id and conv_id != self._thread_missed

    async def on_conversation_list_selected(self, message: ConversationList.Selected) -> None:
        await self.open_conversation(message.conversation_id)
        self.thread.focus()

    async def open_conversation(self, conv_id: int) -> None:
        """Show a conversation and mark it read."""
        if not self.thread_shows(conv_id):
            self.load_thread(conv_id)
        await self._mark_read(conv_id)

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, conv_id: int) -> None:
        """Read one thread, its contact and the contact's other conversations."""
        if self._thread_missed == conv_id:
            self._thread_missed = None  # what it missed is read now
        try:
            conv = await self.desk.conversation(conv_id)
            messages = await self.desk.thread(conv_id)
            try:
                contact = await self.desk.contact(conv.contact_id)
                others = await self.desk.contact_conversations(conv.contact_id)
            except Exception:
                contact, others = None, []
            window = await self.desk.window(conv_id)
            draft = await self.desk.draft(conv_id)
        except Exception as exc:
            self._error("Could not open the conversation", exc)
            return
        hooks = self.desk.hook_jobs(conv_id)
        self.post_message(
            ThreadLoaded(
                conv, messages, contact, others, self.desk.is_typing(conv_id), window, hooks, draft
            )
        )

    def on_thread_loaded(self, loaded: ThreadLoaded) -> None:
        conv = loaded.conversation
        if self.panes_gone:
            return
        if conv.id != self.conversation_list.current_id and self.thread.conversation_id != conv.id:
            return  # the agent moved on while it loaded
        if conv.id != self._reading:
            self._reading = None  # another conversation is shown: the one opened before is left
        name = loaded.contact.name if loaded.contact else self.desk.contact_name(conv.contact_id)
        self.thread.show(conv, loaded.messages, contact_name=name, typing=loaded.typing)
        title = Text(clean_line(name) or f"#{conv.id}")
        if conv.subject:
            title.append(" · " + clean_line(conv.subject))
        self.thread_shown(conv.id, title)
        self.contact_panel.show(loaded.contact, loaded.others, conv.id, loaded.hooks)
        self._swap_draft(conv.id, loaded.draft)
        kind = self.desk.channel_kind(conv.channel)
        self.composer.set_mode(
            self.composer.mode, channel=kind if kind == conv.channel else f"{kind} ({conv.channel})"
        )
        self._show_window(conv.channel, loaded.window)
        if conv.id != self._allowance_for:
            self._allowance_for = conv.id
            self.show_allowance(None)  # the last conversation's line is not this one's
            self.refresh_allowance(conv.id)
        waiting, self._once_shown = self._once_shown, None
        if waiting is not None and waiting[0] == conv.id:
            waiting[1]()

    async def _follow_open_conversation(self, follow: ThreadFollow) -> None:
        """Bring the open conversation's panes up to date, if it is still open and highlighted."""
        current = self.thread.conversation_id
        if current != follow.conversation_id:
            return
        if current != self.conversation_list.current_id:
            # the cursor is passing elsewhere: read the thread again if it comes back
            self._thread_missed = current
            return
        in_place = follow.message_ids and await self._refresh_open_thread(
            current, list(follow.message_ids)
        )
        if not in_place:
            # the conversation or its contact changed (an event says so): read the panes again
            self.load_thread(current)

    async def _refresh_open_thread(self, conv_id: int, message_ids: list[int]) -> bool:
        """Put new or changed messages (customer messages, replies, notes, delivery marks)
        into the open thread in place; the contact panel and composer stay as they are
        (reloading them lays the whole screen out again). False when that is not
        enough: an event (merge, assignment …) may have changed what the other panes show,
        or a load already in flight may have read the thread before this change."""
        if any(w.group == "thread" and not w.is_finished for w in self.workers):
            return False
        try:
            found = [
                await self.desk.message(conv_id, message_id)
                for message_id in dict.fromkeys(message_ids)
            ]
        except Exception:
            return False  # the full load says what went wrong
        if any(m is None or m.kind is MessageKind.ACTIVITY for m in found):
            return False
        for message in found:
            self.thread.upsert(message)
        self.refresh_window()
        return True

    def _show_window(self, channel: str, window: WindowState | None) -> None:
        """Tell the composer the conversation's window and, on SMS channels, how to count its length."""
        note_key = self._key_for("note")
        self.composer.set_channel_limits(
            window,
            lambda text: self.desk.sms_length(channel, text),
            note_hint=f"Escape, then {note_key} writes an internal note instead.",
        )

    @work(exclusive=True, group="window", exit_on_error=False)
    async def refresh_window(self) -> None:
        """Recompute the window badge of the open conversation (it counts down while it is open)."""
        conv_id = self.thread.conversation_id
        if conv_id is None:
            return
        try:
            conv = await self.desk.conversation(conv_id)
            window = await self.desk.window(conv_id)
        except Exception:
            return  # the conversation went away; the next thread load says so
        if conv_id == self.thread.conversation_id:
            self._show_window(conv.channel, window)

    def _typing_changed(self, conv_id: int) -> None:
        """The open conversation's customer started or stopped typing; the mark ends on its own."""
        self.thread.set_typing(self.desk.is_typing(conv_id))
        if self._typing_timer is not None:
            self._typing_timer.stop()
        self._typing_timer = self.set_timer(TYPING_SECONDS + 0.2, self._recheck_typing)

    def _recheck_typing(self) -> None:
        current = self.thread.conversation_id
        self.thread.set_typing(current is not None and self.desk.is_typing(current))

    async def _mark_read(self, conv_id: int) -> None:
        """The agent reads `conv_id`: it is read, and what arrives in it while they look stays read."""
        self._reading = conv_id
        await self._attempt("Could not mark as read", self.desk.mark_read(conv_id))

    def _being_read(self) -> int | None:
        """The conversation the agent opened, if it is on screen and the terminal has focus."""
        reading = self._reading
        if reading is None or not self.app_focus or self.panes_gone:
            return None
        shown = reading == self.thread.conversation_id == self.conversation_list.current_id
        return reading if shown else None

    async def watch_app_focus(self, focused: bool) -> None:
        # back in the terminal: what came in meanwhile is on screen, so it is read
        reading = self._being_read() if focused else None
        if reading is not None:
            await self._mark_read(reading)
