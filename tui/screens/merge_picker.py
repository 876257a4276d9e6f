"""The merge picker: search contacts by name, email or phone and pick the one to merge in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.model import Contact
from frontdesk.tui.safe import clean_line, safe_text

Finder = Callable[[str], Awaitable[Sequence[Contact]]]


def contact_line(contact: Contact) -> Text:
    """One contact as a picker row: name, then emails, phones and identities, dimmed."""
    line = safe_text(contact.name or f"#{contact.id}", "bold", one_line=True)
    details = [*contact.emails, *contact.phones, *(str(i) for i in contact.identities)]
    if details:
        line.append("  ")
        line.append(clean_line(" · ".join(dict.fromkeys(details)))[:120], "dim")
    return line


class MergePicker(ModalScreen[Contact | None]):
    """Type to search; Up/Down move, Enter picks the highlighted contact, Escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-merge", tooltip="Close without merging"),
        Binding(
            "down",
            "move(1)",
            "Next",
            show=False,
            id="merge-next",
            tooltip="Highlight the next contact",
        ),
        Binding(
            "up",
            "move(-1)",
            "Previous",
            show=False,
            id="merge-previous",
            tooltip="Highlight the previous contact",
        ),
    ]

    DEFAULT_CSS = """
    MergePicker {
        align: center middle;
        & > #merge-box {
            width: 84;
            max-width: 100%;
            height: 22;
            border: thick $accent 70%;
            background: $surface;
            padding: 1 2;
        }
        & #merge-results { height: 1fr; margin-top: 1; }
        & #merge-hint { color: $text-muted; height: auto; margin-top: 1; }
    }
    """

    def __init__(self, keep: Contact, find: Finder) -> None:
        super().__init__()
        self.keep = keep
        self.find = find
        self.found: list[Contact] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="merge-box"):
            title = Text("Merge another contact into ", style="bold")
            title.append_text(safe_text(self.keep.name, "bold", one_line=True))
            yield Static(title)
            yield Input(placeholder="search name, email or phone", id="merge-search")
            yield OptionList(id="merge-results")
            yield Static(
                "Enter picks · Esc cancels · you confirm before anything changes", id="merge-hint"
            )

    def on_mount(self) -> None:
        self.query_one("#merge-search", Input).focus()
        self.search("")

    @on(Input.Changed, "#merge-search")
    def _changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @work(exclusive=True, group="merge-search", exit_on_error=False)
    async def search(self, query: str) -> None:
        found = [c for c in await self.find(query) if c.id != self.keep.id]
        self.found = found
        results = self.query_one("#merge-results", OptionList)
        results.clear_options()
        results.add_options([Option(contact_line(c), id=str(c.id)) for c in found])
        if found:
            results.highlighted = 0
        else:
            results.add_option(
                Option(Text("No other contact matches.", style="italic"), disabled=True)
            )

    def action_move(self, step: int) -> None:
        results = self.query_one("#merge-results", OptionList)
        if self.found:
            current = results.highlighted if results.highlighted is not None else 0
            results.highlighted = max(0, min(len(self.found) - 1, current + step))

    @on(Input.Submitted, "#merge-search")
    def _pick_highlighted(self) -> None:
        highlighted = self.query_one("#merge-results", OptionList).highlighted
        if self.found and highlighted is not None and highlighted < len(self.found):
            self.dismiss(self.found[highlighted])
        else:
            self.notify("No contact to pick: change the search.", severity="warning")

    @on(OptionList.OptionSelected, "#merge-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        chosen = next((c for c in self.found if str(c.id) == event.option.id), None)
        if chosen is not None:
            self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
