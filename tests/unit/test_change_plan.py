"""The change feed's plan: what a burst of desk changes updates, decided without a screen."""

from frontdesk.desk import Change, ChangeKind, Filters, View
from frontdesk.model import Conversation, Status
from frontdesk.tui.change_plan import INCREMENTAL_LIMIT, ThreadFollow, plan_changes, shown_rows

OPEN = 7


def message(conv_id: int, message_id: int) -> Change:
    return Change(ChangeKind.MESSAGE, conv_id, message_id)


def conversation(conv_id: int) -> Change:
    return Change(ChangeKind.CONVERSATION, conv_id)


def test_a_new_message_in_the_open_conversation_goes_into_its_thread_in_place():
    plan = plan_changes(
        [message(OPEN, 41), conversation(OPEN)], open_conversation=OPEN, reading=None
    )
    assert plan.rows == {OPEN} and not plan.reload_list
    assert plan.thread == ThreadFollow(OPEN, (41,))
    assert plan.mark_read is None and plan.typing is None and not plan.header


def test_a_new_message_in_the_conversation_being_read_is_marked_read_first():
    plan = plan_changes([message(OPEN, 41)], open_conversation=OPEN, reading=OPEN)
    assert plan.mark_read == OPEN
    assert plan.thread == ThreadFollow(OPEN, (41,))


def test_a_new_message_in_another_conversation_moves_only_its_row():
    plan = plan_changes([message(3, 12), conversation(3)], open_conversation=OPEN, reading=OPEN)
    assert plan.rows == {3}
    assert plan.thread is None  # the open thread stays as it is
    assert plan.mark_read is None


def test_an_event_in_the_open_conversation_reads_its_panes_again():
    plan = plan_changes([conversation(OPEN)], open_conversation=OPEN, reading=None)
    assert plan.thread == ThreadFollow(OPEN, ())  # no message ids: a full read


def test_a_status_change_moving_a_conversation_out_of_the_view_re_places_its_row_and_drops_it():
    plan = plan_changes([conversation(OPEN)], open_conversation=OPEN, reading=None)
    assert plan.rows == {OPEN}
    resolved = Conversation(
        id=OPEN, channel="mail", contact_id=1, thread_key="t", status=Status.RESOLVED
    )
    still_open = Conversation(id=8, channel="mail", contact_id=2, thread_key="u")
    assert shown_rows([resolved, still_open], View.ALL, "ana", Filters()) == [still_open]
    assert shown_rows([resolved], View.RESOLVED, "ana", Filters()) == [resolved]
    assert shown_rows([still_open], View.ALL, "ana", Filters(channels=frozenset({"wa"}))) == []


def test_a_burst_over_the_limit_re_reads_the_whole_view():
    burst = [message(conv_id, conv_id * 10) for conv_id in range(1, INCREMENTAL_LIMIT + 2)]
    plan = plan_changes(burst, open_conversation=OPEN, reading=None)
    assert plan.reload_list and plan.rows is None
    assert plan.thread == ThreadFollow(OPEN, (OPEN * 10,))


def test_a_burst_within_the_limit_moves_each_row():
    burst = [message(conv_id, conv_id * 10) for conv_id in range(1, INCREMENTAL_LIMIT + 1)]
    plan = plan_changes(burst, open_conversation=None, reading=None)
    assert not plan.reload_list and plan.rows == set(range(1, INCREMENTAL_LIMIT + 1))
    assert plan.thread is None


def test_a_reset_re_reads_the_view_and_the_open_thread():
    plan = plan_changes([Change(ChangeKind.RESET)], open_conversation=OPEN, reading=OPEN)
    assert plan.reload_list and plan.thread == ThreadFollow(OPEN, ())


def test_typing_touches_only_the_open_thread():
    typing = Change(ChangeKind.TYPING, OPEN)
    plan = plan_changes([typing], open_conversation=OPEN, reading=None)
    assert plan.typing == OPEN and plan.rows is None and plan.thread is None
    assert plan_changes([typing], open_conversation=3, reading=None).typing is None


def test_hooks_redraw_the_status_line_and_report_what_went_well():
    ran = Change(ChangeKind.HOOK, OPEN, detail="ticket opened")
    failed = Change(ChangeKind.HOOK, OPEN, detail="crm down", failed=True)
    plan = plan_changes([ran, failed], open_conversation=OPEN, reading=None)
    assert plan.hook_status and plan.hook_notices == ("ticket opened",)
    assert plan.thread == ThreadFollow(
        OPEN, ()
    )  # a hook may have opened a ticket: read the panes again


def test_a_channel_change_redraws_only_the_header():
    plan = plan_changes(
        [Change(ChangeKind.CHANNEL, channel="mail")], open_conversation=OPEN, reading=OPEN
    )
    assert plan.header and plan.rows is None and not plan.reload_list and plan.thread is None


def test_presence_beside_a_message_elsewhere_neither_re_reads_the_open_thread_nor_moves_its_row():
    burst = [
        message(3, 12),
        conversation(3),
        Change(ChangeKind.ACTIVITY, OPEN, agent="ben"),
        Change(ChangeKind.MENTION, OPEN, 40, agent="aiko"),
        Change(ChangeKind.PRESENCE, agent="ben"),
    ]
    plan = plan_changes(burst, open_conversation=OPEN, reading=None)
    assert plan.rows == {3}
    assert plan.thread is None
