"""Sending on WhatsApp: texts (as a reply when one is named), files uploaded and sent by media id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frontdesk.backends.base import AmbiguousError, PermanentError, TransientError
from frontdesk.backends.httpbackend import check_length, part_sent
from frontdesk.model import Outgoing, SendResult

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
#: what Cloud API accepts per media type, by the mime types it sends as that type
MB = 1024 * 1024
MEDIA_KINDS: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "video": (frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
    ),
}
DOCUMENT_LIMIT = 100 * MB


class WhatsAppSending:
    """WhatsAppBackend's sending (uses its `_graph`, `_path`, `phone_number_id`, and the template
    part's `_learn_parameter_names` and `_template`)."""

    async def send(self, outgoing: Outgoing) -> SendResult:
        """A template, a text (as a reply when it names one), or files sent by uploaded media id."""
        to = outgoing.to or outgoing.thread_key
        if not to:
            raise PermanentError("no WhatsApp number to send to: the conversation has no wa_id")
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        if outgoing.template is not None:
            await self._learn_parameter_names(outgoing.template)
            return await self._post_message({**base, **self._template(outgoing.template)})
        body = outgoing.body
        check_length(body, TEXT_LIMIT, "WhatsApp")
        context = (
            {"context": {"message_id": outgoing.reply_to_external_id}}
            if outgoing.reply_to_external_id
            else {}
        )
        if not outgoing.attachments:
            if not body.strip():
                raise PermanentError("an empty message cannot be sent on WhatsApp")
            text = {"type": "text", "text": {"preview_url": False, "body": body}}
            return await self._post_message({**base, **context, **text})
        return await self._send_files(outgoing, base, context)

    async def _send_files(
        self, outgoing: Outgoing, base: dict[str, Any], context: dict[str, Any]
    ) -> SendResult:
        body = outgoing.body
        # audio takes no caption: the text then goes first, as it does when it is too long
        captioned = media_kind(outgoing.attachments[0].mime) != "audio"
        caption = body if captioned and len(body) <= CAPTION_LIMIT else ""
        first: SendResult | None = None
        try:
            if body.strip() and not caption:
                text = {"type": "text", "text": {"preview_url": False, "body": body}}
                first = await self._post_message({**base, **context, **text})
            for index, attachment in enumerate(outgoing.attachments):
                path = Path(attachment.ref) if attachment.ref else None
                if path is None or not path.is_file():
                    raise PermanentError(f"attachment {attachment.name!r} has no file to send")
                data = path.read_bytes()
                mime = attachment.mime or "application/octet-stream"
                problem = self.attachment_problem(attachment.name or path.name, mime, len(data))
                if problem:
                    raise PermanentError(problem)
                kind = media_kind(mime)
                media_id = await self._upload(attachment.name or path.name, mime, data)
                media: dict[str, Any] = {"id": media_id}
                if index == 0 and caption.strip():
                    media["caption"] = caption
                if kind == "document":
                    media["filename"] = attachment.name or path.name
                extra = context if first is None else {}
                sent = await self._post_message({**base, **extra, "type": kind, kind: media})
                first = first or sent
        except (TransientError, PermanentError) as exc:
            if first is None:
                raise
            raise part_sent(first.external_id, exc) from None
        assert first is not None
        return first

    async def _upload(self, name: str, mime: str, data: bytes) -> str:
        """Upload a file to the number's media store; its media id (good for 30 days)."""
        answer = await self._graph(
            "POST",
            self._path(self.phone_number_id, "media"),
            label="media upload",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": (name, data, mime)},
        )
        media_id = answer.get("id")
        if not isinstance(media_id, str) or not media_id:
            raise TransientError("WhatsApp answered the media upload without a media id")
        return media_id

    async def _post_message(self, payload: dict[str, Any]) -> SendResult:
        answer = await self._graph(
            "POST",
            self._path(self.phone_number_id, "messages"),
            sending=True,
            label="send",
            json=payload,
        )
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise AmbiguousError(
                "WhatsApp answered without a message id; the message may have been sent"
            )
        return SendResult(wamid)

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        if mime.split(";")[0].strip().lower() == "image/webp":
            return (
                f"{name}: WhatsApp takes .webp images only as stickers, which frontdesk cannot "
                "send — convert it to PNG or JPEG"
            )
        kind = media_kind(mime)
        limit = MEDIA_KINDS[kind][1] if kind in MEDIA_KINDS else DOCUMENT_LIMIT
        if size > limit:
            return (
                f"{name} is {size / MB:.1f} MB; WhatsApp sends a{'n' if kind[0] in 'aeiou' else ''} "
                f"{kind} of at most {limit // MB} MB — make it smaller or share a link"
            )
        return None


def media_kind(mime: str) -> str:
    """How WhatsApp sends a file of type `mime`: image, video or audio when it takes that
    format as such, else document (webp images go as stickers only)."""
    mime = mime.split(";")[0].strip().lower()
    for kind, (types, _) in MEDIA_KINDS.items():
        if mime in types:
            return kind
    return "document"


__all__ = ["WhatsAppSending", "media_kind"]
