"""New-message alerts: escaping of hostile text in OSC sequences, who is alerted, and the Pilot flow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.driver import Driver

from frontdesk.model import ContactRef, Conversation, Inbound, Status
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.notify import (
    NotifySettings,
    desktop_sequences,
    in_scope,
    osc2,
    osc9,
    osc777,
    plain,
    title_text,
    tmux_passthrough,
)
from frontdesk.tui.terminal import TerminalOutput
from pilot_helpers import make_app, idle, wait_until, TerminalRecorder

SIZE = (140, 40)
# as in conftest.py (not importable under --import-mode=importlib): contact 3's name and a hostile body
HOSTILE_NAME = "[bold]Mallory[/bold]\x1b[2J\u202eevil\x1b]52;c;SGVsbG8=\x07"
HOSTILE_BODY = (
    "[bold]x[/bold] \x1b[2J\x1b]52;c;SGVsbG8=\x07 \u202ereversed\u202c \x1b]0;title\x07done"
)


# ---- formatting ------------------------------------------------------------------------------


def payload(sequence: str, start: str) -> str:
    """What is between the sequence's introducer and its BEL terminator."""
    assert sequence.startswith(start) and sequence.endswith("\x07")
    return sequence[len(start) : -1]


def assert_inert(text: str) -> None:
    """No character that could end the sequence or start another one."""
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
    assert "\u202e" not in text


def test_plain_removes_controls_escapes_and_bidi_and_bounds_the_length():
    text = plain(HOSTILE_BODY, 200)
    assert_inert(text)
    assert "52;c;" not in text and "title" not in text.replace(
        "done", ""
    )  # whole sequences are gone
    assert plain("a\x07b\x1bc\x9bd\x00e\nf", 50) == "abe f"  # ESC c and CSI d are whole sequences
    long = plain("x" * 500, 20)
    assert len(long) == 20 and long.endswith("…")


def test_osc9_is_one_clean_sequence():
    sequence = osc9(f"frontdesk: {HOSTILE_NAME}", HOSTILE_BODY)
    text = payload(sequence, "\x1b]9;")
    assert_inert(text)
    assert text.startswith("frontdesk: [bold]Mallory[/bold]")
    assert sequence.count("\x07") == 1 and sequence.count("\x1b") == 1


def test_osc9_never_starts_with_a_digit_command():
    # Windows Terminal / ConEmu read "OSC 9 ; 4 ; …" as progress, "9 ; 2" as a message box
    assert not payload(osc9("4;3;100", "x"), "\x1b]9;")[0].isdigit()


def test_osc777_fields_cannot_be_split_by_semicolons():
    sequence = osc777("frontdesk: a;b", "body;with;semis\x07\x1b]777;notify;evil;x")
    fields = payload(sequence, "\x1b]777;").split(";")
    assert fields[0] == "notify" and len(fields) == 3
    assert fields[1] == "frontdesk: a,b" and fields[2].startswith("body,with,semis")
    assert_inert(fields[2])


def test_body_is_bounded():
    sequence = osc9("frontdesk: Mia", "é" * 10_000)
    assert len(sequence) < 300


def test_title_and_count():
    assert osc2(title_text("frontdesk", 3)) == "\x1b]2;(3) frontdesk\x07"
    assert osc2(title_text("frontdesk", 0)) == "\x1b]2;frontdesk\x07"
    assert_inert(payload(osc2("x\x1b]0;evil\x07y"), "\x1b]2;"))


def test_tmux_passthrough_doubles_escapes():
    wrapped = tmux_passthrough("\x1b]9;hi\x07")
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    assert desktop_sequences("osc9", "t", "b", in_tmux=True)[0].startswith("\x1bPtmux;")


def test_desktop_kinds():
    assert [s[:5] for s in desktop_sequences("both", "t", "b")] == ["\x1b]9;t", "\x1b]777"]
    assert desktop_sequences("osc777", "t", "b")[0].startswith("\x1b]777;notify;")
    assert desktop_sequences("off", "t", "b") == []


@pytest.mark.parametrize(
    ("assignee", "status", "expected"),
    [
        ("Aiko", Status.OPEN, {"mine", "mine-and-unassigned", "all"}),
        (None, Status.OPEN, {"mine-and-unassigned", "all"}),
        ("Ben", Status.PENDING, {"all"}),
        ("Aiko", Status.SNOOZED, set()),
        (None, Status.RESOLVED, set()),
    ],
)
def test_scope(assignee, status, expected):
    conv = Conversation(1, "wa", 1, "+1", assignee=assignee, status=status)
    assert {
        s for s in ("mine", "mine-and-unassigned", "all", "off") if in_scope(conv, s, "Aiko")
    } == expected


# ---- the terminal seam -----------------------------------------------------------------------


class RecordingDriver(Driver):
    """A driver that keeps what it is asked to write."""

    def __init__(self, app, **kwargs) -> None:
        super().__init__(app, **kwargs)
        self.written: list[str] = []

    def write(self, data: str) -> None:
        self.written.append(data)

    def start_application_mode(self) -> None: ...

    def disable_input(self) -> None: ...

    def stop_application_mode(self) -> None: ...


async def test_terminal_output_writes_through_the_driver_textual_creates():
    bells = []
    output = TerminalOutput(lambda: bells.append(1))
    output.write("\x1b]2;x\x07")  # before the driver exists: nothing, no error
    tapped = output.tap(RecordingDriver)
    assert issubclass(tapped, RecordingDriver) and tapped.__name__ == "RecordingDriver"
    driver = tapped(None)
    assert output.driver is driver
    output.write("\x1b]2;x\x07")
    output.bell()
    assert driver.written == ["\x1b]2;x\x07"] and bells == [1]


def test_the_app_runs_on_a_tapped_driver(desk):
    plain_class = FrontdeskApp(desk, terminal=TerminalRecorder()).driver_class
    app = FrontdeskApp(desk)
    assert issubclass(app.driver_class, plain_class) and app.driver_class is not plain_class


# ---- the console -----------------------------------------------------------------------------


def recording_app(desk, clock, scope="mine-and-unassigned", desktop="both", bell=True):
    """The console with these notification settings and a recorder as its terminal."""
    recorder = TerminalRecorder()
    app = make_app(
        desk,
        clock,
        terminal=recorder,
        notifications=NotifySettings(scope, bell, desktop, quiet_seconds=0),
    )
    return app, recorder


def inbound(external_id, address, name, body, when):
    return Inbound(external_id, address, ContactRef(address, name), body, created_at=when)


async def test_customer_writing_in_an_unassigned_conversation_rings_and_notifies(desk, clock):
    app, terminal = recording_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert (
            terminal.titles()[-1] == "\x1b]2;(2) frontdesk\x07"
        )  # conversations 1 and 3 are unread
        assert terminal.bells == 0 and terminal.desktop() == []
        # conversation 3 (unassigned, not the one on screen) gets a hostile message
        await desk.ingest(
            "wa", [inbound("live-1", "+15550003", HOSTILE_NAME, HOSTILE_BODY, clock())]
        )
        await wait_until(pilot, lambda: terminal.bells == 1)
        osc_9, osc_777 = terminal.desktop()
        assert osc_9.startswith("\x1b]9;frontdesk: [bold]Mallory") and osc_777.startswith(
            "\x1b]777;notify;frontdesk: "
        )
        for sequence in (osc_9, osc_777):
            assert sequence.count("\x1b") == 1 and sequence.count("\x07") == 1
        # mine: conversation 2 is Aiko's; its first unread makes three waiting
        await desk.ingest(
            "mail",
            [inbound("live-2", "hanako@example.jp", "山田 花子 🌸", "追加の質問です", clock())],
        )
        await wait_until(pilot, lambda: terminal.bells == 2)
        assert "追加の質問です" in terminal.desktop()[-1]
        await wait_until(pilot, lambda: terminal.titles()[-1] == "\x1b]2;(3) frontdesk\x07")
        # the count follows reads and hand-overs too (it is kept per conversation, not recounted)
        await desk.mark_read(1)
        await wait_until(pilot, lambda: terminal.titles()[-1] == "\x1b]2;(2) frontdesk\x07")
        await desk.assign(3, "Ben")
        await wait_until(pilot, lambda: terminal.titles()[-1] == "\x1b]2;(1) frontdesk\x07")


async def test_someone_elses_conversation_and_own_replies_stay_quiet(desk, clock):
    app, terminal = recording_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.assign(3, "Ben")
        await desk.reply(2, "We are on it")
        await desk.ingest("wa", [inbound("live-3", "+15550003", "M", "still there?", clock())])
        await wait_until(
            pilot,
            lambda: any(c.id == 3 and c.unread == 2 for c in app.conversation_list.conversations),
        )
        await idle(pilot)
        assert terminal.bells == 0 and terminal.desktop() == []


async def test_all_scope_includes_other_agents_conversations(desk, clock):
    app, terminal = recording_app(desk, clock, scope="all", desktop="osc9")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.assign(3, "Ben")
        await desk.ingest("wa", [inbound("live-4", "+15550003", "M", "still there?", clock())])
        await wait_until(pilot, lambda: terminal.bells == 1)
        assert len(terminal.desktop()) == 1 and terminal.desktop()[0].startswith("\x1b]9;")


async def test_notify_off_neither_rings_nor_notifies(desk, clock):
    app, terminal = recording_app(desk, clock, scope="off")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.ingest("wa", [inbound("live-5", "+15550003", "M", "hello?", clock())])
        await wait_until(
            pilot,
            lambda: any(c.id == 3 and c.unread == 2 for c in app.conversation_list.conversations),
        )
        await idle(pilot)
        assert terminal.bells == 0 and terminal.desktop() == []


async def test_bell_off_still_notifies(desk, clock):
    app, terminal = recording_app(desk, clock, bell=False, desktop="osc777")
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.ingest(
            "wa", [inbound("live-6", "+15550003", "M", "hello?", clock() + timedelta(seconds=1))]
        )
        await wait_until(pilot, lambda: terminal.desktop() != [])
        assert terminal.bells == 0 and terminal.desktop()[0].startswith("\x1b]777;notify;")


async def test_the_open_conversation_does_not_alert_a_focused_agent(desk, clock):
    app, terminal = recording_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert app.thread.conversation_id == 1
        await desk.ingest("wa", [inbound("live-7", "+15550001", "Mia Tanaka", "anyone?", clock())])
        await wait_until(pilot, lambda: "anyone?" in "\n".join(app.thread.plain_lines))
        await idle(pilot)
        assert terminal.bells == 0
        app.app_focus = False  # the terminal lost focus: now it alerts
        await desk.ingest("wa", [inbound("live-8", "+15550001", "Mia Tanaka", "hello??", clock())])
        await wait_until(pilot, lambda: terminal.bells == 1)


async def test_title_is_restored_on_exit(desk, clock):
    app, terminal = recording_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "\x1b[22;0t" in terminal.written
    assert terminal.written[-1] == "\x1b[23;0t"


async def test_alerts_within_the_quiet_time_stay_quiet(desk):
    from frontdesk.desk import Change, ChangeKind
    from frontdesk.tui.notify import Notifier

    now = [100.0]
    terminal = TerminalRecorder()
    notifier = Notifier(
        desk,
        NotifySettings(quiet_seconds=5),
        terminal.write,
        terminal.bell,
        monotonic=lambda: now[0],
    )

    async def arrive(external_id):
        await desk.ingest("wa", [inbound(external_id, "+15550003", "M", "hello?", desk.now())])
        (message,) = [m for m in await desk.thread(3) if m.external_id == external_id]
        return await notifier.changes([Change(ChangeKind.MESSAGE, 3, message.id)])

    assert len(await arrive("q-1")) == 1 and terminal.bells == 1
    now[0] += 4
    assert len(await arrive("q-2")) == 1 and terminal.bells == 1  # seen, but quiet
    now[0] += 2
    await arrive("q-3")
    assert terminal.bells == 2 and len(terminal.desktop()) == 2
