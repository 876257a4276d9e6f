"""The demo world's customers: names, contact details and the channels they write on."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from frontdesk.backends.demo_kinds import KINDS
from frontdesk.backends.demo_phrases import (
    CITIES,
    CONTACT_NOTES,
    DOMAINS,
    EN_EMOJI,
    EN_FIRSTS,
    EN_LASTS,
    JA_EMOJI,
    JA_FAMILIES,
    JA_GIVENS,
    KIND_WEIGHTS,
    PLANS,
)
from frontdesk.model import Contact, Identity


@dataclass(slots=True)
class Person:
    contact: Contact
    call: str  # how agents address them: "Mia", "山田様"
    first: str
    plan: str
    orders: int
    vip: bool
    email: str  # their address, also for a later email thread when they have no email identity
    identities: list[Identity]


def _perm(n: int, modulus: int, offset: int) -> int:
    """A bijection of ints mod `modulus` (10**k): unique numbers per contact id."""
    return (n * 2_654_435_761 + offset) % modulus


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower()


def _make_person(
    rng: random.Random, cid: int, language: str, offsets: tuple[int, ...], used_emails: set[str]
) -> Person:
    if language == "ja":
        (family, family_r), (given, given_r) = rng.choice(JA_FAMILIES), rng.choice(JA_GIVENS)
        style = rng.random()
        if style < 0.72:
            name, call = f"{family} {given}", f"{family}様"
        elif style < 0.84:
            name, call = f"{family}{given}", f"{family}様"
        else:
            name, call = f"{given}{rng.choice(JA_EMOJI)}", f"{given}様"
        local = rng.choice(
            (f"{given_r}.{family_r}", f"{family_r}.{given_r}", f"{given_r}{cid % 100:02d}")
        )
        first = family
    else:
        given, family = rng.choice(EN_FIRSTS), rng.choice(EN_LASTS)
        style = rng.random()
        if style < 0.75:
            name = f"{given} {family}"
        elif style < 0.87:
            name = f"{given} {rng.choice(EN_EMOJI)}"
        else:
            name = f"{given} {family[0]}."
        call = first = given
        g, f = _ascii(given), _ascii(family)
        local = rng.choice((f"{g}.{f}", f"{g}{f[0]}", f"{g[0]}{f}"))
    email = f"{local}@{rng.choice(DOMAINS[language])}"
    if email in used_emails:
        email = f"{local}{cid}@{email.split('@', 1)[1]}"
    used_emails.add(email)
    plan = rng.choices(PLANS, (30, 30, 28, 12))[0]
    orders = rng.randint(1, 40)
    contact = Contact(id=cid, name=name, language=language)
    person = Person(
        contact,
        call,
        first,
        plan,
        orders,
        vip=plan == "Business" and orders >= 15,
        email=email,
        identities=[],
    )
    person.contact.notes = rng.choice(CONTACT_NOTES[language]) if rng.random() < 0.25 else ""
    if rng.random() < 0.75:
        attributes = {
            "plan": plan,
            "orders": str(orders),
            "customer_since": f"{rng.randint(2018, 2024)}-{rng.randint(1, 12):02d}",
        }
        if rng.random() < 0.5:
            attributes["city"] = rng.choice(CITIES[language])
        if person.vip:
            attributes["tier"] = "VIP"
        person.contact.attributes = attributes
    phone = _phone(rng, cid, language, offsets[0])

    def address(kind: str) -> str:
        match kind:
            case "email":
                return email
            case "whatsapp" | "sms":
                return phone
            case "telegram":
                return str(5_000_000_000 + _perm(cid, 10**9, offsets[1]))
            case "line":
                return f"U{rng.getrandbits(128):032x}"
            case _:  # messenger page-scoped id
                return str(7_000_000_000_000_000 + _perm(cid, 10**15, offsets[2]))

    kinds = _identity_kinds(rng, cid, language)
    for kind in kinds:
        _add_identity(person, kind, address(kind))
    person.contact.emails = [email] if "email" in kinds else []
    return person


def _phone(rng: random.Random, cid: int, language: str, offset: int) -> str:
    if language == "ja":
        return f"+81{rng.choice(('90', '80', '70'))}{_perm(cid, 10**8, offset):08d}"
    return f"+1{rng.choice(('415', '628', '212', '646', '312'))}{_perm(cid, 10**7, offset):07d}"


def _identity_kinds(rng: random.Random, cid: int, language: str) -> list[str]:
    """1–2 distinct channel kinds; the first six contacts cover every kind once."""
    weights = KIND_WEIGHTS[language]
    first = KINDS[cid - 1] if cid <= len(KINDS) else rng.choices(KINDS, weights)[0]
    kinds = [first]
    if rng.random() < 0.45:
        second = rng.choices(KINDS, weights)[0]
        if second != first:
            kinds.append(second)
    return kinds


def _add_identity(person: Person, kind: str, address: str) -> None:
    person.identities.append(Identity(kind, address))
    person.contact.identities.append(Identity(kind, address))
    if kind in ("whatsapp", "sms") and address not in person.contact.phones:
        person.contact.phones.append(address)


def make_people(seed: int, count: int) -> list[Person]:
    rng = random.Random(f"{seed}:contacts")
    offsets = (rng.randrange(10**8), rng.randrange(10**9), rng.randrange(10**15))
    used: set[str] = set()
    people = []
    for i in range(count):
        language = ("ja", "en")[i] if i < 2 else ("ja" if rng.random() < 0.5 else "en")
        people.append(_make_person(rng, i + 1, language, offsets, used))
    return people


def allocate(rng: random.Random, people: list[Person], count: int) -> list[tuple[Person, str, str]]:
    """(person, kind, address) per conversation; a chat address carries one conversation only.

    Each contact first gets a conversation on its primary channel, then second channels
    are used, then extra email threads (which may repeat: each has its own root).
    """
    slots = [(p, p.identities[0].channel, p.identities[0].address) for p in people[:count]]
    seconds = [(p, i.channel, i.address) for p in people for i in p.identities[1:]]
    rng.shuffle(seconds)
    slots += seconds[: count - len(slots)]
    while len(slots) < count:
        person = rng.choice(people)
        email = next((i.address for i in person.identities if i.channel == "email"), None)
        if email is None:
            email = person.email
            _add_identity(person, "email", email)
            person.contact.emails.append(email)
        slots.append((person, "email", email))
    rng.shuffle(slots)
    return slots
