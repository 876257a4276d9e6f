"""Templates over a real Unix socket: an attached console lists them, sends one once the window
closed (the served desk queues and sends it), reads the allowance line, and gets the desk's
one-line error where the channel has none."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import NOW, FakeChannel
from frontdesk.desk import DeskError
from frontdesk.model import MessageTemplate, TemplateExtra, TemplateSend
from frontdesk.team.client import DeskClient, Timing
from frontdesk.team.peercred import user_name
from frontdesk.team.server import Admission, DeskServer
from pilot_helpers import eventually
from template_channel import TEMPLATES, TemplateChannel

ME = user_name(os.getuid())
QUICK = Timing(ping=0.1, silent=1.0, retry_first=0.02, retry_most=0.1)


@pytest.fixture
def channels():
    return {"wa": TemplateChannel("wa"), "mail": FakeChannel("mail", "email")}


@pytest.fixture
async def client(desk):
    folder = Path(tempfile.mkdtemp(prefix="fd-", dir="/tmp"))
    server = DeskServer(
        desk, folder / "desk.sock", admission=Admission(ME, frozenset(), Path("/x")), version="t"
    )
    await server.start()
    attached = await DeskClient.attach(folder / "desk.sock", QUICK)
    yield attached
    await attached.stop()
    await server.close()
    shutil.rmtree(folder, ignore_errors=True)


async def test_an_attached_console_lists_and_sends_a_template_after_the_window(
    client, desk, channels
):
    conv = await desk.conversation(1)
    conv.window_expires_at = NOW - timedelta(hours=3)
    with desk.store.batch():
        desk.store.put_conversation(conv)
    listed = await client.templates(1)
    assert all(isinstance(t, MessageTemplate) for t in listed)
    assert sorted(listed, key=lambda t: t.name) == sorted(TEMPLATES, key=lambda t: t.name)
    window = await client.window(1)
    assert window.closed and window.templates
    with pytest.raises(DeskError, match="window closed"):
        await client.reply(1, "hello?")
    sent = await client.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "42"]))
    assert sent.body == "[template order_update] Hi Mia, your order 42 has shipped."
    assert sent.template == TemplateSend("order_update", "en_US", ["Mia", "42"])
    await desk.flush_outbox()
    await eventually(lambda: channels["wa"].sent, what="the template sent by the served desk")
    assert channels["wa"].sent[0].template == TemplateSend("order_update", "en_US", ["Mia", "42"])
    with pytest.raises(DeskError, match="has a new line or tab"):
        await client.send_template(1, TemplateSend("order_update", "en_US", ["Mia", "4\n2"]))


async def test_the_allowance_line_and_a_channel_without_templates(client, channels):
    assert await client.allowance(1) is None
    channels["wa"].allowance_line = "push quota: 412 of 500 left this month"
    assert await client.allowance(1) == "push quota: 412 of 500 left this month"
    with pytest.raises(DeskError, match=r"channel 'mail' \(email\) has no message templates"):
        await client.templates(2)


async def test_a_template_with_a_header_and_buttons_crosses_the_socket(client, desk, channels):
    promo = MessageTemplate(
        "spring_sale",
        "en_US",
        "MARKETING",
        "Hi {{1}}.",
        ("1",),
        (
            TemplateExtra("header", "text", "season", text="Our {{season}} sale"),
            TemplateExtra("button", "url", "Shop", 1, "https://shop.example/{{1}}"),
        ),
    )
    channels["wa"].listed = [*TEMPLATES, promo]
    listed = await client.templates(1)
    assert promo in listed
    send = TemplateSend(
        "spring_sale",
        "en_US",
        ["Mia"],
        [replace(e, value=v) for e, v in zip(promo.extras, ["spring", "s/24"], strict=True)],
    )
    sent = await client.send_template(1, send)
    assert sent.template == send
    await desk.flush_outbox()
    await eventually(lambda: channels["wa"].sent, what="the template sent by the served desk")
    assert channels["wa"].sent[0].template == send
