"""The change feed's plan: which panes a burst of desk changes touches, decided off screen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from frontdesk.desk import Change, ChangeKind, Filters, View, in_view
from frontdesk.model import Conversation

INCREMENTAL_LIMIT = 64
"""A burst touching more conversations than this re-reads the whole view instead of moving each."""
LIST_KINDS = frozenset(
    {ChangeKind.CONVERSATION, ChangeKind.MESSAGE, ChangeKind.RESET, ChangeKind.HOOK, ChangeKind.SLA}
)
"""The kinds of change that can move a row of the list (or its counts)."""
SIDE_KINDS = frozenset(
    {
        ChangeKind.TYPING,
        ChangeKind.ACTIVITY,
        ChangeKind.PRESENCE,
        ChangeKind.MENTION,
        ChangeKind.LINK,
    }
)
"""Kinds that name a conversation without changing it: they never re-place a row or re-read a thread."""


@dataclass(frozen=True, slots=True)
class ThreadFollow:
    """Bring the open conversation's panes up to date: its new or changed messages in place,
    or (no `message_ids`) a full read of the thread, contact and composer."""

    conversation_id: int
    message_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """What to update for one burst of changes, in the order the App applies it."""

    mark_read: int | None = None
    """The conversation being read got a message: mark it read before the list and title read it."""
    reload_list: bool = False
    """Re-read the whole view (a reset, or a burst too large to place row by row)."""
    rows: frozenset[int] | None = None
    """Re-place these conversations in the list (None: the list is left as it is)."""
    thread: ThreadFollow | None = None
    """The open conversation changed (applies only while it is still the highlighted one)."""
    typing: int | None = None
    """The open conversation whose customer's typing changed."""
    hook_status: bool = False
    """A hook ran: redraw the hook status line."""
    hook_notices: tuple[str, ...] = ()
    """What hooks that went well report (failures stay in the status line)."""
    header: bool = False
    """A channel's health changed."""


def plan_changes(
    changes: Sequence[Change], *, open_conversation: int | None, reading: int | None
) -> ChangePlan:
    """The plan for a burst of `changes` while the thread shows `open_conversation` and the agent
    is `reading` (a conversation they opened, on screen, with the terminal focused)."""
    kinds = {change.kind for change in changes}
    touched = {c.conversation_id for c in changes if c.conversation_id is not None}
    mark_read = (
        reading
        if reading is not None
        and any(c.kind is ChangeKind.MESSAGE and c.conversation_id == reading for c in changes)
        else None
    )
    reload_list, rows, thread = False, None, None
    if kinds & LIST_KINDS:
        reset = ChangeKind.RESET in kinds
        listed = {
            c.conversation_id
            for c in changes
            if c.kind not in SIDE_KINDS and c.conversation_id is not None
        }
        if reset or len(listed) > INCREMENTAL_LIMIT:
            reload_list = True
        else:
            rows = frozenset(listed)
        thread = _follow(changes, open_conversation, reset)
    return ChangePlan(
        mark_read=mark_read,
        reload_list=reload_list,
        rows=rows,
        thread=thread,
        typing=open_conversation
        if ChangeKind.TYPING in kinds and open_conversation in touched
        else None,
        hook_status=ChangeKind.HOOK in kinds,
        hook_notices=tuple(
            c.detail for c in changes if c.kind is ChangeKind.HOOK and c.detail and not c.failed
        ),
        header=ChangeKind.CHANNEL in kinds,
    )


def _follow(changes: Sequence[Change], current: int | None, reset: bool) -> ThreadFollow | None:
    """How the open conversation follows the burst: in place when only its messages changed."""
    if current is None:
        return None
    ours = [c for c in changes if c.conversation_id == current and c.kind not in SIDE_KINDS]
    if not reset and not ours:
        return None
    changed = [
        c.message_id for c in ours if c.kind is ChangeKind.MESSAGE and c.message_id is not None
    ]
    if reset or any(c.kind is ChangeKind.HOOK for c in ours):
        changed = []  # the conversation or its contact changed (an event says so): read the panes again
    return ThreadFollow(current, tuple(changed))


def shown_rows(
    fresh: Iterable[Conversation], view: View, agent: str, filters: Filters
) -> list[Conversation]:
    """Of the conversations just re-read, those the list shows in `view` under `filters`."""
    return [c for c in fresh if in_view(c, view, agent) and filters.matches(c)]
