"""The Desk's part for reports: a period's figures by group (`desk.report`), a supervisor's call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from frontdesk.desk.errors import DeskError
from frontdesk.desk.report import Grouping, Period, Report, build_report
from frontdesk.desk.report.build import facts_cache
from frontdesk.desk.report.cache import FactsCache
from frontdesk.desk.report.metrics import BusinessSeconds
from frontdesk.desk.sla import SlaPolicy
from frontdesk.store import Store

MAX_REPORT_DAYS = 366


class Reporting:
    """`report`; `business_seconds` and `report_tz` are what the desk's business hours say
    (None: calendar time in UTC)."""

    store: Store
    sla: SlaPolicy | None
    now: Callable[[], datetime]
    business_seconds: BusinessSeconds | None = None
    report_tz: tzinfo | None = None
    _report_facts: FactsCache | None = None

    async def report(self, since: datetime, until: datetime, by: Grouping) -> Report:
        """The report of [since, until) with rows by `by` (DeskError: an empty or reversed
        period, or one longer than a year)."""
        if since.tzinfo is None or until.tzinfo is None:
            raise DeskError("a report's period needs times with a zone")
        if until <= since:
            raise DeskError(f"the report's period ends ({until:%Y-%m-%d}) before it starts")
        if (until - since).days > MAX_REPORT_DAYS:
            raise DeskError(
                f"a report covers at most {MAX_REPORT_DAYS} days; ask for a shorter one"
            )
        return await build_report(
            self,
            Period(since, until),
            Grouping(by),
            sla=self.sla,
            business_seconds=self.business_seconds,
            tz=self.report_tz,
            now=self.now,
            cache=self._facts_for_reports(),
        )

    def _facts_for_reports(self) -> FactsCache:
        """Kept while the desk runs, so a report reads only the threads changed since the last."""
        if self._report_facts is None:
            self._report_facts = facts_cache(self.store)
        return self._report_facts
