"""The email channel's settings: their schema, defaults and validation (`read_settings`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frontdesk.backends.base import PORT, ConfigError, integer, number, setting_problem

TLS_MODES = ("implicit", "starttls", "none")
#: mail fetched whole up to this size; bigger mail is read in part (headers + the first bytes)
DEFAULT_MAX_MESSAGE_MB = 40
#: the type or range of each setting, checked before the rules of read_settings
SETTINGS_SCHEMA: dict[str, Any] = {
    "imap_host": str,
    "imap_port": PORT,
    "imap_tls": str,
    "smtp_host": str,
    "smtp_port": PORT,
    "smtp_tls": str,
    "username": str,
    "address": str,
    "display_name": str,
    "folders": list[str],
    "sent_folder": str,
    "sync_days": integer(0, 3650, "days"),
    "tls_ca_file": str,
    "poll_seconds": number(1, 86400, "seconds"),
    "idle_seconds": number(1, 29 * 60, "seconds (servers drop IDLE after 29 minutes)"),
    "timeout_seconds": number(1, 600, "seconds"),
    "max_message_mb": number(1, 1024, "MB"),
}


@dataclass(frozen=True, slots=True)
class EmailSettings:
    imap_host: str
    imap_port: int
    imap_tls: str
    smtp_host: str
    smtp_port: int
    smtp_tls: str
    username: str
    address: str
    display_name: str
    folders: tuple[str, ...]
    sent_folder: str
    sync_days: int
    tls_ca_file: str
    poll_seconds: float
    idle_seconds: float
    timeout: float
    max_message_bytes: int


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_settings(name: str, raw: dict[str, Any]) -> EmailSettings:
    """Validated settings with defaults, or a ConfigError naming the key and the fix."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"channel {name!r}: {key} {problem}")

    for key, kind in SETTINGS_SCHEMA.items():
        if raw.get(key) is not None and (problem := setting_problem(raw[key], kind)):
            raise fail(key, problem)

    imap_host = str(raw.get("imap_host") or "").strip()
    if not imap_host:
        raise fail("imap_host", 'is not set; add imap_host = "imap.example.com" to the channel')
    imap_tls = str(raw.get("imap_tls", "implicit"))
    smtp_tls = str(raw.get("smtp_tls", "starttls"))
    smtp_host = str(raw.get("smtp_host") or imap_host).strip()
    for key, mode, host in (("imap_tls", imap_tls, imap_host), ("smtp_tls", smtp_tls, smtp_host)):
        if mode not in TLS_MODES:
            raise fail(key, f'must be "implicit", "starttls" or "none" (got {mode!r})')
        if mode == "none" and not _is_loopback(host):
            raise fail(
                key,
                f'= "none" sends the password in clear text and is only allowed for a loopback host (not {host!r}); use "implicit" or "starttls"',
            )
    address = str(raw.get("address") or "").strip()
    username = str(raw.get("username") or address).strip()
    address = address or (username if "@" in username else "")
    if not username:
        raise fail("username", 'is not set; add username = "support@example.com"')
    if "@" not in address:
        raise fail(
            "address", 'is not set; add address = "support@example.com" (the From of replies)'
        )
    folders = raw.get("folders", ["INBOX"])
    if isinstance(folders, str):
        folders = [folders]
    if not folders or not all(isinstance(f, str) and f for f in folders):
        raise fail("folders", 'must be a non-empty list of folder names, e.g. folders = ["INBOX"]')
    sync_days = int(raw.get("sync_days", 14))
    if sync_days < 0:
        raise fail("sync_days", "must be 0 or more")
    idle = float(raw.get("idle_seconds", 25 * 60))
    if not 1 <= idle <= 29 * 60:
        raise fail(
            "idle_seconds", "must be between 1 and 1740 (servers drop IDLE after 29 minutes)"
        )
    ca_file = str(raw.get("tls_ca_file") or "")
    if ca_file and not Path(ca_file).expanduser().is_file():
        raise fail(
            "tls_ca_file",
            f"names a file that does not exist ({ca_file}); point it at a PEM CA bundle or remove it",
        )
    return EmailSettings(
        imap_host=imap_host,
        imap_port=int(
            raw.get("imap_port") or {"implicit": 993, "starttls": 143, "none": 143}[imap_tls]
        ),
        imap_tls=imap_tls,
        smtp_host=smtp_host,
        smtp_port=int(
            raw.get("smtp_port") or {"implicit": 465, "starttls": 587, "none": 25}[smtp_tls]
        ),
        smtp_tls=smtp_tls,
        username=username,
        address=address.lower(),
        display_name=str(raw.get("display_name") or ""),
        folders=tuple(dict.fromkeys(folders)),
        sent_folder=str(raw.get("sent_folder", "Sent")),
        sync_days=sync_days,
        tls_ca_file=str(Path(ca_file).expanduser()) if ca_file else "",
        poll_seconds=max(1.0, float(raw.get("poll_seconds", 60))),
        idle_seconds=idle,
        timeout=max(1.0, float(raw.get("timeout_seconds", 30))),
        max_message_bytes=int(
            float(raw.get("max_message_mb", DEFAULT_MAX_MESSAGE_MB)) * 1024 * 1024
        ),
    )
