"""Reading `[[channels]]`: names, backends, and each backend's own settings against its schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frontdesk.config.checks import CHANNEL_NAME, Checks
from frontdesk.config.sections import ChannelConfig
from frontdesk.config_text import Where, _did_you_mean, _show


class ChannelReading(Checks):
    """The reader's part for `[[channels]]`."""

    def channels(self, raw: Any) -> list[ChannelConfig]:
        if not isinstance(raw, list):
            self.fail(("channels",), "must be a list of [[channels]] tables")
        channels: list[ChannelConfig] = []
        seen: dict[str, int] = {}
        for index, block in enumerate(raw):
            channel = self.channel(index, block)
            if channel.name in seen:
                self.fail(
                    ("channels", index, "name"),
                    f"{_show(channel.name)} is already used by channels[{seen[channel.name]}]; channel names must be unique",
                )
            seen[channel.name] = index
            channels.append(channel)
        return channels

    def channel(self, index: int, raw: Any) -> ChannelConfig:
        where: Where = ("channels", index)
        if not isinstance(raw, dict):
            self.fail(where, "must be a table: write each channel as a [[channels]] block")
        name = raw.get("name")
        self.refuse_secrets(
            where, raw, name if isinstance(name, str) and CHANNEL_NAME.match(name) else "<channel>"
        )
        for required, example in (("name", '"support-bot"'), ("backend", '"telegram"')):
            if required not in raw:
                self.fail(where, f"has no {required}; add {required} = {example}")
        name = self.typed((*where, "name"), name, str)
        if not CHANNEL_NAME.match(name):
            self.fail(
                (*where, "name"),
                f'{_show(name)} is not a valid channel name; use lowercase letters, digits, - and _, starting with a letter or digit (e.g. "support-bot")',
            )
        backend = self.typed((*where, "backend"), raw["backend"], str)
        if not backend:
            self.fail(
                (*where, "backend"), 'must not be empty; name a backend, e.g. backend = "telegram"'
            )
        base_url = self.typed((*where, "base_url"), raw.get("base_url"), str | None)
        enabled = self.typed((*where, "enabled"), raw.get("enabled", True), bool)
        settings = {
            k: v for k, v in raw.items() if k not in ("name", "backend", "base_url", "enabled")
        }
        schema = self.schema(backend)
        if schema is not None:
            known = sorted(schema)
            for key, value in settings.items():
                if key not in schema:
                    self.fail(
                        (*where, key),
                        f"is not a setting of the {backend} backend{_did_you_mean(key, known)}; remove it (settings: {', '.join(known) or 'none'})",
                    )
                settings[key] = self.typed((*where, key), value, schema[key])
        return ChannelConfig(
            name=name, backend=backend, base_url=base_url, enabled=enabled, settings=settings
        )

    def schema(self, backend: str) -> Mapping[str, type] | None:
        if self.backend_schemas is None:
            return None
        try:
            return self.backend_schemas(backend)
        except Exception:  # a broken plugin is reported by `doctor` and when the channel starts
            return None
