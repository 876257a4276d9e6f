"""Reports (issue 19): response, resolution, CSAT, SLA and volume figures for a period.

`facts.py` reads what each conversation's record and thread say happened (pure), `metrics.py`
turns facts into figures (pure), `build.py` reads them from a store or desk, `render.py` writes
a table, CSV or JSON; `queue.py` (the console's live queue) lives beside them.
"""

from frontdesk.desk.report.build import build_report
from frontdesk.desk.report.figures import (
    Figures,
    Grouping,
    Period,
    Point,
    Report,
    Row,
    Stat,
    Times,
)

__all__ = [
    "Figures",
    "Grouping",
    "Period",
    "Point",
    "Report",
    "Row",
    "Stat",
    "Times",
    "build_report",
]
