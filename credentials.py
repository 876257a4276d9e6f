"""Channel secrets: the environment or the system keyring, never the config file and never a log.

A secret of channel `support-bot` named `auth_token` is read from
`$FRONTDESK_SECRET_SUPPORT_BOT_AUTH_TOKEN` first, then from the keyring (service
`frontdesk`, user `support-bot/auth_token`). On a machine without a keyring (a headless
server) reading finds nothing and `keyring_problem()` says why; storing fails with the two
fallbacks: the environment variable, or an encrypted file keyring. Nothing here ever writes
a secret to a plain file, logs it or puts it in an error message.

`keyring` is imported inside the functions that use it, so start-up stays fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

SERVICE = "frontdesk"
ENV_PREFIX = "FRONTDESK_SECRET_"
CRYPTFILE_BACKEND = "keyrings.cryptfile.cryptfile.CryptFileKeyring"

_problem: str | None = None
"""Why the last keyring read failed (None if it did not), for `keyring_problem()`."""


class CredentialsError(Exception):
    """A secret cannot be stored or deleted; the message is one line with the fix."""


class _NoKeyring(Exception):
    """No usable keyring backend on this machine."""


def env_name(channel: str, key: str) -> str:
    """The environment variable holding `key` of `channel`: FRONTDESK_SECRET_<CHANNEL>_<KEY>."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", f"{channel}_{key}".upper())


def keyring_user(channel: str, key: str) -> str:
    """The keyring user name of a secret (the service is always `frontdesk`)."""
    return f"{channel}/{key}"


def get_secret(channel: str, key: str) -> str | None:
    """The secret from the environment, else the keyring; None when neither has it.

    A keyring that is missing or fails counts as "not found"; `keyring_problem()` keeps the reason.
    """
    global _problem
    value = os.environ.get(env_name(channel, key))
    if value:
        return value
    try:
        value = _keyring().get_password(SERVICE, keyring_user(channel, key))
    except _NoKeyring as exc:
        _problem = f"{exc}; {_fallbacks()}"
        return None
    except (
        Exception
    ) as exc:  # any backend failure (locked, D-Bus gone, …): not found, but remembered
        _problem = f"the keyring failed to read {keyring_user(channel, key)} ({_describe(exc)}); {_fallbacks()}"
        return None
    _problem = None
    return value or None


def set_secret(channel: str, key: str, value: str) -> None:
    """Store the secret in the system keyring, or raise CredentialsError saying what to do instead."""
    try:
        _keyring().set_password(SERVICE, keyring_user(channel, key), value)
    except _NoKeyring as exc:
        raise CredentialsError(f"{exc}; {_fallbacks(channel, key)}") from None
    except Exception as exc:
        reason = redact(_describe(exc), [value])
        raise CredentialsError(
            f"could not store {keyring_user(channel, key)} in the keyring ({reason}); {_fallbacks(channel, key)}"
        ) from None


def delete_secret(channel: str, key: str) -> None:
    """Remove the secret from the keyring, or raise CredentialsError (also when it is not there)."""
    from keyring.errors import PasswordDeleteError

    user = keyring_user(channel, key)
    try:
        _keyring().delete_password(SERVICE, user)
    except _NoKeyring as exc:
        raise CredentialsError(
            f"{exc}; unset {env_name(channel, key)} in the environment instead"
        ) from None
    except PasswordDeleteError:
        also = (
            f" (it is set in the environment as {env_name(channel, key)})"
            if os.environ.get(env_name(channel, key))
            else ""
        )
        raise CredentialsError(f"{user} is not in the keyring{also}; nothing deleted") from None
    except Exception as exc:
        raise CredentialsError(
            f"could not delete {user} from the keyring ({_describe(exc)})"
        ) from None


def secret_source(channel: str) -> Callable[[str], str | None]:
    """The `secrets=` callable for `Backend(...)`: key -> secret of `channel` or None."""

    def lookup(key: str) -> str | None:
        return get_secret(channel, key)

    return lookup


def keyring_problem() -> str | None:
    """Why the keyring cannot be used (one line, with the fallbacks), or None when it looks fine."""
    if _problem:
        return _problem
    try:
        _keyring()
    except _NoKeyring as exc:
        return f"{exc}; {_fallbacks()}"
    return None


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every occurrence of each secret replaced by `***` (for logs and crash output)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


# ---- internals ------------------------------------------------------------------------------


def _keyring() -> Any:
    """The active keyring backend, or _NoKeyring when there is none that can keep a secret."""
    try:
        import keyring
        from keyring.backends import chainer, fail, null

        backend = keyring.get_keyring()
    except Exception as exc:  # e.g. PYTHON_KEYRING_BACKEND naming a backend that does not import
        raise _NoKeyring(
            f"no system keyring is available on this machine ({_describe(exc)})"
        ) from None
    if isinstance(backend, (fail.Keyring, null.Keyring)) or (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends
    ):
        raise _NoKeyring("no system keyring is available on this machine")
    return backend


def _fallbacks(channel: str | None = None, key: str | None = None) -> str:
    """The documented ways around a missing keyring, naming the variable when the secret is known."""
    variable = env_name(channel, key) if channel and key else f"{ENV_PREFIX}<CHANNEL>_<KEY>"
    return (
        f"set {variable} in the environment instead, or use an encrypted file keyring: "
        f"`pip install keyrings.cryptfile` and set PYTHON_KEYRING_BACKEND={CRYPTFILE_BACKEND}"
    )


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
