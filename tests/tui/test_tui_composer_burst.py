"""Keys that arrive in one burst (a paste, an ssh packet) all reach the message before Enter sends it."""

from __future__ import annotations

from textual import events

from pilot_helpers import eventually, make_app, wait_until


async def test_enter_in_the_same_burst_sends_every_key_typed_before_it(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(
            pilot,
            lambda: app.conversation_list.current_id == 1,
            what="the list's first conversation",
        )
        await pilot.press("n")
        await wait_until(
            pilot,
            lambda: app.composer.has_focus and app.composer.mode == "note",
            what="the note composer",
        )
        text = "@Ben the last word must survive"
        # no pause between the keys: they queue up together as a terminal burst does
        for char in text:
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("enter", "\r"))

        async def notes() -> list[str]:
            return [m.body for m in await desk.thread(1) if m.private and m.body.startswith("@Ben")]

        await eventually(notes, what="the note saved")
        assert await notes() == [text]
