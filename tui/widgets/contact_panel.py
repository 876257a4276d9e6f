"""The contact panel: who the customer is and their other conversations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from frontdesk.model import Contact, Conversation, utcnow
from frontdesk.tui.safe import clean_line, safe_text
from frontdesk.tui.widgets.formatting import age, badge


class ContactPanel(VerticalScroll, can_focus=True):
    """Name, identities, emails and phones, language, notes, attributes, other conversations."""

    DEFAULT_CSS = """
    ContactPanel {
        padding: 0 1;
        & > #contact-body { width: 1fr; }
    }
    """

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

    def compose(self) -> ComposeResult:
        yield Static(Text("No contact.", style="italic"), id="contact-body")

    def show(self, contact: Contact | None, conversations: Sequence[Conversation] = (), current_id: int | None = None) -> None:
        self.contact = contact
        self.conversation_id = current_id
        self.query_one("#contact-body", Static).update(self.describe(contact, conversations, current_id))

    def describe(self, contact: Contact | None, conversations: Sequence[Conversation], current_id: int | None) -> Text:
        """The panel's content as one Rich Text; every value from the channel is cleaned."""
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
        others = [c for c in conversations if c.id != current_id]
        out.append(f"\nOther conversations ({len(others)})\n", "bold underline")
        if not others:
            out.append("  none\n", "dim")
        now = self.clock()
        for conv in others:
            out.append(f"  {badge(self.channel_kind(conv.channel))} ", "bold")
            out.append(f"{conv.status.value} · {age(conv.last_activity_at, now)}\n", "dim")
            out.append("    ")
            out.append_text(safe_text(clean_line(conv.preview or conv.subject)[:80] or "—", one_line=True))
            out.append("\n")
        out.rstrip()
        return out
