"""Opening the report screen (R): the desk builds the first report, then the screen takes over."""

from __future__ import annotations

from frontdesk.desk.report import Grouping
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.screens.report_screen import ReportScreen, report_span

FIRST_PERIOD = "7d"
"""The period the screen opens on: what a team lead looks at each morning."""


class ReportFlow:
    """Mixed into the App: `R` opens the report screen; a served desk answers only its owner and
    supervisors, and anyone else is told so in one line."""

    async def action_show_report(self) -> None:
        if isinstance(self.screen, ReportScreen):
            return
        since, until = report_span(FIRST_PERIOD, self.clock(), self.local_tz)
        report = await self._attempt(
            "Could not open the report", self.desk.report(since, until, Grouping.AGENT)
        )
        if report is FAILED:
            return
        self.push_screen(
            ReportScreen(
                self.desk,
                report,
                period=FIRST_PERIOD,
                clock=self.clock,
                local_tz=self.local_tz,
                key_of=lambda binding_id: self._key_for(binding_id, "screen:report"),
            ),
            self._found,
        )
