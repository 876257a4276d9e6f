"""Paths across features that an agent walks in one go: note then canned reply, dialogs and focus,
labels, reading while messages arrive, drafts across restarts, failing hooks; Pilot on a real desk."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Select, Static

from frontdesk.desk import Desk
from frontdesk.desk.hooks import HookJob, HookSpec
from frontdesk.model import ContactRef, Inbound
from frontdesk.store import Store
from frontdesk.tui.drafts import Drafts
from frontdesk.tui.notify import NotifySettings
from frontdesk.tui.screens.ask_dialog import AskDialog
from frontdesk.tui.screens.canned_picker import CannedPicker
from frontdesk.tui.screens.escalate_dialog import EscalateDialog
from frontdesk.tui.screens.labels_dialog import LabelsDialog
from frontdesk.tui.widgets.hook_status import HookTrouble, hook_troubles
from pilot_helpers import idle, wait_until

SIZE = (140, 40)
CANNED = """
[[replies]]
shortcode = "hi"
title = "Greeting"
body = "Hi {contact.first_name}, thanks for writing!"

[[replies]]
shortcode = "refund"
title = "Refund confirmed"
body = "Refund for {ask:order number} is on its way."
"""


@pytest.fixture
def canned_path(tmp_path) -> Path:
    path = tmp_path / "config" / "canned.toml"
    path.parent.mkdir()
    path.write_text(CANNED, encoding="utf-8")
    return path


def outgoing_bodies(desk: Desk) -> list[str]:
    """The bodies of every reply queued for a customer (the outbox), oldest first."""
    return [desk.store.message(e.conversation_id, e.message_id).body for e in desk.store.outbox()]


# ---- 14.2: note mode never carries over ---------------------------------------------------------------


async def test_a_canned_reply_after_a_note_elsewhere_goes_to_the_customer(
    desk, clock, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("n", *"VIP, handle with care", "enter")
        await idle(pilot)
        assert (await desk.thread(1))[-1].private
        await pilot.press("escape", "j")
        await idle(pilot)
        assert app.thread.conversation_id == 2
        await pilot.press("c")
        await idle(pilot)
        assert isinstance(app.screen, CannedPicker)
        await pilot.press(*"hi", "enter")
        await idle(pilot)
        assert app.composer.mode == "reply" and "not sent" not in str(app.composer.border_title)
        await pilot.press("enter")
        await idle(pilot)
        sent = (await desk.thread(2))[-1]
        assert sent.body.startswith("Hi ") and not sent.private
        assert outgoing_bodies(desk) == [sent.body]


async def test_note_mode_ends_with_the_note_and_r_always_replies(desk, clock, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("n", *"checked", "enter")
        await idle(pilot)
        assert app.composer.mode == "reply"  # the note is saved: the next message is a reply again
        await pilot.press(*"on its way", "enter")
        await idle(pilot)
        assert outgoing_bodies(desk) == ["on its way"]
        await pilot.press("escape", "n", *"half a note", "escape", "r")
        assert (
            app.composer.mode == "reply" and app.composer.text == ""
        )  # the note's text stays with the note
        await pilot.press("escape", "n")
        assert app.composer.mode == "note" and app.composer.text == "half a note"


# ---- 14.4: focus returns where the agent was ------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["c", "l", "z", "x", "A", "p", "f", "i", "m", "d", "slash", "question_mark"]
)
async def test_list_keys_after_a_cancelled_dialog_move_the_list(
    desk, clock, canned_path, key, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        screen = app.screen
        await pilot.press(key)
        await idle(pilot)
        assert app.screen is not screen
        await pilot.press("escape")
        await idle(pilot)
        assert app.screen is screen and app.conversation_list.has_focus
        await pilot.press("j", "j", "enter")
        await idle(pilot)
        assert app.conversation_list.current_id == 3 and app.thread.has_focus
        assert app.composer.text == "" and desk.store.outbox() == []


async def test_list_keys_after_a_cancelled_canned_question_move_the_list(
    desk, clock, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("c", *"refund", "enter")  # the reply asks for the order number
        await idle(pilot)
        assert isinstance(app.screen, AskDialog)
        await pilot.press("escape")
        await idle(pilot)
        await pilot.press("j", "j", "enter")
        await idle(pilot)
        assert app.conversation_list.current_id == 3 and app.thread.has_focus
        assert app.composer.text == "" and desk.store.outbox() == []


async def test_a_cancelled_canned_picker_from_the_composer_returns_to_it(
    desk, clock, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"keep ", "ctrl+t")
        await idle(pilot)
        await pilot.press("escape")
        await idle(pilot)
        assert app.composer.has_focus and app.composer.text == "keep "


# ---- 14.5: the labels dialog adds --------------------------------------------------------------------------


async def test_typing_a_label_adds_it(desk, clock, console):
    await desk.label(1, add=["shipping"])
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("l")
        await idle(pilot)
        assert isinstance(app.screen, LabelsDialog)
        field = app.screen.query_one("#labels", Input)
        assert field.selected_text == "" and field.cursor_position == len(field.value)
        await pilot.press(*"delay", "enter")
        await idle(pilot)
        assert (await desk.conversation(1)).labels == ["shipping", "delay"]
        await pilot.press("l")
        await idle(pilot)
        await pilot.press("ctrl+u", *"delay", "enter")  # removing stays a deliberate act
        await idle(pilot)
        assert (await desk.conversation(1)).labels == ["delay"]


# ---- 14.7: what the agent reads is read -----------------------------------------------------------------------


class TitleRecorder:
    """Stands in for the terminal: keeps the window titles the console sets."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, sequence: str) -> None:
        self.written.append(sequence)

    def bell(self) -> None:
        pass

    def title(self) -> str:
        return [s for s in self.written if s.startswith("\x1b]2;")][-1]


def listed_unread(app, conv_id: int) -> int:
    return next(c.unread for c in app.conversation_list.conversations if c.id == conv_id)


async def test_a_message_arriving_in_the_conversation_being_read_is_read(desk, clock, console):
    terminal = TitleRecorder()
    app = console(terminal=terminal, notifications=NotifySettings(quiet_seconds=0))

    def arrive(n: int, body: str):
        mia = ContactRef("+15550001", "Mia Tanaka")
        return desk.ingest("wa", [Inbound(f"live-{n}", "+15550001", mia, body, created_at=clock())])

    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("enter")  # open Mia's conversation
        await wait_until(
            pilot, lambda: terminal.title() == "\x1b]2;(1) frontdesk\x07"
        )  # conversation 3 waits
        await arrive(1, "anyone there?")
        await wait_until(pilot, lambda: "anyone there?" in "\n".join(app.thread.plain_lines))
        await idle(pilot)
        assert (await desk.conversation(1)).unread == 0 and listed_unread(app, 1) == 0
        assert terminal.title() == "\x1b]2;(1) frontdesk\x07"

        app.post_message(events.AppBlur())  # the agent is in another window: arrivals wait for them
        await idle(pilot)
        await arrive(2, "hello??")
        await wait_until(pilot, lambda: listed_unread(app, 1) == 1)
        await wait_until(pilot, lambda: terminal.title() == "\x1b]2;(2) frontdesk\x07")
        app.post_message(events.AppFocus())  # back: what is on screen is read
        await wait_until(pilot, lambda: listed_unread(app, 1) == 0)
        assert (await desk.conversation(1)).unread == 0
        await wait_until(pilot, lambda: terminal.title() == "\x1b]2;(1) frontdesk\x07")


async def test_a_conversation_only_glanced_at_in_the_list_still_counts_new_messages(
    desk, clock, console
):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j", "k")  # the cursor passes by: not opened
        await idle(pilot)
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "live-9",
                    "+15550001",
                    ContactRef("+15550001", "Mia Tanaka"),
                    "hi?",
                    created_at=clock(),
                )
            ],
        )
        await wait_until(pilot, lambda: listed_unread(app, 1) == 3)


# ---- 14.9: drafts are kept ---------------------------------------------------------------------------------------


async def test_drafts_survive_quit_and_restart(tmp_path, clock, workspace, channels, console):
    def open_desk() -> tuple[Store, Desk]:
        store = Store.open(tmp_path / "data")
        return store, Desk(store, channels, agent="Aiko", clock=clock)

    store, desk = open_desk()
    await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
    app = console(desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"Your lamp ships tomorrow", "escape", "n", *"check stock", "escape")
        await pilot.press("q")  # at once: before the debounced save
    store.close()

    store, desk = open_desk()
    try:
        app = console(desk)
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            assert app.composer.text == "Your lamp ships tomorrow" and app.composer.mode == "reply"
            await pilot.press("n")
            assert app.composer.text == "check stock"
    finally:
        store.close()


async def test_a_draft_is_saved_while_typing_and_dropped_once_sent(desk, clock, console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"on its way")
        await wait_until(pilot, lambda: desk.store.draft(1) == {"reply": "on its way"})
        await pilot.press("enter")
        await wait_until(pilot, lambda: desk.store.draft(1) == {})
        assert outgoing_bodies(desk) == ["on its way"]


# ---- 14.9: a failing hook is one status line, not a toast per retry -------------------------------------------------


@pytest.fixture
def helpdesk():
    from fakes.helpdesk import HelpdeskServer

    server = HelpdeskServer()
    yield server
    server.close()


def toasts(app) -> list[str]:
    return [" ".join(str(toast.render()).split()) for toast in app.screen.query("Toast")]


@pytest.fixture
def hook_desk(make_desk, helpdesk):
    return make_desk(
        escalation_targets=["billing", "tier-2"],
        hooks=[
            HookSpec("helpdesk", url=helpdesk.url, timeout=5),
            HookSpec("pager", command=("true",), targets=("tier-2",)),
        ],
    )


async def test_retries_of_a_failing_hook_update_one_status_line(
    hook_desk, clock, helpdesk, console
):
    desk = hook_desk
    for _ in range(4):  # the first two runs of each escalation fail
        helpdesk.answer(503, {"error": "down for maintenance"})
    app = console(desk)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        status = app.query_one("#hook-status", Static)
        assert not status.display
        await desk.escalate(1, "billing", "refund twice")
        await desk.escalate(3, "billing", "abusive")
        for _ in range(2):
            await desk.flush_hooks()
            clock.advance(hours=1)  # the retry is due
        await wait_until(pilot, lambda: status.display)
        await idle(pilot)
        assert (
            str(status.render())
            == "⚠ Hook helpdesk failing: HTTP 503: down for maintenance — retrying (2 escalations waiting)"
        )
        assert not any("helpdesk" in toast for toast in toasts(app))  # four failures, no toast
        await desk.flush_hooks()  # the helpdesk is back
        await wait_until(pilot, lambda: not status.display)
        assert desk.hook_jobs() == []


async def test_the_escalate_dialog_lists_only_the_hooks_that_run_for_the_target(
    hook_desk, clock, console
):
    app = console(hook_desk)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("x")
        await idle(pilot)
        assert isinstance(app.screen, EscalateDialog)
        hooks = app.screen.query_one("#escalate-hooks", Static)
        assert (
            str(hooks.render()) == "Also runs: helpdesk (HTTP)"
        )  # billing: the pager is for tier-2 only
        await pilot.press("shift+tab", "shift+tab", "enter", "down", "enter")  # target: tier-2
        await idle(pilot)
        assert app.screen.query_one("#escalate-target", Select).value == "tier-2"
        assert str(hooks.render()) == "Also runs: helpdesk (HTTP), pager (command)"
        await pilot.press("tab", "tab", *"needs the on-call", "enter")
        await idle(pilot)
        assert sorted(j.hook for j in hook_desk.hook_jobs(1)) == ["helpdesk", "pager"]


# ---- the rules behind them ------------------------------------------------------------------------------------------


def test_drafts_keep_a_reply_and_a_note_apart_and_report_each_change_once():
    drafts = Drafts()
    drafts.adopt(1, {"reply": "stored", "note": ""})
    drafts.put(1, "note", "for the team")
    drafts.adopt(1, {"reply": "older"})  # the session's text wins over a late read from the desk
    assert (drafts.text(1, "reply"), drafts.text(1, "note")) == ("stored", "for the team")
    assert drafts.take_unsaved() == {1: {"reply": "stored", "note": "for the team"}}
    assert drafts.take_unsaved() == {}
    drafts.put(1, "note", "for the team")  # unchanged: nothing to save
    drafts.put(1, "reply", "")
    drafts.put(1, "note", "")
    assert drafts.take_unsaved() == {1: {}}  # all empty: the desk forgets it


def test_hook_troubles_are_one_per_hook_and_retrying_while_any_run_retries():
    def job(i: int, hook: str, state: str, error: str) -> HookJob:
        return HookJob(i, i, hook, {}, f"k{i}", state=state, attempts=1, last_error=error)

    jobs = [
        job(1, "pager", "pending", "HTTP 503"),
        job(2, "pager", "failed", "HTTP 400"),
        job(3, "helpdesk", "failed", "HTTP 401"),
        job(4, "crm", "pending", ""),
    ]
    assert hook_troubles(jobs) == [
        HookTrouble("helpdesk", 1, "HTTP 401", retrying=False),
        HookTrouble("pager", 2, "HTTP 400", retrying=True),
    ]
