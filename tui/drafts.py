"""Drafts: what the agent wrote and has not sent, per conversation and per mode (reply or note)."""

from __future__ import annotations

from collections.abc import Mapping

DRAFT_SAVE_SECONDS = 1.0
"""How long after a change a draft is written to the desk (and at quit): a crash loses at most this."""


class Drafts:
    """The session's drafts; the desk keeps them across restarts.

    A reply and a note are separate drafts: switching the composer's mode never turns one
    into the other, so a note can never be sent to the customer by pressing `r`.
    """

    def __init__(self) -> None:
        self._texts: dict[int, dict[str, str]] = {}
        self._unsaved: set[int] = set()

    def known(self, conv_id: int) -> bool:
        return conv_id in self._texts

    def adopt(self, conv_id: int, stored: Mapping[str, str]) -> None:
        """Take what the desk kept for `conv_id`, unless this session already holds newer text."""
        if conv_id not in self._texts:
            self._texts[conv_id] = {mode: text for mode, text in stored.items() if text}

    def text(self, conv_id: int, mode: str) -> str:
        return self._texts.get(conv_id, {}).get(mode, "")

    def put(self, conv_id: int, mode: str, text: str) -> None:
        """Record what the composer holds; a change is saved with the next `take_unsaved`."""
        texts = self._texts.setdefault(conv_id, {})
        if texts.get(mode, "") == text:
            return
        if text:
            texts[mode] = text
        else:
            texts.pop(mode, None)
        self._unsaved.add(conv_id)

    def take_unsaved(self) -> dict[int, dict[str, str]]:
        """The drafts changed since the last call (an empty dict: forget that conversation's)."""
        taken = {conv_id: dict(self._texts.get(conv_id, {})) for conv_id in sorted(self._unsaved)}
        self._unsaved.clear()
        return taken

    def keep_unsaved(self, conv_id: int) -> None:
        """Saving failed: try again with the next save."""
        self._unsaved.add(conv_id)
