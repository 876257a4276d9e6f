"""Moving around the desk: switch view, sort and filter, search, step and jump to a conversation."""

from __future__ import annotations

from rich.markup import escape

from frontdesk.desk import Filters, View, in_view
from frontdesk.tui.flows.desk_calls import FAILED
from frontdesk.tui.screens.filter_dialog import FilterDialog
from frontdesk.tui.screens.search_screen import SearchScreen
from frontdesk.tui.widgets.contact_panel import ContactPanel
from frontdesk.tui.widgets.header_bar import VIEW_CYCLE, shown_views


class ViewSwitching:
    """Mixed into the App: the view, sort and filters it lists, and which conversation it opens."""

    async def action_next_view(self) -> None:
        shown = shown_views(self.view, self._tally.counts())  # the tabs on screen, in order
        await self.show_view(shown[(shown.index(self.view) + 1) % len(shown)])

    async def action_show_view(self, name: str) -> None:
        await self.show_view(View(name))

    async def show_view(self, view: View) -> None:
        """Switch the list to `view` with the cursor on its first conversation."""
        changed = view is not self.view
        self.view = view
        await self.reload_list()
        if changed:
            self.conversation_list.cursor = 0

    async def action_toggle_sort(self) -> None:
        self.sort = self.sort.toggled
        await self.reload_list()
        self.notify(f"Sorted: {self.sort.title}.", timeout=2)

    async def action_filter(self) -> None:
        try:
            channels, labels = await self.desk.channel_names(), await self.desk.labels()
        except Exception as exc:
            self._error("Could not read channels and labels", exc)
            return
        self.push_screen(FilterDialog(channels, labels, self.filters), self._filtered)

    async def _filtered(self, filters: Filters | None) -> None:
        if filters is None or filters == self.filters:
            return
        self.filters = filters
        await self.reload_list()
        self.notify(
            escape(f"Filter: {filters.describe()}.") if filters.active else "Filters cleared.",
            timeout=2,
        )

    def action_search(self) -> None:
        self.push_screen(
            SearchScreen(
                self.desk.search_conversations,
                self.desk.channel_kind,
                cursor_blink=self._cursor_blink,
            ),
            self._found,
        )

    async def _found(self, conv_id: int | None) -> None:
        if conv_id is not None:
            await self.show_conversation(conv_id)

    async def show_conversation(self, conv_id: int) -> None:
        """Open `conv_id` in the list, switching to a view (and dropping filters) that shows it."""
        conv = await self._attempt(
            "Could not open the conversation", self.desk.conversation(conv_id)
        )
        if conv is FAILED:
            return
        if not self.filters.matches(conv):
            self.filters = Filters()
            self.notify("Filters cleared to show the conversation found.", timeout=3)
        if not in_view(conv, self.view, self.desk.agent):
            self.view = next(
                (v for v in (View.ALL, *VIEW_CYCLE) if in_view(conv, v, self.desk.agent)), View.ALL
            )
        await self.reload_list()
        self.conversation_list.select_id(conv_id)
        await self.open_conversation(conv_id)
        self.thread.focus()

    async def on_contact_panel_open_conversation(
        self, message: ContactPanel.OpenConversation
    ) -> None:
        """Show another conversation of the contact in the list and the thread."""
        conv = await self._attempt(
            "Could not open the conversation", self.desk.conversation(message.conversation_id)
        )
        if conv is FAILED:
            return
        if not in_view(conv, self.view, self.desk.agent):
            self.view = next(
                (v for v in (View.ALL, *View) if in_view(conv, v, self.desk.agent)), View.ALL
            )
            await self.reload_list()
        self.conversation_list.select_id(conv.id)
        await self.open_conversation(conv.id)
        self.thread.focus()

    async def action_next_conversation(self) -> None:
        await self._step(+1)

    async def action_previous_conversation(self) -> None:
        await self._step(-1)

    async def _step(self, delta: int) -> None:
        view_list = self.conversation_list
        target = view_list.cursor + delta
        if not 0 <= target < len(view_list.conversations):
            self.notify(
                f"No {'next' if delta > 0 else 'previous'} conversation in {self.view.title}.",
                timeout=2,
            )
            return
        view_list.cursor = target
        if view_list.current_id is not None:
            await self.open_conversation(view_list.current_id)
