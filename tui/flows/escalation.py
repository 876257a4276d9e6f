"""The escalation flow: escalate with a reason, run the hooks, retry the ones that failed."""

from __future__ import annotations

from rich.markup import escape

from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.screens.escalate_dialog import EscalateDialog, Escalation
from frontdesk.tui.widgets.hook_status import HookStatus


class EscalationFlow:
    """Mixed into the App (which has the desk, the panes and the screens this flow uses)."""

    def action_escalate(self) -> None:
        conv = self._current()
        if conv is None:
            return
        name = self.desk.contact_name(conv.contact_id)
        hooks = [
            (f"{spec.name} ({'HTTP' if spec.url else 'command'})", spec.targets)
            for spec in self.desk.hooks.values()
        ]
        dialog = EscalateDialog(
            self.desk.escalation_targets,
            priority=conv.priority,
            conversation=f"#{conv.id} · {name}",
            hooks=hooks,
        )
        self.push_screen(dialog, lambda chosen: self._escalate(conv.id, chosen))

    async def _escalate(self, conv_id: int, chosen: Escalation | None) -> None:
        if chosen is None:
            return
        jobs = await self._attempt(
            "Not escalated",
            self.desk.escalate(conv_id, chosen.target, chosen.reason, chosen.priority),
        )
        if jobs is FAILED:
            return
        hooks = f"; running {', '.join(j.hook for j in jobs)}" if jobs else ""
        self.notify(escape(f"Escalated to {chosen.target}{hooks}."), timeout=3)

    async def _retry_hooks(self, conv_id: int) -> None:
        if self.refuse("retry_hooks", "Retry hooks"):
            return
        jobs = await self._attempt("Could not retry the hooks", self.desk.retry_hooks(conv_id))
        if jobs is FAILED:
            return
        self.query_one(HookStatus).show_jobs(self.desk.hook_jobs())
        self.notify(escape(f"Running {', '.join(j.hook for j in jobs)} again."), timeout=2)
