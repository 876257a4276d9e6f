"""Backends' numeric settings: out-of-range values are refused at load, with the file, line, key and fix.

A value that passes the loader must not fail later (a restart loop): request_timeout 0,
negative, nan or 400 digits; max_message_mb = inf; sync_days = 1000000000; imap_port = 99999.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk import config
from frontdesk.backends.base import ConfigError as BackendConfigError
from frontdesk.backends.base import base_kind, setting_problem
from frontdesk.backends.demo import DemoBackend
from frontdesk.backends.email import EmailBackend
from frontdesk.backends.email_settings import read_settings
from frontdesk.backends.telegram import TelegramBackend
from frontdesk.backends.twilio_sms import TwilioSMSBackend

BACKENDS = {
    "telegram": TelegramBackend,
    "twilio_sms": TwilioSMSBackend,
    "email": EmailBackend,
    "demo": DemoBackend,
}
REQUIRED = {
    "telegram": "",
    "twilio_sms": 'account_sid = "AC0123456789abcdef0123456789abcdef"\nfrom_number = "+15550100"\n',
    "email": 'imap_host = "imap.example.com"\nusername = "support@example.com"\n',
    "demo": 'kind = "sms"\nlive = false\n',
}
HUGE = "1" + "0" * 399  # 400 digits

BAD = [
    ("telegram", "request_timeout", "0"),
    ("telegram", "request_timeout", "-5"),
    ("telegram", "request_timeout", "nan"),
    ("telegram", "request_timeout", HUGE),
    ("telegram", "poll_timeout", HUGE),
    ("telegram", "limit", "0"),
    ("twilio_sms", "request_timeout", "inf"),
    ("twilio_sms", "backfill_hours", "1e300"),
    ("twilio_sms", "page_size", "-1"),
    ("email", "max_message_mb", "inf"),
    ("email", "sync_days", "1000000000"),
    ("email", "imap_port", "99999"),
    ("email", "smtp_port", "0"),
    ("email", "timeout_seconds", "-inf"),
    ("demo", "interval", "nan"),
    ("demo", "conversations", "1000000000"),
]


def config_text(backend: str, key: str, value: str) -> str:
    return f'[agent]\nname = "Aiko"\n\n[[channels]]\nname = "ch"\nbackend = "{backend}"\n{REQUIRED[backend]}{key} = {value}\n'


def load(tmp: Path, text: str) -> config.Config:
    path = tmp / "config.toml"
    path.write_text(text)
    return config.load_config(path, backend_schemas=lambda b: BACKENDS[b].settings_schema)


@pytest.mark.parametrize("backend, key, value", BAD, ids=[f"{b}-{k}={v[:12]}" for b, k, v in BAD])
def test_out_of_range_settings_fail_at_load_naming_the_line_and_the_fix(
    tmp_path, backend, key, value
):
    text = config_text(backend, key, value)
    with pytest.raises(config.ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    line = text.splitlines().index(f"{key} = {value}") + 1
    assert message.startswith(
        f"{tmp_path / 'config.toml'}:{line}: channels[0].{key} must be from "
    ), message
    assert "set it in that range" in message and "\n" not in message and len(message) < 300


@pytest.mark.parametrize("backend, key, value", BAD, ids=[f"{b}-{k}={v[:12]}" for b, k, v in BAD])
def test_a_backend_built_without_the_loader_refuses_them_too(backend, key, value):
    """`frontdesk doctor` and plugins build backends from raw settings: the same check, as a ConfigError."""
    import tomllib

    raw = tomllib.loads(REQUIRED[backend] + f"{key} = {value}\n")
    if backend == "email":
        with pytest.raises(BackendConfigError, match=f"{key} must be from"):
            read_settings("ch", raw)
        return
    if backend == "demo":
        with pytest.raises(BackendConfigError, match=f"setting {key} must be from"):
            DemoBackend("ch", raw)
        return
    channel = BACKENDS[backend]("ch", raw, secrets=lambda k: "secret")
    problems = asyncio.run(channel.check())  # refused before any request: no network needed
    assert any(f"setting {key} must be from" in problem for problem in problems), problems


def test_values_in_range_load_and_keep_their_value(tmp_path):
    cfg = load(
        tmp_path,
        config_text("email", "imap_port", "993") + "max_message_mb = 40\nsync_days = 3650\n",
    )
    assert cfg.channels[0].settings == {
        "imap_host": "imap.example.com",
        "username": "support@example.com",
        "imap_port": 993,
        "max_message_mb": 40.0,
        "sync_days": 3650,
    }
    assert read_settings("ch", cfg.channels[0].settings).max_message_bytes == 40 * 1024 * 1024
    cfg = load(tmp_path, config_text("telegram", "request_timeout", "0.5"))
    assert TelegramBackend("ch", cfg.channels[0].settings).request_timeout == 0.5


BOUNDED = [
    (b, key, kind)
    for b, cls in BACKENDS.items()
    for key, kind in cls.settings_schema.items()
    if base_kind(kind) in (int, float)
]
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 10**400, 65536, 99999]),
)


def toml_number(value: int | float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BOUNDED), numbers)
def test_any_number_either_fails_at_load_or_works_later(setting, value):
    backend, key, kind = setting
    if base_kind(kind) is int and isinstance(value, float):
        value = value if not math.isfinite(value) else int(value) if abs(value) < 1e30 else value
    with tempfile.TemporaryDirectory() as tmp:
        try:
            cfg = load(Path(tmp), config_text(backend, key, toml_number(value)))
        except config.ConfigError as exc:
            assert f"channels[0].{key} must be" in str(exc) and "\n" not in str(exc)
            return
    settings_ = cfg.channels[0].settings
    assert setting_problem(settings_[key], kind) is None
    if backend == "email":
        read_settings("ch", settings_)  # no OverflowError, no ConfigError
    elif backend == "demo":
        DemoBackend("ch", settings_)
    else:
        # nothing listens there: what check() finds wrong is the network, not a setting
        unreachable = {**settings_, "base_url": "http://127.0.0.1:9"}
        channel: Any = BACKENDS[backend]("ch", unreachable, secrets=lambda k: "secret")
        problems = asyncio.run(channel.check())
        assert problems and all("check the network" in p for p in problems), problems
        assert 0 < channel.request_timeout < math.inf


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_number_with_hundreds_or_thousands_of_digits_is_a_config_error(tmp_path, digits):
    """An unbounded float setting of 400 digits overflowed float(); 5,000 digits broke tomllib itself."""
    path = tmp_path / "config.toml"
    path.write_text(f'[[channels]]\nname = "ch"\nbackend = "plugin"\nratio = {"1" * digits}\n')
    with pytest.raises(config.ConfigError) as info:
        config.load_config(path, backend_schemas=lambda b: {"ratio": float})
    assert str(info.value).startswith(f"{path}:4: ") and "digits" in str(info.value)
