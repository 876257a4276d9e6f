"""Reaching the mail servers: the TLS context and one-line network errors, for IMAP and SMTP."""

from __future__ import annotations

import asyncio
import socket
import ssl

from frontdesk.backends.email_settings import EmailSettings


def ssl_context(cfg: EmailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cfg.tls_ca_file or None)
    return context


def describe_network_error(
    exc: BaseException, what: str, host: str, port: int, tls: str, timeout: float
) -> str:
    """One line saying what went wrong reaching a server, and the fix."""
    key = what.lower()
    if isinstance(exc, socket.gaierror):
        return f"{what} host {host!r} not found (DNS: {exc.strerror or exc}) — check {key}_host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"{what} TLS certificate of {host} not accepted ({exc.verify_message or exc.reason}) — use the host name on the "
            f"server's certificate, or set tls_ca_file to the CA that signed it"
        )
    if isinstance(exc, ssl.SSLError):
        usual = "993" if key == "imap" else "465"
        return (
            f"{what} TLS handshake with {host}:{port} failed ({exc.reason or exc}) — check {key}_tls "
            f'("implicit" is usual on port {usual}, "starttls" on {"143" if key == "imap" else "587"})'
        )
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"{what} server {host}:{port} refused the connection — check {key}_host and {key}_port"
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        hint = (
            f'; if the port speaks TLS from the start, set {key}_tls = "implicit"'
            if tls != "implicit"
            else ""
        )
        return f"{what} server {host}:{port} did not answer within {timeout:.0f}s — check {key}_host, {key}_port and the firewall{hint}"
    if isinstance(exc, OSError):
        return (
            f"{what} server {host}:{port}: {exc.strerror or exc} — check {key}_host and {key}_port"
        )
    return f"{what} server {host}:{port}: {type(exc).__name__}: {exc}"
