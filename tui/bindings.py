"""Key bindings as data: ids, default keys, descriptions, contexts, and the keymap in force."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from textual.binding import Binding

from frontdesk.keymaps.loader import load_keymap
from frontdesk.tui.keys import KeyBinding, is_key_name

APP_BINDINGS: list[Binding] = [
    Binding("r", "reply", "Reply", id="reply", tooltip="Write a reply to the customer"),
    Binding("n", "note", "Note", id="note", tooltip="Write an internal note (never sent)"),
    Binding(
        "e", "toggle_resolved", "Resolve/reopen", id="toggle-resolved", tooltip="Resolve or reopen"
    ),
    Binding(
        "E",
        "resolve_and_next",
        "Resolve+next",
        id="resolve-next",
        tooltip="Resolve and open the next conversation",
    ),
    Binding(
        "v",
        "next_view",
        "View",
        id="next-view",
        tooltip="Mine → Unassigned → All open → Escalated → Snoozed → Resolved → Bot",
    ),
    Binding(
        "1",
        "show_view('mine')",
        "Mine",
        show=False,
        id="view-mine",
        tooltip="Conversations assigned to me",
    ),
    Binding(
        "2",
        "show_view('unassigned')",
        "Unassigned",
        show=False,
        id="view-unassigned",
        tooltip="Open conversations nobody has taken",
    ),
    Binding(
        "3",
        "show_view('all')",
        "All open",
        show=False,
        id="view-all",
        tooltip="Every open or pending conversation",
    ),
    Binding(
        "4",
        "show_view('escalated')",
        "Escalated",
        show=False,
        id="view-escalated",
        tooltip="Conversations handed to a team or tier",
    ),
    Binding(
        "5",
        "show_view('snoozed')",
        "Snoozed",
        show=False,
        id="view-snoozed",
        tooltip="Snoozed conversations",
    ),
    Binding(
        "6",
        "show_view('resolved')",
        "Resolved",
        show=False,
        id="view-resolved",
        tooltip="Resolved conversations",
    ),
    Binding(
        "7",
        "show_view('bot')",
        "Bot",
        show=False,
        id="view-bot",
        tooltip="Conversations the FAQ bot is answering (not waiting for an agent)",
    ),
    Binding(
        "s",
        "toggle_sort",
        "Sort",
        show=False,
        id="toggle-sort",
        tooltip="Longest waiting first ↔ latest activity first",
    ),
    Binding("f", "filter", "Filter", id="filter", tooltip="Filter by channel, label and priority"),
    Binding(
        "slash", "search", "Search", id="search", tooltip="Search contacts and messages as you type"
    ),
    Binding(
        "right_square_bracket",
        "next_conversation",
        "Open next",
        show=False,
        id="next-conversation",
        tooltip="Open the next conversation in the list",
    ),
    Binding(
        "left_square_bracket",
        "previous_conversation",
        "Open previous",
        show=False,
        id="previous-conversation",
        tooltip="Open the previous conversation in the list",
    ),
    Binding(
        "a",
        "assign_me",
        "Take",
        show=False,
        id="assign-me",
        tooltip="Assign the conversation to me",
    ),
    Binding(
        "A",
        "assign_to",
        "Assign…",
        show=False,
        id="assign-to",
        tooltip="Assign to an agent, or unassign",
    ),
    Binding(
        "p",
        "set_priority",
        "Priority",
        show=False,
        id="set-priority",
        tooltip="Set the priority (low … urgent)",
    ),
    Binding(
        "l", "edit_labels", "Labels", show=False, id="edit-labels", tooltip="Add or remove labels"
    ),
    Binding("z", "snooze", "Snooze", id="snooze", tooltip="Snooze until a preset or custom time"),
    Binding(
        "d",
        "save_attachment",
        "Save file",
        show=False,
        id="save-attachment",
        tooltip="Save an attachment of this thread to the downloads folder",
    ),
    Binding(
        "x",
        "escalate",
        "Escalate",
        show=False,
        id="escalate",
        tooltip="Escalate to a team or tier with a reason (runs the hooks)",
    ),
    Binding(
        "i",
        "edit_contact",
        "Contact",
        show=False,
        id="edit-contact",
        tooltip="Edit the contact's notes and attributes",
    ),
    Binding(
        "o",
        "other_conversations",
        "Others",
        show=False,
        id="other-conversations",
        tooltip="Go to the contact's other conversations (Enter opens one)",
    ),
    Binding(
        "m",
        "merge_contact",
        "Merge",
        show=False,
        id="merge-contact",
        tooltip="Merge another contact into this one",
    ),
    Binding(
        "C",
        "toggle_contact",
        "Contact panel",
        show=False,
        id="toggle-contact",
        tooltip="Show or hide the contact panel (hidden when narrow)",
    ),
    Binding(
        "ctrl+r",
        "retry_delivery",
        "Retry",
        id="retry-delivery",
        tooltip="Send the last failed or unconfirmed reply again (or re-run failed escalation hooks)",
    ),
    Binding(
        "c",
        "open_canned",
        "Canned",
        id="open-canned",
        tooltip="Reply with a canned reply (fuzzy picker)",
    ),
    Binding(
        "tab",
        "focus_next",
        "Next pane",
        show=False,
        id="focus-next",
        tooltip="Move to the next pane",
    ),
    Binding(
        "shift+tab",
        "focus_previous",
        "Previous pane",
        show=False,
        id="focus-previous",
        tooltip="Move to the previous pane",
    ),
    Binding(
        "escape",
        "focus_list",
        "List",
        show=False,
        id="focus-list",
        tooltip="Back to the conversation list",
    ),
    Binding(
        "R",
        "show_report",
        "Report",
        show=False,
        id="report",
        tooltip="Reports and the live queue (a supervisor's, in team mode)",
    ),
    Binding(
        "question_mark",
        "show_help",
        "Keys",
        id="show-help",
        tooltip="Show every key of the console",
    ),
    Binding(
        "ctrl+p",
        "command_palette",
        "Commands",
        show=False,
        id="command-palette",
        tooltip="Search every action and theme by name and run it",
    ),
    Binding("q", "quit", "Quit", id="quit", tooltip="Quit frontdesk"),
]

SEND_TEMPLATE = Binding(
    "ctrl+t",
    "app.send_template",
    "Template",
    show=False,
    id="send-template",
    tooltip="Send an approved template (WhatsApp, once the window closed)",
)
"""In the list and thread, not the app: in the composer ctrl+t is the canned picker, which
offers the template picker itself once the window closed."""


LIST_BINDINGS: list[Binding] = [
    Binding(
        "j,down", "cursor_down", "Next", id="cursor-down", tooltip="Highlight the next conversation"
    ),
    Binding(
        "k,up",
        "cursor_up",
        "Previous",
        id="cursor-up",
        tooltip="Highlight the previous conversation",
    ),
    Binding(
        "enter",
        "select",
        "Open",
        id="open-conversation",
        tooltip="Open the highlighted conversation",
    ),
    Binding("pagedown", "page_down", "Page down", show=False, id="page-down"),
    Binding("pageup", "page_up", "Page up", show=False, id="page-up"),
    Binding("home", "first", "First", show=False, id="cursor-first"),
    Binding("end", "last", "Last", show=False, id="cursor-last"),
    SEND_TEMPLATE,
]

THREAD_BINDINGS: list[Binding] = [
    Binding(
        "t",
        "toggle_folded",
        "Quoted text",
        id="toggle-quoted",
        tooltip="Show or hide quoted history and signatures",
    ),
    SEND_TEMPLATE,
]

COMPOSER_BINDINGS: list[Binding] = [
    Binding(
        "enter",
        "submit",
        "Send",
        priority=True,
        id="send",
        tooltip="Send the reply or save the note",
    ),
    Binding(
        "ctrl+j",
        "newline",
        "New line",
        priority=True,
        id="insert-newline",
        tooltip="Start a new line",
    ),
    Binding(
        "escape", "cancel", "Back", priority=True, id="focus-list", tooltip="Leave the composer"
    ),
    Binding(
        "ctrl+t",
        "insert_canned",
        "Canned",
        id="insert-canned",
        tooltip="Insert a canned reply at the cursor (the template picker once the window closed)",
    ),
    Binding(
        "ctrl+o",
        "attach_file",
        "Attach",
        id="attach-file",
        tooltip="Attach a file to the reply (a path prompt; Tab completes)",
    ),
    Binding(
        "ctrl+l",
        "detach_file",
        "Drop file",
        show=False,
        id="detach-file",
        tooltip="Take the last attached file off the reply",
    ),
    # the same id as the app's Tab: remapping focus-next moves shortcode expansion with it
    Binding(
        "tab",
        "expand_shortcode",
        "Expand /code",
        show=False,
        id="focus-next",
        tooltip="Expand the /shortcode before the cursor, else move to the next pane",
    ),
]

COMPOSER_TEMPLATE = Binding(
    "ctrl+t",
    "insert_template",
    "Template",
    id="insert-canned",
    tooltip="Send an approved template (the window closed: a canned reply cannot go)",
)
"""The composer's ctrl+t once the window closed. It shares insert-canned's id, so a remap moves
both; the composer puts it before that binding and shows it only while it applies
(`Composer.check_action`), so the footer names what the key does. Not in CONTEXT_BINDINGS:
the help and the palette list the id once, as the canned binding, whose action offers the
template picker itself once the window closed."""


def composer_bindings() -> list[Binding]:
    """The composer's BINDINGS: COMPOSER_BINDINGS with COMPOSER_TEMPLATE right before the canned
    binding, so ctrl+t keeps its place in the footer and tries the template first."""
    keys: list[Binding] = []
    for binding in COMPOSER_BINDINGS:
        if binding.id == COMPOSER_TEMPLATE.id:
            keys.append(COMPOSER_TEMPLATE)
        keys.append(binding)
    return keys


HELP_BINDINGS: list[Binding] = [
    Binding("escape", "close", "Close", id="close-help", tooltip="Close the key help"),
]

REPORT_BINDINGS: list[Binding] = [
    Binding("escape", "close", "Close", id="close-report", tooltip="Back to the console"),
    Binding("t", "period('today')", "Today", id="report-today", tooltip="Report since midnight"),
    Binding("w", "period('7d')", "7 days", id="report-week", tooltip="Report the last 7 days"),
    Binding("m", "period('30d')", "30 days", id="report-month", tooltip="Report the last 30 days"),
    Binding(
        "g",
        "next_grouping",
        "Group by",
        id="report-grouping",
        tooltip="Rows by agent → channel → label → team → day → hour",
    ),
    Binding(
        "b",
        "toggle_business",
        "Business hours",
        id="report-time",
        tooltip="Times in business hours ↔ calendar time (with [hours])",
    ),
    Binding(
        "l",
        "toggle_queue",
        "Live queue",
        id="report-queue",
        tooltip="Show or hide the live queue (hidden when narrow)",
    ),
]

CONTEXT_BINDINGS: tuple[tuple[str, Sequence[Binding]], ...] = (
    ("app", APP_BINDINGS),
    ("list", LIST_BINDINGS),
    ("thread", THREAD_BINDINGS),
    ("composer", COMPOSER_BINDINGS),
    ("screen:help", HELP_BINDINGS),
    ("screen:report", REPORT_BINDINGS),
)
"""(context, bindings) of everything remappable by id; "app" applies everywhere.

Add a context here when its bindings should be remappable by id: the keymap loader, the
help screen (?) and the command palette all read this list. A modal screen's context
starts with "screen:": its keys shadow the app's while it is open, so they clash only with
each other.
"""

KeyDisplay = Callable[[Binding], str]
"""How a binding's key is shown to people (`App.get_key_display`)."""


def binding_ids() -> dict[str, str]:
    """Every binding id of the console and the context it applies in ("app" is everywhere)."""
    ids: dict[str, str] = {}
    for context, bindings in CONTEXT_BINDINGS:
        for binding in bindings:
            if binding.id:
                ids.setdefault(binding.id, context)
    return ids


def live_bindings(keymap: Mapping[str, str], key_display: KeyDisplay) -> list[KeyBinding]:
    """Every binding with an id of every context, with the keys the keymap gives it.

    The keys come from `keymap` (what `App.set_keymap` applied) falling back to the
    binding's own key, so the list follows both the preset and the user's [ui.keys].
    An id bound in two places (Escape in the composer and anywhere) is listed once, under
    the first context.
    """
    seen: set[str] = set()
    found: list[KeyBinding] = []
    for context, bindings in CONTEXT_BINDINGS:
        for binding in bindings:
            if not binding.id or binding.id in seen:
                continue
            seen.add(binding.id)
            keys = tuple(
                k.strip() for k in keymap.get(binding.id, binding.key).split(",") if k.strip()
            )
            shown = " / ".join(key_display(binding.with_key(key)) for key in keys)
            found.append(
                KeyBinding(
                    context,
                    binding.id,
                    binding.action,
                    binding.description or binding.id,
                    binding.tooltip,
                    keys,
                    shown,
                )
            )
    return found


def first_key(
    keymap: Mapping[str, str], key_display: KeyDisplay, binding_id: str, context: str = "app"
) -> str:
    """How the first key of `binding_id` (a binding of `context`) is shown."""
    for binding in dict(CONTEXT_BINDINGS)[context]:
        if binding.id == binding_id:
            keys = keymap.get(binding_id, binding.key)
            return key_display(binding.with_key(keys.split(",")[0].strip()))
    return binding_id


def resolve_keymap(
    preset: str, overrides: dict[str, str] | None, config_file: Path | None = None
) -> dict[str, str]:
    """The keymap in force; errors about `overrides` name `config_file` and the line in its [ui.keys]."""
    text = None
    if overrides and config_file is not None:
        try:
            text = config_file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            text = None
    source = str(config_file) if config_file is not None else "your config [ui.keys]"
    return load_keymap(
        preset,
        overrides or {},
        known_ids=binding_ids(),
        overrides_source=source,
        overrides_text=text,
        valid_key=is_key_name,
    )
