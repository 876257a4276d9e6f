"""The template picker: filter the channel's approved templates as you type, pick one, fill its values in turn."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static

from frontdesk.desk.templates import (
    Ask,
    ask_problem,
    matching_templates,
    send_of,
    template_asks,
    template_preview,
)
from frontdesk.model import MessageTemplate, TemplateSend
from frontdesk.tui.safe import clean, clean_line
from frontdesk.tui.screens.filtered_picker import DIALOG, FILTER, MATCHES, PREVIEW, FilteredPicker

LIST_HINT = "Enter picks the template · Escape closes"


class TemplatePicker(FilteredPicker[MessageTemplate, TemplateSend | None]):
    """Lists approved templates (name, language, category, body); Enter on one asks for each of
    its values in turn, the body filled in live below, and returns the template to send."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Back",
            id="template-cancel",
            tooltip="Back to the list while filling values; close without sending from the list",
        ),
        Binding("down", "move(1)", "Next", show=False, id="template-down", tooltip="Next template"),
        Binding(
            "up", "move(-1)", "Previous", show=False, id="template-up", tooltip="Previous template"
        ),
    ]

    DEFAULT_CSS = """
    TemplatePicker {
        #template-options { max-height: 10; }
        #template-hint { color: $text-muted; margin-top: 1; }
        #template-label, #template-value { display: none; }
        &.-filling #template-query, &.-filling #template-options { display: none; }
        &.-filling #template-label, &.-filling #template-value { display: block; }
    }
    """

    NOUN = "template"

    def __init__(self, templates: Sequence[MessageTemplate], channel: str = "") -> None:
        super().__init__()
        self.templates = list(templates)
        self.channel = channel
        self.chosen: MessageTemplate | None = None
        self.asks: list[Ask] = []  # what the chosen template takes, in the order it is asked
        self.values: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="template-dialog", classes=DIALOG) as dialog:
            where = f" — {clean_line(self.channel)}" if self.channel else ""
            dialog.border_title = Text(f"Approved templates{where}")
            yield Input(
                placeholder="Filter: name, language, category or words",
                id="template-query",
                classes=FILTER,
            )
            yield OptionList(id="template-options", classes=MATCHES)
            yield Static(id="template-label")
            yield Input(id="template-value")
            yield Static(id="template-preview", classes=PREVIEW)
            yield Static(id="template-hint")

    def on_mount(self) -> None:
        self.refilter("")
        self._hint(LIST_HINT)
        self.query_one("#template-query", Input).focus()

    # ---- choosing ----------------------------------------------------------------------------

    def matches(self, query: str) -> list[MessageTemplate]:
        return matching_templates(query, self.templates)

    def label(self, item: MessageTemplate) -> Text:
        label = Text()
        label.append(clean_line(item.name), "bold")
        label.append(f"  {clean_line(item.language)}")
        if item.category:
            label.append(f"  {clean_line(item.category)}", "dim")
        count = len(template_asks(item))
        label.append(f"  {count} value{'s' if count != 1 else ''}", "dim")
        return label

    def preview(self, item: MessageTemplate | None) -> None:
        if item is None:
            self.query_one("#template-preview", Static).update(
                Text("No approved template matches.", style="italic")
            )
        else:
            self._preview(item, [])

    @property
    def browsing(self) -> bool:
        return self.chosen is None

    def picked(self, item: MessageTemplate) -> None:
        self.chosen, self.values, self.asks = item, [], template_asks(item)
        if not self.asks:
            self._done()
            return
        self.add_class("-filling")
        self._ask_next()

    # ---- filling its values ------------------------------------------------------------------

    def _ask_next(self) -> None:
        assert self.chosen is not None
        step = len(self.values)
        what = clean_line(self.asks[step].prompt())
        self.query_one("#template-label", Static).update(
            Text(f"{what} of {clean_line(self.chosen.name)} ({step + 1}/{len(self.asks)}):")
        )
        value = self.query_one("#template-value", Input)
        value.placeholder = f"value for {what}"
        value.value = ""
        value.focus()
        last = step + 1 == len(self.asks)
        self._hint(
            ("Enter sends the template" if last else "Enter: next value")
            + " · Escape: back to the list"
        )
        self._preview(self.chosen, self.values)

    @on(Input.Changed, "#template-value")
    def _value_changed(self, event: Input.Changed) -> None:
        if self.chosen is not None:
            self._preview(self.chosen, [*self.values, event.value])

    @on(Input.Submitted, "#template-value")
    def _value_submitted(self, event: Input.Submitted) -> None:
        if self.chosen is None:
            return
        value = event.value.strip()
        problem = ask_problem(self.asks[len(self.values)], value)
        if problem is not None:
            self.notify(problem, severity="warning", timeout=4, markup=False)
            return
        self.values.append(value)
        if len(self.values) == len(self.asks):
            self._done()
        else:
            self._ask_next()

    def _done(self) -> None:
        assert self.chosen is not None
        self.dismiss(send_of(self.chosen, self.values))

    # ---- what it shows -------------------------------------------------------------------------

    def _preview(self, template: MessageTemplate, values: list[str]) -> None:
        """The template with the values given so far, and ⟨…⟩ where one is still to come."""
        body = Text(clean(template_preview(template, values)))
        accent = f"bold {self.app.theme_variables.get('accent', 'cyan')}"
        body.highlight_regex(r"⟨[^⟩]*⟩", accent)
        self.query_one("#template-preview", Static).update(body)

    def _hint(self, text: str) -> None:
        self.query_one("#template-hint", Static).update(Text(text))

    def action_cancel(self) -> None:
        if self.chosen is None:
            self.dismiss(None)
            return
        # one step back: the list as it was filtered, the values typed so far dropped
        self.chosen, self.values = None, []
        self.remove_class("-filling")
        self._hint(LIST_HINT)
        shown = self.highlighted_item()
        if shown is not None:
            self._preview(shown, [])
        self.query_one("#template-query", Input).focus()
