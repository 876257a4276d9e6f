"""Keys that arrive in one burst (a paste, an ssh packet) all reach the message before Enter sends it."""

from __future__ import annotations

from textual import events

from pilot_helpers import make_app


async def test_enter_in_the_same_burst_sends_every_key_typed_before_it(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("n")
        await pilot.pause()
        text = "@Ben the last word must survive"
        # no pause between the keys: they queue up together as a terminal burst does
        for char in text:
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("enter", "\r"))
        for _ in range(20):
            await pilot.pause(0.05)
            notes = [m for m in await desk.thread(1) if m.private and m.body.startswith("@Ben")]
            if notes:
                break
        assert [m.body for m in notes] == [text]
