"""Approved templates in the console, with Pilot against a real desk and store: the closed
window says ctrl+t, the picker filters, asks each value with the body filled in live, and the
thread shows the template sent; the allowance line under the badge; a snapshot of the picker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import FakeChannel
from frontdesk.desk.templates import send_of
from frontdesk.model import MessageTemplate, TemplateExtra, TemplateSend
from frontdesk.tui.screens.template_picker import TemplatePicker
from pilot_helpers import DialogHarness, idle, screen_text, wait_until
from template_channel import TEMPLATES, TemplateChannel

SIZE = (140, 40)


@pytest.fixture
def channels():
    """`wa` lists approved templates; `mail` has none."""
    return {"wa": TemplateChannel("wa"), "mail": FakeChannel("mail", "email")}


async def close_window(desk, clock, conv_id: int = 1) -> None:
    conv = await desk.conversation(conv_id)
    conv.window_expires_at = clock() - timedelta(hours=2)
    with desk.store.batch():
        desk.store.put_conversation(conv)


def notices(app) -> str:
    return "\n".join(" ".join(str(toast.render()).split()) for toast in app.screen.query("Toast"))


def thread_text(app) -> str:
    """The thread's lines as one line of words (a long message wraps)."""
    return " ".join(" ".join(line.replace("▌", " ").split()) for line in app.thread.plain_lines)


def preview(app) -> str:
    return str(app.screen.query_one("#template-preview").render())


async def test_closed_window_refuses_a_reply_and_sends_a_template_picked_and_filled(
    desk, clock, channels, console
):
    await close_window(desk, clock)
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("r")
        await idle(pilot)
        assert app.composer.has_class("-closed")
        assert "ctrl+t sends an approved template" in app.composer.placeholder
        await pilot.press(*"are you there?", "enter")
        await wait_until(pilot, lambda: "Not sent" in notices(app), what="the refusal")
        assert "window closed" in notices(app) and desk.store.outbox() == []
        await pilot.press("ctrl+t")  # in the composer, once the window closed: templates
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")
        text = screen_text(app)
        assert "order_update" in text and "appointment_reminder" in text and "UTILITY" in text
        await pilot.press(*"ship")  # a word of the body filters too
        await idle(pilot)
        assert [t.name for t in app.screen.shown] == ["order_update"]
        assert preview(app) == "Hi ⟨{{1}}⟩, your order ⟨{{2}}⟩ has shipped."
        await pilot.press("enter")
        await idle(pilot)
        assert "{{1}} of order_update (1/2)" in screen_text(app)
        assert not app.screen.query_one("#template-options").display
        await pilot.press("enter")  # empty: refused, asked again
        await idle(pilot)
        assert "{{1}} is empty" in notices(app) and app.screen.values == []
        await pilot.press(*"Mia")
        await idle(pilot)
        assert preview(app) == "Hi Mia, your order ⟨{{2}}⟩ has shipped."
        await pilot.press("enter", *"123")
        await idle(pilot)
        assert preview(app) == "Hi Mia, your order 123 has shipped."
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: (
                "[template order_update] Hi Mia, your order 123 has shipped." in thread_text(app)
            ),
            what="the template in the thread",
        )
        assert not isinstance(app.screen, TemplatePicker)
        assert app.composer.text == "are you there?"  # the refused reply is still the agent's
        await desk.flush_outbox()
        (out,) = channels["wa"].sent
        assert out.template == TemplateSend("order_update", "en_US", ["Mia", "123"])


def footer(app) -> list[str]:
    """The footer's keys as shown: "^t Canned" …"""
    return [f"{key.key_display} {key.description}" for key in app.query("FooterKey")]


async def test_the_composers_footer_says_what_its_key_does_as_the_window_closes_and_opens(
    desk, clock, console
):
    await close_window(desk, clock)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: "^t Template" in footer(app), what="^t Template")
        assert "^t Canned" not in footer(app)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.composer.has_focus, what="back in the composer")
        await pilot.press("escape", "n")  # a note may still use a canned reply
        await wait_until(pilot, lambda: "^t Canned" in footer(app), what="^t Canned in a note")
        assert "^t Template" not in footer(app)
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: "^t Template" in footer(app), what="^t Template again")
        conv = await desk.conversation(1)
        conv.window_expires_at = clock() + timedelta(hours=20)  # the customer wrote again
        with desk.store.batch():
            desk.store.put_conversation(conv)
        app.refresh_window()
        await wait_until(pilot, lambda: "^t Canned" in footer(app), what="^t Canned reopened")
        assert "^t Template" not in footer(app)


async def test_a_remapped_canned_key_moves_the_template_key_with_it(desk, clock, console):
    from frontdesk.launch import resolve_keymap

    await close_window(desk, clock)
    app = console(keymap=resolve_keymap("default", {"insert-canned": "ctrl+y"}))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: "^y Template" in footer(app), what="^y Template")
        assert not any(shown.startswith("^t ") for shown in footer(app))
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")


async def test_ctrl_t_from_the_list_and_a_channel_without_templates(desk, clock, console):
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")
        await pilot.press(*"welcome", "enter")  # no values: sent as chosen
        await wait_until(
            pilot,
            lambda: "[template welcome_back] ¡Hola de nuevo!" in thread_text(app),
            what="the template in the thread",
        )
        await pilot.press("j")  # conversation 2 is e-mail
        await wait_until(pilot, lambda: app.thread.conversation_id == 2, what="conversation 2")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: "No templates" in notices(app), what="the refusal")
        assert "has no message templates" in notices(app)
        assert not isinstance(app.screen, TemplatePicker)


async def test_the_allowance_line_sits_under_the_composer(desk, clock, channels, console):
    channels["wa"].allowance_line = "push quota: 412 of 500 left this month"
    conv = await desk.conversation(1)
    conv.window_expires_at = clock() + timedelta(hours=3, minutes=5)
    with desk.store.batch():
        desk.store.put_conversation(conv)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        line = app.query_one("#allowance")
        await wait_until(pilot, lambda: line.display, what="the allowance line")
        assert str(line.render()) == "push quota: 412 of 500 left this month"
        assert str(app.composer.border_subtitle) == "WhatsApp window 3h left"
        assert "push quota: 412 of 500 left this month" in screen_text(app)
        channels["wa"].allowance_line = "push quota: 411 of 500 left this month"
        await pilot.press(*"hi", "enter")  # a reply changes what the next one costs
        await wait_until(pilot, lambda: "411 of 500" in str(line.render()), what="the new line")
        await pilot.press("escape", "j")
        await wait_until(pilot, lambda: app.thread.conversation_id == 2, what="conversation 2")
        assert not line.display  # e-mail says nothing


async def test_escape_while_filling_goes_back_to_the_list_and_escape_there_closes():
    async def make():
        return TemplatePicker(TEMPLATES, "WhatsApp (wa)")

    app = DialogHarness(make)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        picker = app.screen
        await pilot.press(*"order", "enter", *"Mia", "enter", *"12")
        await idle(pilot)
        assert picker.values == ["Mia"] and picker.has_class("-filling")
        await pilot.press("escape")  # one step back: the list, filtered as it was
        await idle(pilot)
        assert app.screen is picker and app.results == []
        assert not picker.has_class("-filling") and picker.chosen is None
        assert picker.query_one("#template-options").display
        assert app.focused is picker.query_one("#template-query")
        assert [t.name for t in picker.shown] == ["order_update"]
        assert preview(app) == "Hi ⟨{{1}}⟩, your order ⟨{{2}}⟩ has shipped."
        assert "Escape closes" in str(picker.query_one("#template-hint").render())
        await pilot.press("enter", *"Ann", "enter")  # picked again: the values start afresh
        await idle(pilot)
        assert picker.values == ["Ann"]
        assert "Escape: back to the list" in str(picker.query_one("#template-hint").render())
        await pilot.press("escape", "escape")
        await idle(pilot)
        assert app.results == [None] and app.screen is not picker


async def test_in_the_console_escape_steps_back_from_a_value_then_closes_the_picker(
    desk, clock, console
):
    await close_window(desk, clock)
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"hello?", "ctrl+t")  # from the composer of a closed window
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")
        picker = app.screen
        await pilot.press(*"order", "enter", *"Mia")
        await idle(pilot)
        assert picker.has_class("-filling")
        await pilot.press("escape")
        await idle(pilot)
        assert app.screen is picker and not picker.has_class("-filling")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not picker, what="the picker closed")
        assert app.composer.text == "hello?" and desk.store.outbox() == []


PROMO = MessageTemplate(
    "spring_sale",
    "en_US",
    "MARKETING",
    "Hi {{1}}, the sale is on.",
    ("1",),
    (
        TemplateExtra("header", "image", "image"),
        TemplateExtra("button", "url", "Shop now", 0, "https://shop.example/s/{{1}}"),
        TemplateExtra("button", "copy_code", "Copy code", 2),
    ),
)


def label(app) -> str:
    return str(app.screen.query_one("#template-label").render())


async def test_the_picker_asks_for_the_header_then_the_body_then_the_buttons():
    async def make():
        return TemplatePicker([*TEMPLATES, PROMO], "WhatsApp (wa)")

    app = DialogHarness(make)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        picker = app.screen
        assert "4 values" in screen_text(app)  # the row counts the header's and buttons' too
        await pilot.press(*"spring", "enter")
        await idle(pilot)
        assert "the header image's link (https://…) of spring_sale (1/4)" in label(app)
        assert preview(app).startswith("[image: ⟨link⟩]\nHi ⟨{{1}}⟩, the sale is on.")
        await pilot.press(*"file:///etc/passwd", "enter")  # refused, asked again
        await idle(pilot)
        assert "a link starting https://" in notices(app) and picker.values == []
        await pilot.press("ctrl+u", *"https://cdn.example/sale.png", "enter")
        await idle(pilot)
        assert "{{1}} of spring_sale (2/4)" in label(app)
        await pilot.press(*"Mia", "enter")
        await idle(pilot)
        assert "button 'Shop now'" in label(app) and "(3/4)" in label(app)
        await pilot.press(*"spring24")
        await idle(pilot)
        assert "[Shop now → https://shop.example/s/spring24]" in preview(app)
        await pilot.press("enter", *"SAVE25", "enter")
        await idle(pilot)
        assert app.results == [
            send_of(PROMO, ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"])
        ]


async def test_a_template_with_a_header_and_buttons_goes_from_the_console_to_the_channel(
    desk, clock, channels, console
):
    channels["wa"].listed = [*TEMPLATES, PROMO]
    await close_window(desk, clock)
    app = console()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, TemplatePicker), what="picker")
        await pilot.press(*"spring", "enter", *"https://cdn.example/sale.png", "enter")
        await pilot.press(*"Mia", "enter", *"spring24", "enter", *"SAVE25", "enter")
        await wait_until(
            pilot,
            lambda: "[Copy code: SAVE25]" in thread_text(app),
            what="the template in the thread",
        )
        assert "Hi Mia, the sale is on. [Shop now → https://shop.example/s/spring24]" in (
            thread_text(app)
        )
        await desk.flush_outbox()
        (out,) = channels["wa"].sent
        assert out.template == send_of(
            PROMO, ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"]
        )


def test_snapshot_template_picker_filling_a_button(snap_compare):
    async def make():
        return TemplatePicker([PROMO], "WhatsApp (wa)")

    async def fill_three(pilot):
        await idle(pilot)
        await pilot.press("enter", *"https://cdn.example/sale.png", "enter", *"Mia", "enter")
        await pilot.press(*"spr")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=fill_three)


def test_snapshot_template_picker_filling_a_value(snap_compare):
    async def make():
        return TemplatePicker(TEMPLATES, "WhatsApp (wa)")

    async def fill_one(pilot):
        await idle(pilot)
        await pilot.press(*"order", "enter", *"Mia", "enter", *"12")
        await idle(pilot)

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=fill_one)


def test_snapshot_template_picker_list(snap_compare):
    async def make():
        return TemplatePicker(TEMPLATES, "WhatsApp (wa)")

    assert snap_compare(DialogHarness(make), terminal_size=SIZE, run_before=idle)


async def test_a_hostile_template_from_the_provider_is_shown_inert():
    from conftest import HOSTILE_BODY, HOSTILE_NAME
    from frontdesk.model import MessageTemplate

    hostile = MessageTemplate(HOSTILE_NAME, "en\x1b[2J", "[red]X", HOSTILE_BODY + " {{1}}", ("1",))

    async def make():
        return TemplatePicker([hostile], "WhatsApp")

    app = DialogHarness(make)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        text = screen_text(app)
        assert "\x1b" not in text and "\u202e" not in text
        assert "[bold]Mallory[/bold]" in text  # markup shown as typed, not applied
        await pilot.press("enter", *"ok", "enter")
        await idle(pilot)
        assert app.results == [TemplateSend(HOSTILE_NAME, "en\x1b[2J", ["ok"])]
