"""The contact panel: who the customer is, tickets and hooks of this conversation, their other conversations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.model import Contact, Conversation, utcnow
from frontdesk.desk.hooks import HookJob
from frontdesk.tui.safe import clean_line, safe_text
from frontdesk.tui.widgets.formatting import age, badge


class ContactPanel(VerticalScroll, can_focus=True):
    """Name, identities, emails and phones, language, notes, attributes, tickets, other conversations."""

    DEFAULT_CSS = """
    ContactPanel {
        padding: 0 1;
        & > #contact-body { width: 1fr; }
        & > #contact-others-title { width: 1fr; text-style: bold underline; margin-top: 1; }
        & > #contact-others { height: auto; max-height: 12; border: none; padding: 0; background: transparent; }
        & > #contact-others:focus { background: $boost; }
        & > #contact-others-empty { color: $text-muted; }
    }
    """

    @dataclass
    class OpenConversation(Message):
        """The agent chose one of the contact's other conversations (Enter in the list)."""

        panel: ContactPanel
        conversation_id: int

        @property
        def control(self) -> ContactPanel:
            return self.panel

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        channel_kind: Callable[[str], str] = lambda channel: channel,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock = clock
        self.channel_kind = channel_kind
        self.contact: Contact | None = None
        self.conversation_id: int | None = None
        self.others: list[Conversation] = []
        self.retry_key = "ctrl+r"

    def compose(self) -> ComposeResult:
        yield Static(Text("No contact.", style="italic"), id="contact-body")
        yield Static("", id="contact-others-title")
        yield OptionList(id="contact-others")
        yield Static("", id="contact-others-empty")

    @property
    def others_list(self) -> OptionList:
        return self.query_one("#contact-others", OptionList)

    def show(
        self,
        contact: Contact | None,
        conversations: Sequence[Conversation] = (),
        current_id: int | None = None,
        hooks: Sequence[HookJob] = (),
    ) -> None:
        self.contact = contact
        self.conversation_id = current_id
        current = next((c for c in conversations if c.id == current_id), None)
        self.query_one("#contact-body", Static).update(self.describe(contact, current, hooks))
        self.others = (
            [c for c in conversations if c.id != current_id] if contact is not None else []
        )
        self._show_others(contact is not None)

    def _show_others(self, visible: bool) -> None:
        title = self.query_one("#contact-others-title", Static)
        empty = self.query_one("#contact-others-empty", Static)
        listing = self.others_list
        title.display = visible
        title.update(f"Other conversations ({len(self.others)})")
        empty.display = visible and not self.others
        empty.update("  none")
        listing.display = visible and bool(self.others)
        highlighted = listing.highlighted
        listing.clear_options()
        listing.add_options(
            [Option(self.other_line(conv), id=str(conv.id)) for conv in self.others]
        )
        if self.others:
            listing.highlighted = min(highlighted or 0, len(self.others) - 1)

    def other_line(self, conv: Conversation) -> Text:
        """One other conversation: channel badge, status and age, then its preview."""
        line = Text(f"{badge(self.channel_kind(conv.channel))} ", "bold")
        line.append(f"{conv.status.value} · {age(conv.last_activity_at, self.clock())}\n", "dim")
        line.append("  ")
        line.append_text(
            safe_text(clean_line(conv.preview or conv.subject)[:80] or "—", one_line=True)
        )
        return line

    def focus_others(self) -> bool:
        """Focus the list of other conversations; False when there are none."""
        if not self.others:
            return False
        self.others_list.focus()
        return True

    @on(OptionList.OptionSelected, "#contact-others")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.OpenConversation(self, int(event.option.id)))

    def describe(
        self,
        contact: Contact | None,
        current: Conversation | None = None,
        hooks: Sequence[HookJob] = (),
    ) -> Text:
        """The panel's content above the other conversations; every value from outside is cleaned."""
        if contact is None:
            return Text("No contact.", style="italic")
        out = Text()
        out.append_text(safe_text(contact.name or "(no name)", "bold", one_line=True))
        out.append("\n")
        if contact.language:
            out.append("language ", "dim")
            out.append_text(safe_text(contact.language, one_line=True))
            out.append("\n")

        def section(title: str, values: Sequence[str]) -> None:
            if not values:
                return
            out.append(f"\n{title}\n", "bold underline")
            for value in values:
                out.append("  ")
                out.append_text(safe_text(value, one_line=True))
                out.append("\n")

        section("Identities", [str(identity) for identity in contact.identities])
        section("Emails", contact.emails)
        section("Phones", contact.phones)
        if contact.attributes:
            out.append("\nAttributes\n", "bold underline")
            for key, value in contact.attributes.items():
                out.append("  ")
                out.append_text(safe_text(key, "dim", one_line=True))
                out.append(" ")
                out.append_text(safe_text(str(value), one_line=True))
                out.append("\n")
        if contact.notes:
            out.append("\nNotes\n", "bold underline")
            out.append_text(safe_text(contact.notes))
            out.append("\n")
        if current is not None:
            out.append_text(satisfaction(current))
        tickets = current.tickets if current is not None else []
        if tickets or hooks:
            out.append("\nTickets\n", "bold underline")
        for ticket in tickets:
            out.append("  ")
            out.append_text(safe_text(ticket.hook, "dim", one_line=True))
            out.append(" ")
            out.append_text(safe_text(ticket.id or "ticket", "bold", one_line=True))
            if ticket.url:
                out.append("\n    ")
                out.append_text(safe_text(ticket.url, "underline", one_line=True))
            out.append("\n")
        for job in hooks:
            out.append("  ")
            out.append_text(safe_text(job.hook, "dim", one_line=True))
            if job.state == "failed":
                out.append(" failed: ", "bold red")
                out.append_text(safe_text(job.last_error, one_line=True))
                out.append(f" — {self.retry_key} runs it again", "dim")
            elif job.attempts:
                out.append(f" retrying (try {job.attempts}): ", "yellow")
                out.append_text(safe_text(job.last_error, one_line=True))
            else:
                out.append(" running…", "yellow")
            out.append("\n")
        out.rstrip()
        return out


def satisfaction(conv: Conversation) -> Text:
    """The survey's answer (★★★★☆ 4/5 and when), or that it waits for one; empty before a survey."""
    out = Text()
    if conv.rating is not None:
        out.append("\nSatisfaction\n", "bold underline")
        out.append("  ")
        out.append("★" * conv.rating, "yellow")
        out.append("☆" * (5 - conv.rating), "dim")
        out.append(f" {conv.rating}/5")
        if conv.rated_at is not None:
            out.append(f"  {conv.rated_at:%d %b}", "dim")
        out.append("\n")
    elif conv.survey_sent_at is not None:
        out.append("\nSatisfaction\n", "bold underline")
        out.append(f"  survey sent {conv.survey_sent_at:%d %b %H:%M}, no answer yet\n", "dim")
    return out
