"""The email channel's doctor checks: DNS, IMAP login and folders, SMTP login."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from frontdesk.backends.base import ConfigError
from frontdesk.backends.email_net import describe_network_error, ssl_context
from frontdesk.backends.email_settings import EmailSettings
from frontdesk.backends.imap_session import Imap


class MailboxCheck:
    """EmailBackend's `check` for `frontdesk doctor` (uses its `cfg` and `secret`)."""

    async def check(self) -> list[str]:
        try:
            cfg = self.cfg
            password = self.secret("password")
        except ConfigError as exc:
            return [str(exc).removeprefix(f"channel {self.name!r}: ")]
        problems: list[str] = []
        problems += await self._check_dns("IMAP", cfg.imap_host, cfg.imap_port)
        if not problems:
            problems += await self._check_imap(cfg, password)
        smtp_dns = await self._check_dns("SMTP", cfg.smtp_host, cfg.smtp_port)
        problems += smtp_dns or await self._check_smtp(cfg, password)
        return problems

    async def _check_dns(self, what: str, host: str, port: int) -> list[str]:
        try:
            await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            return [describe_network_error(exc, what, host, port, "", 0)]
        return []

    async def _check_imap(self, cfg: EmailSettings, password: str) -> list[str]:
        imap = Imap(cfg, self.name)
        try:
            await imap.connect(password)
            existing = await imap.folders()
            problems = []
            wanted = [*cfg.folders, *([cfg.sent_folder] if cfg.sent_folder else [])]
            for folder in wanted:
                if folder not in existing and not (
                    folder.upper() == "INBOX" and "INBOX" in (e.upper() for e in existing)
                ):
                    key = (
                        "sent_folder"
                        if folder == cfg.sent_folder and folder not in cfg.folders
                        else "folders"
                    )
                    problems.append(
                        f"IMAP folder {folder!r} does not exist — fix {key} (folders on the server: {', '.join(existing[:20]) or 'none'})"
                    )
            return problems
        except (ConfigError, ConnectionError) as exc:
            return [str(exc)]
        except Exception as exc:
            return [
                describe_network_error(
                    exc, "IMAP", cfg.imap_host, cfg.imap_port, cfg.imap_tls, cfg.timeout
                )
            ]
        finally:
            await imap.close()

    async def _check_smtp(self, cfg: EmailSettings, password: str) -> list[str]:
        import aiosmtplib

        smtp = aiosmtplib.SMTP(
            hostname=cfg.smtp_host,
            port=cfg.smtp_port,
            timeout=cfg.timeout,
            use_tls=cfg.smtp_tls == "implicit",
            start_tls=cfg.smtp_tls == "starttls" if cfg.smtp_tls != "none" else False,
            tls_context=ssl_context(cfg) if cfg.smtp_tls != "none" else None,
        )
        try:
            await smtp.connect()
            if not smtp.esmtp_extensions:
                await smtp.ehlo()
        except Exception as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            return [
                describe_network_error(
                    cause if isinstance(cause, OSError) else exc,
                    "SMTP",
                    cfg.smtp_host,
                    cfg.smtp_port,
                    cfg.smtp_tls,
                    cfg.timeout,
                )
            ]
        try:
            if smtp.supports_extension("auth"):
                await smtp.login(cfg.username, password)
            elif cfg.smtp_tls != "none":
                return [
                    f"SMTP server {cfg.smtp_host}:{cfg.smtp_port} offers no login (AUTH) — check smtp_port (587 or 465 for submission)"
                ]
        except aiosmtplib.SMTPAuthenticationError as exc:
            return [
                f"SMTP login refused for {cfg.username!r} ({exc.code} {exc.message.strip()}) — check username, then "
                f"`frontdesk creds set {self.name} password`"
            ]
        except Exception as exc:
            return [f"SMTP login failed: {type(exc).__name__}: {exc}"]
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(smtp.quit(), 3)
            smtp.close()
        return []
