"""The filter dialog: narrow the conversation list by channel, label, priority and SLA breach."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from frontdesk.desk.views import Filters
from frontdesk.model import Priority
from frontdesk.tui.safe import clean_line

PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW, Priority.NONE)
BREACHING = "sla-breached"
"""The tick in the priority list that keeps only conversations past their SLA."""


class FilterDialog(ModalScreen[Filters | None]):
    """Three lists to tick (Space); Enter applies, Delete clears every filter, Escape cancels."""

    BINDINGS = [
        Binding(
            "enter",
            "apply",
            "Apply",
            priority=True,
            id="filter-apply",
            tooltip="Show only what is ticked",
        ),
        Binding("delete", "clear", "Clear all", id="filter-clear", tooltip="Remove every filter"),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="filter-cancel",
            tooltip="Close without changing the filters",
        ),
    ]

    DEFAULT_CSS = """
    FilterDialog { align: center middle; }
    FilterDialog > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    FilterDialog Horizontal { height: auto; }
    FilterDialog SelectionList {
        width: 1fr; height: auto; max-height: 14; min-height: 3; border: round $panel-lighten-2;
    }
    FilterDialog SelectionList:focus { border: round $primary; }
    FilterDialog .hint { color: $text-muted; }
    """

    def __init__(self, channels: Sequence[str], labels: Sequence[str], current: Filters) -> None:
        super().__init__()
        self.channels = list(dict.fromkeys([*channels, *sorted(current.channels)]))
        self.labels = list(dict.fromkeys([*labels, *sorted(current.labels)]))
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Filter conversations"
            with Horizontal():
                yield self._list(
                    "channels",
                    "Channel",
                    [(clean_line(c), c, c in self.current.channels) for c in self.channels],
                )
                yield self._list(
                    "labels",
                    "Label",
                    [(clean_line(lb), lb, lb in self.current.labels) for lb in self.labels],
                )
                yield self._list(
                    "priorities",
                    "Priority · SLA",
                    [
                        *[(p.value, p, p in self.current.priorities) for p in PRIORITY_ORDER],
                        ("SLA breached", BREACHING, self.current.breaching),
                    ],
                )
            yield Static(
                "Space tick/untick · Tab next list · Enter apply · Del clear all · Esc cancel",
                classes="hint",
            )

    def _list(
        self, list_id: str, title: str, items: list[tuple[str, object, bool]]
    ) -> SelectionList:
        selections = [Selection(prompt, value, ticked) for prompt, value, ticked in items]
        widget: SelectionList = SelectionList(*selections, id=list_id)
        widget.border_title = title
        if not selections:
            widget.border_subtitle = "none yet"
        return widget

    def on_mount(self) -> None:
        self.query_one("#channels", SelectionList).focus()

    def chosen(self) -> Filters:
        """The filters as ticked right now."""
        picked = self.query_one("#priorities", SelectionList).selected
        return Filters(
            channels=frozenset(self.query_one("#channels", SelectionList).selected),
            labels=frozenset(self.query_one("#labels", SelectionList).selected),
            priorities=frozenset(p for p in picked if isinstance(p, Priority)),
            breaching=BREACHING in picked,
        )

    def action_apply(self) -> None:
        self.dismiss(self.chosen())

    def action_clear(self) -> None:
        self.dismiss(Filters())

    def action_cancel(self) -> None:
        self.dismiss(None)
