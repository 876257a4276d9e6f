"""Sending files from the console: the path prompt with completion, the attached files, the checks, sending."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from frontdesk.keymaps.loader import presets
from frontdesk.launch import resolve_keymap
from frontdesk.tui.screens.attach_dialog import AttachDialog, complete_path
from pilot_helpers import idle, record_notifications, screen_text, wait_until

SIZE = (140, 40)


@pytest.fixture
def files(tmp_path):
    """A folder of the agent's with a PDF, a photo and a subfolder."""
    folder = tmp_path / "agent files"
    (folder / "scans").mkdir(parents=True)
    (folder / "return-label.pdf").write_bytes(b"%PDF-1.4 label")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8" + b"j" * 3000)
    (folder / ".hidden").write_text("no")
    return folder


@pytest.fixture(autouse=True)
def wa_sends_files(channels):
    channels["wa"].supports_attachments = True


def outbox_messages(desk):
    return [desk.store.message(e.conversation_id, e.message_id) for e in desk.store.outbox()]


async def attach(pilot, typed: str, *, tab: bool = False) -> None:
    app = pilot.app
    await pilot.press("ctrl+o")
    await wait_until(pilot, lambda: isinstance(app.screen, AttachDialog), what="the path prompt")
    path = app.screen.query_one("#attach-path", Input)
    path.value = typed
    path.cursor_position = len(typed)
    if tab:
        await wait_until(pilot, lambda: path._suggestion != "", what="a completion")
        await pilot.press("tab")
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: not isinstance(app.screen, AttachDialog), what="the prompt closed"
    )


def test_completion_follows_the_folder_as_typed(files, monkeypatch):
    monkeypatch.setenv("HOME", str(files))
    assert complete_path(f"{files}/ret") == f"{files}/return-label.pdf"
    assert complete_path(f"{files}/sc") == f"{files}/scans/"
    assert complete_path(f"{files}/") == f"{files}/photo.jpg"  # hidden files need a typed dot
    assert complete_path(f"{files}/.h") == f"{files}/.hidden"
    assert complete_path("~/ph") == "~/photo.jpg"
    assert complete_path("~") == "~/"
    assert complete_path(f"{files}/nothing") is None
    assert complete_path(f"{files}/return-label.pdf") is None
    assert complete_path("/no/such/folder/x") is None


async def test_attach_with_completion_see_the_file_send_it_and_the_thread_shows_it(
    desk, clock, console, files, channels
):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"Here is your label")
        await attach(pilot, f"{files}/ret", tab=True)
        await wait_until(pilot, lambda: app.composer.files_attached == 1, what="the file attached")
        assert "return-label.pdf · 14 B" in screen_text(app)
        assert app.focused is app.composer
        await pilot.press("enter")
        await wait_until(pilot, lambda: outbox_messages(desk), what="the reply queued")
        [sent] = outbox_messages(desk)
        assert sent.body == "Here is your label"
        [attachment] = sent.attachments
        assert (attachment.name, attachment.mime, attachment.size) == (
            "return-label.pdf",
            "application/pdf",
            14,
        )
        assert open(attachment.ref, "rb").read() == b"%PDF-1.4 label"
        assert app.composer.files_attached == 0 and not app.attached_files.files
        await wait_until(
            pilot,
            lambda: "📎 return-label.pdf · application/p" in screen_text(app),
            what="the thread showing the attachment",
        )


async def test_a_file_the_channel_refuses_is_not_attached_and_says_why_in_one_line(
    desk, clock, console, files, channels
):
    channels["wa"].attachment_problem = lambda name, mime, size: (
        "wa: files over 1 KB cannot be sent" if size > 1024 else None
    )
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await idle(pilot)
        await pilot.press("r")
        await attach(pilot, f"{files}/photo.jpg")
        await wait_until(pilot, lambda: seen, what="the refusal")
        assert seen == ["wa: files over 1 KB cannot be sent"]
        await attach(pilot, f"{files}/missing.pdf")
        await wait_until(pilot, lambda: len(seen) == 2, what="the second refusal")
        assert "missing.pdf: no such file" in seen[1] and "\n" not in seen[1]
        await attach(pilot, f"{files}/scans")
        await wait_until(pilot, lambda: len(seen) == 3, what="the third refusal")
        assert "is a folder" in seen[2]
        assert app.composer.files_attached == 0 and not app.attached_files.display
        await pilot.press("enter")  # nothing written, nothing attached: nothing sent
        await idle(pilot)
        assert outbox_messages(desk) == []


async def test_a_note_then_a_reply_with_a_file_on_the_next_conversation(
    desk, clock, console, files
):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        seen = record_notifications(app)
        await idle(pilot)
        await pilot.press("n", *"VIP customer")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: seen, what="the note refusal")
        assert "never notes" in seen[0] and not isinstance(app.screen, AttachDialog)
        await pilot.press("enter")
        await idle(pilot)
        assert (await desk.thread(1))[-1].private
        await pilot.press("escape", "j", "j")  # conversation 3, on wa too
        await idle(pilot)
        await pilot.press("r")
        await attach(pilot, f"{files}/photo.jpg")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, AttachDialog))
        assert app.screen.query_one("#attach-path", Input).value == f"{files}/"
        await pilot.press(*"return-label.pdf", "enter")  # typed on after the folder
        await wait_until(pilot, lambda: app.composer.files_attached == 2, what="two files")
        await pilot.press("ctrl+l")  # the label was a mistake
        await wait_until(pilot, lambda: app.composer.files_attached == 1, what="one taken off")
        conv_id = app._draft_for
        await pilot.press("escape", "k", "r")  # another conversation: its reply has no files
        await idle(pilot)
        assert app.composer.files_attached == 0
        await pilot.press("escape", "j", "r")
        await idle(pilot)
        assert app._draft_for == conv_id and app.composer.files_attached == 1
        await pilot.press("enter")  # files alone, no text
        await wait_until(pilot, lambda: outbox_messages(desk), what="the reply queued")
        [sent] = outbox_messages(desk)
        assert sent.conversation_id == conv_id and sent.body == ""
        assert [a.name for a in sent.attachments] == ["photo.jpg"]


@pytest.mark.parametrize("preset", presets())
async def test_files_attach_and_come_off_with_the_same_keys_in_every_preset(
    desk, clock, console, files, preset
):
    app = console(keymap=resolve_keymap(preset, None), keymap_name=preset)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"Label attached")
        await attach(pilot, f"{files}/return-label.pdf")
        await wait_until(pilot, lambda: app.composer.files_attached == 1, what="the file attached")
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: app.composer.files_attached == 0, what="taken off")
