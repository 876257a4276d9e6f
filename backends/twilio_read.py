"""Reading the Twilio channel: polls for inbound messages and media, delivery follow-up, cursor."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from frontdesk.backends.base import PermanentError, Sink, TransientError
from frontdesk.backends.httpchannel import MALFORMED, clip, unparsable
from frontdesk.backends.twilio_parse import (
    API,
    FINAL,
    account_uri,
    delivery_update,
    media_count,
    media_extension,
    message_date,
    message_date_or_none,
)
from frontdesk.model import Attachment, ContactRef, DeliveryUpdate, Inbound, utcnow

log = logging.getLogger("frontdesk.backends.twilio_sms")  # the channel's records keep one logger

OVERLAP = timedelta(minutes=10)
MAX_PAGES = 200


class TwilioReading:
    """TwilioSMSBackend's reading (uses its `name`, `account_sid`, `status`, `_api` and the state
    its __init__ sets)."""

    async def _poll(self, sink: Sink) -> None:
        """One round: new inbound messages and the status of followed sent messages, one ingest."""
        now = utcnow()
        floor = self._floor(now)
        raws = await self._list_inbound(floor)
        events: list[Any] = []
        fresh: dict[str, datetime] = {}
        parsed: list[Inbound] = []
        newest = self.after
        for raw in raws:
            at = message_date_or_none(raw)
            if at is not None and (newest is None or at > newest):
                newest = at  # listed and handled, whatever it turns out to be
            try:
                event = await self._inbound(raw)
            except MALFORMED as exc:
                key = (
                    raw.get("sid")
                    if isinstance(raw, dict) and isinstance(raw.get("sid"), str)
                    else json.dumps(raw, sort_keys=True, default=repr)[:200]
                )
                if key not in self._bad:
                    self._bad.add(key)
                    events.append(unparsable(self.name, raw, exc, log, what="Twilio message"))
                continue
            if event is None or event.external_id in self._seen or event.external_id in fresh:
                continue
            fresh[event.external_id] = event.created_at
            parsed.append(event)
        parsed.sort(key=lambda e: (e.created_at, e.external_id))
        events += parsed
        events += await self._delivery_updates(now)
        cursor = self._write_cursor(newest, self.follow)
        if events or cursor != self.cursor:
            await sink.ingest(self.name, events, cursor=cursor)
            self.cursor = cursor
        self.after = newest
        self._seen.update(fresh)
        keep = self._floor(now)
        self._seen = {sid: at for sid, at in self._seen.items() if at >= keep}
        if len(self._bad) > 10_000:
            self._bad.clear()

    def _floor(self, now: datetime) -> datetime:
        """Messages older than this are taken as read: the watermark (or the backfill) minus the overlap."""
        return (self.after or now - self.backfill) - OVERLAP

    async def _list_inbound(self, floor: datetime) -> list[Any]:
        """Raw messages sent to us from the day of `floor` on, newest first, stopping below `floor`."""
        params: dict[str, Any] = {"DateSent>": floor.date().isoformat(), "PageSize": self.page_size}
        if self.from_number:
            params["To"] = self.from_number
        found: list[Any] = []
        path: str | None = self._messages_path
        for page_number in range(MAX_PAGES):
            page = await self._api("GET", path, params=params if page_number == 0 else None)
            messages = page.get("messages")
            if not isinstance(messages, list):
                raise TransientError("Twilio answered the Messages list without a `messages` list")
            older = False
            for raw in messages:
                at = message_date_or_none(raw)
                if at is not None and at < floor:
                    older = True
                    continue
                found.append(raw)
            next_uri = page.get("next_page_uri")
            if older or not next_uri:
                return found
            path = account_uri(next_uri, self.account_sid)
            if path is None:
                log.warning(
                    "channel %s: Twilio gave a next_page_uri outside this account's API; not following it",
                    self.name,
                )
                return found
        log.warning(
            "channel %s: stopped after %d pages of messages; the rest comes on the next poll",
            self.name,
            MAX_PAGES,
        )
        return found

    async def _inbound(self, raw: Any) -> Inbound | None:
        """One listed message as an Inbound (None when it is not a message to us); raises if malformed."""
        if not isinstance(raw, dict):
            raise TypeError("a message that is not an object")
        sid = raw["sid"]
        if not isinstance(sid, str) or not re.fullmatch(r"[A-Z]{2}[0-9a-fA-F]{32}", sid):
            raise ValueError("a message without a valid sid")
        if raw.get("direction") != "inbound":
            return None
        if not self.from_number and raw.get("messaging_service_sid") != self.messaging_service_sid:
            return None
        sender = raw["from"]
        if not isinstance(sender, str) or not sender:
            raise ValueError("a message without a sender")
        sender = clip(sender, 64)
        body = raw.get("body") or ""
        if not isinstance(body, str):
            raise TypeError("body is not a string")
        created = message_date(raw)
        attachments: list[Attachment] = []
        num_media = media_count(raw.get("num_media"))
        if num_media:
            attachments, note = await self._media(raw, num_media)
            if note:
                body = f"{body}\n{note}" if body else note
        return Inbound(
            external_id=sid,
            thread_key=sender,
            sender=ContactRef(sender, sender, phone=sender if sender.startswith("+") else ""),
            body=clip(body),
            attachments=attachments,
            created_at=created,
        )

    async def _media(self, raw: dict[str, Any], count: int) -> tuple[list[Attachment], str]:
        """The media of an MMS as attachments (ref: the media URL path, for fetch_attachment)."""
        uris = raw.get("subresource_uris") if isinstance(raw.get("subresource_uris"), dict) else {}
        path = account_uri(
            uris.get("media")
            or f"{API}/Accounts/{self.account_sid}/Messages/{raw['sid']}/Media.json",
            self.account_sid,
        )
        gone = f"[{count} media file{'s' if count != 1 else ''} not available]"
        if path is None:
            return [], gone
        try:
            page = await self._api("GET", path)
        except PermanentError:
            return [], gone
        items = page.get("media_list")
        if not isinstance(items, list):
            raise TypeError("media_list is not a list")
        found: list[Attachment] = []
        for item in items[:10]:
            if not isinstance(item, dict) or not isinstance(item.get("sid"), str):
                raise TypeError("a media item without sid")
            mime = (
                item.get("content_type")
                if isinstance(item.get("content_type"), str)
                else "application/octet-stream"
            )
            media_sid = re.sub(r"[^A-Za-z0-9]", "", item["sid"])[:40]
            uri = (
                account_uri(item.get("uri"), self.account_sid)
                or f"{path.removesuffix('.json')}/{media_sid}.json"
            )
            ref = uri.removesuffix(".json")
            found.append(
                Attachment(
                    name=f"{media_sid}{media_extension(mime)}",
                    mime=clip(mime, 100),
                    size=0,
                    ref=ref,
                )
            )
        return found, ""

    async def _delivery_updates(self, now: datetime) -> list[DeliveryUpdate]:
        """Re-read each followed sent message; a final status ends the following."""
        updates: list[DeliveryUpdate] = []
        for sid, since in list(self.follow.items()):
            if now - since > self.follow_for:
                self.follow.pop(sid, None)
                continue
            try:
                raw = await self._api(
                    "GET", f"{API}/Accounts/{self.account_sid}/Messages/{sid}.json"
                )
            except PermanentError as exc:  # 404: deleted, or not ours
                log.info("channel %s: stopped following %s: %s", self.name, sid, exc)
                self.follow.pop(sid, None)
                continue
            update = delivery_update(raw)
            if update is not None:
                update.external_id = sid
                updates.append(update)
            status = raw.get("status")
            if (
                isinstance(status, str) and status in FINAL
            ):  # a list here would raise TypeError (unhashable)
                self.follow.pop(sid, None)
        return updates

    # ---- cursor --------------------------------------------------------------------------------

    def _read_cursor(self, cursor: str | None) -> tuple[datetime | None, dict[str, datetime]]:
        if not cursor:
            return None, {}
        try:
            data = json.loads(cursor)
            after = datetime.fromisoformat(data["after"]) if data.get("after") else None
            follow = {
                str(sid): datetime.fromisoformat(at)
                for sid, at in dict(data.get("follow", {})).items()
            }
            return after, follow
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning(
                "channel %s: ignoring an unreadable cursor; reading the last %s again",
                self.name,
                self.backfill,
            )
            return None, {}

    @staticmethod
    def _write_cursor(after: datetime | None, follow: Mapping[str, datetime]) -> str:
        return json.dumps(
            {
                "after": after.isoformat() if after else None,
                "follow": {sid: at.isoformat() for sid, at in follow.items()},
            },
            sort_keys=True,
        )
