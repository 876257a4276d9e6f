"""The frontdesk console: conversation list, thread with composer, contact panel, on one desk."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Footer, Static

from frontdesk.desk import Change, ChangeKind, Desk, View
from frontdesk.desk.canned import CannedError, CannedLibrary, CannedReply, TemplateError, asks, fill
from frontdesk.desk.limits import WindowState
from frontdesk.model import Contact, Conversation, Delivery, Direction, Message as DeskMessage, MessageKind, Status
from frontdesk.tui.safe import clean, clean_line
from frontdesk.tui.screens.ask_dialog import AskDialog
from frontdesk.tui.screens.canned_picker import CannedPicker
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets.contact_panel import ContactPanel
from frontdesk.tui.widgets.conversation_list import ConversationList
from frontdesk.tui.widgets.thread_view import ThreadView

COALESCE_SECONDS = 0.03
"""How long the change feed waits after a change so a burst is handled as one refresh."""
TYPING_SECONDS = 6.0
MENTIONED = re.compile(r"(?:^|(?<=\s))@(\w[\w.-]*\w|\w)")
"""An @name at the start of a word (not the domain of an e-mail address), without trailing punctuation."""
WINDOW_REFRESH_SECONDS = 30.0
"""How often the messaging-window badge is recomputed (it counts down)."""
VIEW_CYCLE = (View.ALL, View.MINE, View.UNASSIGNED, View.SNOOZED, View.RESOLVED)
_CHANNEL_STATE = {"ok": "green", "connecting": "yellow", "down": "red"}


@dataclass
class DeskChanged(Message):
    """One or more changes published by the desk (a burst, coalesced)."""

    changes: tuple[Change, ...]


@dataclass
class ThreadLoaded(Message):
    """A conversation's thread and contact, read from the desk for the middle and right panes."""

    conversation: Conversation
    messages: list[DeskMessage]
    contact: Contact | None
    others: list[Conversation]
    typing: bool
    window: WindowState | None = None


class FrontdeskApp(App[None]):
    """One agent's console on one desk."""

    CSS_PATH = "app.tcss"
    TITLE = "frontdesk"

    BINDINGS = [
        Binding("r", "reply", "Reply", id="reply", tooltip="Write a reply to the customer"),
        Binding("n", "note", "Note", id="note", tooltip="Write an internal note (never sent)"),
        Binding("e", "toggle_resolved", "Resolve/reopen", id="toggle-resolved", tooltip="Resolve or reopen"),
        Binding("v", "next_view", "View", id="next-view", tooltip="All → Mine → Unassigned → Snoozed → Resolved"),
        Binding("ctrl+r", "retry_delivery", "Retry", id="retry-delivery", tooltip="Send the last failed or unconfirmed reply again"),
        Binding("c", "open_canned", "Canned", id="open-canned", tooltip="Reply with a canned reply (fuzzy picker)"),
        Binding("tab", "focus_next", "Next pane", show=False, id="focus-next"),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False, id="focus-previous"),
        Binding("escape", "focus_list", "List", show=False, id="focus-list", tooltip="Back to the conversation list"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit frontdesk"),
    ]

    def __init__(
        self,
        desk: Desk,
        *,
        keymap: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        title: str = "frontdesk",
        theme: str | None = None,
        cursor_blink: bool = True,
        canned: CannedLibrary | Path | None = None,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.canned = canned if isinstance(canned, CannedLibrary) else CannedLibrary(canned)
        """The canned replies: the agent's canned.toml (re-read when it changes) or the shipped examples."""
        self.clock = clock or desk.now
        self.title = title
        self.view = View.ALL
        self.names: dict[int, str] = {}
        self._keymap_overrides = dict(keymap or {})
        self._theme_name = theme
        self._cursor_blink = cursor_blink
        self._typing_timer = None
        self._drafts: dict[int, tuple[str, str]] = {}
        self._draft_for: int | None = None

    @classmethod
    def binding_ids(cls) -> dict[str, str]:
        """Every binding id of the console and the context it applies in ("app" is everywhere)."""
        ids: dict[str, str] = {}
        owners = (("app", cls), ("list", ConversationList), ("thread", ThreadView), ("composer", Composer))
        for context, owner in owners:
            for binding in owner.BINDINGS:
                if isinstance(binding, Binding) and binding.id:
                    ids.setdefault(binding.id, context)
        return ids

    # ---- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header-bar")
        with Horizontal(id="panes"):
            yield ConversationList(id="conversations", clock=self.clock, channel_kind=self.desk.channel_kind)
            with Vertical(id="middle"):
                yield ThreadView(id="thread", clock=self.clock)
                yield Composer(id="composer", cursor_blink=self._cursor_blink)
            yield ContactPanel(id="contact", clock=self.clock, channel_kind=self.desk.channel_kind)
        yield Footer()

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one("#conversations", ConversationList)

    @property
    def thread(self) -> ThreadView:
        return self.query_one("#thread", ThreadView)

    @property
    def composer(self) -> Composer:
        return self.query_one("#composer", Composer)

    @property
    def contact_panel(self) -> ContactPanel:
        return self.query_one("#contact", ContactPanel)

    async def on_mount(self) -> None:
        if self._keymap_overrides:
            self.set_keymap(self._keymap_overrides)
        if self._theme_name:
            try:
                self.theme = self._theme_name
            except Exception as exc:
                self.notify(escape(f"theme {self._theme_name!r}: {exc}"), severity="warning")
        self.conversation_list.border_title = "Conversations"
        self.contact_panel.border_title = "Contact"
        self.thread.border_title = "Thread"
        self.thread.retry_key = self._key_for("retry-delivery")
        self.composer.set_mentionable([a for a in self.desk.agents if a != self.desk.agent])
        self.set_interval(WINDOW_REFRESH_SECONDS, self.refresh_window)
        self.conversation_list.focus()
        await self.reload_list()
        self.watch_desk()

    def _key_for(self, binding_id: str, bindings: Iterable[object] | None = None) -> str:
        """How the key of `binding_id` (in `bindings`, by default the app's) is shown, overrides applied."""
        for binding in self.BINDINGS if bindings is None else bindings:
            if isinstance(binding, Binding) and binding.id == binding_id:
                keys = self._keymap_overrides.get(binding_id, binding.key)
                return self.get_key_display(binding.with_key(keys.split(",")[0].strip()))
        return binding_id

    # ---- reading from the desk ---------------------------------------------------------

    async def reload_list(self, renamed: Iterable[int] = ()) -> None:
        """Read the current view from the desk; the cursor stays on its conversation."""
        try:
            conversations = await self.desk.conversations(self.view)
            await self._learn_names(conversations, set(renamed))
            counts = await self.desk.counts()
        except Exception as exc:
            self._error("Could not read conversations", exc)
            return
        view_list = self.conversation_list
        view_list.empty_text = f"No conversations in {self.view.title}."
        view_list.set_conversations(conversations, self.names)
        self._update_header(counts)
        if not conversations:
            self.thread.show(None, [])
            self.contact_panel.show(None)
        elif self.thread.conversation_id is None and view_list.current_id is not None:
            self.load_thread(view_list.current_id)

    async def _learn_names(self, conversations: Iterable[Conversation], refresh: set[int]) -> None:
        for conv in conversations:
            if conv.contact_id not in self.names or conv.id in refresh:
                try:
                    self.names[conv.contact_id] = (await self.desk.contact(conv.contact_id)).name
                except Exception:
                    self.names[conv.contact_id] = f"#{conv.contact_id}"

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, conv_id: int) -> None:
        """Read one thread, its contact and the contact's other conversations."""
        try:
            conv = await self.desk.conversation(conv_id)
            messages = await self.desk.thread(conv_id)
            try:
                contact = await self.desk.contact(conv.contact_id)
                others = await self.desk.contact_conversations(conv.contact_id)
            except Exception:
                contact, others = None, []
            window = await self.desk.window(conv_id)
        except Exception as exc:
            self._error("Could not open the conversation", exc)
            return
        self.post_message(ThreadLoaded(conv, messages, contact, others, self.desk.is_typing(conv_id), window))

    def on_thread_loaded(self, loaded: ThreadLoaded) -> None:
        conv = loaded.conversation
        if self.panes_gone:
            return
        if conv.id != self.conversation_list.current_id and self.thread.conversation_id != conv.id:
            return  # the agent moved on while it loaded
        name = loaded.contact.name if loaded.contact else self.names.get(conv.contact_id, "")
        self.thread.show(conv, loaded.messages, contact_name=name, typing=loaded.typing)
        title = Text(clean_line(name) or f"#{conv.id}")
        if conv.subject:
            title.append(" · " + clean_line(conv.subject))
        self.thread.border_title = title
        self.contact_panel.show(loaded.contact, loaded.others, conv.id)
        self._swap_draft(conv.id)
        kind = self.desk.channel_kind(conv.channel)
        self.composer.set_mode(self.composer.mode, channel=kind if kind == conv.channel else f"{kind} ({conv.channel})")
        self._show_window(conv.channel, loaded.window)

    def _swap_draft(self, conv_id: int) -> None:
        """Keep what the agent wrote with its conversation: a draft (a canned reply with a name
        filled in …) never follows the agent to another customer."""
        if self._draft_for == conv_id:
            return
        if self._draft_for is not None and self.composer.text.strip():
            self._drafts[self._draft_for] = (self.composer.text, self.composer.mode)
        text, mode = self._drafts.pop(conv_id, ("", self.composer.mode))
        self.composer.load_text(text)
        self.composer.move_cursor(self.composer.document.end)
        self.composer.set_mode(mode)
        self._draft_for = conv_id

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

    @work(group="desk-changes", exit_on_error=False)
    async def watch_desk(self) -> None:
        """Follow the desk's change feed; post one message per burst of changes."""
        subscription = self.desk.subscribe()
        try:
            async for change in subscription:
                await asyncio.sleep(COALESCE_SECONDS)
                self.post_message(DeskChanged((change, *subscription.pending())))
        finally:
            subscription.close()

    @property
    def panes_gone(self) -> bool:
        """True once a pane is gone: the app is exiting, and a late message has nothing to update."""
        return not all(self.query(pane) for pane in ("#conversations", "#thread", "#composer", "#contact"))

    async def on_desk_changed(self, message: DeskChanged) -> None:
        try:
            await self._apply_changes(message)
        except NoMatches:
            if not self.panes_gone:
                raise

    async def _apply_changes(self, message: DeskChanged) -> None:
        kinds = {change.kind for change in message.changes}
        touched = {c.conversation_id for c in message.changes if c.conversation_id is not None}
        current = self.thread.conversation_id
        if kinds & {ChangeKind.CONVERSATION, ChangeKind.MESSAGE, ChangeKind.RESET}:
            await self.reload_list(renamed=touched)
            if current is not None and (ChangeKind.RESET in kinds or current in touched):
                if current == self.conversation_list.current_id:
                    self.load_thread(current)
        if ChangeKind.TYPING in kinds and current in touched:
            self.thread.set_typing(self.desk.is_typing(current))
            if self._typing_timer is not None:
                self._typing_timer.stop()
            self._typing_timer = self.set_timer(TYPING_SECONDS + 0.2, self._recheck_typing)
        if ChangeKind.CHANNEL in kinds:
            try:
                self._update_header(await self.desk.counts())
            except Exception as exc:
                self._error("Could not read counts", exc)

    def _recheck_typing(self) -> None:
        current = self.thread.conversation_id
        self.thread.set_typing(current is not None and self.desk.is_typing(current))

    def _update_header(self, counts: dict[View, int]) -> None:
        header = Text(" ")
        header.append(clean_line(self.desk.agent), "bold")
        header.append("  │  ")
        header.append(f"{self.view.title} ({counts.get(self.view, 0)})", "bold")
        others = [f"{v.title} {counts.get(v, 0)}" for v in VIEW_CYCLE if v is not self.view]
        header.append("  " + " · ".join(others), "dim")
        header.append("  │  ")
        for name, status in sorted(self.desk.channel_status.items()):
            header.append("● ", _CHANNEL_STATE.get(status.state, "yellow"))
            header.append(clean_line(name) + " ")
            if status.state != "ok":
                header.append(f"{clean_line(status.state)} ", "dim")
        self.query_one("#header-bar", Static).update(header)

    # ---- the list ----------------------------------------------------------------------

    @on(ConversationList.Highlighted)
    def _highlighted(self, message: ConversationList.Highlighted) -> None:
        if message.conversation_id != self.thread.conversation_id:
            self.load_thread(message.conversation_id)

    @on(ConversationList.Selected)
    async def _selected(self, message: ConversationList.Selected) -> None:
        await self.open_conversation(message.conversation_id)
        self.thread.focus()

    async def open_conversation(self, conv_id: int) -> None:
        """Show a conversation and mark it read."""
        if conv_id != self.thread.conversation_id:
            self.load_thread(conv_id)
        try:
            await self.desk.mark_read(conv_id)
        except Exception as exc:
            self._error("Could not mark as read", exc)

    # ---- commands ----------------------------------------------------------------------

    def _current(self) -> Conversation | None:
        conv = self.conversation_list.current
        if conv is None:
            self.notify("No conversation selected.", severity="warning")
        return conv

    def action_reply(self) -> None:
        if self._current() is not None:
            self.composer.set_mode("reply")
            self.composer.focus()

    def action_note(self) -> None:
        if self._current() is not None:
            self.composer.set_mode("note")
            self.composer.focus()

    def action_focus_list(self) -> None:
        self.conversation_list.focus()

    # ---- canned replies ------------------------------------------------------------------

    def action_open_canned(self) -> None:
        if self._current() is None:
            return
        if self.composer.mode != "note":
            self.composer.set_mode("reply")
        self.composer.focus()
        self.insert_canned()

    @on(Composer.CannedRequested)
    def _canned_requested(self) -> None:
        if self._current() is not None:
            self.insert_canned()

    @on(Composer.ShortcodeTyped)
    def _shortcode_typed(self, message: Composer.ShortcodeTyped) -> None:
        if self._current() is not None:
            self.insert_canned(message.shortcode, message.start, message.end)

    @work(exclusive=True, group="canned", exit_on_error=False)
    async def insert_canned(
        self, shortcode: str | None = None, start: tuple[int, int] | None = None, end: tuple[int, int] | None = None
    ) -> None:
        """Pick (or look up `shortcode`), ask for its `{ask:…}` values, fill it and put it in the composer."""
        conv_id = self.conversation_list.current_id
        if conv_id is None:
            return
        try:
            library = self.canned.current()
        except CannedError as exc:
            self._error("Canned replies not loaded", exc)
            return
        reply = library.find(shortcode) if shortcode is not None else None
        if reply is None and shortcode is not None:
            starting = [r for r in library.replies if r.shortcode.casefold().startswith(shortcode.casefold())]
            if len(starting) == 1:
                reply = starting[0]  # /ref Tab completes /refund
            elif not starting:
                self.notify(f"No canned reply /{shortcode}; {self._key_for('insert-canned', Composer.BINDINGS)} lists them "
                            f"({library.source}).", severity="warning", timeout=5, markup=False)
                return
        if reply is None:  # the picker: asked for, or several shortcodes start with what was typed
            language = ""
            contact = self.contact_panel.contact
            if contact is not None and self.contact_panel.conversation_id == conv_id:
                language = contact.language
            try:
                variables = await self.desk.canned_variables(conv_id)
            except Exception:
                variables = None  # the preview shows the raw text; inserting reports the problem
            reply = await self.push_screen_wait(
                CannedPicker(library, language=language, query=shortcode or "", variables=variables))
            self.composer.focus()
            if reply is None:
                return
        text = await self._fill_canned(conv_id, reply, library.where(reply))
        if text is not None and conv_id == self.conversation_list.current_id:
            self.composer.insert_canned_text(text, start, end)
            self.composer.focus()

    async def _fill_canned(self, conv_id: int, reply: CannedReply, where: str) -> str | None:
        """The reply's text for this conversation, after asking each `{ask:…}`; None when not inserted."""
        try:
            variables = await self.desk.canned_variables(conv_id)
            labels = asks(reply.body)
            fill(reply.body, variables, dict.fromkeys(labels, "?"))  # report unknown variables before asking
        except TemplateError as exc:
            self.notify(f"/{reply.shortcode} ({where}): {exc}", title="Canned reply not inserted",
                        severity="error", timeout=10, markup=False)
            return None
        except Exception as exc:
            self._error("Canned reply not inserted", exc)
            return None
        answers: dict[str, str] = {}
        for step, label in enumerate(labels, start=1):
            answer = await self.push_screen_wait(AskDialog(label, reply.title, step, len(labels)))
            if answer is None:
                self.composer.focus()
                return None
            answers[label] = answer
        try:
            return clean(fill(reply.body, variables, answers))
        except TemplateError as exc:
            self.notify(f"/{reply.shortcode} ({where}): {exc}", title="Canned reply not inserted",
                        severity="error", timeout=10, markup=False)
            return None

    async def action_toggle_resolved(self) -> None:
        conv = self._current()
        if conv is None:
            return
        status = Status.OPEN if conv.status is Status.RESOLVED else Status.RESOLVED
        try:
            await self.desk.set_status(conv.id, status)
        except Exception as exc:
            self._error("Could not change the status", exc)
            return
        self.notify("Reopened." if status is Status.OPEN else "Resolved.", timeout=2)

    async def action_next_view(self) -> None:
        self.view = VIEW_CYCLE[(VIEW_CYCLE.index(self.view) + 1) % len(VIEW_CYCLE)] if self.view in VIEW_CYCLE else View.ALL
        await self.reload_list()

    async def action_retry_delivery(self) -> None:
        conv_id = self.thread.conversation_id
        failed = [
            m for m in self.thread.messages
            if m.direction is Direction.OUT and not m.private and m.kind is not MessageKind.ACTIVITY
            and m.delivery in (Delivery.FAILED, Delivery.UNCONFIRMED)
        ]
        if conv_id is None or not failed:
            self.notify("No failed or unconfirmed reply in this thread.", severity="warning")
            return
        try:
            await self.desk.retry(conv_id, failed[-1].id)
        except Exception as exc:
            self._error("Could not retry", exc)
            return
        self.notify("Sending again.", timeout=2)

    @on(Composer.Submitted)
    async def _submitted(self, message: Composer.Submitted) -> None:
        conv_id = self.thread.conversation_id or self.conversation_list.current_id
        if conv_id is None:
            self.notify("No conversation selected.", severity="warning")
            return
        try:
            if message.mode == "note":
                sent = await self.desk.note(conv_id, message.text)
            else:
                sent = await self.desk.reply(conv_id, message.text)
        except Exception as exc:
            self._error("Not sent" if message.mode == "reply" else "Note not saved", exc)
            return
        message.composer.clear()
        self.thread.upsert(sent)
        if message.mode == "note":
            self._report_mentions(message.text, sent.mentions)

    def _report_mentions(self, text: str, mentions: list[str]) -> None:
        """Say who a note mentions, and which @names are not agents (so not recorded)."""
        recorded = {m.casefold() for m in mentions}
        strangers = list(dict.fromkeys(m for m in MENTIONED.findall(text) if m.casefold() not in recorded))
        if mentions:
            self.notify(f"Note saved — mentioned {', '.join(mentions)}.", timeout=3, markup=False)
        if strangers:
            self.notify(f"@{', @'.join(strangers)}: not an agent, so not recorded as a mention "
                        "(agents come from [agent] agents in the config).", severity="warning", timeout=6, markup=False)

    @on(Composer.Cancelled)
    def _cancelled(self) -> None:
        self.conversation_list.focus()

    def _error(self, what: str, exc: Exception) -> None:
        self.notify(escape(f"{exc}"), title=escape(what), severity="error", timeout=8)
