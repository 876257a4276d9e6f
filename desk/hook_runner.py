"""The hook runner: run each durable escalation hook job, record its ticket, retry with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from frontdesk.desk.due import pause_after_bug, run_when_due
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.hooks import HookError, HookSpec, run_hook
from frontdesk.desk.outbox import backoff
from frontdesk.model import EventKind
from frontdesk.store import HookJob, Store

log = logging.getLogger("frontdesk.desk")


class HookRunner:
    """The part of the Desk that runs hook jobs (writing events with the desk's `_add_event`)."""

    store: Store
    hooks: dict[str, HookSpec]
    now: Callable[[], datetime]
    _broker: Broker
    _wake_hooks: asyncio.Event
    #: hook jobs being run, by id: each runs on its own, bounded by its hook's timeout
    _hook_runs: dict[str, asyncio.Task[None]]

    def _recover_hooks(self) -> None:
        """A job left `running` by a previous run is run again (with the same Idempotency-Key)."""
        stale = [j for j in self.store.hook_jobs() if j.state == "running"]
        if stale:
            with self.store.batch():
                for job in stale:
                    job.state = "pending"
                    self.store.put_hook_job(job)

    async def flush_hooks(self) -> None:
        """Run every hook job that is due now, side by side, and wait for them (the hook runner
        and `sync --once`); each is bounded by its hook's timeout."""
        runs = self._start_due_hooks()
        await asyncio.gather(*runs, return_exceptions=True)

    def _start_due_hooks(self) -> list[asyncio.Task[None]]:
        """A task for each due job not already running (a slow hook never holds up another)."""
        now = self.now()
        for job in self.store.hook_jobs():
            due = job.state == "pending" and (
                job.next_attempt_at is None or job.next_attempt_at <= now
            )
            if due and job.id not in self._hook_runs:
                self._hook_runs[job.id] = asyncio.create_task(
                    self._run_hook_logged(job), name=f"hook:{job.hook}"
                )
        return list(self._hook_runs.values())

    async def _run_hook_logged(self, job: HookJob) -> None:
        try:
            await self._run_hook_job(job)
        except Exception:
            log.exception("escalation hook %s", job.hook)
            await pause_after_bug()
        finally:
            self._hook_runs.pop(job.id, None)
            self._wake_hooks.set()  # its retry time may be the next one due

    async def _run_hooks_forever(self) -> None:
        await run_when_due(
            self._wake_hooks, self._start_due_hooks, self._hook_retry_waits, "escalation hooks"
        )

    def _hook_retry_waits(self) -> list[float]:
        """Seconds until the retry time of each pending job that is not running."""
        return [
            (j.next_attempt_at - self.now()).total_seconds()
            for j in self.store.hook_jobs()
            if j.state == "pending"
            and j.next_attempt_at is not None
            and j.id not in self._hook_runs
        ]

    async def _run_hook_job(self, job: HookJob) -> None:
        conv = self.store.conversation(job.conversation_id)
        if conv is None:
            with self.store.batch():
                self.store.delete_hook_job(job.id)
            return
        spec = self.hooks.get(job.hook)
        if spec is None:
            self._hook_failed(
                job,
                f"hook {job.hook!r} is not in the config any more; add it back to run it",
                permanent=True,
            )
            return
        with self.store.batch():  # persisted before the run: a crash now means "run it again"
            job.state, job.attempts = "running", job.attempts + 1
            self.store.put_hook_job(job)
        try:
            ticket = await run_hook(spec, job.payload, job.key, self.now())
        except asyncio.CancelledError:
            raise
        except HookError as exc:
            self._hook_failed(job, spec.redact(str(exc)), exc.permanent)
            return
        except Exception as exc:
            self._hook_failed(job, spec.redact(f"{type(exc).__name__}: {exc}"), permanent=False)
            return
        changes: list[Change] = []
        with self.store.batch():
            conv = self.store.conversation(job.conversation_id) or conv
            if ticket is not None:
                if not any(
                    (t.hook, t.id, t.url) == (ticket.hook, ticket.id, ticket.url)
                    for t in conv.tickets
                ):
                    conv.tickets.append(ticket)
                text = (
                    f"{job.hook} opened ticket {' '.join(p for p in (ticket.id, ticket.url) if p)}"
                )
            else:
                text = f"{job.hook} ran (no ticket in its answer)"
            self._add_event(conv, EventKind.HOOK, text, changes, author="")
            self.store.put_conversation(conv)
            self.store.delete_hook_job(job.id)
        changes += [
            Change(ChangeKind.CONVERSATION, conv.id),
            Change(ChangeKind.HOOK, conv.id, detail=f"Hook {text}"),
        ]
        self._broker.publish(changes)

    def _hook_failed(self, job: HookJob, reason: str, permanent: bool) -> None:
        """Keep the job: failed for good (shown), or pending again after a backoff delay."""
        changes: list[Change] = []
        conv = self.store.conversation(job.conversation_id)
        with self.store.batch():
            job.last_error = reason
            if permanent:
                job.state = "failed"
                detail = f"Hook {job.hook} failed: {reason} — not retried"
            else:
                delay = backoff(job.attempts)
                job.state, job.next_attempt_at = "pending", self.now() + timedelta(seconds=delay)
                detail = f"Hook {job.hook} failed (try {job.attempts}): {reason} — retrying in {delay:.0f}s"
            if conv is not None and (permanent or job.attempts == 1):
                self._add_event(conv, EventKind.HOOK, detail[len("Hook ") :], changes, author="")
                self.store.put_conversation(conv)
                changes.append(Change(ChangeKind.CONVERSATION, conv.id))
            self.store.put_hook_job(job)
        changes.append(Change(ChangeKind.HOOK, job.conversation_id, detail=detail, failed=True))
        self._broker.publish(changes)
