"""Reading `[webhooks]`: where the webhook channels' receiver listens and the URL providers call."""

from __future__ import annotations

import re
from typing import Any

from frontdesk.config.checks import Checks
from frontdesk.config.sections import WebhooksConfig
from frontdesk.config_text import _show

#: `[webhooks] public_url`: scheme and host (a port, a path prefix of a reverse proxy), no query
WEB_URL = re.compile(r"https?://[^\s/?#@]+(/[^\s?#]*)?\Z")


class WebhooksReading(Checks):
    """The reader's part for `[webhooks]`."""

    def webhooks(self, raw: Any) -> WebhooksConfig:
        raw = self.table(("webhooks",), raw)
        self.only_known(("webhooks",), raw, ("listen", "public_url"))
        listen = self.typed(("webhooks", "listen"), raw.get("listen", "127.0.0.1:8787"), str)
        host, sep, port = listen.strip().rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.fail(
                ("webhooks", "listen"),
                f'must be host:port with a port from 1 to 65535 (got {_show(listen)}), e.g. listen = "127.0.0.1:8787"',
            )
        url = self.typed(("webhooks", "public_url"), raw.get("public_url"), str | None)
        if url is not None:
            url = url.strip().rstrip("/")
            if not WEB_URL.match(url):
                self.fail(
                    ("webhooks", "public_url"),
                    f'must be the https:// address providers call, with no query (got {_show(url)}), e.g. public_url = "https://support.example.com"',
                )
        return WebhooksConfig(host=host, port=int(port), public_url=url)
