"""The footer of keys: Textual's Footer, rebuilt only when the keys it would show change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

Shown = tuple[tuple[str, str, str, str, bool, str], ...]


class KeyFooter(Footer):
    """Textual's Footer, which rebuilds its keys (a dozen and more widgets) every time the
    screen says its bindings changed. Textual says so twice for every focus change, and
    often nothing the footer shows differs (Escape back to the list), yet each rebuild is
    slow. This one rebuilds when the keys, their labels or their state change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: Shown | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = self.shown_keys(screen)
        if shown == self._shown:
            return
        super().bindings_changed(screen)
        if (
            self.app.app_focus and self.is_attached and screen is self.screen
        ):  # when Footer rebuilds
            self._shown = shown

    def shown_keys(self, screen: Screen) -> Shown:
        """What the footer would show for `screen`: key, its label, action, description, enabled, tooltip."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (
                key,
                self.app.get_key_display(binding),
                binding.action,
                binding.description,
                enabled,
                tooltip or "",
            )
            for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
            if binding.show or key == palette
        )
