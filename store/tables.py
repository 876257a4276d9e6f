"""The side tables: outbox, hook jobs, drafts and quarantined channel events (one file each)."""

from __future__ import annotations

from typing import Any

from frontdesk.store import records
from frontdesk.store.records import HookJob, OutboxEntry


def draft_from_record(_id: int, record: dict[str, Any]) -> dict[str, str]:
    """One conversation's drafts by mode ("reply", "note"); text that is not a string is left out."""
    return {mode: text for mode, text in record.items() if isinstance(text, str)}


class SideTables:
    """The Store's reads and writes of outbox.json, hooks.json, drafts.json and quarantine.json
    (a mixin of `Store`)."""

    def outbox(self) -> list[OutboxEntry]:
        return sorted(self._outbox.values(), key=lambda e: e.message_id)

    def outbox_entry(self, message_id: int) -> OutboxEntry | None:
        return self._outbox.get(message_id)

    def hook_jobs(self) -> list[HookJob]:
        return sorted(self._hooks.values(), key=lambda j: j.id)

    def draft(self, conv_id: int) -> dict[str, str]:
        """The unsent texts of a conversation by mode ("reply", "note"); empty when there are none."""
        return dict(self._drafts.get(conv_id, {}))

    def quarantined(self) -> list[dict[str, Any]]:
        return list((self._read("quarantine.json").get("quarantine") or {}).values())

    def put_outbox(self, entry: OutboxEntry) -> None:
        self._require_batch()
        self._outbox[entry.message_id] = entry
        self._stage("outbox.json", "outbox", entry.message_id, records.outbox_to_record(entry))

    def delete_outbox(self, message_id: int) -> None:
        self._require_batch()
        if self._outbox.pop(message_id, None) is not None:
            self._stage("outbox.json", "outbox", message_id, None)

    def put_hook_job(self, job: HookJob) -> None:
        self._require_batch()
        self._hooks[job.id] = job
        self._stage("hooks.json", "hooks", job.id, records.hook_job_to_record(job))

    def delete_hook_job(self, job_id: int) -> None:
        self._require_batch()
        if self._hooks.pop(job_id, None) is not None:
            self._stage("hooks.json", "hooks", job_id, None)

    def put_draft(self, conv_id: int, texts: dict[str, str]) -> None:
        """Keep a conversation's unsent texts by mode; with every text empty, forget them."""
        self._require_batch()
        kept = {mode: text for mode, text in texts.items() if text}
        if kept:
            self._drafts[conv_id] = kept
            self._stage("drafts.json", "drafts", conv_id, dict(kept))
        elif self._drafts.pop(conv_id, None) is not None:
            self._stage("drafts.json", "drafts", conv_id, None)

    def quarantine(self, channel: str, payload: str, reason: str) -> None:
        """Keep an event that could not be ingested, for a person to look at."""
        self._require_batch()
        doc_id = self.new_id("quarantine")
        self._stage(
            "quarantine.json",
            "quarantine",
            doc_id,
            {"channel": channel, "payload": payload, "reason": reason},
        )
