"""Automation: what the desk does by itself when something happens in a conversation.

Ingest and the status commands hand `Trigger`s to the desk's `Automation`, which runs each
`Automaton` (business hours, rules, the FAQ bot, assignment, CSAT …) on them in order, in one
background task, acting through the desk's own commands as the automaton's author.
"""

from frontdesk.desk.automation.engine import (
    AUTOMATION_AUTHOR_PREFIX,
    Automation,
    AutomationDesk,
    Automaton,
    automation_author,
    is_automation_author,
)
from frontdesk.desk.automation.triggers import LIVE_WITHIN, Trigger, TriggerKind, is_live

__all__ = [
    "AUTOMATION_AUTHOR_PREFIX",
    "LIVE_WITHIN",
    "Automation",
    "AutomationDesk",
    "Automaton",
    "Trigger",
    "TriggerKind",
    "automation_author",
    "is_automation_author",
    "is_live",
]
