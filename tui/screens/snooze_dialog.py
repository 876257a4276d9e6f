"""The snooze dialog: presets (1 hour, tomorrow 9:00, next Monday 9:00) or a custom time."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.desk.snooze import SnoozeTimeError, parse_snooze, presets

CUSTOM = "custom"


def local_label(when: datetime, tz: tzinfo | None) -> str:
    """A snooze end as the agent reads it: weekday, date and time in their zone."""
    return when.astimezone(tz).strftime("%a %d %b %H:%M")


class SnoozeDialog(ModalScreen[datetime | None]):
    """Pick when the conversation comes back; returns the time in UTC, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="snooze-cancel", tooltip="Close without snoozing")
    ]

    DEFAULT_CSS = """
    SnoozeDialog { align: center middle; }
    SnoozeDialog > Vertical {
        width: 64; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    SnoozeDialog OptionList { height: auto; border: none; padding: 0; }
    SnoozeDialog Input { margin-top: 1; }
    SnoozeDialog .hint { color: $text-muted; }
    SnoozeDialog #snooze-error { color: $error; height: auto; }
    """

    def __init__(self, now: datetime, tz: tzinfo | None, *, cursor_blink: bool = True) -> None:
        super().__init__()
        self.cursor_blink = cursor_blink
        self.now = now
        self.tz = tz
        self.presets = presets(now, tz)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Snooze until"
            options = [
                Option(f"{p.label:<18} {local_label(p.until, self.tz)}", id=str(i))
                for i, p in enumerate(self.presets)
            ]
            yield OptionList(*options, Option("Custom…", id=CUSTOM), id="presets")
            custom = Input(placeholder="2h · 30m · 3d · YYYY-MM-DD HH:MM", id="custom")
            custom.cursor_blink = self.cursor_blink
            yield custom
            yield Static("", id="snooze-error")
            yield Static("Enter snoozes · Esc cancels · times are your local time", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#presets", OptionList).focus()

    @on(OptionList.OptionSelected, "#presets")
    def _preset(self, event: OptionList.OptionSelected) -> None:
        if event.option_id == CUSTOM:
            self.query_one("#custom", Input).focus()
            return
        self.dismiss(self.presets[int(event.option_id or 0)].until)

    @on(Input.Submitted, "#custom")
    def _custom(self, event: Input.Submitted) -> None:
        try:
            until = parse_snooze(event.value, self.now, self.tz)
        except SnoozeTimeError as exc:
            self.query_one("#snooze-error", Static).update(Text(f"✗ {exc}"))
            return
        self.dismiss(until)

    @on(Input.Changed, "#custom")
    def _editing(self) -> None:
        self.query_one("#snooze-error", Static).update("")

    def action_cancel(self) -> None:
        self.dismiss(None)
