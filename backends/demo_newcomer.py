"""The demo's newcomers: new LINE customers who write soon after start, so the demo's FAQ bot has
one conversation it keeps (answered) and one it hands over ("担当者と話したい") in the first minute."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from frontdesk.backends.demo_workspace import LiveThread
from frontdesk.model import Status

NEWCOMER_KIND = "line"
SCRIPTS = (
    (10.0, "小林 陽菜", ("返金はいつカードに反映されますか？",)),
    (
        20.0,
        "中村 結衣",
        (
            "配送状況を知りたいです。先週注文した荷物がまだ届きません。",
            "ありがとうございます。でも担当者と話したいです。",
        ),
    ),
)
"""Each newcomer: seconds of demo time after start, their name, and what they write: the first
line on their own, each next one as the answer to a reply; then they wait."""


@dataclass(slots=True)
class Newcomer:
    """One newcomer's conversation and the lines they have still to write."""

    after: float
    thread: LiveThread
    lines: deque[str] = field(default_factory=deque)

    def next_line(self) -> str | None:
        return self.lines.popleft() if self.lines else None


def newcomers(kind: str, run: int) -> list[Newcomer]:
    """This run's newcomers, each with an address of their own (`run`: the channel's cursor)."""
    found = []
    for index, (after, name, lines) in enumerate(SCRIPTS):
        address = f"Unewcomer{run:06d}{index}"
        thread = LiveThread(0, kind, address, 0, name, "ja", address, Status.OPEN)
        found.append(Newcomer(after, thread, deque(lines)))
    return found
