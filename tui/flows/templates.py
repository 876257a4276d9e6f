"""The template flow: list the channel's approved templates, pick one and its values, send it; the composer's allowance line."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.widgets import Static

from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.safe import clean_line
from frontdesk.tui.screens.template_picker import TemplatePicker


class TemplateFlow:
    """Mixed into the App (which has the desk, the panes and the screens this flow uses)."""

    def action_send_template(self) -> None:
        """ctrl+t (anywhere, and in the composer once the window closed): the template picker."""
        conv = self._current()
        if conv is not None:
            self.show_highlighted()
            self.send_template(conv.id)

    def on_composer_template_requested(self) -> None:
        if not self.refuse("send_template", "Template"):  # the key's check does not cover this
            self.action_send_template()

    @work(exclusive=True, group="template", exit_on_error=False)
    async def send_template(self, conv_id: int) -> None:
        """Pick an approved template of the conversation's channel, fill its values, queue it."""
        try:
            conv = await self.desk.conversation(conv_id)
            templates = await self.desk.templates(conv_id)
        except Exception as exc:
            self._error("No templates", exc)
            return
        if not templates:
            self.notify(
                f"Channel {conv.channel!r} has no approved template; add one in its console "
                "(WhatsApp Manager) and try again.",
                severity="warning",
                timeout=6,
                markup=False,
            )
            return
        kind = self.desk.channel_name(conv.channel)
        named = self.desk.channel_kind(conv.channel) != conv.channel  # "WhatsApp (sales)"
        where = f"{kind} ({conv.channel})" if named else kind
        chosen = await self.push_screen_wait(TemplatePicker(templates, where))
        if chosen is None:
            return
        sent = await self._attempt("Template not sent", self.desk.send_template(conv_id, chosen))
        if sent is FAILED:
            return
        if conv_id == self.thread.conversation_id:
            self.thread.upsert(sent)
        self.refresh_allowance(conv_id)
        self.notify(f"Template {chosen.name} queued.", timeout=3, markup=False)

    @work(exclusive=True, group="allowance", exit_on_error=False)
    async def refresh_allowance(self, conv_id: int) -> None:
        """Ask the channel what sending costs now (LINE's quota) for the composer, off the screen's way."""
        try:
            line = await self.desk.allowance(conv_id)
        except Exception:
            line = None  # the desk logged why; the composer just says nothing
        if conv_id == self.thread.conversation_id and not self.panes_gone:
            self.show_allowance(line)

    def show_allowance(self, line: str | None) -> None:
        """The line under the composer (its badge is one line, too narrow for both); None hides it."""
        shown = self.query_one("#allowance", Static)
        shown.update(Text(clean_line(line or "")))
        shown.set_class(bool(line), "-shown")
