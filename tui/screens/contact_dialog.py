"""The contact dialog: edit a contact's free-form notes and its `name: value` attributes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from frontdesk.desk.contacts import format_attributes, parse_attributes
from frontdesk.model import Contact
from frontdesk.tui.safe import clean, clean_line


@dataclass(frozen=True, slots=True)
class ContactEdit:
    """The notes and attributes the agent saved."""

    notes: str
    attributes: dict[str, str]


class ContactDialog(ModalScreen[ContactEdit | None]):
    """Notes in one text area, attributes as lines in another; Ctrl+S saves, Escape cancels."""

    BINDINGS = [
        Binding(
            "ctrl+s", "save", "Save", id="save-contact", tooltip="Save the notes and attributes"
        ),
        Binding("escape", "cancel", "Cancel", id="cancel-contact", tooltip="Close without saving"),
    ]

    DEFAULT_CSS = """
    ContactDialog {
        align: center middle;
        & > #contact-box {
            width: 80;
            height: auto;
            max-height: 90%;
            border: thick $primary 70%;
            background: $surface;
            padding: 1 2;
        }
        & #contact-notes { height: 8; }
        & #contact-attributes { height: 6; }
        & Label { margin-top: 1; }
        & #contact-error { color: $error; text-style: bold; height: auto; margin-top: 1; }
        & #contact-buttons { height: auto; align-horizontal: right; margin-top: 1; }
        & #contact-buttons > Button { margin-left: 2; }
        &.-short #contact-box { padding: 0 1; max-height: 100%; }
        &.-short #contact-notes { height: 5; }
        &.-short #contact-attributes { height: 4; }
        &.-short Label { margin-top: 0; }
    }
    """

    def __init__(self, contact: Contact, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.contact = contact
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="contact-box"):
            title = Text("Edit contact ", style="bold")
            title.append(clean_line(self.contact.name))
            yield Static(title)
            yield Label("Notes (only agents see them)")
            notes = TextArea(clean(self.contact.notes), id="contact-notes", soft_wrap=True)
            notes.cursor_blink = self.cursor_blink
            yield notes
            yield Label("Attributes — one per line, as  name: value")
            attributes = TextArea(
                clean(format_attributes(self.contact.attributes)), id="contact-attributes"
            )
            attributes.cursor_blink = self.cursor_blink
            yield attributes
            yield Static("", id="contact-error")
            with Horizontal(id="contact-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="contact-save")
                yield Button("Cancel", id="contact-cancel")

    def on_mount(self) -> None:
        for area in self.query(TextArea):  # the cursor waits at the end, ready to add a line
            area.move_cursor(area.document.end)
        self.query_one("#contact-notes", TextArea).focus()

    @on(Button.Pressed, "#contact-save")
    def action_save(self) -> None:
        try:
            attributes = parse_attributes(self.query_one("#contact-attributes", TextArea).text)
        except ValueError as exc:
            self.query_one("#contact-error", Static).update(Text(f"Attributes, {exc}"))
            self.query_one("#contact-attributes", TextArea).focus()
            return
        self.dismiss(ContactEdit(self.query_one("#contact-notes", TextArea).text, attributes))

    @on(Button.Pressed, "#contact-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
