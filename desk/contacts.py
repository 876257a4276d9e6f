"""Contact rules: checking notes and custom attributes, reading `key: value` lines, merging two contacts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from frontdesk.desk.errors import DeskError
from frontdesk.model import Contact

MAX_NOTES = 10_000
MAX_KEY = 40
MAX_VALUE = 500
MAX_ATTRIBUTES = 100


def check_notes(notes: str) -> str:
    """The notes with trailing space removed, or ValueError when they are too long."""
    notes = notes.rstrip()
    if len(notes) > MAX_NOTES:
        raise ValueError(
            f"contact notes are {len(notes):,} characters; keep them under {MAX_NOTES:,}"
        )
    return notes


def check_edit(
    notes: str | None, attributes: Mapping[str, str] | None
) -> tuple[str | None, dict[str, str] | None]:
    """An agent's edit of a contact checked as every desk checks it (None: left as it is);
    DeskError names the first problem."""
    try:
        return (
            check_notes(notes) if notes is not None else None,
            check_attributes(attributes) if attributes is not None else None,
        )
    except ValueError as exc:
        raise DeskError(str(exc)) from None


def check_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    """The attributes with keys and values trimmed, or ValueError naming the first bad one."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValueError(f"{len(attributes)} attributes; a contact keeps at most {MAX_ATTRIBUTES}")
    checked: dict[str, str] = {}
    for key, value in attributes.items():
        key, value = str(key).strip(), str(value).strip()
        if not key:
            raise ValueError("an attribute needs a name before the colon")
        if len(key) > MAX_KEY or ":" in key or "\n" in key:
            raise ValueError(
                f"attribute name {key[:MAX_KEY]!r} must be one line of at most {MAX_KEY} characters without ':'"
            )
        if len(value) > MAX_VALUE or "\n" in value:
            raise ValueError(
                f"attribute {key!r} must be one line of at most {MAX_VALUE} characters"
            )
        if key.casefold() in (k.casefold() for k in checked):
            raise ValueError(f"attribute {key!r} is given twice")
        checked[key] = value
    return checked


def parse_attributes(text: str) -> dict[str, str]:
    """Read `key: value` lines (blank lines skipped) into attributes; ValueError names the line."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"line {number}: write it as `name: value` (no colon found)")
        try:
            check_attributes({key: value})
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        if key.strip().casefold() in (k.casefold() for k in pairs):
            raise ValueError(f"line {number}: attribute {key.strip()!r} is given twice")
        pairs[key.strip()] = value.strip()
    return check_attributes(pairs)


def format_attributes(attributes: Mapping[str, str]) -> str:
    """Attributes as the `key: value` lines `parse_attributes` reads back."""
    return "\n".join(f"{key}: {value}" for key, value in attributes.items())


def merged_contact(keep: Contact, other: Contact) -> Contact:
    """`keep` with everything of `other` it lacks: identities, emails, phones, notes, attributes.

    The kept contact's own values win (name, language, an attribute set on both); the
    other's notes are appended under its name so nothing written about it is lost.
    """
    notes = keep.notes
    if other.notes and other.notes not in notes:
        notes = f"{notes}\n\n— from {other.name}:\n{other.notes}" if notes else other.notes
    return replace(
        keep,
        emails=_union(keep.emails, other.emails),
        phones=_union(keep.phones, other.phones),
        language=keep.language or other.language,
        notes=notes,
        attributes={
            **keep.attributes,
            **{k: v for k, v in other.attributes.items() if k not in keep.attributes},
        },
        identities=list({str(i): i for i in [*keep.identities, *other.identities]}.values()),
    )


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in [*first, *second]:
        seen.setdefault(value.strip().casefold(), value)
    return list(seen.values())
