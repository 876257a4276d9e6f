"""The command palette's actions: every key binding of the console by name, and every theme."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import Screen

from frontdesk.tui.keys import KeyBinding


class BindingSource(Protocol):
    """An app that lists the bindings the palette offers (as Textual's `get_system_commands`)."""

    def binding_commands(self, screen: Screen) -> Iterable[tuple[KeyBinding, DOMNode]]: ...


class BindingCommands(Provider):
    """Offers each binding the app lists in `binding_commands` as "Description (key)", run on its owner.

    Generated from the bindings and the keymap in force, so a binding added to a pane
    appears here without a change to this module. Bindings of a modal screen are offered
    only while that screen is the one the palette was opened on.
    """

    def _commands(self) -> list[tuple[str, KeyBinding, DOMNode]]:
        source = cast(BindingSource, self.app)
        return [
            (f"{binding.description} ({binding.key_display})", binding, target)
            for binding, target in source.binding_commands(self.screen)
        ]

    async def discover(self) -> Hits:
        for title, binding, target in self._commands():
            yield DiscoveryHit(
                Content(title),
                partial(self._run, binding.action, target),
                help=escape(binding.tooltip) or None,
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, binding, target in self._commands():
            text = f"{title} {binding.tooltip or ''}"
            score = max(matcher.match(title), matcher.match(text) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._run, binding.action, target),
                    text=title,
                    help=escape(binding.tooltip) or None,
                )
        for theme in sorted(self.app.available_themes):
            title = f"Theme: {theme}"
            if (score := matcher.match(title)) > 0:
                yield Hit(
                    score,
                    matcher.highlight(title),
                    partial(self._set_theme, theme),
                    text=title,
                    help=escape(
                        f'Switch the console to this theme (keep it with theme = "{theme}" under [ui] in your config)'
                    ),
                )

    async def _run(self, action: str, target: DOMNode) -> None:
        await self.app.run_action(action, target)

    def _set_theme(self, theme: str) -> None:
        self.app.theme = theme
