"""`[webhooks]` in the config: the receiver's listen address and public URL, one-line errors."""

from __future__ import annotations


import pytest

from frontdesk.config import WebhooksConfig, load_config
from config_files import write, error


def test_no_section_means_no_receiver(tmp_path):
    assert load_config(write(tmp_path, '[agent]\nname = "Aiko"\n')).webhooks is None


def test_an_empty_section_listens_on_loopback(tmp_path):
    cfg = load_config(write(tmp_path, "[webhooks]\n"))
    assert cfg.webhooks == WebhooksConfig("127.0.0.1", 8787, None)
    assert cfg.webhooks.channel_url("wa") is None


def test_listen_and_public_url(tmp_path):
    path = write(
        tmp_path,
        """
        [webhooks]
        listen = "0.0.0.0:9000"
        public_url = "https://support.example.com/"
        """,
    )
    hooks = load_config(path).webhooks
    assert (hooks.host, hooks.port, hooks.listen) == ("0.0.0.0", 9000, "0.0.0.0:9000")
    assert hooks.channel_url("wa-sales") == "https://support.example.com/webhooks/wa-sales"


def test_an_ipv6_listen_address(tmp_path):
    hooks = load_config(write(tmp_path, '[webhooks]\nlisten = "[::1]:8787"\n')).webhooks
    assert (hooks.host, hooks.port, hooks.listen) == ("::1", 8787, "[::1]:8787")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'listen = "8787"',
            '2: webhooks.listen must be host:port with a port from 1 to 65535 (got "8787"), e.g. listen = "127.0.0.1:8787"',
        ),
        ('listen = "localhost:http"', "2: webhooks.listen must be host:port"),
        ('listen = "localhost:70000"', "2: webhooks.listen must be host:port"),
        ("listen = 8787", "2: webhooks.listen must be a string (got 8787)"),
        (
            'public_url = "support.example.com"',
            '2: webhooks.public_url must be the https:// address providers call, with no query (got "support.example.com"), e.g. public_url = "https://support.example.com"',
        ),
        ('public_url = "https://x.example/?a=1"', "2: webhooks.public_url must be the https://"),
        (
            'pubic_url = "https://x.example"',
            "2: webhooks.pubic_url is not a known key in [webhooks] (did you mean public_url?)",
        ),
    ],
)
def test_mistakes_name_the_file_line_key_and_fix(tmp_path, text, expected):
    path = write(tmp_path, f"[webhooks]\n{text}\n")
    assert error(path).startswith(f"{path}:{expected}")


def test_webhooks_must_be_a_table(tmp_path):
    path = write(tmp_path, 'webhooks = "on"\n')
    assert error(path).startswith(f"{path}:1: webhooks must be a table")
