"""The TOML config: where files live (platformdirs), a typed dataclass per section, one-line errors.

The package's parts: `paths.py` (where files live), `sections.py` (the dataclasses),
`load.py` (file → TOML → `Config`), `checks.py` (the checks every section shares) and one
reader per section (`read_console.py`, `read_channels.py`, `read_escalation.py`,
`read_team.py`, `read_webhooks.py`, `read_assignment.py`, `read_csat.py`, `read_sla.py`,
`read_faq.py`, `read_hours.py`, `read_desk.py`); the names below are the ones the rest of frontdesk imports.

    [agent]                     name, agents
    [ui]                        keymap, theme, notify, bell, desktop
    [ui.keys]                   binding id -> key (checked against the bindings by the keymap loader)
    [[channels]]                name, backend, base_url, enabled, and the backend's own settings
    [escalation]                targets (teams or tiers offered by the escalation dialog)
    [[escalation.hooks]]        name, url or command, timeout, targets (secrets: `creds set hook-<name> token`)
    [team]                      socket, group (the served desk: `frontdesk serve`)
    [team.agents.<user>]        name, role, languages, skills, max_open (who may attach, by Unix user)
    [webhooks]                  listen (host:port), public_url (the webhook channels' receiver)
    [assignment]                auto, channels (the desk assigns new conversations round robin)
    [csat]                      enabled, channels, question, whatsapp_template (the survey after a resolve)
    [sla.<priority>]            first, next ("15m", "1h": how long a customer may wait for a reply)
    [[faq]]                     name, keywords, reply (canned shortcode), channels, language
    [bot]                       channels, handoff_words, misses, fallback_reply (the FAQ bot)
    [hours]                     timezone, day keys, holidays, away_reply, greeting (business hours)
    [hours.channels.<name>]     the same keys for one channel, and enabled
    [[rules]]                   name, event, match, conditions, actions (automation rules, read_rules.py)
    [desk]                      kind ("local" | "chatwoot"), url, account_id (the desk the console works on)

Every problem is a `ConfigError` whose message is one line naming the file, the line when it
can be found, the key and the fix. Secrets are refused (they belong in the keyring) and no
error ever repeats a value that might be one.
"""

from frontdesk.config.checks import CHANNEL_NAME, SECRET_KEYS, UNIX_USER, SchemaLookup
from frontdesk.config.errors import ConfigError
from frontdesk.config.load import load_config
from frontdesk.config.read_faq import BotConfig, FaqConfig, FaqEntry
from frontdesk.config.read_hours import ChannelHours, HoursConfig, ReplyChoice, Schedule
from frontdesk.config.read_rules import Rule, RuleAction, RuleCondition
from frontdesk.config.read_webhooks import WEB_URL
from frontdesk.config.paths import (
    APP_NAME,
    SOCKET_NAME,
    chatwoot_cache_dir,
    config_dir,
    config_path,
    data_dir,
    demo_socket,
    desk_socket,
    downloads_dir,
)
from frontdesk.config.sections import (
    DEFAULT_THEME,
    DESK_KINDS,
    DESKTOP_NOTIFICATIONS,
    KEYMAPS,
    NOTIFY_SCOPES,
    ROLES,
    AgentConfig,
    AssignmentConfig,
    ChannelConfig,
    Config,
    CsatConfig,
    EscalationConfig,
    HookConfig,
    SlaConfig,
    DeskConfig,
    TeamAgent,
    TeamConfig,
    UIConfig,
    WebhooksConfig,
)

__all__ = [
    "APP_NAME",
    "CHANNEL_NAME",
    "DEFAULT_THEME",
    "DESK_KINDS",
    "DESKTOP_NOTIFICATIONS",
    "KEYMAPS",
    "NOTIFY_SCOPES",
    "ROLES",
    "SECRET_KEYS",
    "SOCKET_NAME",
    "UNIX_USER",
    "WEB_URL",
    "AgentConfig",
    "AssignmentConfig",
    "BotConfig",
    "ChannelConfig",
    "ChannelHours",
    "Config",
    "ConfigError",
    "CsatConfig",
    "EscalationConfig",
    "FaqConfig",
    "FaqEntry",
    "HookConfig",
    "HoursConfig",
    "ReplyChoice",
    "Rule",
    "RuleAction",
    "RuleCondition",
    "SchemaLookup",
    "SlaConfig",
    "DeskConfig",
    "Schedule",
    "TeamAgent",
    "TeamConfig",
    "UIConfig",
    "WebhooksConfig",
    "chatwoot_cache_dir",
    "config_dir",
    "config_path",
    "data_dir",
    "demo_socket",
    "desk_socket",
    "downloads_dir",
    "load_config",
]
