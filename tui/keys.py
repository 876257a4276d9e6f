"""Key names: a binding as the agent meets it, what a key types, which names Textual reports."""

from __future__ import annotations

from dataclasses import dataclass

from textual.keys import Keys, key_to_character

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
"""The modifiers Textual puts before a key name ("ctrl+shift+up")."""
_NAMED_KEYS = frozenset(
    key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<")
) | {
    # sent only under the kitty keyboard protocol (Textual lists them in a private module)
    "caps_lock",
    "scroll_lock",
    "num_lock",
    "print_screen",
    "pause",
    "menu",
}
_PUNCTUATION = {
    "slash": "/",
    "backslash": "\\",
    "at": "@",
    "minus": "-",
    "plus": "+",
    "underscore": "_",
}
"""Textual's names for keys whose Unicode names differ ("solidus"), which key_to_character misses."""

CONTEXT_TITLES = {
    "app": "Anywhere",
    "list": "Conversation list",
    "thread": "Thread",
    "composer": "Composer",
}
"""How the help screen names each context; a context not listed is shown by its own name."""


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """One binding as the agent meets it: where it works, what it does, which keys press it."""

    context: str
    binding_id: str
    action: str
    description: str
    tooltip: str
    keys: tuple[str, ...]
    """Textual key names in force (after the keymap), e.g. ("j", "down")."""
    key_display: str
    """The keys as shown to people, e.g. "j / ↓"."""
    refused: str = ""
    """Why the desk cannot do this action (`desk.unsupported`): the help and palette grey it."""

    @property
    def context_title(self) -> str:
        return context_title(self.context)


def context_title(context: str) -> str:
    """A context's name on screen ("list" is "Conversation list")."""
    return CONTEXT_TITLES.get(
        context, context.removeprefix("screen:").replace("-", " ").capitalize()
    )


def typed_character(key: str) -> str | None:
    """The character a key types ("slash" types "/"), None for keys that type none ("ctrl+t", "enter")."""
    return _PUNCTUATION.get(key) or key_to_character(key)


def is_key_name(key: str) -> bool:
    """True when `key`, as written in a keymap, is a key Textual can report: modifiers, then a
    named key, a character, or the name of a keyboard's punctuation ("ctrl+r", "shift+tab",
    "f5", "?", "question_mark", "R"). "ctrl+shift+banana" is not one, though U+1F34C is named
    BANANA: a name must stand for a key on a keyboard."""
    *modifiers, base = key.split("+")
    if len(set(modifiers)) != len(modifiers) or not MODIFIERS.issuperset(modifiers):
        return False
    if base in _NAMED_KEYS or base in _PUNCTUATION:
        return True
    if len(base) == 1:
        return base.isprintable()
    character = key_to_character(base)
    return character is not None and character.isascii() and character.isprintable()
