"""The hook status line: one line per escalation hook that is failing, updated in place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from frontdesk.desk.hooks import HookJob
from frontdesk.tui.safe import clean_line

MAX_REASON = 120
"""Characters of a hook's error shown on its line (the thread's event has all of it)."""


@dataclass(frozen=True, slots=True)
class HookTrouble:
    """A hook whose last run failed: for how many escalations, why, and whether it retries."""

    hook: str
    waiting: int
    reason: str
    retrying: bool


def hook_troubles(jobs: Sequence[HookJob]) -> list[HookTrouble]:
    """The failing hooks among `jobs` (a job keeps its last error until it succeeds), by name."""
    failing: dict[str, list[HookJob]] = {}
    for job in jobs:
        if job.last_error:
            failing.setdefault(job.hook, []).append(job)
    return [
        HookTrouble(hook, len(runs), runs[-1].last_error, any(j.state != "failed" for j in runs))
        for hook, runs in sorted(failing.items())
    ]


def trouble_line(trouble: HookTrouble, retry_key: str) -> Text:
    reason = clean_line(trouble.reason)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    escalations = f"{trouble.waiting} escalation{'s' if trouble.waiting != 1 else ''}"
    line = Text("⚠ ", "bold")
    line.append(f"Hook {clean_line(trouble.hook)}", "bold")
    line.append(f" failing: {reason} — ")
    if trouble.retrying:
        line.append(f"retrying ({escalations} waiting)")
    else:
        line.append(f"not retried ({escalations}); {retry_key} in the conversation runs it again")
    return line


class HookStatus(Static):
    """Shown only while a hook fails: retries update its line instead of raising a toast each."""

    DEFAULT_CSS = """
    HookStatus {
        height: auto;
        max-height: 4;
        padding: 0 1;
        color: $text-error;
        background: $error 15%;
        display: none;
        &.-failing { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.retry_key = "ctrl+r"
        self.troubles: list[HookTrouble] = []

    def show_jobs(self, jobs: Sequence[HookJob]) -> None:
        troubles = hook_troubles(jobs)
        if troubles == self.troubles:
            return
        self.troubles = troubles
        self.update(Text("\n").join(trouble_line(t, self.retry_key) for t in troubles))
        self.set_class(bool(troubles), "-failing")
