"""Which desk operations each console action needs (one table), and why a desk refuses an action."""

from __future__ import annotations

from collections.abc import Mapping

ACTION_NEEDS: Mapping[str, tuple[str, ...]] = {
    "reply": ("reply",),
    "note": ("note",),
    "open_canned": ("reply",),
    "toggle_resolved": ("set_status",),
    "resolve_and_next": ("set_status",),
    "assign_me": ("assign",),
    "assign_to": ("assign",),
    "set_priority": ("set_priority",),
    "edit_labels": ("label",),
    "snooze": ("snooze",),
    "filter": ("channel_names", "labels"),
    "search": ("search_conversations",),
    "save_attachment": ("save_attachment",),
    "escalate": ("escalate",),
    "retry_delivery": ("retry",),
    "retry_hooks": ("retry_hooks",),  # not a key: retry-delivery's other half, failed hooks
    "edit_contact": ("update_contact",),
    "other_conversations": ("contact_conversations",),
    "merge_contact": ("merge_contacts",),
    "send_template": ("templates", "send_template"),
    "show_report": ("report",),
    "attach_file": ("file_problem",),
}
"""Console action (a binding's action, without its namespace or arguments) -> the `DeskAPI`
methods it cannot work without. Actions not listed need only what every desk does (reads)."""


def action_name(action: str) -> str:
    """ "app.send_template" and "show_view('mine')" as the table names them."""
    return action.partition("(")[0].rpartition(".")[2]


def refusal(action: str, unsupported: Mapping[str, str]) -> str | None:
    """Why the desk cannot do `action` (its reason for the first method it lacks); None: it can."""
    if not unsupported:
        return None
    for method in ACTION_NEEDS.get(action_name(action), ()):
        reason = unsupported.get(method)
        if reason is not None:
            return reason or f"this desk has no {method}"
    return None
