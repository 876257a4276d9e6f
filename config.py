"""The TOML config: where files live (platformdirs), one typed dataclass per section, one-line errors.

    [agent]                     name, agents
    [ui]                        keymap, theme, notify, bell, desktop
    [ui.keys]                   binding id -> key (checked against the bindings by the keymap loader)
    [[channels]]                name, backend, base_url, enabled, and the backend's own settings
    [escalation]                targets (teams or tiers offered by the escalation dialog)
    [[escalation.hooks]]        name, url or command, timeout, targets (secrets: `creds set hook-<name> token`)
    [team]                      socket, group (the served desk: `frontdesk serve`)
    [team.agents.<user>]        name, role, languages, skills, max_open (who may attach, by Unix user)
    [webhooks]                  listen (host:port), public_url (the webhook channels' receiver)

Every problem is a `ConfigError` whose message is one line naming the file, the line when it
can be found, the key and the fix. Secrets are refused (they belong in the keyring) and no
error ever repeats a value that might be one.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn, get_args, get_origin

import platformdirs

from frontdesk.config_text import (
    Where,
    _describe,
    _did_you_mean,
    _kind_of,
    _matches,
    _plain,
    _render,
    _show,
    _single_line,
    display_path,
    key_lines,
    syntax_error,
)

APP_NAME = "frontdesk"
KEYMAPS = ("default", "vim", "emacs")
DEFAULT_THEME = "textual-dark"
NOTIFY_SCOPES = ("mine", "mine-and-unassigned", "all", "off")
DESKTOP_NOTIFICATIONS = ("osc9", "osc777", "both", "off")
#: key names that hold a secret: refused anywhere in a channel, never echoed
SECRET_KEYS = frozenset({"password", "token", "auth_token", "secret", "api_key", "access_token"})
CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
ROLES = ("agent", "supervisor")
UNIX_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\Z")
SOCKET_NAME = "desk.sock"
#: `[webhooks] public_url`: scheme and host (a port, a path prefix of a reverse proxy), no query
WEB_URL = re.compile(r"https?://[^\s/?#@]+(/[^\s?#]*)?\Z")

SchemaLookup = Callable[[str], Mapping[str, type] | None]


class ConfigError(Exception):
    """A problem in the config file; the message is one line naming the file, the key and the fix."""


# ---- paths (nothing is created here: callers make directories when they write) -----------


def config_dir() -> Path:
    """The user's config directory for frontdesk (e.g. ~/.config/frontdesk)."""
    return platformdirs.user_config_path(APP_NAME)


def config_path() -> Path:
    """`$FRONTDESK_CONFIG`, else `config.toml` in `config_dir()`."""
    env = os.environ.get("FRONTDESK_CONFIG")
    return Path(env).expanduser() if env else config_dir() / "config.toml"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: `override` (--data-dir), else `$FRONTDESK_DATA_DIR`, else the user data dir."""
    chosen = override or os.environ.get("FRONTDESK_DATA_DIR")
    return Path(chosen).expanduser() if chosen else platformdirs.user_data_path(APP_NAME)


def desk_socket(team: TeamConfig | None, data_dir: Path) -> Path:
    """Where the served desk listens: `[team] socket`, else `$XDG_RUNTIME_DIR/frontdesk/desk.sock`,
    else `desk.sock` in the data dir."""
    if team is not None and team.socket is not None:
        return team.socket
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return Path(runtime) / APP_NAME / SOCKET_NAME if runtime else Path(data_dir) / SOCKET_NAME


def demo_socket(team: TeamConfig | None, demo_dir: Path) -> Path:
    """The demo desk's socket: `[team] socket` when set (so agents logged in as other Unix users
    can reach a served demo), else in the demo's own data dir (0700: its owner's only)."""
    if team is not None and team.socket is not None:
        return team.socket
    return Path(demo_dir) / SOCKET_NAME


def downloads_dir() -> Path:
    """Where saved attachments go: a `frontdesk` folder in the user's downloads directory."""
    return platformdirs.user_downloads_path() / APP_NAME


# ---- the typed config ------------------------------------------------------------------------


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


# ---- loading -----------------------------------------------------------------------------------


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


# ---- validation --------------------------------------------------------------------------------


class _Reader:
    """Turns the parsed TOML into a Config, failing on the first problem with file:line."""

    def __init__(
        self,
        shown: str,
        text: str,
        backend_schemas: SchemaLookup | None,
        themes: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.shown = shown
        self.places = key_lines(text)
        self.backend_schemas = backend_schemas
        self.themes = themes

    def fail(self, where: Where, problem: str) -> NoReturn:
        """Raise the one-line error for `where`: "file:line: key problem"."""
        line = self.line_of(where)
        at = f"{self.shown}:{line}" if line else self.shown
        raise ConfigError(_single_line(f"{at}: {_render(where)} {problem}"))

    def line_of(self, where: Where) -> int | None:
        """The line of `where`, else of the nearest enclosing table that can be found."""
        while where:
            for lineno, place in self.places:
                if place[: len(where)] == where:
                    return lineno
            where = where[:-1]
        return None

    def config(self, path: Path, raw: dict[str, Any]) -> Config:
        sections = ("agent", "ui", "channels", "escalation", "team", "webhooks")
        self.only_known((), raw, sections, what="section")
        return Config(
            path=path,
            agent=self.agent(self.table(("agent",), raw.get("agent", {}))),
            ui=self.ui(self.table(("ui",), raw.get("ui", {}))),
            channels=self.channels(raw.get("channels", [])),
            escalation=self.escalation(self.table(("escalation",), raw.get("escalation", {}))),
            team=self.team(self.table(("team",), raw["team"])) if "team" in raw else None,
            webhooks=self.webhooks(raw["webhooks"]) if "webhooks" in raw else None,
        )

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

    def team(self, raw: dict[str, Any]) -> TeamConfig:
        self.only_known(("team",), raw, ("socket", "group", "agents"))
        socket = self.typed(("team", "socket"), raw.get("socket"), str | None)
        path = Path(socket).expanduser() if socket is not None else None
        if path is not None and not path.is_absolute():
            self.fail(
                ("team", "socket"),
                f'must be an absolute path (got {_show(socket)}), e.g. socket = "/run/frontdesk/desk.sock"',
            )
        group = self.typed(("team", "group"), raw.get("group"), str | None)
        if group is not None and not UNIX_USER.match(group):
            self.fail(("team", "group"), f"{_show(group)} is not a Unix group name")
        agents = self.table(("team", "agents"), raw.get("agents", {}))
        return TeamConfig(
            socket=path,
            group=group,
            agents={user: self.team_agent(user, value) for user, value in agents.items()},
        )

    def team_agent(self, user: str, raw: Any) -> TeamAgent:
        where: Where = ("team", "agents", user)
        if not UNIX_USER.match(user):
            self.fail(where, "is not a Unix user name; name each table after the agent's login")
        raw = self.table(where, raw)
        self.only_known(where, raw, ("name", "role", "languages", "skills", "max_open"))
        name = self.typed((*where, "name"), raw.get("name", user), str).strip()
        if not name:
            self.fail((*where, "name"), f'must not be empty; e.g. name = "{user.title()}"')
        role = self.one_of((*where, "role"), raw.get("role", "agent"), ROLES)
        languages = self.typed((*where, "languages"), raw.get("languages", []), list[str])
        skills = self.typed((*where, "skills"), raw.get("skills", []), list[str])
        max_open = self.typed((*where, "max_open"), raw.get("max_open"), int | None)
        if max_open is not None and max_open < 1:
            self.fail((*where, "max_open"), f"must be at least 1 (got {max_open}); or remove it")
        return TeamAgent(
            user=user,
            name=name,
            role=role,
            languages=tuple(languages),
            skills=tuple(skills),
            max_open=max_open,
        )

    def escalation(self, raw: dict[str, Any]) -> EscalationConfig:
        self.only_known(("escalation",), raw, ("targets", "hooks"))
        targets = self.typed(("escalation", "targets"), raw.get("targets", []), list[str])
        for index, target in enumerate(targets):
            if not target.strip():
                self.fail(
                    ("escalation", "targets"),
                    f'has an empty name at position {index + 1}; name a team or tier, e.g. "tier-2"',
                )
        hooks_raw = raw.get("hooks", [])
        if not isinstance(hooks_raw, list):
            self.fail(("escalation", "hooks"), "must be a list of [[escalation.hooks]] tables")
        hooks: list[HookConfig] = []
        seen: dict[str, int] = {}
        for index, block in enumerate(hooks_raw):
            hook = self.hook(index, block, targets)
            if hook.name in seen:
                self.fail(
                    ("escalation", "hooks", index, "name"),
                    f"{_show(hook.name)} is already used by escalation.hooks[{seen[hook.name]}]; hook names must be unique",
                )
            seen[hook.name] = index
            hooks.append(hook)
        return EscalationConfig(
            targets=tuple(dict.fromkeys(t.strip() for t in targets)), hooks=tuple(hooks)
        )

    def hook(self, index: int, raw: Any, known_targets: list[str]) -> HookConfig:
        where: Where = ("escalation", "hooks", index)
        if not isinstance(raw, dict):
            self.fail(where, "must be a table: write each hook as an [[escalation.hooks]] block")
        name = raw.get("name")
        shown_name = (
            f"hook-{name}" if isinstance(name, str) and CHANNEL_NAME.match(name) else "hook-<name>"
        )
        self.refuse_secrets(where, raw, shown_name)
        self.only_known(where, raw, ("name", "url", "command", "timeout", "targets"))
        if name is None:
            self.fail(where, 'has no name; add name = "helpdesk"')
        name = self.typed((*where, "name"), name, str)
        if not CHANNEL_NAME.match(name):
            self.fail(
                (*where, "name"),
                f'{_show(name)} is not a valid hook name; use lowercase letters, digits, - and _ (e.g. "helpdesk")',
            )
        url = self.typed((*where, "url"), raw.get("url"), str | None)
        command = self.typed((*where, "command"), raw.get("command"), list[str] | None)
        if (url is None) == (command is None):
            self.fail(
                where,
                'needs exactly one of url = "https://…" (HTTP POST) or command = ["program", "arg"] (run with the JSON on stdin)',
            )
        if url is not None and not re.match(r"https?://[^\s/]+", url):
            self.fail(
                (*where, "url"),
                f'{_show(url)} is not an http:// or https:// URL; write the full address, e.g. "https://helpdesk.example.com/api/tickets"',
            )
        if url is not None and "@" in url.split("://", 1)[1].split("/", 1)[0]:
            self.fail(
                (*where, "url"),
                f"carries a user name or password; remove it from the URL and store the token with `frontdesk creds set hook-{name} token` (sent as a Bearer token)",
            )
        if command is not None and (not command or not command[0].strip()):
            self.fail(
                (*where, "command"),
                'must name a program, e.g. command = ["python3", "/usr/local/bin/open-ticket.py"]',
            )
        timeout = self.typed((*where, "timeout"), raw.get("timeout", 10.0), float)
        if not 0 < timeout <= 300:
            self.fail(
                (*where, "timeout"), f"must be between 0 and 300 seconds (got {_show(timeout)})"
            )
        targets = self.typed((*where, "targets"), raw.get("targets", []), list[str])
        unknown = [t for t in targets if known_targets and t not in known_targets]
        if unknown:
            self.fail(
                (*where, "targets"),
                f"names {_show(unknown[0])}, which is not in escalation.targets; add it there or remove it here (targets: {', '.join(known_targets)})",
            )
        return HookConfig(
            name=name,
            url=url,
            command=tuple(command or ()),
            timeout=timeout,
            targets=tuple(targets),
        )

    def agent(self, raw: dict[str, Any]) -> AgentConfig:
        self.only_known(("agent",), raw, ("name", "agents"))
        default = AgentConfig()
        name = self.typed(("agent", "name"), raw.get("name", default.name), str).strip()
        if not name:
            self.fail(("agent", "name"), 'must not be empty; set your name, e.g. name = "Aiko"')
        agents = self.typed(("agent", "agents"), raw.get("agents", []), list[str])
        return AgentConfig(name=name, agents=list(agents))

    def ui(self, raw: dict[str, Any]) -> UIConfig:
        self.only_known(("ui",), raw, ("keymap", "theme", "keys", "notify", "bell", "desktop"))
        keymap = self.typed(("ui", "keymap"), raw.get("keymap", "default"), str)
        if keymap not in KEYMAPS:
            self.fail(
                ("ui", "keymap"),
                f"must be one of {', '.join(map(json.dumps, KEYMAPS))} (got {_show(keymap)})",
            )
        theme = self.typed(("ui", "theme"), raw.get("theme", DEFAULT_THEME), str)
        if "theme" in raw and self.themes is not None:
            known = sorted(self.themes())
            if theme not in known:
                self.fail(
                    ("ui", "theme"),
                    f"{_show(theme)} is not a theme{_did_you_mean(theme, known)}; "
                    f"choose one of: {', '.join(known)}",
                )
        keys = self.table(("ui", "keys"), raw.get("keys", {}))
        for binding, key in keys.items():
            self.typed(("ui", "keys", binding), key, str)
        notify = self.one_of(
            ("ui", "notify"), raw.get("notify", "mine-and-unassigned"), NOTIFY_SCOPES
        )
        bell = self.typed(("ui", "bell"), raw.get("bell", True), bool)
        desktop = self.one_of(("ui", "desktop"), raw.get("desktop", "osc9"), DESKTOP_NOTIFICATIONS)
        return UIConfig(
            keymap=keymap, theme=theme, keys=dict(keys), notify=notify, bell=bell, desktop=desktop
        )

    def one_of(self, where: Where, value: Any, choices: tuple[str, ...]) -> str:
        """`value` if it is one of the strings `choices`, else fail listing them."""
        value = self.typed(where, value, str)
        if value not in choices:
            self.fail(
                where, f"must be one of {', '.join(map(json.dumps, choices))} (got {_show(value)})"
            )
        return value

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

    def refuse_secrets(self, where: Where, raw: Any, channel: str) -> None:
        """Fail on a secret-named key anywhere in a channel block, without repeating its value."""
        items = (
            raw.items()
            if isinstance(raw, dict)
            else enumerate(raw)
            if isinstance(raw, list)
            else ()
        )
        for key, value in items:
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                from frontdesk.credentials import env_name

                self.fail(
                    (*where, key),
                    f"is a secret and secrets do not belong in the config file; delete the line and store it in "
                    f"the keyring with `frontdesk creds set {channel} {key}` (or set {env_name(channel, key)})",
                )
            self.refuse_secrets((*where, key), value, channel)

    def only_known(
        self, where: Where, raw: dict[str, Any], known: tuple[str, ...], what: str = "key"
    ) -> None:
        for key in raw:
            if key not in known:
                inside = f" in [{_render(where)}]" if where else ""
                self.fail(
                    (*where, key),
                    f"is not a known {what}{inside}{_did_you_mean(key, known)}; remove it (known: {', '.join(known)})",
                )

    def table(self, where: Where, value: Any) -> dict[str, Any]:
        return self.typed(where, value, dict)

    def typed(self, where: Where, value: Any, kind: Any) -> Any:
        """`value` if it is of `kind` (an int counts as a float), else fail naming the expected type."""
        if not _matches(value, kind):
            key = where[-1]
            secret = isinstance(key, str) and any(
                word in key.lower() for word in ("pass", "token", "secret", "key", "credential")
            )
            got = _kind_of(value) if secret else _show(value)
            self.fail(where, f"must be {_describe(kind)} (got {got})")
        for meta in get_args(kind)[1:] if get_origin(kind) is Annotated else ():
            problem = meta.problem(value) if callable(getattr(meta, "problem", None)) else None
            if problem:  # a range a backend declares (backends.base.Bounds)
                self.fail(where, problem)
        if _plain(kind) is float and isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                self.fail(
                    where,
                    f"must be a number of a sensible size (got {len(str(abs(value)))} digits)",
                )
        return value
