"""Paging: the list asks a desk that pages its lists (Chatwoot) for more as it nears its end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import work

from frontdesk.desk import Change, ChangeKind, Filters, View
from frontdesk.tui.widgets.conversation_list import ConversationList

PageKey = tuple[View, Filters]
"""What a page belongs to: the view and the filters the desk was asked for."""


@dataclass
class PagingState:
    """One `desk.more` call at a time, and the view whose pages ran out (or failed)."""

    running: PageKey | None = None
    done_for: PageKey | None = None
    listed: PageKey | None = None  # what the list shows, to see the view or filters change


class Paging:
    """Mixed into the App (its desk, view, filters, list and `paging` state): `more` pages in as
    the list nears its end.

    A desk that holds everything (solo, team) answers False once per view; a call that fails
    is said once; either stops the asking until the view or filters change or a RESET.
    """

    def on_conversation_list_near_end(self, message: ConversationList.NearEnd) -> None:
        self._ask_more()

    def _ask_more(self) -> None:
        key = (self.view, self.filters)
        if self.paging.running is None and self.paging.done_for != key:
            self.paging.running = key
            self.load_pages(*key)

    def paging_follows(self) -> None:
        """The list was read again: a view or filters it did not show before may page again."""
        key = (self.view, self.filters)
        if key != self.paging.listed:
            self.paging.listed = key
            self.paging.done_for = None

    def paging_reset(self, changes: Sequence[Change]) -> None:
        """A RESET (the desk reloads) may bring pages back: ask again."""
        if any(c.kind is ChangeKind.RESET for c in changes):
            self.paging.done_for = None

    @work(group="paging", exit_on_error=False)
    async def load_pages(self, view: View, filters: Filters) -> None:
        """Load pages of `view` while the list is near its end and each page brings rows."""
        moved_on = False
        try:
            while True:
                try:
                    more = await self.desk.more(view, filters)
                except Exception as exc:
                    self._error("Could not load more conversations", exc)
                    more = False
                if (view, filters) != (self.view, self.filters) or self.panes_gone:
                    moved_on = True  # this page is not what the list shows now
                    return
                view_list = self.conversation_list
                rows, scrolled = len(view_list.conversations), view_list.scroll_y
                wheeled = view_list.cursor not in view_list.rows_shown
                if more:
                    await self.reload_list()
                    if wheeled:  # scrolled away from the cursor: the list stays where it was
                        view_list.scroll_to(y=scrolled, animate=False, immediate=True)
                if len(view_list.conversations) <= rows:
                    # no more, or a page that brought no row here: asking again would loop
                    self.paging.done_for = (view, filters)
                    return
                if not view_list.near_end:
                    return
        finally:
            self.paging.running = None
            if moved_on and not self.panes_gone and self.conversation_list.near_end:
                self._ask_more()  # the list shown now neared its end while this call ran
