"""The command palette's actions: every key binding of the console by name, and every theme."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.markup import escape

from frontdesk.tui.keys import KeyBinding, live_bindings

if TYPE_CHECKING:
    from frontdesk.tui.app import FrontdeskApp

SKIPPED_ACTIONS = frozenset({"command_palette"})
"""Actions the palette does not offer (opening the palette from the palette)."""


class BindingCommands(Provider):
    """Offers each binding of `FrontdeskApp.binding_owners()` as "Description (key)", run on its owner.

    Generated from the classes' BINDINGS and the keymap in force, so a binding added to a
    pane appears here without a change to this module. Bindings of a modal screen are offered
    only while that screen is the one the palette was opened on.
    """

    def _commands(self) -> list[tuple[str, KeyBinding, DOMNode]]:
        app = cast("FrontdeskApp", self.app)
        commands: list[tuple[str, KeyBinding, DOMNode]] = []
        for binding in live_bindings(app):
            if binding.action in SKIPPED_ACTIONS:
                continue
            target = self._target(app, binding.context)
            if target is None:
                continue
            commands.append((f"{binding.description} ({binding.key_display})", binding, target))
        return commands

    def _target(self, app: FrontdeskApp, context: str) -> DOMNode | None:
        """Where the binding's action runs: the app, or the first widget or screen of its owner class."""
        owner = dict(app.binding_owners()).get(context)
        if context == "app" or owner is None:
            return app
        if isinstance(self.screen, owner):
            return self.screen
        if context.startswith("screen:"):
            return None
        return next(iter(self.screen.query(owner)), None)

    async def discover(self) -> Hits:
        for title, binding, target in self._commands():
            yield DiscoveryHit(Content(title), partial(self._run, binding.action, target), help=escape(binding.tooltip) or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, binding, target in self._commands():
            text = f"{title} {binding.tooltip or ''}"
            score = max(matcher.match(title), matcher.match(text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, binding.action, target),
                          text=title, help=escape(binding.tooltip) or None)
        for theme in sorted(self.app.available_themes):
            title = f"Theme: {theme}"
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), partial(self._set_theme, theme), text=title,
                          help=escape(f'Switch the console to this theme (keep it with theme = "{theme}" under [ui] in your config)'))

    async def _run(self, action: str, target: DOMNode) -> None:
        await self.app.run_action(action, target)

    def _set_theme(self, theme: str) -> None:
        self.app.theme = theme
