"""The webhook side of the plugin API: what a channel fed by the desk's receiver implements.

The receiver (desk/receiver.py) owns HTTP: it bounds the body, asks the channel's backend
to verify the signature on the raw bytes, only then to parse them, persists the events
through the desk's `ingest`, and answers 200 after that. A backend here never parses a
body whose signature it has not checked, and never raises out of `parse_webhook`: what it
cannot read becomes an `Unparsable` event (kept in quarantine).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from frontdesk.backends.base import Backend, Sink
from frontdesk.model import ChannelEvent

#: the largest request body the receiver reads; a larger one is answered 413 unread
MAX_WEBHOOK_BYTES = 1024 * 1024


def meta_signature_ok(app_secret: str, header: str | None, body: bytes) -> bool:
    """Whether `X-Hub-Signature-256` is `sha256=` + hex HMAC-SHA256 of the raw `body` with
    the app secret (WhatsApp Cloud API, Messenger), compared in constant time."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def line_signature_ok(channel_secret: str, header: str | None, body: bytes) -> bool:
    """Whether `X-Line-Signature` is base64 HMAC-SHA256 of the raw `body` with the channel
    secret, compared in constant time."""
    if not channel_secret or not header:
        return False
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode("ascii", "replace"))


def meta_challenge(verify_token: str, query: Mapping[str, str]) -> str | None:
    """The `hub.challenge` to echo for Meta's subscription check (GET), or None when the mode
    is not `subscribe` or the verify token is wrong (compared in constant time)."""
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not verify_token or not token:
        return None
    if not hmac.compare_digest(verify_token.encode(), token.encode()):
        return None
    return query.get("hub.challenge")


class WebhookBackend(Backend):
    """A channel whose provider calls the desk (`/webhooks/<channel name>`) instead of being polled.

    `run` keeps the backend alive for the desk's supervision (and may do background work such
    as profile lookups or a poll mode); the receiver hands each verified request to
    `parse_webhook` and ingests the result itself.
    """

    polling: ClassVar[bool] = False
    webhook: ClassVar[bool] = True
    #: this channel's address on the internet (`<[webhooks] public_url>/webhooks/<name>`), set by
    #: the desk's setup; "" when the config has no public_url
    public_url: str = ""

    @abstractmethod
    def signature_ok(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether the request is signed by the provider (`headers` have lower-case names)."""

    @abstractmethod
    def parse_webhook(self, body: bytes) -> list[ChannelEvent]:
        """The events of one verified request body; never raises (bad parts are `Unparsable`)."""

    def subscription_answer(self, query: Mapping[str, str]) -> str | None:
        """The body to answer a provider's GET verification with, or None to refuse it (403)."""
        return None

    def served_file(self, token: str) -> Path | None:
        """The file to answer `GET <public_url>/files/<token>` with (a provider fetching what the
        agent sends, e.g. LINE's pictures), or None (404). Only files this backend chose to serve."""
        return None

    async def run(self, sink: Sink) -> None:
        """Stay up while the desk runs; the receiver delivers this channel's events."""
        await asyncio.Event().wait()
