"""The shape the canned-reply and template pickers share: a filter box over a list of matches, Enter picks one."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

DIALOG = "picker-dialog"
"""The class of the picker's box (the screen's one child)."""
FILTER = "picker-filter"
"""The class of the picker's filter Input (a picker may have other inputs)."""
MATCHES = "picker-matches"
"""The class of the picker's OptionList of matches."""
PREVIEW = "picker-preview"
"""The class of the Static showing the highlighted item."""


class FilteredPicker(ModalScreen[ResultT], Generic[ItemT, ResultT]):
    """A dialog listing the items that match what is typed in its `FILTER` Input, in its `MATCHES`
    OptionList; Up/Down (`action_move`) and Enter work from the filter box.

    A picker composes its box (`DIALOG`), both widgets and its preview (`PREVIEW`) with those
    classes, whose looks are here, and says how items match, read and preview, and what picking
    one does; its ids and the rest of its looks stay its own.
    """

    DEFAULT_CSS = """
    FilteredPicker {
        align: center middle;
        & > .picker-dialog {
            width: 90;
            max-width: 95%;
            height: auto;
            max-height: 90%;
            border: round $accent;
            border-title-color: $text;
            background: $surface;
            padding: 0 1;
        }
        .picker-filter { margin-bottom: 1; }
        .picker-matches { height: auto; border: none; padding: 0; }
        .picker-preview { height: auto; max-height: 8; margin-top: 1; padding: 0 1; background: $boost; }
    }
    """

    #: what an item is called in "No … matches" ("template", "canned reply")
    NOUN: ClassVar[str] = "item"

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[ItemT] = []

    # ---- what a picker says --------------------------------------------------------------------

    def matches(self, query: str) -> list[ItemT]:
        """The items matching `query`, best first."""
        raise NotImplementedError

    def label(self, item: ItemT) -> Text:
        """One item as its row in the list."""
        raise NotImplementedError

    def preview(self, item: ItemT | None) -> None:
        """Show the highlighted item (None: nothing matches)."""
        raise NotImplementedError

    def picked(self, item: ItemT) -> None:
        """Enter on `item`: dismiss with it, or go on to another step."""
        raise NotImplementedError

    @property
    def browsing(self) -> bool:
        """True while the list is what the agent works in (Up/Down move it)."""
        return True

    # ---- the shared behaviour ------------------------------------------------------------------

    @property
    def _matches(self) -> OptionList:
        return self.query_one(f".{MATCHES}", OptionList)

    def refilter(self, query: str) -> None:
        """List the items matching `query`, the first highlighted."""
        self.shown = self.matches(query)
        options = self._matches
        options.clear_options()
        options.add_options([Option(self.label(item)) for item in self.shown])
        if self.shown:
            options.highlighted = 0
        else:
            self.preview(None)

    def highlighted_item(self) -> ItemT | None:
        index = self._matches.highlighted
        return self.shown[index] if index is not None and 0 <= index < len(self.shown) else None

    @on(Input.Changed, f".{FILTER}")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.refilter(event.value)

    @on(OptionList.OptionHighlighted, f".{MATCHES}")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        self.preview(self.shown[index] if 0 <= index < len(self.shown) else None)

    def action_move(self, step: int) -> None:
        if self.browsing and self.shown:
            options = self._matches
            current = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    @on(Input.Submitted, f".{FILTER}")
    def _filter_submitted(self) -> None:
        self._choose(self._matches.highlighted)

    @on(OptionList.OptionSelected, f".{MATCHES}")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def _choose(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.shown):
            self.notify(
                f"No {self.NOUN} matches; change the filter or press Escape.",
                severity="warning",
                timeout=3,
            )
            return
        self.picked(self.shown[index])
