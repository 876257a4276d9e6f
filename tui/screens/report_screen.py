"""Reports and the live queue (R): headline tiles, chart and rows for a period; who waits now."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from frontdesk.desk import Change, ChangeKind, View
from frontdesk.desk.errors import DeskError
from frontdesk.desk.interface import DeskAPI
from frontdesk.desk.report import Grouping, Report
from frontdesk.desk.report.queue import LiveQueue
from frontdesk.tui.bindings import REPORT_BINDINGS
from frontdesk.tui.widgets.queue_pane import Names, QueuePane
from frontdesk.tui.widgets.report_chart import ReportChart, report_zone
from frontdesk.tui.widgets.report_view import GROUP_TITLES, ReportTiles, rows_table

PERIODS = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
"""The periods the screen switches between (report-today, report-week, report-month)."""
GROUPINGS = tuple(Grouping)
"""report-grouping steps through these, in this order."""
QUEUE_TICK_SECONDS = 5.0
"""How often the queue's ages are redrawn when nothing changes (a wait moves to the next bucket)."""
_QUEUE_CHANGES = frozenset({ChangeKind.CONVERSATION, ChangeKind.MESSAGE, ChangeKind.SLA})
"""Changes that can move a conversation in or out of the queue."""
_RELOADS = frozenset({ChangeKind.RESET, ChangeKind.LINK})
QUEUE_MIN_WIDTH = 110
"""Below this many columns the live queue starts hidden (report-queue shows it), so the report
keeps room for its tiles and table."""


def report_span(period: str, now: datetime, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """[since, until) of a period name in PERIODS: "today" starts at midnight in `tz` (None:
    the system's zone), "7d" and "30d" are the days before `now`."""
    if period == "today":
        local = now.astimezone(tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0), now
    return now - timedelta(days=int(period.removesuffix("d"))), now


def changed_ids(changes: Iterable[Change]) -> set[int]:
    """The conversations a burst of changes may have moved in or out of the queue."""
    return {
        c.conversation_id
        for c in changes
        if c.kind in _QUEUE_CHANGES and c.conversation_id is not None
    }


def _default_key(binding_id: str) -> str:
    return next(b.key for b in REPORT_BINDINGS if b.id == binding_id)


class ReportScreen(ModalScreen[int | None]):
    """The report of a period (t/w/m switch it, g the rows' grouping) beside the live queue;
    Enter on a wait dismisses with its conversation, Escape with None."""

    BINDINGS = REPORT_BINDINGS

    DEFAULT_CSS = """
    ReportScreen { background: $background; }
    ReportScreen > #report-body { height: 1fr; }
    ReportScreen #report-side { width: 1fr; }
    ReportScreen #report-heading { height: 1; padding: 0 1; color: $text-muted; }
    ReportScreen ReportChart { height: 3fr; min-height: 8; }
    ReportScreen #report-rows-box {
        height: 2fr; min-height: 5; border: round $primary-darken-1; padding: 0 1;
    }
    ReportScreen #report-rows { height: auto; }
    ReportScreen QueuePane {
        width: 40%; max-width: 50; min-width: 32;
        border: round $primary; border-title-color: $text;
    }
    ReportScreen.-queue-only #report-side { display: none; }
    ReportScreen.-queue-only QueuePane { width: 1fr; max-width: 100%; }
    ReportScreen #report-keys { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(
        self,
        desk: DeskAPI,
        report: Report,
        *,
        period: str = "7d",
        clock: Callable[[], datetime] | None = None,
        local_tz: tzinfo | None = None,
        key_of: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.report = report
        self.period = period
        self.grouping = report.grouping
        self.business = False  # times in business hours (the desk's [hours]) or calendar time
        self.clock = clock or desk.now
        self.local_tz = local_tz
        self.key_of = key_of or _default_key
        """How the key of one of the screen's binding ids is shown (the keymap in force)."""
        self.queue = LiveQueue()
        self.roster = desk.online()
        self._queue_choice: dict[bool, bool] = {}  # narrow? → the queue shown, as chosen
        self.queue_ready = False
        """True once the queue holds every conversation (tests wait on it)."""

    def compose(self) -> ComposeResult:
        names = Names(self.desk.contact_name, self.desk.agent_name)
        with Horizontal(id="report-body"):
            with Vertical(id="report-side"):
                yield Static(id="report-heading")
                yield ReportTiles(id="report-tiles")
                yield ReportChart(id="report-chart")
                with VerticalScroll(id="report-rows-box"):
                    yield Static(id="report-rows")
            yield QueuePane(names, team=self.desk.mode == "team", id="queue")
        yield Static(self._hints(), id="report-keys")

    def _hints(self) -> str:
        key = self.key_of
        periods = "/".join(key(i) for i in ("report-today", "report-week", "report-month"))
        return (
            f"{periods} today/7d/30d · {key('report-grouping')} group by · "
            f"{key('report-time')} business/calendar · {key('report-queue')} live queue · "
            f"Enter open · {key('close-report')} back"
        )

    def on_mount(self) -> None:
        self.show_report(self.report)
        self._arrange_queue()
        self.follow_queue()
        self.set_interval(QUEUE_TICK_SECONDS, self.show_queue)

    def on_resize(self) -> None:
        self.call_after_refresh(self._arrange_queue)

    @property
    def _narrow(self) -> bool:
        return self.app.size.width < QUEUE_MIN_WIDTH

    def _arrange_queue(self) -> None:
        """Show the queue as chosen for this width (by default: hidden when narrow, where it
        shows instead of the report)."""
        pane = self.query_one(QueuePane)
        pane.display = self._queue_choice.get(self._narrow, not self._narrow)
        # narrow, the queue takes the report's place rather than squeezing it
        self.set_class(self._narrow and pane.display, "-queue-only")
        if pane.display:
            pane.longest.focus()

    def action_toggle_queue(self) -> None:
        self._queue_choice[self._narrow] = not self.query_one(QueuePane).display
        self._arrange_queue()

    # ---- the report ---------------------------------------------------------------------

    def show_report(self, report: Report) -> None:
        self.report = report
        since, until = report.period.since, report.period.until
        zone = report_zone(report.timezone)  # as `frontdesk report` names the period
        business = self.business and report.business_hours
        clock = "business hours" if business else "calendar time"
        self.query_one("#report-heading", Static).update(
            f"{PERIODS[self.period]} · {since.astimezone(zone):%d %b %H:%M} – "
            f"{until.astimezone(zone):%d %b %H:%M} {report.timezone} · "
            f"{report.conversations} conversations · {clock}"
        )
        self.query_one(ReportTiles).show(report.figures, business)
        self.query_one(ReportChart).show(report.series, report.series_step, zone)
        box = self.query_one("#report-rows-box")
        box.border_title = f"By {GROUP_TITLES[report.grouping].lower()}"
        name_of = self.desk.agent_name if report.grouping is Grouping.AGENT else str
        self.query_one("#report-rows", Static).update(rows_table(report, name_of, business))

    def action_toggle_business(self) -> None:
        if not self.report.business_hours:
            self.notify("No business hours: set [hours] in the config to count them.", timeout=3)
            return
        self.business = not self.business
        self.show_report(self.report)

    def action_period(self, period: str) -> None:
        self.period = period
        self.fetch_report()

    def action_next_grouping(self) -> None:
        self.grouping = GROUPINGS[(GROUPINGS.index(self.grouping) + 1) % len(GROUPINGS)]
        self.fetch_report()

    @work(exclusive=True, group="report", exit_on_error=False)
    async def fetch_report(self) -> None:
        """Ask the desk for the chosen period and grouping; a failure leaves the last report up."""
        # "today" starts at midnight where the desk counts its days, as `frontdesk report` does
        zone = report_zone(self.report.timezone) or self.local_tz
        since, until = report_span(self.period, self.clock(), zone)
        try:
            report = await self.desk.report(since, until, self.grouping)
        except Exception as exc:
            self.notify(
                str(exc), title="Could not build the report", severity="error", markup=False
            )
            return
        self.show_report(report)

    def action_close(self) -> None:
        self.dismiss(None)

    # ---- the live queue -----------------------------------------------------------------

    @work(group="queue-feed", exit_on_error=False)
    async def follow_queue(self) -> None:
        """Load the queue once, then apply each burst of changes to the conversations it names."""
        subscription = self.desk.subscribe()  # before loading: nothing changes unseen
        try:
            await self._reload_queue()
            async for change in subscription:
                await self._apply((change, *subscription.pending()))
        finally:
            subscription.close()

    async def _reload_queue(self) -> None:
        conversations = []
        for view in (View.ALL, View.SNOOZED, View.BOT):
            conversations += await self.desk.conversations(view, sort=None)
        self.queue.reset(conversations)
        self.queue_ready = True
        self.show_queue()

    async def _apply(self, changes: tuple[Change, ...]) -> None:
        if any(c.kind in _RELOADS for c in changes):
            await self._reload_queue()
            return
        for conv_id in changed_ids(changes):
            try:
                self.queue.update(await self.desk.conversation(conv_id))
            except DeskError:
                self.queue.remove(conv_id)  # merged away
        if any(c.kind is ChangeKind.PRESENCE for c in changes):
            self.roster = self.desk.online()
        self.show_queue()

    def show_queue(self) -> None:
        if self.is_attached:
            now = self.clock()
            self.query_one(QueuePane).show(self.queue.snapshot(now, self.roster), now)

    @on(QueuePane.OpenConversation)
    def _open(self, message: QueuePane.OpenConversation) -> None:
        self.dismiss(message.conversation_id)
