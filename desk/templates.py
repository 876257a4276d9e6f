"""Approved message templates: their parameter rules, how a sent one reads in the thread, and the Desk's template commands."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import astuple, dataclass, fields, replace
from datetime import datetime
from typing import Any

from frontdesk.backends.base import Backend
from frontdesk.desk.automation.engine import is_automation_author
from frontdesk.desk.batches import mark_answered
from frontdesk.desk.changes import Broker, Change, ChangeKind
from frontdesk.desk.errors import DeskError
from frontdesk.model import (
    Conversation,
    Delivery,
    Direction,
    Message,
    MessageTemplate,
    TemplateExtra,
    TemplateSend,
)
from frontdesk.store import Store

log = logging.getLogger("frontdesk.desk")

PARAMETER_LIMIT = 1024
"""Characters a parameter may hold (a template body holds at most 1,024 on WhatsApp)."""
PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
"""`{{1}}` or `{{order_id}}` in a template's body."""
_FIVE_SPACES = re.compile(r" {5,}")
ALLOWANCE_SECONDS = 10.0
"""How long the composer's allowance line may take before it is left out."""
TEMPLATE_LIST_SECONDS = 300.0
"""How long a channel's template list is used before the picker's next open reads it again."""


def parameter_problem(label: str, value: str) -> str | None:
    """What is wrong with `value` for the placeholder `label`, as one sentence; None when it may go.

    The rule is WhatsApp's (the Graph API refuses a parameter with a new line or tab, or more
    than 4 spaces in a row); the other channels' templates are no looser.
    """
    if not value.strip():
        return f"{{{{{label}}}}} is empty; type its value"
    if len(value) > PARAMETER_LIMIT:
        return f"{{{{{label}}}}} is {len(value):,} characters; at most {PARAMETER_LIMIT:,} are sent"
    if any(c in value for c in "\n\r\t"):
        return f"{{{{{label}}}}} has a new line or tab; templates take one line per value"
    if _FIVE_SPACES.search(value):
        return f"{{{{{label}}}}} has more than 4 spaces in a row; templates refuse that"
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        return f"{{{{{label}}}}} has a control character; remove it"
    return None


LINK_LIMIT = 2000
"""Characters of a media link or a button's URL ending (WhatsApp's URL limit)."""
HEADER_LIMIT = 60
"""Characters a text header holds (WhatsApp's limit, so its value can hold no more)."""
CODE_LIMIT = 15
"""Characters of a copy-code button's coupon code (WhatsApp's limit)."""
_MEDIA_LINK = re.compile(r"https?://[^\s/]+\S*")


@dataclass(frozen=True, slots=True)
class Ask:
    """One value the template picker asks for: a body placeholder (no `extra`), or the header's
    or a button's value (`extra`)."""

    label: str
    extra: TemplateExtra | None = None

    def prompt(self) -> str:
        """What the value is, for the picker's question: `{{1}}`, `the header image's link` …"""
        extra = self.extra
        if extra is None:
            return f"{{{{{self.label}}}}}"
        if extra.part == "header":
            if extra.kind == "text":
                return f"header {{{{{self.label}}}}}"
            return f"the header {extra.kind}'s link (https://…)"
        if extra.kind == "url":
            return f"the end of the link of button {self.label!r} ({extra.text})"
        return f"the coupon code of button {self.label!r}"


def template_asks(template: MessageTemplate) -> list[Ask]:
    """What the picker asks for, in the order the customer reads it: header, body, buttons."""
    extras = template.extras
    return [
        *(Ask(e.label, e) for e in extras if e.part == "header"),
        *(Ask(label) for label in template.parameters),
        *(Ask(e.label, e) for e in extras if e.part != "header"),
    ]


def send_of(template: MessageTemplate, answers: list[str]) -> TemplateSend:
    """The template to send with `answers` given to `template_asks(template)` in turn."""
    asks = template_asks(template)
    body = [value for ask, value in zip(asks, answers) if ask.extra is None]
    extras = [
        replace(ask.extra, value=value)
        for ask, value in zip(asks, answers)
        if ask.extra is not None
    ]
    return TemplateSend(template.name, template.language, body, extras)


def ask_problem(ask: Ask, value: str) -> str | None:
    """What is wrong with `value` for `ask`, as one sentence; None when it may go."""
    extra = ask.extra
    if extra is None:
        return parameter_problem(ask.label, value)
    if extra.kind == "text":
        problem = parameter_problem(ask.label, value)
        if problem is None and len(value) > HEADER_LIMIT:
            return f"header {{{{{ask.label}}}}} is {len(value)} characters; a header holds {HEADER_LIMIT}"
        return problem
    what = ask.prompt()
    if not value.strip():
        return f"{what} is empty; type it"
    if extra.kind in ("image", "video", "document"):
        if len(value) > LINK_LIMIT or not _MEDIA_LINK.fullmatch(value):
            return f"{what} must be a link starting https:// that WhatsApp can fetch"
        return None
    limit = LINK_LIMIT if extra.kind == "url" else CODE_LIMIT
    if len(value) > limit:
        return f"{what} is {len(value):,} characters; at most {limit:,} are sent"
    if any(c.isspace() or ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value):
        return f"{what} takes no spaces, new lines or control characters"
    return None


def check_parameters(template: MessageTemplate, values: list[str]) -> None:
    """Raise DeskError (one line) unless `values` fill every placeholder of `template` as the channel accepts."""
    if len(values) != len(template.parameters):
        raise DeskError(
            f"template {template.name!r} takes {len(template.parameters)} value(s), "
            f"{len(values)} given"
        )
    for label, value in zip(template.parameters, values, strict=True):
        problem = parameter_problem(label, value)
        if problem is not None:
            raise DeskError(f"template {template.name!r}: {problem}")


def checked_extras(template: MessageTemplate, given: list[TemplateExtra]) -> list[TemplateExtra]:
    """The template's header and button values filled from `given` (matched by part and
    button position); DeskError (one line) when one is missing or the channel would refuse it."""
    by_place = {(e.part, e.index): e.value for e in given}
    filled = []
    for extra in template.extras:
        value = by_place.get((extra.part, extra.index))
        ask = Ask(extra.label, extra)
        if value is None:
            raise DeskError(f"template {template.name!r}: {ask.prompt()} is missing")
        problem = ask_problem(ask, value)
        if problem is not None:
            raise DeskError(f"template {template.name!r}: {problem}")
        filled.append(replace(extra, value=value))
    return filled


def fill_body(body: str, labels: tuple[str, ...], values: Mapping[str, str]) -> str:
    """`body` with each placeholder whose label has a value replaced by it (others left as they are)."""

    def put(found: re.Match[str]) -> str:
        label = found.group(1)
        return values.get(label, found.group(0)) if label in labels else found.group(0)

    return PLACEHOLDER.sub(put, body)


def template_preview(template: MessageTemplate, answers: list[str]) -> str:
    """The template as the customer will read it with `answers` (to `template_asks`, in turn)
    so far, ⟨…⟩ where a value is still to come: its header, body and buttons, a line each."""
    asks = template_asks(template)
    given = list(zip(asks, [*answers[: len(asks)], *[""] * (len(asks) - len(answers))]))
    body_values = {ask.label: value for ask, value in given if ask.extra is None and value}
    body = _filled(template.body, template.parameters, body_values)
    extras = [(ask.extra, value) for ask, value in given if ask.extra is not None]
    header = [_extra_line(extra, value) for extra, value in extras if extra.part == "header"]
    buttons = [_extra_line(extra, value) for extra, value in extras if extra.part != "header"]
    return "\n".join([*header, body, *buttons])


def _filled(text: str, labels: tuple[str, ...], values: Mapping[str, str]) -> str:
    waiting = {label: f"⟨{{{{{label}}}}}⟩" for label in labels if label not in values}
    return fill_body(text, labels, {**values, **waiting})


def _extra_line(extra: TemplateExtra, value: str) -> str:
    if extra.kind == "text":
        return _filled(extra.text, (extra.label,), {extra.label: value} if value else {})
    if extra.kind == "url":
        labels = tuple(dict.fromkeys(PLACEHOLDER.findall(extra.text)))
        link = _filled(extra.text, labels, dict.fromkeys(labels, value) if value else {})
        return f"[{extra.label} → {link}]"
    if extra.kind == "copy_code":
        return f"[{extra.label}: {value or '⟨coupon code⟩'}]"
    return f"[{extra.kind}: {value or '⟨link⟩'}]"


def rendered(
    template: MessageTemplate, values: list[str], extras: list[TemplateExtra] | None = None
) -> str:
    """How a sent template reads in the thread: `[template order_update] Your order 123 has
    shipped`, with its header and buttons as sent on lines of their own (before and after)."""
    filled = fill_body(template.body, template.parameters, dict(zip(template.parameters, values)))
    sent = extras or []
    header = [_extra_line(e, e.value) for e in sent if e.part == "header"]
    buttons = [_extra_line(e, e.value) for e in sent if e.part != "header"]
    return f"[template {template.name}] " + "\n".join([*header, filled, *buttons])


def extra_record(extra: TemplateExtra) -> list[Any]:
    """A header or button value as plain JSON (its fields in order), as the outbox keeps it."""
    return list(astuple(extra))


def extra_from_record(found: Any) -> TemplateExtra | None:
    """A header or button value `extra_record` wrote; None when it is damaged."""
    if not isinstance(found, list) or len(found) != len(fields(TemplateExtra)):
        return None
    part, kind, label, index, text, value = found
    if not all(isinstance(x, str) for x in (part, kind, label, text, value)):
        return None
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 100:
        return None
    return TemplateExtra(part, kind, label, index, text, value)


def template_extra(send: TemplateSend) -> dict[str, Any]:
    """The template as the outbox entry keeps it (plain JSON, so it survives a restart)."""
    kept: dict[str, Any] = {
        "name": send.name,
        "language": send.language,
        "parameters": list(send.parameters),
    }
    if send.extras:
        kept["extras"] = [extra_record(e) for e in send.extras]
    return kept


def template_from_extra(extra: Mapping[str, Any]) -> TemplateSend | None:
    """The template an outbox entry's `extra` holds; None for a free-text reply or a damaged entry."""
    found = extra.get("template")
    if not isinstance(found, dict):
        return None
    name, language, parameters = (
        found.get("name"),
        found.get("language"),
        found.get("parameters", []),
    )
    if (
        not isinstance(name, str)
        or not isinstance(language, str)
        or not isinstance(parameters, list)
    ):
        return None
    if not all(isinstance(p, str) for p in parameters):
        return None
    records = found.get("extras", [])
    extras = [extra_from_record(r) for r in records] if isinstance(records, list) else [None]
    if any(e is None for e in extras):
        return None
    return TemplateSend(name, language, list(parameters), extras)  # type: ignore[arg-type]


class Templates:
    """The part of the Desk that lists and sends a channel's approved templates, and its
    allowance line (with the desk's `conversation` and `_append`)."""

    store: Store
    channels: dict[str, Backend]
    now: Callable[[], datetime]
    _broker: Broker
    _wake_outbox: asyncio.Event
    agent: str
    #: channel -> when its template list was read, and the list (templates, send_template)
    _template_lists: dict[str, tuple[datetime, list[MessageTemplate]]]

    def _template_backend(self, conv: Conversation) -> Backend:
        backend = self.channels.get(conv.channel)
        if backend is None:
            raise DeskError(f"channel {conv.channel!r} is not configured in this frontdesk")
        if not backend.supports_templates:
            raise DeskError(
                f"channel {conv.channel!r} ({backend.channel_kind}) has no message templates; "
                "write a reply instead"
            )
        return backend

    async def templates(self, conv_id: int) -> list[MessageTemplate]:
        """The approved templates the conversation's channel can send (DeskError when it has none),
        as read from the channel in the last few minutes (`TEMPLATE_LIST_SECONDS`)."""
        return await self._channel_templates(await self.conversation(conv_id))

    async def _channel_templates(
        self, conv: Conversation, fresh: bool = False
    ) -> list[MessageTemplate]:
        backend = self._template_backend(conv)
        kept = self._template_lists.get(conv.channel)
        now = self.now()
        if (
            not fresh
            and kept is not None
            and 0 <= (now - kept[0]).total_seconds() < TEMPLATE_LIST_SECONDS
        ):
            return list(kept[1])
        try:
            found = await backend.templates()
        except Exception as exc:
            raise DeskError(
                f"channel {conv.channel!r}: templates not read: {backend.redact(str(exc))}"
            ) from exc
        listed = sorted(found, key=lambda t: (t.name, t.language))
        self._template_lists[conv.channel] = (now, listed)
        return list(listed)

    async def send_template(self, conv_id: int, send: TemplateSend) -> Message:
        """Queue an approved template with its values (allowed once the window closed: that is
        what templates are for); the thread shows it rendered as the customer gets it."""
        conv = await self.conversation(conv_id)
        template = self._find_template(await self._channel_templates(conv), send)
        if template is None:  # approved since the list was read, perhaps
            template = self._find_template(await self._channel_templates(conv, True), send)
        if template is None:
            raise DeskError(
                f"no approved template {send.name!r} ({send.language}) on channel {conv.channel!r}"
            )
        values = list(send.parameters)
        check_parameters(template, values)
        extras = checked_extras(template, send.extras)
        send = TemplateSend(template.name, template.language, values, extras)
        return self._queue_template(conv, rendered(template, values, extras), send)

    @staticmethod
    def _find_template(
        templates: list[MessageTemplate], send: TemplateSend
    ) -> MessageTemplate | None:
        return next(
            (t for t in templates if (t.name, t.language) == (send.name, send.language)), None
        )

    def _queue_template(self, conv: Conversation, body: str, send: TemplateSend) -> Message:
        now = self.now()
        with self.store.batch():
            message = Message(
                id=self.store.new_id("message"),
                conversation_id=conv.id,
                direction=Direction.OUT,
                body=body,
                delivery=Delivery.PENDING,
                author=self.agent,
                created_at=now,
                template=send,
            )
            self._append(conv, message)
            if not is_automation_author(self.agent):  # automation's template answers nobody
                mark_answered(conv, now)
            self._put_outgoing(conv, message, now, {"template": template_extra(send)})
        self._broker.publish(
            [
                Change(ChangeKind.MESSAGE, conv.id, message.id),
                Change(ChangeKind.CONVERSATION, conv.id),
            ]
        )
        self._wake_outbox.set()
        return message

    async def allowance(self, conv_id: int) -> str | None:
        """The channel's line on what sending costs now (LINE's push quota); None when it says
        nothing or cannot tell (logged: the composer is no place for that error)."""
        conv = self.store.conversation(conv_id)
        backend = self.channels.get(conv.channel) if conv is not None else None
        if backend is None:
            return None
        try:
            line = await asyncio.wait_for(backend.allowance(), ALLOWANCE_SECONDS)
        except Exception as exc:
            log.warning(
                "channel %s: allowance not read: %s", backend.name, backend.redact(str(exc))
            )
            return None
        return line or None


def matching_templates(query: str, templates: list[MessageTemplate]) -> list[MessageTemplate]:
    """The templates whose name, language, category or body hold every word of `query`
    (any case), those whose name starts with the first word first; all of them for no query."""
    words = query.casefold().split()
    if not words:
        return list(templates)

    def text(t: MessageTemplate) -> str:
        return " ".join(
            (t.name.replace("_", " "), t.name, t.language, t.category, t.body)
        ).casefold()

    found = [t for t in templates if all(w in text(t) for w in words)]
    return sorted(found, key=lambda t: not t.name.casefold().startswith(words[0]))
