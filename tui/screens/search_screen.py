"""Incremental search over contacts and message text; Enter opens the conversation found."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.desk import SearchMatch
from frontdesk.desk.views import snippet
from frontdesk.model import Status
from frontdesk.tui.safe import clean_line

DEBOUNCE_SECONDS = 0.12
"""How long typing must pause before the desk is asked (each key would otherwise search)."""
SNIPPET_WIDTH = 100
_STATUS = {
    Status.PENDING: "pending",
    Status.SNOOZED: "snoozed",
    Status.RESOLVED: "resolved",
    Status.BOT: "bot",
}


def match_prompt(match: SearchMatch, query: str, channel_kind: Callable[[str], str]) -> Text:
    """Two lines: the contact, channel and status; then the matching text, the match in bold."""
    conv = match.conversation
    head = Text(clean_line(match.contact_name) or f"#{conv.id}", "bold")
    kind = channel_kind(conv.channel)
    head.append(f"  {clean_line(kind)}", "dim")
    if conv.status in _STATUS:
        head.append(f"  {_STATUS[conv.status]}", "dim")
    if match.hits > 1:
        head.append(f"  {match.hits} matches", "dim")
    cut = snippet(clean_line(match.text), query, SNIPPET_WIDTH)
    line = Text("  " + cut.text)  # a plain Text: markup in what a customer wrote is never parsed
    for start, end in cut.matches:
        line.stylize("bold reverse", 2 + start, 2 + end)
    return Text.assemble(head, "\n", line)


class SearchScreen(ModalScreen[int | None]):
    """Type to search; ↑↓ move through the results; Enter opens one; Escape returns."""

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="search-cancel", tooltip="Back to the console"),
        Binding(
            "down",
            "result_down",
            "Next result",
            show=False,
            id="search-next",
            tooltip="Highlight the next result",
        ),
        Binding(
            "up",
            "result_up",
            "Previous result",
            show=False,
            id="search-previous",
            tooltip="Highlight the previous result",
        ),
    ]

    DEFAULT_CSS = """
    SearchScreen { align: center top; }
    SearchScreen > Vertical {
        width: 90%; height: 80%; margin-top: 2;
        border: round $primary; background: $surface; padding: 0 1;
    }
    SearchScreen OptionList { height: 1fr; border: none; padding: 0; }
    SearchScreen #search-status { color: $text-muted; }
    """

    def __init__(
        self,
        search: Callable[[str], Awaitable[Sequence[SearchMatch]]],
        channel_kind: Callable[[str], str] = lambda channel: channel,
        *,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        self.search = search
        self.channel_kind = channel_kind
        self.matches: list[SearchMatch] = []
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Search contacts and messages"
            search_input = Input(
                placeholder="name, order number, words from a message…", id="search-input"
            )
            search_input.cursor_blink = self.cursor_blink
            yield search_input
            yield Static("Type to search · ↑↓ choose · Enter open · Esc back", id="search-status")
            yield OptionList(id="results")

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()

    @on(Input.Changed, "#search-input")
    def _typed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self, query: str) -> None:
        """Ask the desk once typing pauses; a newer keystroke cancels this one."""
        await asyncio.sleep(DEBOUNCE_SECONDS)
        status = self.query_one("#search-status", Static)
        if not query.strip():
            self.show_matches("", [])
            status.update("Type to search · ↑↓ choose · Enter open · Esc back")
            return
        try:
            matches = list(await self.search(query))
        except Exception as exc:
            status.update(Text(f"Search failed: {exc}", "bold red"))
            return
        self.show_matches(query, matches)
        found = (
            f"{len(matches)} conversation{'s' if len(matches) != 1 else ''}"
            if matches
            else "Nothing found"
        )
        status.update(Text(f"{found} · ↑↓ choose · Enter open · Esc back"))

    def show_matches(self, query: str, matches: list[SearchMatch]) -> None:
        self.query_text = query
        self.matches = matches
        results = self.query_one("#results", OptionList)
        results.clear_options()
        results.add_options(
            Option(match_prompt(m, query, self.channel_kind), id=str(m.conversation.id))
            for m in matches
        )
        if matches:
            results.highlighted = 0

    def action_result_down(self) -> None:
        self.query_one("#results", OptionList).action_cursor_down()

    def action_result_up(self) -> None:
        self.query_one("#results", OptionList).action_cursor_up()

    @on(Input.Submitted, "#search-input")
    def _open_highlighted(self) -> None:
        results = self.query_one("#results", OptionList)
        if results.highlighted is not None and self.matches:
            self.dismiss(self.matches[results.highlighted].conversation.id)

    @on(OptionList.OptionSelected, "#results")
    def _open_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option_id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
