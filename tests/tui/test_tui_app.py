"""What an agent does in the console, driven with Pilot against a real desk and store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.geometry import Region

from frontdesk.desk import View
from frontdesk.model import ContactRef, Delivery, Inbound, Status, Typing
from frontdesk.tui.widgets import conversation_list as conversation_list_module
from frontdesk.tui.widgets.composer import NOTE_TITLE
from pilot_helpers import idle, make_app, thread_follows_cursor, wait_until, screen_text

SIZE = (140, 40)


def rendered(widget) -> list[str]:
    """The lines a widget puts on screen (borders included), as plain text."""
    return [
        strip.text
        for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    ]


async def test_start_lists_the_view_and_shows_the_first_thread(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        listing = app.conversation_list
        assert [c.id for c in listing.conversations] == [1, 2, 3]
        assert listing.has_focus
        lines = rendered(listing)
        assert (
            "Mia Tanaka" in lines[1] and "WA" in lines[1] and "3m" in lines[1] and "●2" in lines[1]
        )
        assert "✉" in lines[3] and "2h" in lines[3] and "@Aiko" in lines[4]
        thread = "\n".join(app.thread.plain_lines)
        assert "Where is my order #1234?" in thread and "receipt.pdf" in thread
        assert "NOTE" in thread and "Checking with the warehouse." in thread
        assert "wa:+15550001" in screen_text(app)  # the contact panel
        assert (await desk.conversation(1)).unread == 2  # highlighted, not opened
        assert "3 All open 3" in screen_text(app) and "All open · 3" in screen_text(app)


async def test_move_in_the_list_and_open_marks_read(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j")
        await thread_follows_cursor(pilot)
        assert app.conversation_list.current_id == 2
        assert "確認していただけますか" in "".join(app.thread.plain_lines).replace(" ", "")
        await pilot.press("down", "k", "j")
        await idle(pilot)
        assert app.conversation_list.current_id == 3
        await pilot.press("enter")
        await idle(pilot)
        assert (await desk.conversation(3)).unread == 0
        assert app.thread.has_focus
        await pilot.press("escape")
        assert app.conversation_list.has_focus
        await pilot.press("end")
        assert app.conversation_list.current_id == 3
        await pilot.press("home")
        assert app.conversation_list.current_id == 1


async def test_quick_moves_read_only_the_thread_where_the_cursor_rests(desk, clock, monkeypatch):
    read: list[int] = []
    thread = desk.thread

    async def counted(conv_id):
        read.append(conv_id)
        return await thread(conv_id)

    monkeypatch.setattr(desk, "thread", counted)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        read.clear()
        monkeypatch.setattr(
            conversation_list_module, "CURSOR_REST", 0.0
        )  # every move comes after a rest
        await pilot.press("j")
        await idle(pilot)
        assert app.thread.conversation_id == 2 and read == [2]
        monkeypatch.setattr(
            conversation_list_module, "CURSOR_REST", 30.0
        )  # every move comes quickly
        await pilot.press("j", "k", "j")  # quick moves: the thread waits for the cursor to rest
        await idle(pilot)
        assert app.conversation_list.current_id == 3
        assert app.thread.conversation_id == 2 and read == [2]
        await pilot.press("r")  # but a reply is written with its thread on screen
        await idle(pilot)
        assert app.thread.conversation_id == 3 and read == [2, 3]
        assert app.composer.has_focus and app.composer.mode == "reply"


async def test_contact_keys_act_on_the_highlighted_conversation_before_its_thread_is_read(
    desk, clock, monkeypatch
):
    """Right after quick moves the panel still shows the last thread read: `i`, `m` and `o`
    must not act on that conversation's contact (the snapshot of `j`, `i` showed either)."""
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        monkeypatch.setattr(
            conversation_list_module, "CURSOR_REST", 30.0
        )  # every move comes quickly
        await pilot.press("j", "j")
        highlighted = await desk.conversation(app.conversation_list.current_id)
        assert app.thread.conversation_id != highlighted.id
        assert app.contact_panel.contact.id != highlighted.contact_id
        await pilot.press("i")
        await idle(pilot)
        assert app.screen.contact.id == highlighted.contact_id
        await pilot.press("escape")
        await idle(pilot)
        assert app.thread.conversation_id == highlighted.id  # and the panes caught up
        await pilot.press("j", "m")
        await idle(pilot)
        highlighted = await desk.conversation(app.conversation_list.current_id)
        assert app.screen.keep.id == highlighted.contact_id


async def test_o_right_after_quick_moves_lists_the_highlighted_contacts_conversations(
    desk, clock, monkeypatch
):
    await desk.merge_contacts(1, 4)  # the first conversation's contact also has Bob's resolved one
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j")
        await thread_follows_cursor(pilot)
        assert app.contact_panel.contact.id == 2  # who has no other conversations
        monkeypatch.setattr(
            conversation_list_module, "CURSOR_REST", 30.0
        )  # every move comes quickly
        await pilot.press("k", "o")  # the panel still shows the second contact
        await idle(pilot)
        assert app.conversation_list.current_id == 1 and app.contact_panel.contact.id == 1
        assert app.contact_panel.others_list.has_focus


async def test_the_thread_follows_once_the_cursor_rests(desk, clock, monkeypatch):
    monkeypatch.setattr(conversation_list_module, "CURSOR_REST", 0.2)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j", "j")
        assert app.conversation_list.current_id == 3
        await wait_until(pilot, lambda: app.thread.conversation_id == 3)
        assert "Mia Tanaka" not in str(app.thread.border_title)


class StoppedClock:
    """`time.monotonic` for the list alone, moved only by the test: whether a move is quick
    (within CURSOR_REST of the last) does not depend on how fast the machine is."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_a_message_for_the_open_conversation_shows_after_a_quick_move_off_and_back(
    desk, clock, monkeypatch
):
    list_clock = StoppedClock()
    monkeypatch.setattr(conversation_list_module, "time", list_clock)
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await thread_follows_cursor(pilot)
        assert app.thread.conversation_id == 1
        await pilot.press("j")  # quick: the thread stays on Mia's conversation
        assert app.conversation_list.current_id == 2
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "in-while-away",
                    "+15550001",
                    ContactRef("+15550001", "Mia Tanaka"),
                    "Are you still there?",
                    created_at=clock(),
                )
            ],
        )
        await wait_until(
            pilot, lambda: "Are you still there?" in rendered(app.conversation_list)[2]
        )
        await pilot.press("k")  # back before the cursor rested anywhere else
        assert app.conversation_list.current_id == 1
        list_clock.now += 2 * conversation_list_module.CURSOR_REST  # now it rests
        await wait_until(
            pilot,
            lambda: "Are you still there?" in "\n".join(app.thread.plain_lines),
            what="the message that arrived while the cursor was away, in the thread",
        )


async def test_a_rest_that_comes_after_the_panes_are_gone_does_nothing(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j", "j")
    assert app.panes_gone
    app.show_highlighted()  # the rest timer can fire while the app shuts down
    assert not [w for w in app.workers if w.group == "thread"]  # no thread load was started


async def test_reply_is_pending_then_sent_live(desk, clock, channels):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("r")
        assert app.composer.has_focus and app.composer.mode == "reply"
        assert "Reply via whatsapp" in str(app.composer.border_title)
        await pilot.press(*"Hi Mia", "ctrl+j", *"on its way")
        assert app.composer.text == "Hi Mia\non its way"
        await pilot.press("enter")
        await idle(pilot)
        thread = await desk.thread(1)
        reply = thread[-1]
        assert (
            reply.body == "Hi Mia\non its way"
            and reply.delivery is Delivery.PENDING
            and not reply.private
        )
        assert app.composer.text == ""
        text = "\n".join(app.thread.plain_lines)
        assert "Hi Mia" in text and "◷ pending" in text

        await desk.start()
        try:
            await wait_until(pilot, lambda: "✓ sent" in "\n".join(app.thread.plain_lines))
        finally:
            await desk.stop()
        assert (await desk.thread(1))[-1].delivery is Delivery.SENT
        assert [o.body for o in channels["wa"].sent] == ["Hi Mia\non its way"]


async def test_blank_reply_is_not_submitted(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        before = len(await desk.thread(1))
        await pilot.press("r", "space", "space", "enter")
        await idle(pilot)
        assert len(await desk.thread(1)) == before
        assert desk.store.outbox() == []


async def test_note_is_private_shown_as_note_and_never_queued(desk, clock, channels):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("n")
        composer = app.composer
        assert composer.has_class("-note") and str(composer.border_title) == NOTE_TITLE
        await pilot.press(*"refund approved @Ben")
        assert NOTE_TITLE in screen_text(app)
        await pilot.press("enter")
        await idle(pilot)
        note = (await desk.thread(1))[-1]
        assert note.private and note.body == "refund approved @Ben" and note.mentions == ["Ben"]
        assert desk.store.outbox() == []
        await desk.flush_outbox()
        assert channels["wa"].sent == []
        lines = app.thread.plain_lines
        index = next(i for i, line in enumerate(lines) if "refund approved" in line)
        assert "NOTE" in lines[index - 1] and "not sent" in lines[index - 1]
        assert "┃" in lines[index]
        assert composer.mode == "reply" and NOTE_TITLE not in screen_text(
            app
        )  # a note is one message


async def test_resolve_and_reopen(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("e")
        await idle(pilot)
        assert (await desk.conversation(1)).status is Status.RESOLVED
        assert [c.id for c in app.conversation_list.conversations] == [2, 3]
        assert app.conversation_list.current_id == 2
        await pilot.press("v", "v", "v")  # All open → Escalated → Snoozed → Resolved
        await idle(pilot)
        assert app.view is View.RESOLVED
        assert [c.id for c in app.conversation_list.conversations] == [1, 4]
        assert "✓ resolved" in rendered(app.conversation_list)[2]
        assert "6 Resolved 2" in screen_text(app)
        await pilot.press("home", "e")
        await idle(pilot)
        assert (await desk.conversation(1)).status is Status.OPEN
        assert [c.id for c in app.conversation_list.conversations] == [4]
        assert any("reopened this" in line for line in (m.body for m in await desk.thread(1)))
        await pilot.press("v")
        await idle(pilot)
        assert app.view is View.MINE


async def test_live_arrival_without_a_keypress(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "in-live-1",
                    "+15550001",
                    ContactRef("+15550001", "Mia Tanaka"),
                    "Is anyone there?",
                    created_at=clock(),
                )
            ],
        )
        await wait_until(pilot, lambda: "Is anyone there?" in "\n".join(app.thread.plain_lines))
        assert "Is anyone there?" in rendered(app.conversation_list)[2]
        assert "●3" in rendered(app.conversation_list)[1]
        # a brand-new customer shows up at the top; the cursor stays on Mia
        await desk.ingest(
            "wa",
            [
                Inbound(
                    "in-live-2",
                    "+15559999",
                    ContactRef("+15559999", "Zoë New"),
                    "hello?",
                    created_at=clock() + timedelta(seconds=1),
                )
            ],
        )
        await wait_until(pilot, lambda: len(app.conversation_list.conversations) == 4)
        assert "Zoë New" in rendered(app.conversation_list)[1]
        assert app.conversation_list.current_id == 1


async def test_live_changes_keep_the_list_in_the_order_a_fresh_read_gives(tmp_path, clock):
    """Bursts move only the conversations they touch; the list must still equal a full re-read."""
    from frontdesk.desk import Desk, Sort
    from frontdesk.model import Contact, Conversation
    from frontdesk.store import Store

    count = 40
    with Store.open(tmp_path / "live") as store:
        desk = Desk(store, {}, agent="Aiko", clock=clock)
        contacts = [Contact(i, f"Customer {i}") for i in range(1, count + 1)]
        convs = [
            Conversation(
                i,
                "sms",
                i,
                f"+{i}",
                preview=f"message {i}",
                waiting_since=clock() - timedelta(minutes=i) if i % 3 else None,
                last_activity_at=clock() - timedelta(minutes=i),
            )
            for i in range(1, count + 1)
        ]
        await desk.load_workspace(contacts, convs, [])
        app = make_app(desk, clock)
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)

            async def listed_as_desk_reads_it() -> None:
                await idle(pilot)
                fresh = await desk.conversations(app.view, sort=app.sort, filters=app.filters)
                assert [c.id for c in app.conversation_list.conversations] == [c.id for c in fresh]
                counts = await desk.counts(app.filters)
                shown = screen_text(app)
                assert f"All open {counts[View.ALL]}" in shown
                app.conversation_list.refresh()  # every row drawn again: nothing was left as it was
                await idle(pilot)
                assert screen_text(app) == shown

            for step, conv_id in enumerate((count, 7, count - 1, 7, 12), start=1):
                await desk.ingest(
                    "sms",
                    [
                        Inbound(
                            f"live-{step}",
                            f"+{conv_id}",
                            ContactRef(f"+{conv_id}", ""),
                            f"update {step}",
                            created_at=clock() + timedelta(seconds=step),
                        )
                    ],
                )
            await listed_as_desk_reads_it()
            assert app.conversation_list.conversations[0].id == 12
            await desk.set_status(3, Status.RESOLVED)
            await desk.assign(5, "Aiko")
            await listed_as_desk_reads_it()
            assert 3 not in [c.id for c in app.conversation_list.conversations]
            await pilot.press("s")  # longest waiting first
            await idle(pilot)
            assert app.sort is Sort.WAITING
            await desk.ingest(
                "sms",
                [
                    Inbound(
                        "live-9",
                        "+30",
                        ContactRef("+30", ""),
                        "still waiting",
                        created_at=clock() + timedelta(seconds=30),
                    )
                ],
            )
            await desk.reply(count - 2, "on it")
            await listed_as_desk_reads_it()


async def test_typing_indicator(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await desk.ingest("wa", [Typing("+15550001")])
        await wait_until(pilot, lambda: "is typing…" in app.thread.plain_lines[-1])
        assert "Mia Tanaka is typing…" in app.thread.plain_lines[-1]


async def test_retry_last_unconfirmed_reply(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j")
        await thread_follows_cursor(pilot)
        text = " ".join(" ".join(app.thread.plain_lines).split())
        assert (
            "? unconfirmed" in text
            and "? timeout after sending — retry?" in text
            and "(^r)" in text
        )
        await pilot.press("ctrl+r")
        await idle(pilot)
        assert desk.store.message(2, 6).delivery is Delivery.PENDING
        assert [e.message_id for e in desk.store.outbox()] == [6]
        await pilot.press("ctrl+r")  # nothing left to retry: a warning, no crash
        await idle(pilot)


async def test_hostile_text_is_inert_on_screen(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("j", "j", "enter")
        await idle(pilot)
        assert app.conversation_list.current_id == 3
        screen = screen_text(app)
        for forbidden in ("\x1b", "\u202e", "\u202c", "\x07", "SGVsbG8=", "]52;", "]0;", "pwned"):
            assert forbidden not in screen, repr(forbidden)
        assert (
            "[bold]Mallory[/bold]evil" in screen
        )  # markup stays literal, in list, thread and panel
        assert screen.count("[bold]Mallory[/bold]evil") >= 3
        assert "[bold]x[/bold] " in "\n".join(app.thread.plain_lines)
        assert "invoice[red].exetxt" in "\n".join(app.thread.plain_lines)
        list_lines = rendered(app.conversation_list)
        assert "[bold]x[/bold] reversed done" in list_lines[6]
        for line in rendered(app.thread) + list_lines:
            assert "\x1b" not in line and "\u202e" not in line


async def test_desk_errors_are_notified_with_markup_escaped(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await idle(pilot)

        async def broken(conv_id, body):
            raise RuntimeError("[bold]boom[/bold] channel down")

        desk.reply = broken
        await pilot.press("r", "x", "enter")
        await idle(pilot)
        assert app.composer.text == "x"  # kept for another try
        assert "[bold]boom[/bold] channel down" in screen_text(app)


async def test_keymap_overrides_apply(desk, clock):
    app = make_app(desk, clock, keymap={"cursor-down": "x", "reply": "W"})
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("x")
        assert app.conversation_list.current_id == 2
        await pilot.press("j")  # no longer bound
        assert app.conversation_list.current_id == 2
        await pilot.press("W")
        assert app.composer.has_focus


async def test_focus_cycle_and_escape(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await pilot.press("tab")
        assert app.thread.has_focus
        await pilot.press("tab")
        assert app.composer.has_focus
        await pilot.press("tab")
        assert app.contact_panel.has_focus
        await pilot.press("shift+tab", "escape")
        assert app.conversation_list.has_focus


def footer_labels(app) -> list[str]:
    return [key.description for key in app.query("FooterKey")]


async def test_the_footer_shows_the_keys_of_the_focused_pane(desk, clock):
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        assert "Next" in footer_labels(app) and "Quoted text" not in footer_labels(app)
        await pilot.press("tab")
        await idle(pilot)
        assert "Quoted text" in footer_labels(app) and "Next" not in footer_labels(app)
        await pilot.press("escape")
        await idle(pilot)
        assert "Next" in footer_labels(app) and "Quoted text" not in footer_labels(app)


async def test_the_footer_is_not_rebuilt_when_its_keys_stay_the_same(desk, clock):
    """Textual signals a bindings change twice for each focus change; rebuilding the
    footer's keys for a signal that changes nothing cost 25-30 ms a time."""
    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        keys = list(app.query("FooterKey"))
        app.screen.refresh_bindings()
        await idle(pilot)
        assert list(app.query("FooterKey")) == keys


@pytest.mark.parametrize("count", [1500])
async def test_large_list_is_virtualized(tmp_path, clock, count):
    from frontdesk.desk import Desk
    from frontdesk.model import Contact, Conversation
    from frontdesk.store import Store
    from datetime import timedelta

    with Store.open(tmp_path / "big") as store:
        desk = Desk(store, {}, agent="Aiko", clock=clock)
        contacts = [Contact(i, f"Customer {i}") for i in range(1, count + 1)]
        convs = [
            Conversation(
                i,
                "sms",
                i,
                f"+{i}",
                preview=f"message {i}",
                last_activity_at=clock() - timedelta(minutes=i),
            )
            for i in range(1, count + 1)
        ]
        await desk.load_workspace(contacts, convs, [])
        app = make_app(desk, clock)
        async with app.run_test(size=SIZE) as pilot:
            await idle(pilot)
            assert len(app.conversation_list.conversations) == count
            await pilot.press("end")
            await idle(pilot)
            assert app.conversation_list.current_id == count
            assert f"Customer {count}" in "\n".join(rendered(app.conversation_list))
            assert len(app.conversation_list.children) == 0  # no widget per row


async def downloads_done(app) -> None:
    saving = [w for w in app.workers if w.group == "downloads"]
    if saving:  # never an empty list: that waits for every worker, the change feed included
        await app.workers.wait_for_complete(saving)


async def test_d_saves_a_picked_attachment_inside_the_downloads_folder(
    desk, clock, channels, tmp_path
):
    from frontdesk.model import Attachment

    files = {"ref-1": b"%PDF-1.7 the invoice", "ref-2": b"a photo"}

    async def fetch_attachment(ref: str) -> bytes:
        return files[ref]

    channels["wa"].fetch_attachment = fetch_attachment
    hostile = Attachment(
        "../../\x1b]52;c;aGk=\x07evil\u202e.pdf", "application/pdf", 20, ref="ref-1"
    )
    await desk.ingest(
        "wa",
        [
            Inbound(
                "in-files",
                "+15550001",
                ContactRef("+15550001", "Mia Tanaka"),
                "Here you go",
                attachments=[hostile, Attachment("photo.jpg", "image/jpeg", 7, ref="ref-2")],
            )
        ],
    )
    downloads = tmp_path / "downloads"
    app = make_app(desk, clock, downloads_dir=downloads)
    async with app.run_test(size=(140, 40)) as pilot:
        await idle(pilot)
        assert app.conversation_list.current_id == 1
        await pilot.press("d")
        await idle(pilot)
        labels = [str(o.prompt) for o in app.screen.query_one("#choices").options]
        assert "evil" in labels[0] and labels[1].startswith(
            "photo.jpg"
        )  # the newest message's files first
        assert not any("\x1b" in label or "\u202e" in label for label in labels)
        assert any(label.startswith("receipt.pdf") for label in labels), (
            "older files of the thread are offered too"
        )
        await pilot.press("enter")
        await downloads_done(app)
        await idle(pilot)
        saved = list(downloads.iterdir())
        assert len(saved) == 1 and saved[0].read_bytes() == files["ref-1"]
        assert (
            saved[0].parent == downloads
            and "/" not in saved[0].name
            and "\x1b" not in saved[0].name
        )
        assert not (tmp_path / "evil.pdf").exists()
        await pilot.press("d")
        await idle(pilot)
        await pilot.press("escape")
        await idle(pilot)
        assert len(list(downloads.iterdir())) == 1, "escape saves nothing"
        await pilot.press("d")
        await idle(pilot)
        await pilot.press("down", "enter")  # the second file of the newest message
        await idle(pilot)
        await downloads_done(app)
        assert (downloads / "photo.jpg").read_bytes() == files["ref-2"]


async def test_save_attachment_without_a_ref_or_running_channel_is_a_clear_error(desk, tmp_path):
    from frontdesk.desk import DeskError

    with pytest.raises(DeskError, match="receipt.pdf.*cannot be downloaded"):
        await desk.save_attachment(1, 2, 0, tmp_path)
    with pytest.raises(DeskError, match="no attachment 2"):
        await desk.save_attachment(1, 2, 1, tmp_path)


async def test_a_channel_that_is_down_shows_why_in_the_header(desk, clock):
    from frontdesk.model import ChannelStatus

    app = make_app(desk, clock)
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        reason = "IMAP INBOX failed 3 times in a row, no mail read in between: the server closed the connection"
        await desk.ingest("mail", [ChannelStatus("down", reason + "\x1b[31m")])
        await wait_until(pilot, lambda: "mail down IMAP INBOX failed 3 times" in screen_text(app))
        header = screen_text(app).splitlines()
        assert not any("\x1b" in line for line in header)
        await desk.ingest("mail", [ChannelStatus("ok")])
        await wait_until(pilot, lambda: "failed 3 times" not in screen_text(app))
