"""The console tells every desk that the agent types (a Chatwoot server shows it in its dashboard),
throttled as in team mode, and that they stopped."""

from __future__ import annotations

import pytest

from pilot_helpers import idle, make_app, wait_until

SIZE = (140, 40)


@pytest.mark.parametrize("mode", ["chatwoot", "solo"])
async def test_typing_is_reported_throttled_and_ends_on_leaving_the_composer(desk, clock, mode):
    desk.mode = mode
    calls: list[tuple[int, bool]] = []

    async def set_typing(conv_id: int, typing: bool) -> None:
        calls.append((conv_id, typing))

    desk.set_typing = set_typing
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r", *"on its way")
        await wait_until(pilot, lambda: calls == [(1, True)], what="typing reported")
        await pilot.press("escape")
        await wait_until(pilot, lambda: calls == [(1, True), (1, False)], what="typing ended")
    assert calls == [(1, True), (1, False)]  # ten keys, one report: throttled
