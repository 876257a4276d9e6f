"""The frontdesk console: conversation list, thread with composer, contact panel, on one desk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Static

from frontdesk.desk import Filters, Sort, View
from frontdesk.desk.canned import CannedLibrary, CannedReply
from frontdesk.desk.interface import DeskAPI
from frontdesk.desk.views import ViewTally
from frontdesk.tui.bindings import APP_BINDINGS, first_key
from frontdesk.tui.change_plan import plan_changes
from frontdesk.tui.commands import BindingCommands, BindingListing
from frontdesk.tui.drafts import DraftKeeping, Drafts
from frontdesk.tui.flows.attaching import Attaching
from frontdesk.tui.flows.canned import CannedFlow
from frontdesk.tui.flows.templates import TemplateFlow
from frontdesk.tui.flows.composing import Composing
from frontdesk.tui.flows.contacts import ContactFlows
from frontdesk.tui.flows.desk_calls import DeskCalls
from frontdesk.tui.flows.escalation import EscalationFlow
from frontdesk.tui.flows.team import TeamFlow
from frontdesk.tui.flows.listing import Listing
from frontdesk.tui.flows.paging import Paging, PagingState
from frontdesk.tui.flows.reading import WINDOW_REFRESH_SECONDS, Reading
from frontdesk.tui.flows.refusals import Refusals
from frontdesk.tui.flows.reporting import ReportFlow
from frontdesk.tui.flows.thread_actions import ThreadActions
from frontdesk.tui.flows.triage import TriageActions
from frontdesk.tui.flows.views import ViewSwitching
from frontdesk.tui.messages import DeskChanged
from frontdesk.tui.notify import RESTORE_TITLE, SAVE_TITLE, Notices, Notifier, NotifySettings
from frontdesk.tui.terminal import TerminalOutput
from frontdesk.tui.widgets.attached_files import AttachedFile, AttachedFiles
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets.contact_panel import ContactPanel
from frontdesk.tui.widgets.conversation_list import ConversationList
from frontdesk.tui.widgets.header_bar import HeaderBar
from frontdesk.tui.widgets.hook_status import HookStatus
from frontdesk.tui.widgets.key_footer import KeyFooter
from frontdesk.tui.widgets.thread_view import ThreadView

CONTACT_PANEL_MIN_WIDTH = 110
"""Below this many columns the contact panel starts hidden (toggle-contact shows it), so the
thread keeps room to be read (beside the panel, 80 columns leave it 24)."""
SHORT_SCREEN = 30
"""Below this many rows every screen has the class `-short`: dialogs tighten their spacing to fit 80×24."""


class FrontdeskApp(
    Refusals,
    BindingListing,
    ViewSwitching,
    TriageActions,
    Composing,
    Attaching,
    ThreadActions,
    DraftKeeping,
    Reading,
    Listing,
    Paging,
    Notices,
    CannedFlow,
    TemplateFlow,
    ContactFlows,
    EscalationFlow,
    TeamFlow,
    ReportFlow,
    DeskCalls,
    App[None],
):
    """One agent's console on one desk."""

    CSS_PATH = "app.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_SCREEN, "-tall")]
    TITLE = "frontdesk"
    COMMANDS = App.COMMANDS | {BindingCommands}

    BINDINGS = APP_BINDINGS

    def __init__(
        self,
        desk: DeskAPI,
        *,
        keymap: dict[str, str] | None = None,
        keymap_name: str = "default",
        clock: Callable[[], datetime] | None = None,
        title: str = "frontdesk",
        theme: str | None = None,
        cursor_blink: bool = True,
        notifications: NotifySettings | None = None,
        terminal: TerminalOutput | None = None,
        local_tz: tzinfo | None = None,
        canned: CannedLibrary | Path | None = None,
        downloads_dir: Path | None = None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.notices = list(notices)
        """Problems found before the console started (a damaged cache), shown when it opens."""
        self.terminal = terminal or TerminalOutput(self.bell)
        """Where the bell and escape sequences go (tests pass a recorder)."""
        if terminal is None:
            self.driver_class = self.terminal.tap(self.driver_class)
        self.notifier = Notifier(
            desk,
            notifications or NotifySettings(),
            self.terminal.write,
            self.terminal.bell,
            name=title,
        )
        self.desk = desk
        self.downloads_dir = downloads_dir
        """Where `d` saves attachments (None: a frontdesk folder in the user's downloads folder)."""
        self.canned = canned if isinstance(canned, CannedLibrary) else CannedLibrary(canned)
        """The canned replies: the agent's canned.toml (re-read when it changes) or the shipped examples."""
        self.clock = clock or desk.now
        self.local_tz = local_tz  # None: the system's local time (snooze presets and custom times)
        self.title = title
        self.view = View.ALL
        self.sort = Sort.ACTIVITY
        self.filters = Filters()
        self.keymap: dict[str, str] = dict(keymap or {})
        """The keymap in force: binding id -> "key,key" (ids not in it keep their code default)."""
        self.keymap_name = keymap_name
        palette_keys = self.keymap.get("command-palette")
        if palette_keys:  # the Footer shows the palette's key by looking this up
            self.COMMAND_PALETTE_BINDING = palette_keys.split(",")[0].strip()
        self._theme_name = theme
        self._cursor_blink = cursor_blink
        # the state each mixin keeps
        # Listing: view counts, kept up to date from the change feed; the list's border as set
        self._tally = ViewTally(desk.agent)
        self._list_titles: tuple[str, str] | None = None
        # Reading: the conversation the agent opened (Enter …) while it is shown; the shown
        # thread that missed a change while the cursor was elsewhere; the pending end of the
        # typing mark; what to run when a given thread's load lands (ContactFlows)
        self._reading: int | None = None
        self._thread_missed: int | None = None
        self._typing_timer: Timer | None = None
        self._once_shown: tuple[int, Callable[[], None]] | None = None
        self._allowance_for: int | None = (
            None  # the conversation whose allowance line the composer shows
        )
        # DraftKeeping: the conversation the composer writes for; a pending save
        self._drafts = Drafts()
        self._draft_for: int | None = None
        self._draft_timer: Timer | None = None
        # Attaching: the files attached to each conversation's reply, not sent yet
        self._attached: dict[int, list[AttachedFile]] = {}
        self._attach_from = ""  # the folder the last file was attached from
        # Paging: the desk.more call running, and the view whose pages ran out
        self.paging = PagingState()
        # CannedFlow: the account's shared canned replies as last fetched; the last fetch failed
        self._shared_canned: tuple[CannedReply, ...] = ()
        self._shared_canned_failed = False
        # Notices: channel -> (reason, time.monotonic()) last notified down
        self._down_notified: dict[str, tuple[str, float]] = {}
        # narrow? -> the contact panel shown, as the agent chose with toggle-contact
        self._contact_choice: dict[bool, bool] = {}

    # ---- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header-bar")
        with Horizontal(id="panes"):
            yield ConversationList(
                id="conversations",
                clock=self.clock,
                channel_kind=self.desk.channel_kind,
                contact_name=self.desk.contact_name,
                activity=self.row_activity,
                agent_name=self.desk.agent_name,
            )
            with Vertical(id="middle"):
                yield ThreadView(id="thread", clock=self.clock, agent_name=self.desk.agent_name)
                yield AttachedFiles(id="attached-files")
                yield Composer(id="composer", cursor_blink=self._cursor_blink)
                yield Static(id="allowance")
            yield ContactPanel(id="contact", clock=self.clock, channel_kind=self.desk.channel_kind)
        yield HookStatus(id="hook-status")
        yield KeyFooter()

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
        if self.keymap:
            self.set_keymap(self.keymap)
        if self._theme_name:
            try:
                self.theme = self._theme_name
            except Exception as exc:
                self.notify(escape(f"theme {self._theme_name!r}: {exc}"), severity="warning")
        self.conversation_list.border_title = "Conversations"
        self.contact_panel.border_title = "Contact"
        self.thread.border_title = "Thread"
        self.thread.retry_key = self._key_for("retry-delivery")
        self.thread.fold_key = self._key_for("toggle-quoted", "thread")
        self.composer.set_mentionable([a for a in self.desk.agents if a != self.desk.agent])
        self._arrange_contact()
        self.set_interval(WINDOW_REFRESH_SECONDS, self.refresh_window)
        self.contact_panel.retry_key = self.thread.retry_key
        self.query_one(HookStatus).retry_key = self.thread.retry_key
        # hooks still failing from the last run
        self.query_one(HookStatus).show_jobs(self.desk.hook_jobs())
        self.conversation_list.focus()
        self._notify_cache_damage()
        await self.reload_list()
        self.terminal.write(SAVE_TITLE)
        # counts the whole cache: after the first frame
        self.call_after_refresh(self.notifier.update_title)
        self.load_shared_canned()
        self.watch_desk()

    def on_unmount(self) -> None:
        self.terminal.write(RESTORE_TITLE)

    def _key_for(self, binding_id: str, context: str = "app") -> str:
        """How the first key of `binding_id` (a binding of `context`, default the app) is shown."""
        return first_key(self.keymap, self.get_key_display, binding_id, context)

    @work(group="desk-changes", exit_on_error=False)
    async def watch_desk(self) -> None:
        """Follow the desk's change feed; post one message per burst of changes."""
        subscription = self.desk.subscribe()
        try:
            async for change in subscription:
                # One burst at a time: what arrives while the app applies this one is taken
                # together next, so a fast feed costs one update per frame, not one per change.
                burst = DeskChanged((change, *subscription.pending()))
                self.post_message(burst)
                await burst.handled.wait()
        finally:
            subscription.close()

    @property
    def panes_gone(self) -> bool:
        """True once a pane is gone: the app is exiting, and a late message has nothing to update."""
        try:
            panes = (self.conversation_list, self.thread, self.composer, self.contact_panel)
        except NoMatches:
            return True
        return not all(pane.is_attached for pane in panes)

    async def on_desk_changed(self, message: DeskChanged) -> None:
        try:
            await self._apply_changes(message)
        except NoMatches:
            if not self.panes_gone:
                raise
        finally:
            message.handled.set()

    async def _apply_changes(self, message: DeskChanged) -> None:
        """Apply the plan for a burst of changes (`plan_changes` decides what it touches)."""
        plan = plan_changes(
            message.changes,
            open_conversation=self.thread.conversation_id,
            reading=self._being_read(),
        )
        if plan.mark_read is not None:
            # before the list and title read it: no ● flashes up
            await self._mark_read(plan.mark_read)
        self.paging_reset(message.changes)
        if plan.reload_list:
            await self.reload_list()
        elif plan.rows is not None:
            await self.update_list(set(plan.rows))
        if plan.thread is not None:
            await self._follow_open_conversation(plan.thread)
        if plan.typing is not None:
            self._typing_changed(plan.typing)
        if plan.hook_status:
            # failures: one line per hook, in place
            self.query_one(HookStatus).show_jobs(self.desk.hook_jobs())
        self._notify_hooks(plan.hook_notices)
        if plan.header:
            self._update_header()
            self._notify_channels_down()
        await self._alert_changes(message.changes)
        await self.apply_team_changes(message.changes)
        self.follow_shared_canned(message.changes)

    def on_resize(self) -> None:
        if self.is_mounted:
            self.call_after_refresh(self._update_header)
            # App's own handler records the new size after this one
            self.call_after_refresh(self._arrange_contact)

    @property
    def _narrow(self) -> bool:
        return self.size.width < CONTACT_PANEL_MIN_WIDTH

    def _arrange_contact(self) -> None:
        """Show the contact panel as chosen for this width (by default: hidden when narrow); the
        thread's border names the key that shows it while it is hidden."""
        panel = self.contact_panel
        shown = self._contact_choice.get(self._narrow, not self._narrow)
        if panel.display != shown:
            if not shown and panel.has_focus_within:
                self.conversation_list.focus()
            panel.display = shown
        self.thread.border_subtitle = (
            None if shown else f"{self._key_for('toggle-contact')} contact"
        )

    def action_toggle_contact(self) -> None:
        self._contact_choice[self._narrow] = not self.contact_panel.display
        self._arrange_contact()

    def _show_contact(self) -> None:
        if not self.contact_panel.display:
            self.action_toggle_contact()

    def action_focus_list(self) -> None:
        self.conversation_list.focus()

    @on(Composer.Cancelled)
    def _cancelled(self) -> None:
        self.writing_ended()
        self.conversation_list.focus()
