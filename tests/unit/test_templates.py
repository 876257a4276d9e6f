"""Approved templates at the desk: parameter rules, the rendered thread line, the outbox entry
and the dispatcher's Outgoing.template through retries and restarts; the allowance line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.backends.base import PermanentError, TransientError
from frontdesk.desk import Desk
from frontdesk.desk.errors import DeskError
from frontdesk.desk.templates import (
    check_parameters,
    fill_body,
    parameter_problem,
    TEMPLATE_LIST_SECONDS,
    Ask,
    ask_problem,
    rendered,
    send_of,
    template_asks,
    template_from_extra,
    template_preview,
)
from frontdesk.model import Delivery, MessageTemplate, TemplateExtra, TemplateSend
from frontdesk.store import Store
from conftest import NOW, run_sync
from template_channel import TEMPLATES, TemplateChannel

ORDER = TEMPLATES[0]


@pytest.fixture
def channels():
    """`wa` lists templates; `mail` has none."""
    from conftest import FakeChannel

    return {"wa": TemplateChannel("wa"), "mail": FakeChannel("mail", "email")}


async def close_window(desk, conv_id: int = 1) -> None:
    conv = await desk.conversation(conv_id)
    conv.window_expires_at = NOW - timedelta(hours=2)
    with desk.store.batch():
        desk.store.put_conversation(conv)


def test_rendering_fills_each_placeholder_and_names_the_template():
    assert rendered(ORDER, ["Mia", "123"]) == (
        "[template order_update] Hi Mia, your order 123 has shipped."
    )
    # a value that looks like a placeholder is not filled again
    assert rendered(ORDER, ["{{2}}", "9"]) == (
        "[template order_update] Hi {{2}}, your order 9 has shipped."
    )
    assert fill_body("Hi {{ name }} and {{other}}", ("name",), {"name": "Ann"}) == (
        "Hi Ann and {{other}}"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("a\nb", "new line or tab"),
        ("a\tb", "new line or tab"),
        ("a     b", "more than 4 spaces in a row"),
        ("x" * 1025, "1,025 characters; at most 1,024"),
        ("a\x1b[2Jb", "control character"),
    ],
)
def test_parameter_rules_refuse_what_whatsapp_refuses(value, problem):
    found = parameter_problem("1", value)
    assert found is not None and problem in found and found.startswith("{{1}}")


def test_parameter_rules_accept_ordinary_values():
    for value in ("123", "a    b", "x" * 1024, "山田 花子 🌸", "Mon 3 Dec, 10:00"):
        assert parameter_problem("1", value) is None
    check_parameters(ORDER, ["Mia", "123"])
    with pytest.raises(DeskError, match="takes 2 value"):
        check_parameters(ORDER, ["Mia"])


def test_damaged_outbox_extras_read_as_no_template():
    good = {"template": {"name": "t", "language": "en", "parameters": ["a"]}}
    assert template_from_extra(good) == TemplateSend("t", "en", ["a"])
    for bad in (
        {},
        {"template": "t"},
        {"template": {"name": 1}},
        {"template": {"name": "t", "language": "en", "parameters": [1]}},
        {"template": {"name": "t", "language": "en", "extras": "x"}},
        {"template": {"name": "t", "language": "en", "extras": [["header", "image"]]}},
        {"template": {"name": "t", "language": "en", "extras": [["b", "url", "x", "0", "", ""]]}},
        {"template": {"name": "t", "language": "en", "extras": [["b", "url", "x", 0, "", None]]}},
    ):
        assert template_from_extra(bad) is None


async def test_a_template_is_sent_once_the_window_closed_and_a_reply_is_refused(desk, channels):
    await close_window(desk)
    window = await desk.window(1)
    assert window.closed and window.templates
    assert "ctrl+t sends an approved template" in window.explanation
    with pytest.raises(DeskError, match="window closed"):
        await desk.reply(1, "hello?")
    names = [(t.name, t.language) for t in await desk.templates(1)]
    assert names == [
        ("appointment_reminder", "en_US"),
        ("order_update", "en_US"),
        ("welcome_back", "es"),
    ]
    sent = await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "123"]))
    assert sent.body == "[template order_update] Hi Mia, your order 123 has shipped."
    assert sent.delivery is Delivery.PENDING and sent.template == TemplateSend(
        "order_update", "en_US", ["Mia", "123"]
    )
    (entry,) = desk.store.outbox()
    assert entry.extra["template"] == {
        "name": "order_update",
        "language": "en_US",
        "parameters": ["Mia", "123"],
    }
    await desk.flush_outbox()
    (out,) = channels["wa"].sent
    assert out.template == TemplateSend("order_update", "en_US", ["Mia", "123"])
    assert (await desk.message(1, sent.id)).delivery is Delivery.SENT
    assert (await desk.thread(1))[-1].body.startswith("[template order_update]")


async def test_templates_are_refused_where_the_channel_has_none_or_values_are_wrong(desk):
    with pytest.raises(DeskError, match=r"channel 'mail' \(email\) has no message templates"):
        await desk.templates(2)
    with pytest.raises(DeskError, match="no approved template 'nope'"):
        await desk.send_template(1, TemplateSend("nope", "en_US", []))
    with pytest.raises(DeskError, match="new line or tab"):
        await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "1\n2"]))
    with pytest.raises(DeskError, match="takes 2 value"):
        await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia"]))
    assert desk.store.outbox() == []


async def test_an_automatic_retry_keeps_the_template(desk, channels, clock):
    await close_window(desk)
    wa = channels["wa"]
    wa.failures = [TransientError("503 from the API")]
    sent = await desk.send_template(1, TemplateSend("appointment_reminder", "en_US", ["Mon"]))
    await desk.flush_outbox()
    (entry,) = desk.store.outbox()
    assert entry.state == "pending" and entry.next_attempt_at is not None
    clock.advance(hours=1)
    await desk.flush_outbox()
    assert [o.template for o in wa.sent] == [
        TemplateSend("appointment_reminder", "en_US", ["Mon"])
    ] * 2
    assert (await desk.message(1, sent.id)).delivery is Delivery.SENT


async def test_a_failed_template_sent_again_by_the_agent_is_still_a_template(desk, channels):
    await close_window(desk)
    wa = channels["wa"]
    wa.failures = [PermanentError("policy block")]
    sent = await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "7"]))
    await desk.flush_outbox()
    assert (await desk.message(1, sent.id)).delivery is Delivery.FAILED
    await desk.retry(1, sent.id)  # the window is closed: a template may go, a reply may not
    await desk.flush_outbox()
    assert wa.sent[-1].template == TemplateSend("order_update", "en_US", ["Mia", "7"])
    assert (await desk.message(1, sent.id)).delivery is Delivery.SENT


async def test_the_template_list_is_kept_per_channel_for_a_few_minutes(desk, channels, clock):
    await close_window(desk)
    wa = channels["wa"]
    await desk.templates(1)  # the picker opens: the list is read from the channel
    await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "1"]))
    await desk.templates(1)
    await desk.send_template(1, TemplateSend("welcome_back", "es", []))
    assert wa.lists == 1
    clock.advance(seconds=TEMPLATE_LIST_SECONDS + 1)
    await desk.templates(1)  # the picker's next open after that reads it again
    assert wa.lists == 2


async def test_a_template_the_kept_list_lacks_is_looked_up_again_before_refusing(desk, channels):
    await close_window(desk)
    wa = channels["wa"]
    await desk.templates(1)
    fresh = MessageTemplate("fresh_offer", "en_US", "MARKETING", "New: {{1}}", ("1",))
    wa.listed = [*TEMPLATES, fresh]  # approved since the list was read
    sent = await desk.send_template(1, TemplateSend("fresh_offer", "en_US", ["tea"]))
    assert sent.body == "[template fresh_offer] New: tea" and wa.lists == 2
    with pytest.raises(DeskError, match="no approved template 'gone'"):
        await desk.send_template(1, TemplateSend("gone", "en_US", []))
    assert wa.lists == 3


async def test_a_failed_template_send_drops_the_kept_list(desk, channels):
    await close_window(desk)
    wa = channels["wa"]
    wa.failures = [PermanentError("(#132001) Template name does not exist in the translation")]
    await desk.send_template(1, TemplateSend("welcome_back", "es", []))
    await desk.flush_outbox()
    assert wa.lists == 1
    await desk.templates(1)  # withdrawn at the channel, perhaps: the picker reads it again
    assert wa.lists == 2


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


def test_a_template_asks_for_its_header_then_its_body_then_its_buttons():
    asks = template_asks(PROMO)
    assert [(a.label, a.extra.kind if a.extra else "body") for a in asks] == [
        ("image", "image"),
        ("1", "body"),
        ("Shop now", "url"),
        ("Copy code", "copy_code"),
    ]
    send = send_of(PROMO, ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"])
    assert send == TemplateSend(
        "spring_sale",
        "en_US",
        ["Mia"],
        [
            TemplateExtra("header", "image", "image", value="https://cdn.example/sale.png"),
            TemplateExtra(
                "button", "url", "Shop now", 0, "https://shop.example/s/{{1}}", "spring24"
            ),
            TemplateExtra("button", "copy_code", "Copy code", 2, value="SAVE25"),
        ],
    )


def test_the_preview_shows_header_body_and_buttons_with_what_is_still_to_come():
    assert template_preview(ORDER, ["Mia"]) == "Hi Mia, your order ⟨{{2}}⟩ has shipped."
    assert template_preview(PROMO, ["https://cdn.example/sale.png", "Mia"]) == (
        "[image: https://cdn.example/sale.png]\n"
        "Hi Mia, the sale is on.\n"
        "[Shop now → https://shop.example/s/⟨{{1}}⟩]\n"
        "[Copy code: ⟨coupon code⟩]"
    )
    header = MessageTemplate(
        "t", "en", body="Body", extras=(TemplateExtra("header", "text", "n", text="Hi {{n}}"),)
    )
    assert template_preview(header, []) == "Hi ⟨{{n}}⟩\nBody"
    assert template_preview(header, ["Ann"]) == "Hi Ann\nBody"


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("image", "file:///etc/passwd", "a link starting https://"),
        ("image", "https://cdn.example/a b.png", "a link starting https://"),
        ("document", "", "is empty"),
        ("url", "a b", "no spaces"),
        ("url", "x" * 2001, "at most 2,000"),
        ("copy_code", "SAVE-25-PERCENT-NOW", "at most 15"),
        ("text", "two\nlines", "new line or tab"),
        ("text", "x" * 61, "a header holds 60"),
    ],
)
def test_header_and_button_values_are_judged_before_sending(kind, value, problem):
    part = "button" if kind in ("url", "copy_code") else "header"
    ask = Ask("x", TemplateExtra(part, kind, "x"))
    assert problem in ask_problem(ask, value)


def test_ordinary_header_and_button_values_pass():
    for kind, value in [
        ("image", "https://cdn.example/sale.png"),
        ("video", "http://cdn.example/clip.mp4"),
        ("url", "order/123?ref=wa"),
        ("copy_code", "SAVE25"),
        ("text", "Spring"),
    ]:
        part = "button" if kind in ("url", "copy_code") else "header"
        assert ask_problem(Ask("x", TemplateExtra(part, kind, "x")), value) is None


async def test_a_template_with_a_header_and_buttons_is_sent_with_their_values(
    desk, channels, tmp_path
):
    await close_window(desk)
    wa = channels["wa"]
    wa.listed = [*TEMPLATES, PROMO]
    answers = ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"]
    sent = await desk.send_template(1, send_of(PROMO, answers))
    assert sent.template == send_of(PROMO, answers)
    assert sent.body == (  # the thread says which picture, link and code went out
        "[template spring_sale] [image: https://cdn.example/sale.png]\n"
        "Hi Mia, the sale is on.\n"
        "[Shop now → https://shop.example/s/spring24]\n"
        "[Copy code: SAVE25]"
    )
    (entry,) = desk.store.outbox()
    assert template_from_extra(entry.extra) == send_of(PROMO, answers)
    wa.failures = [PermanentError("policy block")]
    await desk.flush_outbox()
    # the agent sends it again: the header and buttons come from the stored message
    stored = desk.store.message(1, sent.id)
    assert stored.template == send_of(PROMO, answers)
    await desk.retry(1, sent.id)
    await desk.flush_outbox()
    assert wa.sent[-1].template == send_of(PROMO, answers)


async def test_a_missing_or_wrong_header_or_button_value_is_refused(desk, channels):
    await close_window(desk)
    channels["wa"].listed = [*TEMPLATES, PROMO]
    with pytest.raises(DeskError, match="spring_sale.*Copy code"):
        await desk.send_template(
            1,
            TemplateSend(
                "spring_sale",
                "en_US",
                ["Mia"],
                list(
                    send_of(
                        PROMO, ["https://cdn.example/sale.png", "Mia", "spring24", "SAVE25"]
                    ).extras[:2]
                ),
            ),
        )
    with pytest.raises(DeskError, match="a link starting https://"):
        await desk.send_template(1, send_of(PROMO, ["ftp://x", "Mia", "spring24", "SAVE25"]))
    assert desk.store.outbox() == []


def test_a_queued_template_survives_a_restart(tmp_path, clock, workspace):
    from conftest import FakeChannel

    wa = TemplateChannel("wa")

    async def queue(store):
        desk = Desk(store, {"wa": wa}, agent="Aiko", clock=clock)
        await desk.load_workspace(workspace.contacts, workspace.conversations, workspace.messages)
        await close_window(desk)
        return await desk.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "1"]))

    async def send(store):
        desk = Desk(
            store, {"wa": wa, "mail": FakeChannel("mail", "email")}, agent="Aiko", clock=clock
        )
        await desk.flush_outbox()
        return desk

    with Store.open(tmp_path / "data") as store:
        sent = run_sync(queue(store))
    with Store.open(tmp_path / "data") as store:
        desk = run_sync(send(store))
        assert store.message(1, sent.id).template == TemplateSend(
            "order_update", "en_US", ["Mia", "1"]
        )
    assert [o.template for o in wa.sent] == [TemplateSend("order_update", "en_US", ["Mia", "1"])]
    assert desk is not None


async def test_the_allowance_line_and_its_errors(desk, channels, caplog):
    wa = channels["wa"]
    assert await desk.allowance(1) is None
    wa.allowance_line = "push quota: 412 of 500 left this month"
    assert await desk.allowance(1) == "push quota: 412 of 500 left this month"
    wa.allowance_error = RuntimeError("quota endpoint down")
    assert await desk.allowance(1) is None
    assert "allowance not read: quota endpoint down" in caplog.text
    assert await desk.allowance(999) is None


def test_the_picker_filter_matches_every_word_and_puts_name_starts_first():
    from frontdesk.desk.templates import matching_templates

    assert matching_templates("", TEMPLATES) == TEMPLATES
    assert [t.name for t in matching_templates("order", TEMPLATES)] == ["order_update"]
    assert [t.name for t in matching_templates("UTILITY your", TEMPLATES)] == [
        "order_update",
        "appointment_reminder",
    ]
    assert [t.name for t in matching_templates("es hola", TEMPLATES)] == ["welcome_back"]
    assert matching_templates("refund", TEMPLATES) == []
    assert [t.name for t in matching_templates("appointment", TEMPLATES)] == [
        "appointment_reminder"
    ]


@given(st.text(max_size=1500))
def test_any_value_is_judged_in_one_line_and_what_passes_is_sent_as_typed(value):
    problem = parameter_problem("1", value)
    if problem is not None:
        assert "\n" not in problem and problem.startswith("{{1}}")
        return
    assert value.strip() and len(value) <= 1024
    assert not any(c in value for c in "\n\r\t") and "     " not in value
    assert rendered(ORDER, [value, "9"]) == (
        f"[template order_update] Hi {value}, your order 9 has shipped."
    )
