"""The away message and the greeting: canned replies sent by business hours, each once a day.

Both act only on what arrives now (`Trigger.live`), never on machine mail (`[auto: …]`),
never when a reply (a person's or automation's) went out in the five minutes before, never
twice in a conversation on one local day, and never into a closed messaging window (a thread
line says it was not sent). They read the conversation's own thread, newest first, no further
back than they need.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from frontdesk.backends.email_parse import AUTO_PREFIX
from frontdesk.desk.automation.engine import AutomationDesk, automation_author
from frontdesk.desk.automation.hours import Hours, opening_text
from frontdesk.desk.automation.triggers import Trigger, TriggerKind
from frontdesk.model import Direction, MessageKind, Status

if TYPE_CHECKING:
    from frontdesk.config import ChannelHours, HoursConfig, ReplyChoice
    from frontdesk.desk.automation.engine import Automaton
    from frontdesk.model import Message

AWAY = "Away message"
GREETING = "Greeting"
QUIET_AFTER_REPLY = timedelta(minutes=5)
"""No automated answer when a reply went out this shortly before the customer wrote."""


def hours_automata(config: HoursConfig | None) -> list[Automaton]:
    """The greeting and the away message `[hours]` asks for (none without it)."""
    if config is None:
        return []
    settings = [config.default, *config.channels.values()]
    automata: list[Automaton] = []
    if any(s.greeting for s in settings):
        automata.append(Greeting(config))
    if any(s.away_reply for s in settings):
        automata.append(AwayMessage(config))
    return automata


class _HoursReply:
    """An automaton sending a canned reply on `kind` when `reason` says so."""

    name: str
    kind: TriggerKind

    def __init__(self, config: HoursConfig) -> None:
        self.config = config
        self._hours: dict[str, Hours] = {}

    def choices(self, setting: ChannelHours) -> tuple[ReplyChoice, ...]:
        raise NotImplementedError

    def reason(self, setting: ChannelHours, hours: Hours, at: datetime) -> str | None:
        """Why it answers at `at`, as the thread line says it; None: it does not."""
        raise NotImplementedError

    async def handle(self, desk: AutomationDesk, trigger: Trigger) -> None:
        if trigger.kind is not self.kind or not trigger.live:
            return
        conv = await desk.conversation(trigger.conversation_id)
        if conv.status is Status.BOT:
            return  # the FAQ bot answers it; the away message would talk over the bot
        setting = self.config.for_channel(conv.channel)
        choices = self.choices(setting)
        if not setting.enabled or not choices:
            return
        hours = self._hours_of(conv.channel, setting)
        why = self.reason(setting, hours, trigger.at)
        if why is None:
            return
        thread = await desk.thread(conv.id)
        if not self.may_answer(thread, trigger, day_start(hours, trigger.at)):
            return
        contact = await desk.contact(conv.contact_id)
        shortcode = pick(choices, contact.language)
        window = await desk.window(conv.id)
        if window is not None and window.closed:
            await desk.record_automation(conv.id, f"did not send /{shortcode}: {window.label}")
            return
        body = await desk.render_canned(conv.id, shortcode)
        await desk.auto_reply(conv.id, body)
        await desk.record_automation(conv.id, f"sent /{shortcode}: {why}")

    def _hours_of(self, channel: str, setting: ChannelHours) -> Hours:
        hours = self._hours.get(channel)
        if hours is None:
            hours = self._hours[channel] = Hours(setting.schedule)
        return hours

    def may_answer(self, thread: Sequence[Message], trigger: Trigger, since: datetime) -> bool:
        """False when the customer's message is machine mail, this automaton already acted
        today (from `since`), or a reply went out shortly before; reads back to `since` only."""
        me = automation_author(self.name)
        quiet_from = trigger.at - QUIET_AFTER_REPLY
        customer = None
        for message in reversed(thread):
            if message.created_at < min(since, quiet_from) and customer is not None:
                break
            if customer is None and message.direction is Direction.IN:
                if trigger.message_id is None or message.id == trigger.message_id:
                    customer = message
            if message.author == me and message.created_at >= since:
                return False
            if is_reply(message) and message.created_at >= quiet_from:
                return False
        return customer is not None and not customer.body.startswith(AUTO_PREFIX)


class Greeting(_HoursReply):
    """A canned greeting for a new conversation, inside or outside hours as configured."""

    name = GREETING
    kind = TriggerKind.CONVERSATION_CREATED

    def choices(self, setting: ChannelHours) -> tuple[ReplyChoice, ...]:
        return setting.greeting

    def reason(self, setting: ChannelHours, hours: Hours, at: datetime) -> str | None:
        if setting.greeting_when == "always":
            return "a new conversation"
        is_open = hours.is_open(at)
        if setting.greeting_when == "open":
            return "a new conversation in business hours" if is_open else None
        return None if is_open else f"a new conversation, {opening_text(hours, at)}"


class AwayMessage(_HoursReply):
    """The away reply to a customer who writes outside business hours."""

    name = AWAY
    kind = TriggerKind.MESSAGE_CREATED

    def choices(self, setting: ChannelHours) -> tuple[ReplyChoice, ...]:
        return setting.away_reply

    def reason(self, setting: ChannelHours, hours: Hours, at: datetime) -> str | None:
        return None if hours.is_open(at) else opening_text(hours, at)


def is_reply(message: Message) -> bool:
    """A reply that reached (or is going to) the customer: an agent's or automation's."""
    return (
        message.direction is Direction.OUT
        and not message.private
        and message.kind is MessageKind.TEXT
    )


def day_start(hours: Hours, at: datetime) -> datetime:
    """Local midnight of `at`'s day in the schedule's timezone, as a UTC instant."""
    local = hours.local(at)
    return datetime.combine(local.date(), time(), hours.zone).astimezone(UTC)


def pick(choices: Sequence[ReplyChoice], language: str) -> str:
    """The shortcode for the contact's language: exact, then its main part ("ja" for "ja-JP"),
    then the one for any language, then the first listed."""
    wanted = language.strip().casefold()
    main = wanted.split("-")[0]
    for test in dict.fromkeys((wanted, main, "")):
        for choice in choices:
            if choice.language == test:
                return choice.shortcode
    return choices[0].shortcode
