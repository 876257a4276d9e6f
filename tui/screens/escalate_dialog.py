"""The escalation dialog: pick a team or tier and a priority, give the (required) reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from frontdesk.model import Priority
from frontdesk.tui.safe import clean_line


@dataclass(frozen=True, slots=True)
class Escalation:
    """What the agent chose in the dialog."""

    target: str
    priority: Priority
    reason: str


class EscalateDialog(ModalScreen[Escalation | None]):
    """Target, priority and reason; Enter in the reason escalates, Escape cancels."""

    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="cancel-escalation", tooltip="Close without escalating"
        ),
    ]

    DEFAULT_CSS = """
    EscalateDialog {
        align: center middle;
        & > #escalate-box {
            width: 72;
            height: auto;
            border: thick $warning 70%;
            background: $surface;
            padding: 1 2;
        }
        & #escalate-fields { grid-size: 2; grid-columns: 10 1fr; grid-rows: auto; grid-gutter: 1 1; height: auto; }
        & #escalate-fields > Label { padding: 1 0 0 0; }
        & #escalate-error { color: $error; text-style: bold; height: auto; margin-top: 1; }
        & #escalate-hooks { color: $text-muted; height: auto; margin-top: 1; }
        & #escalate-buttons { height: auto; align-horizontal: right; margin-top: 1; }
        & #escalate-buttons > Button { margin-left: 2; }
        &.-short #escalate-box { padding: 0 1; }
        &.-short #escalate-fields { grid-gutter: 0 1; }
    }
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        priority: Priority = Priority.NONE,
        conversation: str = "",
        hooks: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> None:
        """`hooks`: (label, targets) of each configured hook; no targets means every target."""
        super().__init__()
        self.targets = list(targets)
        self.priority = priority if priority is not Priority.NONE else Priority.HIGH
        self.conversation = conversation
        self.hooks = [(label, tuple(targets)) for label, targets in hooks]

    def compose(self) -> ComposeResult:
        with Vertical(id="escalate-box"):
            title = Text("Escalate ", style="bold")
            title.append(clean_line(self.conversation))
            yield Static(title, id="escalate-title")
            with Grid(id="escalate-fields"):
                yield Label("Target")
                if self.targets:
                    yield Select(
                        [(t, t) for t in self.targets],
                        value=self.targets[0],
                        allow_blank=False,
                        id="escalate-target",
                    )
                else:
                    yield Input(placeholder="team or tier, e.g. tier-2", id="escalate-target")
                yield Label("Priority")
                yield Select(
                    [(p.value, p) for p in Priority],
                    value=self.priority,
                    allow_blank=False,
                    id="escalate-priority",
                )
                yield Label("Reason")
                yield Input(placeholder="why it needs them (required)", id="escalate-reason")
            yield Static("", id="escalate-error")
            yield Static(
                self._hooks_line(self.targets[0] if self.targets else ""), id="escalate-hooks"
            )
            with Horizontal(id="escalate-buttons"):
                yield Button("Escalate", variant="warning", id="escalate-submit")
                yield Button("Cancel", id="escalate-cancel")

    def _hooks_line(self, target: str) -> Text:
        """The hooks that will run for `target`: a hook limited to other targets is not named."""
        if not self.hooks:
            return Text(
                "No hooks configured: the conversation moves to Escalated with the reason as a note."
            )
        running = [label for label, targets in self.hooks if not targets or target in targets]
        if not running:
            return Text(
                f"No hook runs for {clean_line(target) or 'this target'}: the conversation moves to "
                "Escalated with the reason as a note."
            )
        return Text("Also runs: " + ", ".join(clean_line(label) for label in running))

    @on(Select.Changed, "#escalate-target")
    @on(Input.Changed, "#escalate-target")
    def _target_changed(self, event: Select.Changed | Input.Changed) -> None:
        target = str(event.value or "").strip()
        self.query_one("#escalate-hooks", Static).update(self._hooks_line(target))

    def on_mount(self) -> None:
        self.query_one("#escalate-reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#escalate-submit")
    def submit(self) -> None:
        target_widget = self.query_one("#escalate-target")
        target = str(
            target_widget.value if isinstance(target_widget, (Select, Input)) else ""
        ).strip()
        reason = self.query_one("#escalate-reason", Input).value.strip()
        priority = self.query_one("#escalate-priority", Select).value
        if not target:
            self._refuse(
                "A target is required: name the team or tier to escalate to.", "#escalate-target"
            )
            return
        if not reason:
            self._refuse(f"A reason is required: say why this needs {target}.", "#escalate-reason")
            return
        self.dismiss(
            Escalation(
                target, priority if isinstance(priority, Priority) else self.priority, reason
            )
        )

    def _refuse(self, problem: str, field: str) -> None:
        self.query_one("#escalate-error", Static).update(Text(problem))
        self.query_one(field).focus()

    @on(Button.Pressed, "#escalate-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
