"""Sending a reply by email: composing it (threading headers, Message-ID), SMTP, the Sent copy."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from frontdesk.backends.base import AmbiguousError, ConfigError, PermanentError, TransientError
from frontdesk.backends.email_net import describe_network_error, ssl_context
from frontdesk.backends.email_parse import reply_subject
from frontdesk.backends.email_settings import EmailSettings
from frontdesk.model import Delivery, Outgoing, SendResult

log = logging.getLogger(__name__)


def message_id_for(key: str, channel: str, address: str) -> str:
    """The Message-ID of an outgoing mail: a pure function of its idempotency key."""
    digest = hashlib.sha256(f"{channel}\x00{key}".encode()).hexdigest()[:32]
    domain = address.rsplit("@", 1)[-1] or "frontdesk.invalid"
    return f"<fd.{digest}@{domain}>"


ATTACHMENTS_LIMIT = 25 * 1000 * 1000
"""A reply's files together: most mail servers refuse a message much larger (base64 adds a third)."""


class EmailSending:
    """EmailBackend's sending (uses its `cfg`, `secret`, `threads`, `redact`, `_open` and `_close`)."""

    attachments_total_limit = ATTACHMENTS_LIMIT

    def attachment_problem(self, name: str, mime: str, size: int) -> str | None:
        """One file over the total a mail may carry can never be sent."""
        if size > ATTACHMENTS_LIMIT:
            return f"{self.name}: files over 25 MB cannot be sent by email ({name} is {size / 1e6:.1f} MB)"
        return None

    def compose(self, outgoing: Outgoing, cfg: EmailSettings | None = None) -> EmailMessage:
        """The reply as it goes on the wire (pure: the same outgoing gives the same mail)."""
        cfg = cfg or self.cfg
        to = (outgoing.to or "").strip()
        if "@" not in to or any(ch in to for ch in "\r\n,;"):
            raise PermanentError(f"not an email address: {to!r}")
        msg = EmailMessage()
        msg["From"] = (
            Address(cfg.display_name, addr_spec=cfg.address) if cfg.display_name else cfg.address
        )
        msg["To"] = to
        msg["Subject"] = reply_subject(outgoing.subject)
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = message_id_for(
            outgoing.idempotency_key or f"message-{outgoing.message_id}", self.name, cfg.address
        )
        parent = (
            outgoing.reply_to_external_id
            if (outgoing.reply_to_external_id or "").startswith("<")
            else None
        )
        references = self.threads.references_for(outgoing.thread_key, parent)
        if parent or references:
            msg["In-Reply-To"] = parent or references[-1]
        if references:
            msg["References"] = " ".join(references)
        # RFC 3834: other robots (out-of-office replies) must not answer an automatic reply
        msg["Auto-Submitted"] = "auto-replied" if outgoing.automated else "no"
        msg["X-Mailer"] = "frontdesk"
        msg.set_content(outgoing.body)
        total = sum(attachment.size for attachment in outgoing.attachments)
        if total > ATTACHMENTS_LIMIT:
            raise PermanentError(
                f"the files come to {total / 1e6:.1f} MB; one mail carries at most 25 MB — send them in several replies"
            )
        for attachment in outgoing.attachments:
            path = Path(attachment.ref).expanduser()
            if not attachment.ref or not path.is_file():
                raise PermanentError(
                    f"attachment {attachment.name!r} is not a file on this machine"
                )
            maintype, _, subtype = (attachment.mime or "application/octet-stream").partition("/")
            msg.add_attachment(
                path.read_bytes(),
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.name or path.name,
            )
        return msg

    async def send(self, outgoing: Outgoing) -> SendResult:
        try:
            cfg = self.cfg
            password = self.secret("password")
        except ConfigError as exc:
            raise PermanentError(str(exc)) from None
        msg = self.compose(outgoing, cfg)
        raw = msg.as_bytes()
        await self._smtp_send(cfg, password, msg, raw)
        message_id = str(msg["Message-ID"])
        self.threads.learn_sent(
            message_id, outgoing.thread_key, [*str(msg.get("References", "")).split()]
        )
        if cfg.sent_folder:
            await self._append_sent(cfg, password, raw)
        return SendResult(message_id, Delivery.SENT)

    async def _smtp_send(
        self, cfg: EmailSettings, password: str, msg: EmailMessage, raw: bytes
    ) -> None:
        import aiosmtplib

        smtp = aiosmtplib.SMTP(
            hostname=cfg.smtp_host,
            port=cfg.smtp_port,
            timeout=cfg.timeout,
            use_tls=cfg.smtp_tls == "implicit",
            start_tls=cfg.smtp_tls == "starttls" if cfg.smtp_tls != "none" else False,
            tls_context=ssl_context(cfg) if cfg.smtp_tls != "none" else None,
        )
        recipient = str(msg["To"])
        data_started = False
        try:
            await smtp.connect()
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
            if smtp.supports_extension("auth") or cfg.smtp_tls != "none":
                try:
                    await smtp.login(cfg.username, password)
                except aiosmtplib.SMTPAuthenticationError as exc:
                    raise PermanentError(
                        f"SMTP login refused for {cfg.username!r} ({exc.code} {exc.message}) — store the right password with "
                        f"`frontdesk creds set {self.name} password`"
                    ) from None
            await smtp.mail(cfg.address)
            await smtp.rcpt(recipient)
            data_started = True
            await smtp.data(raw)
        except (PermanentError, TransientError):
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(
                f"the mail server refused {recipient}: {_smtp_reason(exc)}"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            reason = f"the mail server answered {exc.code} {exc.message}"
            if 400 <= exc.code < 500:
                raise TransientError(reason) from None
            raise PermanentError(reason) from None
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            TimeoutError,
            OSError,
            aiosmtplib.SMTPException,
        ) as exc:
            if data_started:
                raise AmbiguousError(
                    f"the SMTP connection broke while sending ({type(exc).__name__}: {exc}); the mail may have gone out"
                ) from None
            cause = (
                exc.__cause__ or exc.__context__
                if isinstance(exc, aiosmtplib.SMTPConnectError)
                else exc
            )
            if isinstance(cause, aiosmtplib.SMTPException) and not isinstance(cause, OSError):
                cause = exc
            raise TransientError(
                describe_network_error(
                    cause if isinstance(cause, BaseException) else exc,
                    "SMTP",
                    cfg.smtp_host,
                    cfg.smtp_port,
                    cfg.smtp_tls,
                    cfg.timeout,
                )
            ) from None
        finally:
            with contextlib.suppress(Exception):
                if smtp.is_connected:
                    await asyncio.wait_for(smtp.quit(), 3)
            with contextlib.suppress(Exception):
                smtp.close()

    async def _append_sent(self, cfg: EmailSettings, password: str, raw: bytes) -> None:
        """Keep a copy in the Sent folder; a failure here is logged, the mail itself went out."""
        try:
            imap = await self._open(cfg, password)
            try:
                if not await imap.append(raw, cfg.sent_folder):
                    log.warning(
                        "email %s: could not save the reply to %s", self.name, cfg.sent_folder
                    )
            finally:
                await self._close(imap)
        except Exception as exc:
            log.warning(
                "email %s: could not save the reply to %s: %s",
                self.name,
                cfg.sent_folder,
                self.redact(str(exc)),
            )


def _smtp_reason(exc: Any) -> str:
    errors = getattr(exc, "recipients", None) or []
    return "; ".join(f"{e.code} {e.message}" for e in errors) or str(exc)
