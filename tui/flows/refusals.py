"""What the desk cannot do: its keys greyed in the footer and answered with the desk's reason."""

from __future__ import annotations

from rich.markup import escape
from textual import events

from frontdesk.tui.operations import refusal
from frontdesk.tui.safe import clean_line


class Refusals:
    """Mixed into the App (which has the desk): actions whose desk operation is in
    `desk.unsupported` are disabled (Textual greys them in the footer) and their keys, or the
    palette, say why instead of opening a dialog."""

    def refusal(self, action: str) -> str | None:
        """Why the desk cannot do `action` (a binding's action); None when it can."""
        return refusal(action, self.desk.unsupported)

    def refuse(self, action: str, what: str) -> bool:
        """Say why `what` (`action`'s description) cannot be done here; False when it can."""
        reason = self.refusal(action)
        if reason is None:
            return False
        self.notify(
            escape(clean_line(reason)),
            title=escape(f"{what}: not on this desk"),
            severity="warning",
            timeout=6,
        )
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.refusal(action) is not None:
            return None  # shown greyed, and Textual does not run it
        return super().check_action(action, parameters)

    def on_key(self, event: events.Key) -> None:
        # a disabled binding's key runs nothing in Textual: here it says why
        if not self.desk.unsupported:
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        binding = active.binding
        if self.refuse(binding.action, binding.description or binding.action):
            event.prevent_default()
            event.stop()
