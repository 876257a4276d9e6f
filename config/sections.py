"""The typed config: one frozen dataclass per section, with each setting's default and meaning."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk.config.read_hours import HoursConfig

from frontdesk.config.read_faq import FaqConfig

from frontdesk.config.read_rules import Rule

KEYMAPS = ("default", "vim", "emacs")
DEFAULT_THEME = "textual-dark"
NOTIFY_SCOPES = ("mine", "mine-and-unassigned", "all", "off")
DESKTOP_NOTIFICATIONS = ("osc9", "osc777", "both", "off")
ROLES = ("agent", "supervisor")
DESK_KINDS = ("local", "chatwoot")


def _default_agent_name() -> str:
    return os.environ.get("USER") or "agent"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """`[agent]`: who sits at this console."""

    name: str = field(default_factory=_default_agent_name)
    """The agent's name: author of replies and notes, the `mine` view (default: $USER)."""
    agents: list[str] = field(default_factory=list)
    """Teammates one can assign conversations to or escalate to."""


@dataclass(frozen=True, slots=True)
class UIConfig:
    """`[ui]`: how the console looks and which keys it answers to."""

    keymap: str = "default"
    """The key preset: "default", "vim" or "emacs"."""
    theme: str = DEFAULT_THEME
    """A Textual theme name."""
    keys: dict[str, str] = field(default_factory=dict)
    """`[ui.keys]`: binding id -> key, overriding the preset (ids are checked by the keymap loader)."""
    notify: str = "mine-and-unassigned"
    """Whose new customer messages ring and notify: "mine", "mine-and-unassigned", "all" or "off"."""
    bell: bool = True
    """Ring the terminal bell when a customer writes (within `notify`)."""
    desktop: str = "osc9"
    """The desktop notification sequence: "osc9" (iTerm2, kitty, WezTerm, Ghostty), "osc777"
    (foot, urxvt, VTE terminals, Ghostty, WezTerm), "both" or "off"."""


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """One `[[channels]]` block: a channel instance served by a backend."""

    name: str
    """The instance name shown in the console and used by `frontdesk creds` ([a-z0-9][a-z0-9_-]*)."""
    backend: str
    """The backend's entry-point name in the "frontdesk.backends" group (e.g. "telegram")."""
    base_url: str | None = None
    """Where an HTTP backend connects (a proxy, a self-hosted API server, a local fake)."""
    enabled: bool = True
    """False keeps the block in the file but the channel is not run."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Every other key of the block: the backend's own settings (never secrets)."""


@dataclass(frozen=True, slots=True)
class HookConfig:
    """One `[[escalation.hooks]]` block: what runs when a conversation is escalated."""

    name: str
    """Shown in the thread and notifications; its secret is `frontdesk creds set hook-<name> token`."""
    url: str | None = None
    """An http(s) URL that receives the escalation as a JSON POST (give url or command, not both)."""
    command: tuple[str, ...] = ()
    """A local program and its arguments, run without a shell; the JSON arrives on stdin."""
    timeout: float = 10.0
    """Seconds to wait for the URL or the command before the try counts as failed (and is retried)."""
    targets: tuple[str, ...] = ()
    """Run only for escalations to these targets (empty: for every escalation)."""

    @property
    def secret_owner(self) -> str:
        """The name its secrets are stored under in the keyring/environment."""
        return f"hook-{self.name}"


@dataclass(frozen=True, slots=True)
class EscalationConfig:
    """`[escalation]`: where a conversation can be escalated and what runs when it is."""

    targets: tuple[str, ...] = ()
    """Teams or tiers the escalation dialog offers, e.g. ["billing", "tier-2"]."""
    hooks: tuple[HookConfig, ...] = ()
    """`[[escalation.hooks]]`, in file order."""


@dataclass(frozen=True, slots=True)
class TeamAgent:
    """One `[team.agents.<user>]` table: a Unix user who may attach to the served desk."""

    user: str
    """The Unix user name (the table's key); the desk knows a console's user from the kernel."""
    name: str
    """The name teammates see (default: the user name)."""
    role: str = "agent"
    """"agent" or "supervisor"."""
    languages: tuple[str, ...] = ()
    """Languages the agent answers in, e.g. ["ja", "en"]."""
    skills: tuple[str, ...] = ()
    """What the agent handles, e.g. ["billing"]."""
    max_open: int | None = None
    """At most this many open conversations assigned at once (None: no limit)."""


@dataclass(frozen=True, slots=True)
class TeamConfig:
    """`[team]`: the served desk (`frontdesk serve`) and who may attach to it."""

    socket: Path | None = None
    """The desk's Unix socket (None: `desk_socket`'s default)."""
    group: str | None = None
    """The Unix group the socket belongs to (mode 0660, its directory 0750)."""
    agents: Mapping[str, TeamAgent] = field(default_factory=dict)
    """`[team.agents.<user>]` by Unix user name."""


@dataclass(frozen=True, slots=True)
class WebhooksConfig:
    """`[webhooks]`: where the desk's receiver for webhook channels listens, and its public URL."""

    host: str = "127.0.0.1"
    """The address listened on (loopback by default: a reverse proxy or tunnel reaches it)."""
    port: int = 8787
    """The TCP port listened on."""
    public_url: str | None = None
    """What providers call, without the path (`frontdesk doctor` prints each channel's URL)."""

    @property
    def listen(self) -> str:
        """host:port as written in the config."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def channel_url(self, channel: str) -> str | None:
        """The URL to enter in the provider's console for `channel` (None without public_url)."""
        return f"{self.public_url}/webhooks/{channel}" if self.public_url else None


@dataclass(frozen=True, slots=True)
class AssignmentConfig:
    """`[assignment]`: giving new conversations to the agents online, round robin."""

    auto: bool = False
    """Assign new, reopened and handed-over conversations to an eligible `[team.agents]` agent."""
    channels: tuple[str, ...] | None = None
    """Only these channels' conversations (None: every channel)."""


@dataclass(frozen=True, slots=True)
class CsatConfig:
    """`[csat]`: the satisfaction survey sent after a conversation is resolved."""

    enabled: bool = False
    """Send the survey (inside the channel's messaging window)."""
    channels: tuple[str, ...] | None = None
    """Only these channels (None: every channel)."""
    questions: Mapping[str, str] = field(default_factory=dict)
    """`[csat.question]`: the question by language ("en", "ja" …), over the built-in ones."""
    whatsapp_template: str | None = None
    """An approved WhatsApp template (no parameters) sent once the 24-hour window closed."""
    whatsapp_template_language: str = "en_US"
    """That template's language code."""


@dataclass(frozen=True, slots=True)
class SlaConfig:
    """`[sla]`: how long a customer may wait for a reply, by priority."""

    first: Mapping[str, timedelta] = field(default_factory=dict)
    """`[sla.<priority>] first`: the first response target by priority ("none" … "urgent")."""
    next: Mapping[str, timedelta] = field(default_factory=dict)
    """`[sla.<priority>] next`: the target for each later reply."""
    business_hours: bool = False
    """`[sla] business_hours`: count only `[hours]`' open hours (each channel's own)."""


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """`[desk]`: which desk the console works on. "local": the data dir's own (solo, or the one
    `frontdesk serve` runs); "chatwoot": a Chatwoot account (`url`, `account_id`, and the secret
    `chatwoot/api_access_token` in the keyring or FRONTDESK_SECRET_CHATWOOT_API_ACCESS_TOKEN)."""

    kind: str = "local"
    """"local" or "chatwoot" (`DESK_KINDS`)."""
    url: str = ""
    """The Chatwoot server's base URL, e.g. https://chat.example.com (a proxy's path prefix
    kept, no /api, no trailing slash)."""
    account_id: int = 0
    """The account's number, as in the dashboard's address /app/accounts/<id>/ (0 when local)."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole config file, read by `load_config`."""

    path: Path
    """The file it was read from (which may not exist: then everything is the default)."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """`[agent]`."""
    ui: UIConfig = field(default_factory=UIConfig)
    """`[ui]` and `[ui.keys]`."""
    channels: list[ChannelConfig] = field(default_factory=list)
    """`[[channels]]`, in file order."""
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    """`[escalation]` and `[[escalation.hooks]]`."""
    team: TeamConfig | None = None
    """`[team]`; None when the file has no [team] section (then a console never needs a desk)."""
    webhooks: WebhooksConfig | None = None
    """`[webhooks]`; None when absent (then no receiver runs and webhook channels cannot receive)."""
    assignment: AssignmentConfig = field(default_factory=AssignmentConfig)
    """`[assignment]`."""
    csat: CsatConfig = field(default_factory=CsatConfig)
    """`[csat]`."""
    sla: SlaConfig | None = None
    """`[sla]`; None when absent (then no reply is ever due)."""
    faq: FaqConfig = field(default_factory=FaqConfig)
    """`[[faq]]` and `[bot]`: the FAQ bot (off while `[bot] channels` names none)."""
    hours: HoursConfig | None = None
    """`[hours]`; None when absent (then no away message and no greeting)."""
    rules: tuple[Rule, ...] = ()
    """`[[rules]]`, in file order (automation rules: `desk/automation/rules.py`)."""
    desk: DeskConfig = field(default_factory=DeskConfig)
    """`[desk]`: the local desk (default) or a Chatwoot account."""
