"""Escalation: hand a conversation to a team with a note, an event and one durable job per hook."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.hooks import HookSpec, build_payload
from frontdesk.model import Conversation, Direction, EventKind, Message, Priority
from frontdesk.store import HookJob, Store


class Escalation:
    """The part of the Desk that escalates and retries hooks (with the desk's `conversation`,
    `_append` and `_add_event`); the hook runner runs the jobs."""

    store: Store
    agent: str
    escalation_targets: list[str]
    hooks: dict[str, HookSpec]
    now: Callable[[], datetime]
    _broker: Broker
    _wake_hooks: asyncio.Event
    _taken_by_person: Callable[[Conversation, str, list[Change]], bool]
    _handed_over: Callable[[int], None]

    async def escalate(
        self, conv_id: int, team: str, reason: str, priority: Priority | None = None
    ) -> list[HookJob]:
        """Hand the conversation to a team or tier: the reason as a note, an inline event, and
        one durable job per configured hook that applies to `team` (run by the hook runner).
        """
        team, reason = team.strip(), reason.strip()
        if not team:
            raise DeskError("an escalation needs a team or tier to escalate to")
        if not reason:
            raise DeskError("an escalation needs a reason")
        if self.escalation_targets and team not in self.escalation_targets:
            raise DeskError(
                f"{team!r} is not an escalation target; choose one of: {', '.join(self.escalation_targets)}"
            )
        conv = await self.conversation(conv_id)
        now = self.now()
        changes: list[Change] = []
        jobs: list[HookJob] = []
        with self.store.batch():
            handed = self._taken_by_person(conv, f"escalated this to {team}", changes)
            if priority is not None:
                conv.priority = priority
            conv.team = team
            payload = build_payload(
                conv,
                self.store.contact(conv.contact_id),
                self.store.messages(conv.id),
                reason=reason,
                target=team,
                priority=conv.priority.value,
                agent=self.agent,
                at=now,
            )
            note = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=f"Escalated to {team}: {reason}",
                private=True,
                author=self.agent,
                created_at=now,
            )
            self._append(conv, note)
            self.store.put_message(note)
            changes.append(Change(ChangeKind.MESSAGE, conv.id, note.id))
            shown_priority = (
                f" ({conv.priority.value} priority)" if conv.priority is not Priority.NONE else ""
            )
            self._add_event(
                conv,
                EventKind.ESCALATED,
                f"{self.agent_name(self.agent)} escalated this to {team}{shown_priority}",
                changes,
            )
            for spec in self.hooks.values():
                if spec.applies_to(team):
                    job = HookJob(
                        self.store.new_id("hook"),
                        conv.id,
                        spec.name,
                        payload,
                        uuid.uuid4().hex,
                        created_at=now,
                    )
                    self.store.put_hook_job(job)
                    jobs.append(job)
            self.store.put_conversation(conv)
        changes.append(Change(ChangeKind.CONVERSATION, conv.id))
        self._broker.publish(changes)
        if jobs:
            self._wake_hooks.set()
        if handed:
            self._handed_over(conv.id)
        return jobs

    def hook_jobs(self, conv_id: int | None = None) -> list[HookJob]:
        """Hook runs not yet done (pending, retrying, or failed for good), oldest first."""
        return [
            j for j in self.store.hook_jobs() if conv_id is None or j.conversation_id == conv_id
        ]

    async def retry_hooks(self, conv_id: int) -> list[HookJob]:
        """Run again the hooks of a conversation that failed for good (the agent fixed the cause)."""
        failed = [j for j in self.hook_jobs(conv_id) if j.state == "failed"]
        if not failed:
            raise DeskError("no failed hook in this conversation; nothing to retry")
        with self.store.batch():
            for job in failed:
                job.state, job.next_attempt_at = "pending", None
                self.store.put_hook_job(job)
        self._broker.publish([Change(ChangeKind.CONVERSATION, conv_id)])
        self._wake_hooks.set()
        return failed
