"""Loading the config file: bytes, UTF-8, TOML, then each section's reader, into a `Config`."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from frontdesk.config.checks import SchemaLookup
from frontdesk.config.errors import ConfigError
from frontdesk.config.paths import config_path
from frontdesk.config.read_channels import ChannelReading
from frontdesk.config.read_console import ConsoleReading
from frontdesk.config.read_desk import DeskReading
from frontdesk.config.read_escalation import EscalationReading
from frontdesk.config.read_faq import FaqReading
from frontdesk.config.read_hours import HoursReading
from frontdesk.config.read_rules import RulesReading
from frontdesk.config.read_team import TeamReading
from frontdesk.config.read_webhooks import WebhooksReading
from frontdesk.config.read_assignment import AssignmentReading
from frontdesk.config.read_csat import CsatReading
from frontdesk.config.read_sla import SlaReading
from frontdesk.config.sections import Config, CsatConfig
from frontdesk.config_text import display_path, syntax_error


def load_config(
    path: Path | None = None,
    *,
    backend_schemas: SchemaLookup | None = None,
    themes: Callable[[], Collection[str]] | None = None,
) -> Config:
    """Read and validate the config at `path` (default `config_path()`); a missing file is an empty config.

    `backend_schemas(backend)` returns that backend's `settings_schema` (None when unknown);
    with it, a channel's unknown settings and wrongly typed ones are errors too. `themes()`
    returns the theme names the console knows (asked only when the file names a theme); with
    it, an unknown `[ui] theme` is an error too.
    """
    path = Path(path).expanduser() if path is not None else config_path()
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Config(path=path)
    except OSError as exc:
        raise ConfigError(
            f"{shown}: cannot read the config file ({exc.strerror or exc}); fix its permissions or point FRONTDESK_CONFIG at another file"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{shown}:{line}: the config file is not UTF-8 text; save it as UTF-8"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(syntax_error(shown, text, exc)) from None
    except ValueError:  # an integer beyond Python's digit limit for int(): tomllib lets it escape
        line = next(
            (n for n, row in enumerate(text.splitlines(), 1) if re.search(r"\d{4000}", row)), 0
        )
        raise ConfigError(
            f"{shown}:{line}: a number with thousands of digits; write a real value on that line"
        ) from None
    return _Reader(shown, text, backend_schemas, themes).config(path, raw)


class _Reader(
    ConsoleReading,
    ChannelReading,
    EscalationReading,
    TeamReading,
    WebhooksReading,
    AssignmentReading,
    CsatReading,
    SlaReading,
    FaqReading,
    HoursReading,
    RulesReading,
    DeskReading,
):
    """Turns the parsed TOML into a Config, failing on the first problem with file:line."""

    def config(self, path: Path, raw: dict[str, Any]) -> Config:
        sections = (
            "agent",
            "ui",
            "channels",
            "escalation",
            "team",
            "webhooks",
            "assignment",
            "csat",
            "sla",
            "faq",
            "bot",
            "hours",
            "rules",
            "desk",
        )
        self.only_known((), raw, sections, what="section")
        return Config(
            path=path,
            agent=self.agent(self.table(("agent",), raw.get("agent", {}))),
            ui=self.ui(self.table(("ui",), raw.get("ui", {}))),
            channels=self.channels(raw.get("channels", [])),
            escalation=self.escalation(self.table(("escalation",), raw.get("escalation", {}))),
            team=self.team(self.table(("team",), raw["team"])) if "team" in raw else None,
            webhooks=self.webhooks(raw["webhooks"]) if "webhooks" in raw else None,
            assignment=self.assignment(raw.get("assignment", {})),
            csat=self.csat(raw["csat"]) if "csat" in raw else CsatConfig(),
            sla=self.sla(raw["sla"]) if "sla" in raw else None,
            faq=self.faq(raw.get("faq", []), raw.get("bot", {})),
            hours=self.hours(raw["hours"]) if "hours" in raw else None,
            rules=self.rules(raw.get("rules", [])),
            desk=self.desk(raw.get("desk", {})),
        )
