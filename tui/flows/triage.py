"""Triage: resolve, assign, prioritise, label and snooze the highlighted conversation."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape

from frontdesk.model import Priority, Status
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.screens.labels_dialog import LabelsDialog
from frontdesk.tui.screens.picker_dialog import PickerDialog
from frontdesk.tui.screens.snooze_dialog import SnoozeDialog, local_label

PRIORITY_CHOICES = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW, Priority.NONE)


class TriageActions:
    """Mixed into the App: each action picks the conversation, calls the desk, reports the outcome."""

    async def action_toggle_resolved(self) -> None:
        conv = self._current()
        if conv is None:
            return
        status = Status.OPEN if conv.status is Status.RESOLVED else Status.RESOLVED
        if (
            await self._attempt(
                "Could not change the status", self.desk.set_status(conv.id, status)
            )
            is FAILED
        ):
            return
        self.notify("Reopened." if status is Status.OPEN else "Resolved.", timeout=2)

    async def action_resolve_and_next(self) -> None:
        conv = self._current()
        if conv is None:
            return
        listed = self.conversation_list.conversations
        index = next((i for i, c in enumerate(listed) if c.id == conv.id), 0)
        after = listed[index + 1 :] + listed[:index][::-1]
        if (
            await self._attempt("Could not resolve", self.desk.set_status(conv.id, Status.RESOLVED))
            is FAILED
        ):
            return
        await self.reload_list()
        following = next((c.id for c in after if self.conversation_list.select_id(c.id)), None)
        if following is None:
            self.notify(f"Resolved. Nothing left in {self.view.title}.", timeout=3)
            return
        await self.open_conversation(following)
        self.notify("Resolved; next one opened.", timeout=2)

    async def action_assign_me(self) -> None:
        conv = self._current()
        if conv is None:
            return
        if conv.assignee == self.desk.agent:
            self.notify("Already assigned to you.", timeout=2)
            return
        await self._assign(conv.id, self.desk.agent)

    def action_assign_to(self) -> None:
        conv = self._current()
        if conv is None:
            return
        agents, shown = self.assignment_choices()
        choices = [*shown, "Unassign"]
        current = (
            agents.index(conv.assignee)
            if conv.assignee in agents
            else (len(agents) if conv.assignee is None else None)
        )

        async def picked(index: int | None) -> None:
            if index is not None:
                await self._assign(conv.id, agents[index] if index < len(agents) else None)

        self.push_screen(PickerDialog("Assign to", choices, current=current), picked)

    async def _assign(self, conv_id: int, agent: str | None) -> None:
        if await self._attempt("Could not assign", self.desk.assign(conv_id, agent)) is FAILED:
            return
        self.notify(escape(f"Assigned to {agent}.") if agent else "Unassigned.", timeout=2)

    def action_set_priority(self) -> None:
        conv = self._current()
        if conv is None:
            return

        async def picked(index: int | None) -> None:
            if index is None:
                return
            if (
                await self._attempt(
                    "Could not set the priority",
                    self.desk.set_priority(conv.id, PRIORITY_CHOICES[index]),
                )
                is FAILED
            ):
                return
            self.notify(f"Priority: {PRIORITY_CHOICES[index].value}.", timeout=2)

        labels = [p.value for p in PRIORITY_CHOICES]
        self.push_screen(
            PickerDialog("Priority", labels, current=PRIORITY_CHOICES.index(conv.priority)), picked
        )

    async def action_edit_labels(self) -> None:
        conv = self._current()
        if conv is None:
            return
        known = await self._attempt("Could not read labels", self.desk.labels())
        if known is FAILED:
            return

        async def edited(change: tuple[list[str], list[str]] | None) -> None:
            if change is None or change == ([], []):
                return
            added, removed = change
            if (
                await self._attempt(
                    "Could not change labels", self.desk.label(conv.id, add=added, remove=removed)
                )
                is FAILED
            ):
                return
            self.notify("Labels saved.", timeout=2)

        self.push_screen(LabelsDialog(conv.labels, known, cursor_blink=self._cursor_blink), edited)

    def action_snooze(self) -> None:
        conv = self._current()
        if conv is None:
            return

        async def chosen(until: datetime | None) -> None:
            if until is None:
                return
            if await self._attempt("Could not snooze", self.desk.snooze(conv.id, until)) is FAILED:
                return
            self.notify(f"Snoozed until {local_label(until, self.local_tz)}.", timeout=3)

        self.push_screen(
            SnoozeDialog(self.clock(), self.local_tz, cursor_blink=self._cursor_blink), chosen
        )
