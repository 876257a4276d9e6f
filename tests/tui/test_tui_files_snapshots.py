"""What the composer looks like with files attached: snapshot at a fixed size and clock."""

from __future__ import annotations

from textual.widgets import Input

from frontdesk.tui.screens.attach_dialog import AttachDialog
from pilot_helpers import idle, make_app, wait_until

SIZE = (140, 40)


def test_composer_with_two_files_attached(snap_compare, desk, clock, channels, tmp_path):
    channels["wa"].supports_attachments = True
    label = tmp_path / "label [bold]2026[red] \x1b[31m.pdf"  # a name is never markup nor escapes
    label.write_bytes(b"%PDF" * 600)
    photo = tmp_path / "photo of the broken lamp.jpg"
    photo.write_bytes(b"\xff\xd8" * 700_000)

    async def attach_two(pilot):
        app = pilot.app
        await idle(pilot)
        await pilot.press("r", *"Here are the label and the photo")
        for path in (label, photo):
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: isinstance(app.screen, AttachDialog))
            app.screen.query_one("#attach-path", Input).value = str(path)
            await pilot.press("enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, AttachDialog))
        await wait_until(pilot, lambda: app.composer.files_attached == 2)

    assert snap_compare(make_app(desk, clock), terminal_size=SIZE, run_before=attach_two)
