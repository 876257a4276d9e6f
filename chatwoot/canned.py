"""A Chatwoot account's canned responses as frontdesk canned replies (`{{contact.name}}` → `{contact.name}`)."""

from __future__ import annotations

import re

from frontdesk.chatwoot.state import CannedResponse
from frontdesk.desk.canned import VARIABLES, CannedReply

_CHATWOOT_VARIABLE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
_SHORTCODE_OUT = re.compile(r"[^\w-]+")  # what a canned.toml shortcode may not hold
_ALIASES = {"conversation.display_id": "conversation.id"}


def canned_reply(response: CannedResponse) -> CannedReply:
    """`response` in frontdesk's template language: Chatwoot variables frontdesk fills become its
    placeholders, any other one asks the agent for its value, and other braces stay literal."""
    parts: list[str] = []
    last = 0
    for match in _CHATWOOT_VARIABLE.finditer(response.content):
        parts.append(_literal(response.content[last : match.start()]))
        parts.append(_placeholder(match.group(1)))
        last = match.end()
    parts.append(_literal(response.content[last:]))
    code = _SHORTCODE_OUT.sub("-", response.short_code)[:60]
    return CannedReply(shortcode=code, title=f"{code} (Chatwoot)", body="".join(parts))


def canned_replies(responses: list[CannedResponse]) -> list[CannedReply]:
    return [canned_reply(r) for r in responses]


def _placeholder(name: str) -> str:
    name = _ALIASES.get(name, name)
    return f"{{{name}}}" if name in VARIABLES else f"{{ask:{name}}}"


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
