"""The canned-replies picker: type to filter by shortcode, title or text; Enter returns the chosen reply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.desk.canned import (
    CannedError,
    CannedReply,
    CannedSet,
    TemplateError,
    asks,
    fill,
    load_canned,
    rank,
    write_examples,
)
from frontdesk.tui.canned_choice import CannedChoice
from frontdesk.tui.safe import clean, clean_line
from frontdesk.tui.screens.filtered_picker import DIALOG, FILTER, MATCHES, PREVIEW, FilteredPicker


TITLE_FROM_BODY = 60
"""How much of an untitled reply's text stands for its title in the list."""
MAX_LISTED = 100
"""The most matches listed at once (best first): a row costs the list on every keypress, and
an account may share hundreds of replies; typing narrows the rest."""


class CannedPicker(FilteredPicker[CannedReply, CannedReply | None]):
    """Fuzzy picker over the canned replies, the agent's own and those their account shares
    (tagged "account"); replies in the contact's language come first.

    The preview shows the highlighted reply filled in for this conversation, `{ask:…}` values
    as ⟨order number⟩, or what is wrong with it (an unknown variable) before it is chosen.
    """

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Close",
            id="canned-cancel",
            tooltip="Close the picker without inserting",
        ),
        Binding(
            "down", "move(1)", "Next", show=False, id="canned-down", tooltip="Next canned reply"
        ),
        Binding(
            "up",
            "move(-1)",
            "Previous",
            show=False,
            id="canned-up",
            tooltip="Previous canned reply",
        ),
        Binding(
            "ctrl+o",
            "own_file",
            "Make my own",
            id="canned-own-file",
            tooltip="Copy the shipped examples to your canned.toml to edit them",
        ),
    ]

    DEFAULT_CSS = """
    CannedPicker {
        #canned-options { max-height: 12; }
        #canned-source { color: $text-muted; margin-top: 1; }
        &.-short #canned-dialog { max-height: 100%; }
        &.-short #canned-options { max-height: 7; }
        &.-short #canned-preview { max-height: 4; }
    }
    """

    NOUN = "canned reply"

    def __init__(
        self,
        canned: CannedSet,
        language: str = "",
        query: str = "",
        variables: Mapping[str, str] | None = None,
        shared: Sequence[CannedReply] = (),
    ) -> None:
        super().__init__()
        self.canned = canned
        self.shared = tuple(shared)
        self.choice = CannedChoice.of(canned, self.shared)
        self.language = language
        self.variables = dict(variables) if variables is not None else None
        self.initial_query = query
        self.unlisted = 0
        """How many matches of the filter are beyond `MAX_LISTED`."""

    def compose(self) -> ComposeResult:
        with Vertical(id="canned-dialog", classes=DIALOG) as dialog:
            dialog.border_title = "Canned replies"
            yield Input(
                self.initial_query,
                placeholder="Filter: /shortcode, title or words of the text…",
                id="canned-query",
                classes=FILTER,
            )
            yield OptionList(id="canned-options", classes=MATCHES)
            yield Static(id="canned-preview", classes=PREVIEW)
            yield Static(self._source_line(), id="canned-source")

    def on_mount(self) -> None:
        self.refilter(self.initial_query)
        self.query_one("#canned-query", Input).focus()

    def _source_line(self) -> Text:
        if self.canned.examples:
            line = Text(
                f"Examples shipped with frontdesk — ctrl+o copies them to {self.canned.own_path} "
                "to make them your own."
            )
        else:
            line = Text(f"From {self.canned.source} (re-read when it changes).")
        if self.choice.shared:
            line.append(f' Plus {len(self.choice.shared)} from your account (tagged "account").')
        return line

    def action_own_file(self) -> None:
        if not self.canned.examples:
            self.notify(
                f"You already use your own file: {self.canned.source}.", timeout=4, markup=False
            )
            return
        try:
            path = write_examples(self.canned.own_path)
            self.canned = load_canned(path)
            self.choice = CannedChoice.of(self.canned, self.shared)
            self.refilter(self.query_one("#canned-query", Input).value)  # now they win shortcodes
        except CannedError as exc:
            self.notify(
                str(exc), title="Examples not copied", severity="error", timeout=8, markup=False
            )
            return
        self.query_one("#canned-source", Static).update(self._source_line())
        self.notify(
            f"Copied the examples to {path}: edit it; frontdesk re-reads it when it changes.",
            timeout=6,
            markup=False,
        )

    def matches(self, query: str) -> list[CannedReply]:
        ranked = rank(query, self.choice.replies, self.language)
        self.unlisted = max(0, len(ranked) - MAX_LISTED)
        return ranked[:MAX_LISTED]

    def refilter(self, query: str) -> None:
        super().refilter(query)
        if self.unlisted:  # a last row that cannot be chosen says the list goes on
            more = Text(f"… {self.unlisted:,} more: type to narrow", "dim italic")
            self._matches.add_option(Option(more, disabled=True))

    def label(self, item: CannedReply) -> Text:
        label = Text()
        label.append(f"/{clean_line(item.shortcode)}", "bold")
        label.append("  ")
        # a server's reply may have no title: the start of its text, which may be long, instead
        label.append(clean_line(item.title) or clean_line(item.body[:TITLE_FROM_BODY]))
        if item.language:
            label.append(f"  {clean_line(item.language)}", "dim")
        if self.choice.is_shared(item):
            label.append("  account", "dim")
        return label

    def picked(self, item: CannedReply) -> None:
        self.dismiss(item)

    def preview(self, reply: CannedReply | None) -> None:
        preview = self.query_one("#canned-preview", Static)
        if reply is None:
            preview.update(Text("No canned reply matches.", style="italic"))
            return
        accent = f"bold {self.app.theme_variables.get('accent', 'cyan')}"
        if self.variables is None:
            body = Text(clean(reply.body))
            body.highlight_regex(r"\{[^{}]*\}", accent)
            preview.update(body)
            return
        try:
            filled = fill(
                reply.body, self.variables, {label: f"⟨{label}⟩" for label in asks(reply.body)}
            )
        except TemplateError as exc:
            body = Text(clean(reply.body))
            body.highlight_regex(r"\{[^{}]*\}", accent)
            body.append(f"\n⚠ {exc}", f"bold {self.app.theme_variables.get('error', 'red')}")
            preview.update(body)
            return
        body = Text(clean(filled))
        body.highlight_regex(r"⟨[^⟩]*⟩", accent)
        preview.update(body)

    def action_cancel(self) -> None:
        self.dismiss(None)
