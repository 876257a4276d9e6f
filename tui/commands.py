"""The command palette (every key binding by name, and every theme) and the key help screen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from typing import Protocol, cast

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.markup import escape
from textual.screen import Screen

from frontdesk.tui.bindings import live_bindings
from frontdesk.tui.keys import KeyBinding
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.help_screen import HelpScreen
from frontdesk.tui.screens.report_screen import ReportScreen
from frontdesk.tui.widgets.composer import Composer
from frontdesk.tui.widgets.conversation_list import ConversationList
from frontdesk.tui.widgets.thread_view import ThreadView

BINDING_TARGETS: dict[str, type[DOMNode]] = {
    "list": ConversationList,
    "thread": ThreadView,
    "composer": Composer,
    "screen:help": HelpScreen,
    "screen:report": ReportScreen,
}
"""The widget or screen class whose instance runs the actions of each binding context (the app runs "app")."""
PALETTE_SKIPS = frozenset({"command_palette"})
"""Actions the palette does not offer (opening the palette from the palette)."""


class BindingSource(Protocol):
    """An app that lists the bindings the palette offers (as Textual's `get_system_commands`)."""

    def binding_commands(self, screen: Screen) -> Iterable[tuple[KeyBinding, DOMNode]]: ...

    def refuse(self, action: str, what: str) -> bool: ...


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
                _shown(Content(title), binding),
                partial(self._run, binding, target),
                help=_help(binding),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, binding, target in self._commands():
            text = f"{title} {binding.tooltip or ''}"
            score = max(matcher.match(title), matcher.match(text) * 0.8)
            if score > 0:
                yield Hit(
                    score,
                    _shown(matcher.highlight(title), binding),
                    partial(self._run, binding, target),
                    text=title,
                    help=_help(binding),
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

    async def _run(self, binding: KeyBinding, target: DOMNode) -> None:
        if binding.refused:  # Textual would run nothing: say why
            cast(BindingSource, self.app).refuse(binding.action, binding.description)
            return
        await self.app.run_action(binding.action, target)

    def _set_theme(self, theme: str) -> None:
        self.app.theme = theme


def _shown(title: Content, binding: KeyBinding) -> Content:
    """A command's title, greyed when the desk cannot do it."""
    return title.stylize("dim") if binding.refused else title


def _help(binding: KeyBinding) -> str | None:
    if binding.refused:
        return escape(f"Not on this desk: {clean_line(binding.refused)}")
    return escape(binding.tooltip) or None


class BindingListing:
    """Mixed into the App: the bindings it offers the palette and the help screen, as in force."""

    def binding_commands(self, screen: Screen) -> Iterable[tuple[KeyBinding, DOMNode]]:
        """Each binding the palette offers on `screen`, with where its action runs (the palette asks this)."""
        for binding in self.offered_bindings():
            if binding.action in PALETTE_SKIPS:
                continue
            target = self._binding_target(screen, binding.context)
            if target is not None:
                yield binding, target

    def offered_bindings(self) -> list[KeyBinding]:
        """Every binding with its keys in force, each the desk cannot do marked with its reason."""
        found = live_bindings(self.keymap, self.get_key_display)
        if not self.desk.unsupported:
            return found
        return [
            replace(binding, refused=reason)
            if (reason := self.refusal(binding.action))
            else binding
            for binding in found
        ]

    def _binding_target(self, screen: Screen, context: str) -> DOMNode | None:
        """Where a binding's action runs: the app, or the first widget or screen of its context's class."""
        owner = BINDING_TARGETS.get(context)
        if context == "app" or owner is None:
            return self
        if isinstance(screen, owner):
            return screen
        if context.startswith("screen:"):
            return None
        return next(iter(screen.query(owner)), None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, without its "Keys" panel: our ? help lists the keymap's keys."""
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command

    def action_show_help(self) -> None:
        """Open the key help, generated from the bindings in force; the same key closes it."""
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        bindings = self.offered_bindings()
        toggle = next((b.keys for b in bindings if b.binding_id == "show-help"), ())
        close = " or ".join(
            dict.fromkeys((self._key_for("close-help", "screen:help"), self._key_for("show-help")))
        )
        self.push_screen(
            HelpScreen(bindings, self.keymap_name, close_keys=close, toggle_keys=toggle)
        )
