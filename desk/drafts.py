"""Drafts: what each agent wrote in a conversation and has not sent yet, kept across restarts."""

from __future__ import annotations

from collections.abc import Mapping

from frontdesk.store import Store

DRAFT_MODES = ("reply", "note")
"""The composer's modes a draft is kept for."""
DRAFT_AGENT_SEP = "/"
"""Another agent's draft is kept under "<agent>/<mode>" beside the configured agent's plain modes."""


class Drafts:
    """The part of the Desk that keeps the acting agent's drafts (by the desk's `agent`)."""

    store: Store
    agent: str
    _configured_agent: str

    async def draft(self, conv_id: int) -> dict[str, str]:
        """What the acting agent wrote in a conversation and has not sent yet, by mode ("reply", "note")."""
        stored = self.store.draft(conv_id)
        return {
            mode: stored[key] for mode in DRAFT_MODES if (key := self._draft_key(mode)) in stored
        }

    async def save_draft(self, conv_id: int, texts: Mapping[str, str]) -> None:
        """Keep unsent texts by mode so they survive a restart (all empty: forget them).

        Only the agent's own console reads them, so no change is published.
        """
        ours = {self._draft_key(mode) for mode in DRAFT_MODES}
        kept = {key: text for key, text in self.store.draft(conv_id).items() if key not in ours}
        kept |= {self._draft_key(mode): text for mode, text in texts.items() if mode in DRAFT_MODES}
        with self.store.batch(durable=False):  # typing must not wait for the disk
            self.store.put_draft(conv_id, kept)
        await self.store.sync()

    def _draft_key(self, mode: str) -> str:
        """Where the acting agent's draft of `mode` is kept (the configured agent's keys are the
        plain modes drafts.json always had, so drafts from before team mode stay theirs)."""
        agent = self.agent
        return mode if agent == self._configured_agent else f"{agent}{DRAFT_AGENT_SEP}{mode}"
