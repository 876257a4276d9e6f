"""The list pane: read the view from the desk, re-place changed rows, keep the header in step."""

from __future__ import annotations

from rich.text import Text

from frontdesk.desk import DeskError, Sort
from frontdesk.desk.views import sort_key
from frontdesk.model import Conversation
from frontdesk.tui.change_plan import shown_rows
from frontdesk.tui.safe import clean_line
from frontdesk.tui.widgets.header_bar import HeaderBar


class Listing:
    """Mixed into the App (which holds the view, sort, filters and the view counts listed here)."""

    async def reload_list(self) -> None:
        """Read the current view from the desk; the cursor stays on its conversation."""
        try:
            conversations = await self.desk.conversations(
                self.view, sort=self.sort, filters=self.filters
            )
            self._tally = await self.desk.tally(self.filters)
        except Exception as exc:
            self._error("Could not read conversations", exc)
            return
        self._show_list(conversations)

    async def update_list(self, touched: set[int]) -> None:
        """Re-place only the `touched` conversations in the list (the rest is still in order):
        a message arriving costs a few lookups, not a re-sort of the view."""
        try:
            fresh = []
            for conv_id in touched:
                try:
                    fresh.append(await self.desk.conversation(conv_id))
                except DeskError:
                    self._tally.remove(conv_id)  # gone (merged into another): it leaves the list
            for conv in fresh:
                self._tally.update(conv)
            shown = shown_rows(fresh, self.view, self.desk.agent, self.filters)
        except Exception as exc:
            self._error("Could not read conversations", exc)
            return
        self.conversation_list.place(touched, shown, sort_key(self.sort))
        self._list_changed()

    def _show_list(self, conversations: list[Conversation]) -> None:
        self.paging_follows()
        self.conversation_list.waiting_times = self.sort is Sort.WAITING
        self.conversation_list.set_conversations(conversations, sort_key(self.sort))
        self._list_changed()

    def _list_changed(self) -> None:
        """The header, titles and panes that follow the list's rows."""
        view_list = self.conversation_list
        conversations = view_list.conversations
        view_list.empty_text = (
            f"Nothing in {self.view.title} matches the filter."
            if self.filters.active
            else f"No conversations in {self.view.title}."
        )
        self._update_header()
        self._update_list_titles(len(conversations))
        if not conversations:
            self.thread.show(None, [])
            self.thread.border_title = "Thread"
            self.contact_panel.show(None)
        elif self.thread.conversation_id is None and view_list.current_id is not None:
            self.load_thread(view_list.current_id)

    def _update_list_titles(self, shown: int) -> None:
        """The list's border: the view and how many it shows; below, the sort and any filter."""
        view_list = self.conversation_list
        title = f"{self.view.title} · {shown}"
        subtitle = Text(f"↓ {self.sort.title}")
        if self.filters.active:
            subtitle.append(" · filter: ")
            subtitle.append(clean_line(self.filters.describe()), "bold")
        if (title, subtitle.markup) == self._list_titles:
            return  # setting a border title repaints every row: a live burst repaints only the rows it moved
        self._list_titles = (title, subtitle.markup)
        view_list.border_title = title
        view_list.border_subtitle = subtitle

    def _update_header(self) -> None:
        self.query_one(HeaderBar).show(
            self.desk.agent_name(self.desk.agent),
            self.view,
            self._tally.counts(),
            filtered=self.filters.active,
            channels=self.desk.channel_status,
            width=self.size.width,
            team=self.team_label(),
            link=self.desk.link_problem,
        )
