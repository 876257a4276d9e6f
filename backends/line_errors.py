"""LINE's error answers: their text with details, and the rejected-token error."""

from __future__ import annotations

from frontdesk.backends.base import PermanentError
from frontdesk.backends.httpchannel import Reply, clip, scrub


class TokenRejected(PermanentError):
    """401: LINE does not accept the channel access token."""


def error_text(reply: Reply) -> str:
    """LINE's error text with its details ("The request body has 1 error(s): text: must …")."""
    data = reply.data if isinstance(reply.data, dict) else {}
    text = (
        scrub(clip(data.get("message"), 300)) or reply.text.strip()[:200] or f"HTTP {reply.status}"
    )
    details = data.get("details")
    if isinstance(details, list):
        parts = [
            f"{clip(d.get('property'), 60)}: {clip(d.get('message'), 200)}".lstrip(": ")
            for d in details[:5]
            if isinstance(d, dict)
        ]
        if parts:
            text += " — " + "; ".join(scrub(p) for p in parts)
    return text


__all__ = ["TokenRejected", "error_text"]
