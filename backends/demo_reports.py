"""What the demo's history needs for its reports: surveys and ratings, and a few reopens.

Applied to the drafts after their threads are built, with its own random stream, so the rest of
the workspace is the same as without it. The thread lines are the desk's own (desk.py,
ingest.py, desk/surveys.py), so reports read them as they read a real desk's.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from frontdesk.backends.demo_history import Draft
from frontdesk.model import Delivery, Direction, EventKind, Message, MessageKind, Status

SURVEY_AUTHOR = "⚙ CSAT"
QUESTIONS = {
    "en": "How did we do? Reply with a number from 1 (poor) to 5 (great).",
    "ja": "今回の対応はいかがでしたか？1（不満）〜5（満足）の数字でお答えください。",
}
"""As desk.automation.csat asks (backends do not import the desk)."""
ANSWERS = {"en": "{}", "ja": "{}です"}
SURVEYED, ANSWERED, REOPENED = 0.85, 0.55, 0.25
RATINGS, RATING_WEIGHTS = (5, 4, 3, 2, 1), (45, 30, 10, 8, 7)


def add_report_history(seed: int, drafts: list[Draft], now: datetime) -> None:
    """Reopen some resolved conversations before their last resolve, and survey and rate some."""
    rng = random.Random(f"{seed}:reports")
    for d in drafts:
        if d.status is not Status.RESOLVED or not d.messages:
            continue
        if rng.random() < REOPENED:
            _reopen_once(rng, d)
        if rng.random() < SURVEYED:
            _survey(rng, d, now)


def _event(d: Draft, at: datetime, kind: EventKind, text: str, author: str) -> Message:
    return Message(
        0,
        0,
        Direction.OUT,
        text,
        kind=MessageKind.ACTIVITY,
        private=True,
        author=author,
        created_at=at,
        event=kind,
    )


def _reopen_once(rng: random.Random, d: Draft) -> None:
    """The agent resolved after a reply, the customer wrote again: reopened."""
    thread = d.messages
    spots = [
        i
        for i in range(1, len(thread) - 3)
        if thread[i].direction is Direction.OUT
        and not thread[i].private
        and thread[i + 1].direction is Direction.IN
        and thread[i + 1].created_at - thread[i].created_at >= timedelta(minutes=10)
    ]
    if not spots:
        return
    i = rng.choice(spots)
    resolved_at = thread[i].created_at + timedelta(seconds=rng.uniform(60, 300))
    came_back = thread[i + 1]
    thread[i + 1 : i + 1] = [
        _event(d, resolved_at, EventKind.STATUS, f"{d.handler} resolved this", d.handler),
        _event(
            d,
            came_back.created_at,
            EventKind.STATUS,
            f"{d.person.contact.name} wrote again: reopened",
            "",
        ),
    ]


def _survey(rng: random.Random, d: Draft, now: datetime) -> None:
    sent = d.messages[-1].created_at + timedelta(seconds=rng.uniform(5, 60))
    if sent >= now:
        return
    lang = d.person.contact.language
    question = Message(
        0,
        0,
        Direction.OUT,
        QUESTIONS.get(lang, QUESTIONS["en"]),
        author=SURVEY_AUTHOR,
        created_at=sent,
        delivery=Delivery.DELIVERED,
    )
    line = _event(
        d,
        sent,
        EventKind.AUTOMATION,
        f"{SURVEY_AUTHOR} sent the satisfaction survey",
        SURVEY_AUTHOR,
    )
    d.messages += [question, line]
    d.survey_sent_at = sent
    rated = sent + timedelta(seconds=rng.uniform(120, 6 * 3600))
    if rng.random() >= ANSWERED or rated >= now:
        return
    rating = rng.choices(RATINGS, RATING_WEIGHTS)[0]
    name = d.person.contact.name
    d.messages += [
        Message(
            0,
            0,
            Direction.IN,
            ANSWERS.get(lang, "{}").format(rating),
            author=name,
            created_at=rated,
        ),
        _event(d, rated, EventKind.RATED, f"{name} rated this {rating}/5", ""),
    ]
    d.rating, d.rated_at = rating, rated
