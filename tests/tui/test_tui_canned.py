"""Canned replies, notes and channel limits in the console, driven with Pilot against a real desk and store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from frontdesk.model import Contact, Conversation, Identity
from frontdesk.tui.screens.ask_dialog import AskDialog
from frontdesk.tui.screens.canned_picker import CannedPicker
from frontdesk.desk.canned import CannedLibrary
from pilot_helpers import NO_CANNED_FILE, DialogHarness, idle, screen_text, wait_until

SIZE = (140, 40)
CANNED = """
[[replies]]
shortcode = "thanks"
title = "Thank you"
body = "Thanks {contact.first_name}!"

[[replies]]
shortcode = "refund"
title = "Refund confirmed"
body = "Refund for {ask:order number} is on its way, {contact.first_name}. Ref {ask:case}."

[[replies]]
shortcode = "broken"
title = "Broken variable"
body = "Hi {contact.nmae}"

[[replies]]
shortcode = "bye"
title = "Closing"
body = "Bye from {agent.name}."
"""


@pytest.fixture
def canned_path(tmp_path) -> Path:
    path = tmp_path / "config" / "canned.toml"
    path.parent.mkdir()
    path.write_text(CANNED, encoding="utf-8")
    return path


def notices(app) -> str:
    """The text of the notifications on screen, one line each."""
    return "\n".join(" ".join(str(toast.render()).split()) for toast in app.screen.query("Toast"))


async def set_window(desk, conv_id: int, expires) -> None:
    conv = await desk.conversation(conv_id)
    conv.window_expires_at = expires
    with desk.store.batch():
        desk.store.put_conversation(conv)


def subtitle(app) -> str:
    return str(app.composer.border_subtitle or "")


# ---- canned replies --------------------------------------------------------------------------------


async def test_pick_a_canned_reply_and_send_it(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("c")
        await idle(pilot)
        assert isinstance(app.screen, CannedPicker)
        text = screen_text(app)
        assert "/thanks" in text and "Refund confirmed" in text and "canned.toml" in text
        await pilot.press(*"refund")
        await idle(pilot)
        preview = str(app.screen.query_one("#canned-preview").render())
        assert (
            preview == "Refund for ⟨order number⟩ is on its way, Mia. Ref ⟨case⟩."
        )  # filled for this conversation
        await pilot.press(*["backspace"] * 6, *"broken")
        await idle(pilot)
        preview = str(app.screen.query_one("#canned-preview").render())
        assert "Hi {contact.nmae}" in preview and "⚠ unknown variable {contact.nmae}" in preview
        await pilot.press(*["backspace"] * 6, *"thank", "enter")
        await idle(pilot)
        assert not isinstance(app.screen, CannedPicker)
        assert app.composer.has_focus and app.composer.mode == "reply"
        assert app.composer.text == "Thanks Mia!"
        await pilot.press("enter")
        await idle(pilot)
        sent = (await desk.thread(1))[-1]
        assert sent.body == "Thanks Mia!" and not sent.private
        assert "Thanks Mia!" in "\n".join(app.thread.plain_lines)


async def test_escape_closes_the_picker_without_inserting(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"keep ", "ctrl+t")
        await idle(pilot)
        assert isinstance(app.screen, CannedPicker)
        await pilot.press("escape")
        await idle(pilot)
        assert app.composer.text == "keep " and app.composer.has_focus


async def test_shortcode_then_tab_expands_in_place(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"Sure. /bye", "tab")
        await idle(pilot)
        assert app.composer.text == "Sure. Bye from Aiko."
        assert app.composer.has_focus and app.composer.cursor_location == (
            0,
            len("Sure. Bye from Aiko."),
        )


async def test_a_shortcode_prefix_completes_or_opens_the_picker_filtered(
    desk, clock, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"/th", "tab")  # only /thanks starts with "th"
        await idle(pilot)
        assert app.composer.text == "Thanks Mia!"
        await pilot.press("space", *"/b", "tab")  # /broken and /bye: choose in the picker
        await idle(pilot)
        assert isinstance(app.screen, CannedPicker)
        assert app.screen.query_one("#canned-query").value == "b"
        assert [r.shortcode for r in app.screen.shown][:2] == ["bye", "broken"]
        await pilot.press("enter")
        await idle(pilot)
        assert app.composer.text == "Thanks Mia! Bye from Aiko."


async def test_tab_without_a_shortcode_moves_focus_on(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"see a/bye", "tab")
        await idle(pilot)
        assert app.contact_panel.has_focus
        assert app.composer.text == "see a/bye"


async def test_an_unknown_shortcode_is_reported_and_the_text_kept(
    desk, clock, canned_path, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("r", *"/nope", "tab")
        await idle(pilot)
        assert app.composer.text == "/nope" and app.composer.has_focus
        assert "No canned reply /nope" in screen_text(app)


async def test_ask_prompts_once_per_parameter(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("r", *"/refund", "tab")
        await idle(pilot)
        assert isinstance(app.screen, AskDialog)
        text = screen_text(app)
        assert "order number:" in text and "Refund confirmed (1/2)" in text
        await pilot.press("enter")  # empty: refused, the dialog stays
        await idle(pilot)
        assert isinstance(app.screen, AskDialog) and "Type the order number" in screen_text(app)
        await pilot.press(*"A-1042", "enter")
        await idle(pilot)
        assert isinstance(app.screen, AskDialog) and "case:" in screen_text(app)
        await pilot.press(*"77", "enter")
        await idle(pilot)
        assert app.composer.text == "Refund for A-1042 is on its way, Mia. Ref 77."


async def test_escape_in_the_ask_dialog_inserts_nothing(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"/refund", "tab")
        await idle(pilot)
        await pilot.press(*"A-1", "enter", "escape")
        await idle(pilot)
        assert not isinstance(app.screen, AskDialog)
        assert app.composer.text == "/refund" and app.composer.has_focus


async def test_two_canned_replies_in_one_message(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("c", *"thanks", "enter")
        await idle(pilot)
        await pilot.press("ctrl+t", *"bye", "enter")
        await idle(pilot)
        assert app.composer.text == "Thanks Mia!\nBye from Aiko."
        await pilot.press("enter")
        await idle(pilot)
        sent = [m for m in await desk.thread(1) if m.body.startswith("Thanks")]
        assert [m.body for m in sent] == ["Thanks Mia!\nBye from Aiko."]
        assert [e.message_id for e in desk.store.outbox()] == [sent[0].id]


async def test_an_unknown_variable_is_reported_and_never_sent(
    desk, clock, canned_path, channels, console
):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        before = len(await desk.thread(1))
        await pilot.press("c", *"broken", "enter")
        await idle(pilot)
        text = notices(app)
        assert "Canned reply not inserted" in text and "unknown variable {contact.nmae}" in text
        assert (
            "did you mean {contact.name}?" in text and "canned.toml:12" in text
        )  # what and where to fix
        assert app.composer.text == ""
        await pilot.press("enter")
        await idle(pilot)
        await desk.flush_outbox()
        assert (
            len(await desk.thread(1)) == before
            and desk.store.outbox() == []
            and channels["wa"].sent == []
        )


async def test_a_broken_canned_file_is_reported_with_its_line(desk, clock, tmp_path, console):
    path = tmp_path / "canned.toml"
    path.write_text('[[replies]]\nshortcode = "a"\ntitle = "A"\n')
    app = console(canned=path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("c")
        await idle(pilot)
        assert not isinstance(app.screen, CannedPicker)
        text = screen_text(app)
        assert (
            "Canned replies not loaded" in text and "canned.toml:1: replies[0] has no body" in text
        )


async def test_the_examples_are_offered_and_copied_to_the_agents_file(
    desk, clock, tmp_path, console
):
    path = tmp_path / "cfg" / "canned.toml"
    app = console(canned=path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("c")
        await idle(pilot)
        assert "Examples shipped with frontdesk" in screen_text(app)
        await pilot.press("ctrl+o")
        await idle(pilot)
        assert path.is_file() and "From " in screen_text(app)
        await pilot.press(*"arigato", "enter")
        await idle(pilot)
        assert app.composer.text.startswith("Mia Tanaka様\nお問い合わせいただき")


# ---- notes ---------------------------------------------------------------------------------------------


async def test_a_note_is_distinct_never_sent_and_records_mentions(desk, clock, channels, console):
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("r")
        assert not app.composer.has_class("-note")
        await pilot.press("escape", "n")
        assert app.composer.has_class("-note") and "not sent" in str(app.composer.border_title)
        assert subtitle(app) == "mention @Ben"
        await pilot.press(*"call her, thanks @ben. cc @Zed, mail mia@example.com", "enter")
        await idle(pilot)
        note = (await desk.thread(1))[-1]
        assert note.private and note.is_note and note.mentions == ["Ben"]
        text = notices(app)
        assert (
            "mentioned Ben" in text and "@Zed: not an agent" in text and "example.com" not in text
        )
        assert any("NOTE" in line and "→ @Ben" in line for line in app.thread.plain_lines)
        await desk.flush_outbox()
        assert channels["wa"].sent == [] and desk.store.outbox() == []


# ---- channel awareness ---------------------------------------------------------------------------------


async def test_the_window_badge_counts_down(desk, clock, console):
    await set_window(desk, 1, clock() + timedelta(hours=3, minutes=30))
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        assert subtitle(app) == "WhatsApp window 3h left" and not app.composer.has_class("-closed")
        clock.advance(hours=2)
        app.refresh_window()
        await idle(pilot)
        assert subtitle(app) == "WhatsApp window 1h left"
        assert "WhatsApp window 1h left" in screen_text(app)


async def test_a_closed_window_is_explained_before_writing_and_nothing_is_sent(
    desk, clock, channels, console
):
    await set_window(desk, 1, clock() - timedelta(hours=2))
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("r")
        assert app.composer.has_class("-closed")
        assert subtitle(app) == "WhatsApp window closed — the customer must write first"
        text = screen_text(app)
        assert (
            "The WhatsApp window closed 2h ago: wait for" in text
            and "internal note instead." in text
        )
        assert app.composer.placeholder == (
            "The WhatsApp window closed 2h ago: wait for the customer to write again, or reach them on another "
            "channel. Escape, then n writes an internal note instead."
        )
        await pilot.press(*"Hello?", "enter")
        await idle(pilot)
        assert app.composer.text == "Hello?"
        assert "Not sent" in screen_text(app)
        await desk.flush_outbox()
        assert desk.store.outbox() == [] and channels["wa"].sent == []
        await pilot.press("escape", "n")  # the way out offered: a note
        assert not app.composer.has_class("-closed")
        await pilot.press("enter")
        await idle(pilot)
        assert (await desk.thread(1))[-1].private


async def test_sms_length_and_segments_as_the_agent_types(desk, clock, channels, console):
    desk.channels["sms"] = type(channels["wa"])("sms", "sms")
    await desk.load_workspace(
        [Contact(5, "Sam Lee", phones=["+15550100"], identities=[Identity("sms", "+15550100")])],
        [
            Conversation(
                5, "sms", 5, "+15550100", preview="Is it shipped?", last_activity_at=clock()
            )
        ],
        [],
    )
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.conversation_list.current_id == 5
        await pilot.press("r")
        assert subtitle(app) == ""
        await pilot.press(*"Hi Sam")
        assert subtitle(app) == "6 chars · 1 SMS (GSM-7 6/160)"
        app.composer.insert("a" * 160)
        await wait_until(pilot, lambda: subtitle(app) == "166 chars · 2 SMS parts (GSM-7 166/306)")
        app.composer.insert("😊")
        await wait_until(pilot, lambda: subtitle(app).endswith("3 SMS parts (UCS-2 168/201)"))
        assert "3 SMS parts (UCS-2 168/201)" in screen_text(app)
        app.composer.insert("b" * 1500)
        await wait_until(pilot, lambda: "over the 1,600-character SMS limit" in subtitle(app))
        assert app.composer.has_class("-over")


# ---- snapshots --------------------------------------------------------------------------------------


def test_snapshot_canned_picker(snap_compare, desk):
    async def make():  # the shipped examples, previewed for Mia's conversation
        library = CannedLibrary(NO_CANNED_FILE).current()
        return CannedPicker(library, language="en", variables=await desk.canned_variables(1))

    async def type_re(pilot):
        await idle(pilot)
        await pilot.press(*"re")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=type_re)


def test_snapshot_window_closed_composer(snap_compare, desk, clock, console):
    async def close_window(pilot):
        await idle(pilot)
        await set_window(desk, 1, clock() - timedelta(hours=5))
        pilot.app.load_thread(1)
        await idle(pilot)
        await pilot.press("r")
        await idle(pilot)

    assert snap_compare(console(), terminal_size=SIZE, run_before=close_window)


async def test_a_draft_stays_with_its_conversation(desk, clock, canned_path, console):
    app = console(canned=canned_path)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("c", *"thanks", "enter")
        await idle(pilot)
        assert app.composer.text == "Thanks Mia!"
        await pilot.press("escape", "j")
        await idle(pilot)
        assert app.thread.conversation_id == 2 and app.composer.text == ""
        await pilot.press("n", *"vip")
        await pilot.press("escape", "k")
        await idle(pilot)
        assert app.composer.text == "Thanks Mia!" and app.composer.mode == "reply"
        await pilot.press("j")  # soon after "k": the thread follows once the cursor rests
        await wait_until(pilot, lambda: app.thread.conversation_id == 2, what="conversation 2 open")
        assert (
            app.composer.text == "" and app.composer.mode == "reply"
        )  # every conversation opens replying
        await pilot.press("n")
        assert app.composer.text == "vip" and app.composer.mode == "note"


def test_snapshot_ask_dialog(snap_compare):
    async def make():  # the shipped refund reply asks for the order number
        return AskDialog("order number", "Refund confirmed")

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=idle)
