"""The FAQ bot: takes new conversations on its channels, answers FAQs with canned replies, and hands
over to the agents when asked for a person or when it cannot answer `misses` times in a row."""

from __future__ import annotations

from typing import Protocol

from frontdesk.config import FaqConfig
from frontdesk.desk.automation.faq import FaqItem, FaqMatch, FaqMatcher, HandoffWords, phrases_of
from frontdesk.desk.automation.handoff import BOT_NAME
from frontdesk.desk.automation.triggers import Trigger, TriggerKind
from frontdesk.desk.errors import DeskError
from frontdesk.desk.interface import DeskAPI
from frontdesk.model import Direction, Message, Status


class BotDesk(DeskAPI, Protocol):
    """The desk the bot acts on: the console's API and the commands automation and the bot add."""

    async def hand_over(self, conv_id: int, why: str) -> bool: ...
    async def auto_reply(self, conv_id: int, body: str) -> Message: ...
    async def render_canned(self, conv_id: int, shortcode: str) -> str: ...
    async def record_automation(self, conv_id: int, text: str) -> None: ...


AUTO_MAIL_PREFIX = "[auto:"
"""A machine's mail starts so (backends/email_parse.py AUTO_PREFIX): never answered."""
MAX_TRACKED = 10_000
"""Conversations whose unanswered count is kept; past it the oldest are forgotten."""


def faq_automata(faq: FaqConfig) -> list[FaqBot]:
    """The FAQ bot when `[bot] channels` names any, else nothing."""
    return [FaqBot(faq)] if faq.on else []


class FaqBot:
    """The automaton: `handle` a live trigger; everything it does leaves a thread line."""

    name = BOT_NAME

    def __init__(self, faq: FaqConfig) -> None:
        self.takes_new_on = frozenset(faq.bot.channels)  # ingest starts these as the bot's
        self.matcher = FaqMatcher(
            [
                FaqItem(e.name, phrases_of(e.keywords), e.reply, frozenset(e.channels), e.language)
                for e in faq.entries
            ]
        )
        self.handoff = HandoffWords(faq.bot.handoff_words)
        self.misses = faq.bot.misses
        self.fallback = faq.bot.fallback_reply
        self._unanswered: dict[int, int] = {}  # conversation id → customer messages in a row

    async def handle(self, desk: BotDesk, trigger: Trigger) -> None:
        if not trigger.live:  # backlog (a first sync, a catch-up) is never the bot's
            return
        if trigger.kind is TriggerKind.CONVERSATION_CREATED:
            conv = await desk.conversation(trigger.conversation_id)
            if conv.status is Status.BOT and conv.channel in self.takes_new_on:
                await desk.record_automation(
                    conv.id, f"answers this first: the bot is on for {conv.channel}"
                )
        elif trigger.kind is TriggerKind.MESSAGE_CREATED and trigger.message_id is not None:
            conv = await desk.conversation(trigger.conversation_id)
            if conv.status is not Status.BOT:  # most messages: one lookup, nothing read
                return
            if trigger.text is not None:  # ingest's: a customer's message, carried along
                body = trigger.text
            else:
                message = await desk.message(conv.id, trigger.message_id)
                if message is None or message.direction is not Direction.IN or message.private:
                    return
                body = message.body
            if not body.lstrip().startswith(AUTO_MAIL_PREFIX):  # never a machine's mail
                await self._answer(desk, conv.id, conv.channel, conv.contact_id, body)

    async def _answer(
        self, desk: BotDesk, conv_id: int, channel: str, contact_id: int, body: str
    ) -> None:
        word = self.handoff.asked(body)
        if word is not None:
            await self._hand_over(desk, conv_id, f"the customer asked for a person ({word!r})")
            return
        language = (await desk.contact(contact_id)).language or None
        found = self.matcher.best(body, channel, language)
        if found is not None:
            self._unanswered.pop(conv_id, None)
            await self._send_answer(desk, conv_id, found)
            return
        missed = self._missed(conv_id)
        if missed >= self.misses:
            await self._hand_over(desk, conv_id, f"it could not answer {missed} messages in a row")
        elif self.fallback:
            await self._send(
                desk,
                conv_id,
                self.fallback,
                f"could not answer ({missed} of {self.misses} before handing over)",
            )
        else:
            await desk.record_automation(
                conv_id, f"could not answer ({missed} of {self.misses} before handing over)"
            )

    async def _send_answer(self, desk: BotDesk, conv_id: int, found: FaqMatch) -> None:
        matched = ", ".join(repr(p) for p in found.matched[:3])
        await self._send(
            desk, conv_id, found.item.reply, f"answered FAQ {found.item.name!r} (matched {matched})"
        )

    async def _send(self, desk: BotDesk, conv_id: int, shortcode: str, why: str) -> None:
        """Send a canned reply and its line; one the desk cannot send hands over instead, so a
        customer is never left with a bot that says nothing."""
        try:
            body = await desk.render_canned(conv_id, shortcode)
            await desk.auto_reply(conv_id, body)
        except DeskError as exc:
            await self._hand_over(desk, conv_id, f"it could not send /{shortcode}: {exc}")
            return
        await desk.record_automation(conv_id, f"sent /{shortcode}: {why}")

    async def _hand_over(self, desk: BotDesk, conv_id: int, why: str) -> None:
        self._unanswered.pop(conv_id, None)
        await desk.hand_over(conv_id, why)

    def _missed(self, conv_id: int) -> int:
        if len(self._unanswered) >= MAX_TRACKED and conv_id not in self._unanswered:
            del self._unanswered[next(iter(self._unanswered))]
        missed = self._unanswered[conv_id] = self._unanswered.get(conv_id, 0) + 1
        return missed
