"""Canned replies an account shares (`DeskAPI.shared_canned`) beside the agent's own canned.toml,
with Pilot against a solo Desk whose server shares two: tagged "account" in the picker, found by
/shortcode Tab, the agent's own reply wins a shortcode both use, fetched at start and on a RESET
only, a failure notified once; the choice's rules as plain unit tests; a snapshot of the picker."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import HOSTILE_BODY, HOSTILE_NAME, run_sync
from frontdesk.chatwoot.errors import Unreachable
from frontdesk.desk import Desk
from frontdesk.desk.canned import CannedReply, CannedSet, load_canned, parse_canned
from frontdesk.desk.changes import Change, ChangeKind
from frontdesk.tui.canned_choice import MAX_SHARED, SHARED_SOURCE, CannedChoice
from frontdesk.tui.screens.canned_picker import MAX_LISTED, CannedPicker
from pilot_helpers import (
    NO_CANNED_FILE,
    DialogHarness,
    idle,
    record_notifications,
    screen_text,
    wait_until,
)

SIZE = (140, 40)
OWN = """
[[replies]]
shortcode = "thanks"
title = "Thank you"
body = "Thanks {contact.first_name}!"

[[replies]]
shortcode = "bye"
title = "Closing"
body = "Bye from {agent.name}."
"""
SHARED = [
    # the agent's own /thanks wins over this one
    CannedReply("Thanks", "Thanks (team)", "Thanks from all of us, {contact.first_name}!"),
    CannedReply(
        "welcome", "Team welcome", "Welcome to Acme, {contact.first_name}. I'm {agent.name}."
    ),
]


class SharingDesk(Desk):
    """A solo Desk whose server shares `shared` (or raises `failure`), counting the fetches."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shared: list[CannedReply] = list(SHARED)
        self.failure: Exception | None = None
        self.fetches = 0

    async def shared_canned(self) -> list[CannedReply]:
        self.fetches += 1
        if self.failure is not None:
            raise self.failure
        return list(self.shared)

    def reset(self) -> None:
        """What a client of a server publishes when it is back: reload everything."""
        self._broker.publish([Change(ChangeKind.RESET)])


@pytest.fixture
def desk(desk_store, channels, clock, workspace) -> SharingDesk:
    d = SharingDesk(desk_store, channels, agent="Aiko", clock=clock, agents=["Ben"])
    run_sync(d.load_workspace(workspace.contacts, workspace.conversations, workspace.messages))
    return d


@pytest.fixture
def canned_path(tmp_path) -> Path:
    path = tmp_path / "config" / "canned.toml"
    path.parent.mkdir()
    path.write_text(OWN, encoding="utf-8")
    return path


async def fetched(pilot, desk: SharingDesk, count: int) -> None:
    """Wait until the console has asked the desk `count` times and taken the last answer in."""
    app = pilot.app
    await wait_until(pilot, lambda: desk.fetches >= count, what=f"fetch {count}")
    busy = [w for w in app.workers if w.group == "shared-canned" and not w.is_finished]
    if busy:  # never an empty list: that waits for every worker, the change feed included
        await app.workers.wait_for_complete(busy)
    await idle(pilot)
    assert desk.fetches == count


def own_set(text: str = OWN, examples: bool = False) -> CannedSet:
    return CannedSet(
        parse_canned(text, "canned.toml"), "canned.toml", Path("canned.toml"), examples
    )


# ---- the choice's rules ----------------------------------------------------------------------------


def test_the_agents_own_reply_wins_a_shortcode_both_use_in_any_case():
    choice = CannedChoice.of(own_set(), SHARED)
    assert [r.shortcode for r in choice.replies] == ["thanks", "bye", "welcome"]
    assert choice.find("/THANKS").title == "Thank you" and not choice.is_shared(
        choice.find("thanks")
    )
    assert choice.is_shared(choice.find("welcome"))
    assert choice.where(choice.find("welcome")) == SHARED_SOURCE
    assert choice.where(choice.find("bye")) == "canned.toml:7"
    assert [r.shortcode for r in choice.starting("b")] == ["bye"]
    assert choice.find("nope") is None


def test_the_accounts_reply_wins_over_a_shipped_example():
    examples = load_canned(NO_CANNED_FILE)
    assert examples.examples and examples.find("bye") is not None
    team_bye = CannedReply("bye", "Team closing", "Bye from the Acme team.")
    choice = CannedChoice.of(examples, [team_bye])
    assert choice.find("bye") == team_bye and choice.is_shared(team_bye)
    assert len(choice.replies) == len(examples.replies)


def test_a_shortcode_shared_twice_is_listed_once_and_the_list_is_bounded():
    many = [CannedReply(f"r{i}", f"Reply {i}", "x") for i in range(MAX_SHARED + 50)]
    choice = CannedChoice.of(own_set(), [SHARED[1], SHARED[1], *many])
    assert [r.shortcode for r in choice.replies[2:4]] == ["welcome", "r0"]
    assert len(choice.shared) == MAX_SHARED and choice.find(f"r{MAX_SHARED - 2}") is not None
    assert choice.find(f"r{MAX_SHARED - 1}") is None


codes = st.text(alphabet="aAbBß-_ 1", min_size=1, max_size=4)
replies = st.builds(CannedReply, codes, st.text(max_size=5), st.text(max_size=5))


@given(own=st.lists(replies, max_size=6), shared=st.lists(replies, max_size=12))
def test_any_shared_list_gives_each_shortcode_once_and_the_agents_own_all(own, shared):
    unique_own = list({r.shortcode.casefold(): r for r in own}.values())  # a file has no twins
    mine = CannedSet(tuple(unique_own), "canned.toml", Path("canned.toml"), examples=False)
    choice = CannedChoice.of(mine, shared)
    folded = [r.shortcode.casefold() for r in choice.replies]
    assert len(folded) == len(set(folded))
    assert list(choice.replies[: len(unique_own)]) == unique_own
    for index, reply in enumerate(choice.replies):
        assert choice.find(reply.shortcode) == reply
        assert choice.where(reply) == ("canned.toml" if index < len(unique_own) else SHARED_SOURCE)


# ---- in the console --------------------------------------------------------------------------------


async def test_the_picker_lists_the_accounts_replies_tagged_and_inserts_one(
    desk, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), what="picker")
        picker = app.screen
        assert [(r.shortcode, picker.choice.is_shared(r)) for r in picker.shown] == [
            ("thanks", False),
            ("bye", False),
            ("welcome", True),
        ]
        text = screen_text(app)
        assert "/welcome  Team welcome  account" in text and "Thanks (team)" not in text
        assert "/bye  Closing  account" not in text
        assert 'Plus 1 from your account (tagged "account")' in text
        await pilot.press(*"welc", "enter")
        await wait_until(pilot, lambda: app.composer.text != "", what="the reply inserted")
        assert app.composer.text == "Welcome to Acme, Mia. I'm Aiko."
        assert desk.fetches == 1  # opening the picker does not ask the desk again


async def test_shortcode_tab_finds_the_accounts_replies_and_the_agents_own_first(
    desk, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        await pilot.press("r", *"/w", "tab")  # only /welcome starts with "w": completed
        await wait_until(pilot, lambda: "Welcome" in app.composer.text, what="/w expanded")
        await pilot.press("space", *"/thanks", "tab")
        await wait_until(pilot, lambda: "Thanks" in app.composer.text, what="/thanks expanded")
        assert app.composer.text == "Welcome to Acme, Mia. I'm Aiko. Thanks Mia!"
        assert desk.fetches == 1


async def test_a_reset_fetches_them_again(desk, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        desk.shared = [CannedReply("hours", "Opening hours", "We are open 9 to 5.")]
        desk.reset()
        await fetched(pilot, desk, 2)
        await pilot.press("r", *"/hours", "tab")
        await wait_until(pilot, lambda: app.composer.text != "/hours", what="/hours expanded")
        assert app.composer.text == "We are open 9 to 5."
        await pilot.press("space", *"/welcome", "tab")  # gone from the account: not offered
        await idle(pilot)
        assert app.composer.text.endswith("/welcome")


async def test_a_failed_fetch_keeps_the_agents_own_and_is_notified_once(desk, canned_path, console):
    desk.failure = Unreachable("chat.example.com: cannot connect (connection refused)")
    app = console(canned=canned_path)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await fetched(pilot, desk, 1)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), what="picker")
        assert [r.shortcode for r in app.screen.shown] == ["thanks", "bye"]
        await pilot.press("escape")
        desk.reset()
        await fetched(pilot, desk, 2)  # failing again: no second notice
        failures = [s for s in seen if "chat.example.com" in s]
        assert len(failures) == 1
        assert "connection refused" in failures[0] and "canned.toml" in failures[0]
        desk.failure = None
        desk.reset()
        await fetched(pilot, desk, 3)
        await pilot.press("r", *"/welcome", "tab")
        await wait_until(pilot, lambda: "Welcome" in app.composer.text, what="/welcome expanded")
        desk.failure = Unreachable("chat.example.com: cannot connect (timed out)")
        desk.reset()
        await fetched(pilot, desk, 4)  # what was fetched stays; the new failure is news
        assert len([s for s in seen if "chat.example.com" in s]) == 2
        await pilot.press("space", *"/welcome", "tab")
        await wait_until(pilot, lambda: app.composer.text.count("Welcome") == 2, what="kept")


async def test_a_long_shared_list_lists_the_best_matches_and_says_how_many_more(
    desk, canned_path, console
):
    desk.shared = [CannedReply(f"faq{i}", f"Question {i}", f"Answer {i}.") for i in range(150)]
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), what="picker")
        picker = app.screen
        options = picker.query_one("#canned-options")
        assert len(picker.shown) == MAX_LISTED and options.option_count == MAX_LISTED + 1
        last = options.get_option_at_index(MAX_LISTED)
        assert last.disabled and str(last.prompt) == "… 52 more: type to narrow"
        options.highlighted = MAX_LISTED - 2
        await pilot.press(*["down"] * 3)  # the last reply is as far as the cursor goes
        assert options.highlighted == MAX_LISTED - 1
        await pilot.press(*"faq149")
        await idle(pilot)
        assert [r.shortcode for r in picker.shown] == ["faq149"] and options.option_count == 1


async def test_more_than_the_cap_is_said_once(desk, canned_path, console):
    desk.shared = [CannedReply(f"r{i}", f"Reply {i}", "x") for i in range(MAX_SHARED + 1)]
    app = console(canned=canned_path)
    seen = record_notifications(app)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        desk.reset()
        await fetched(pilot, desk, 2)
        assert [s for s in seen if "canned replies" in s] == [
            "Your account shares 1,001 canned replies; the first 1,000 are offered."
        ]


async def test_a_hostile_shared_reply_is_shown_inert(desk, canned_path, console):
    desk.shared = [CannedReply("evil", HOSTILE_NAME, HOSTILE_BODY)]
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await fetched(pilot, desk, 1)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CannedPicker), what="picker")
        await pilot.press(*"evil")
        await idle(pilot)
        text = screen_text(app)
        assert "[bold]Mallory[/bold]" in text  # markup shown as typed, not applied
        assert "\x1b" not in text and "\u202e" not in text


# ---- snapshot --------------------------------------------------------------------------------------


def test_snapshot_canned_picker_with_the_accounts_replies(snap_compare, desk):
    async def make():  # fixed data: the agent's two replies, the account's two (one loses)
        return CannedPicker(own_set(), variables=await desk.canned_variables(1), shared=SHARED)

    async def highlight_the_shared_one(pilot):
        await idle(pilot)
        await pilot.press("down", "down")  # its preview: filled for Mia's conversation
        await idle(pilot)

    assert snap_compare(
        DialogHarness(make), terminal_size=SIZE, run_before=highlight_the_shared_one
    )
