"""The desk built from the config: config and data dir from the options, channels, `build_desk`.

Every command that runs a desk (console, demo, serve, sync) builds it with `build_desk`, so a
new desk setting is read from the config in one place. Heavy imports are deferred to the calls:
`frontdesk --help` and `creds` never load the desk.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk.backends.base import Backend
    from frontdesk.config import Config, EscalationConfig
    from frontdesk.desk import Desk
    from frontdesk.desk.hooks import HookSpec
    from frontdesk.store import Store

DEMO_TARGETS = ("billing", "tier-2", "engineering")
"""Escalation targets of `frontdesk demo` when the config names none."""
DEMO_KINDS = ("email", "whatsapp", "messenger", "sms", "telegram", "line")


def load_config(args: argparse.Namespace, *, check_theme: bool = True) -> Config:
    from frontdesk import config
    from frontdesk.backends import registry
    from frontdesk.launch import theme_names

    def schema(backend: str):
        try:
            return registry.load(backend).settings_schema
        except registry.UnknownBackend:
            return None

    path = Path(args.config).expanduser() if args.config else None
    return config.load_config(
        path, backend_schemas=schema, themes=theme_names if check_theme else None
    )


def data_dir(args: argparse.Namespace) -> Path:
    from frontdesk import config

    return Path(config.data_dir(args.data_dir))


def demo_dir(args: argparse.Namespace) -> Path:
    """`demo-<seed>` in the data dir (--data-dir, FRONTDESK_DATA_DIR or the default), never the
    data dir itself: simulated customers must not write into a real cache pointed at by
    mistake, and each seed's world keeps its own workspace."""
    from frontdesk import config

    return Path(config.data_dir(args.data_dir)) / f"demo-{args.seed}"


def build_channels(cfg: Config, store: Store) -> dict[str, Backend]:
    from frontdesk import credentials
    from frontdesk.backends import registry

    channels: dict[str, Backend] = {}
    for ch in cfg.channels:
        if not ch.enabled:
            continue
        cls = registry.load(ch.backend)
        settings = dict(ch.settings)
        if ch.base_url:
            settings["base_url"] = ch.base_url
        channels[ch.name] = cls(
            ch.name, settings, credentials.secret_source(ch.name), store.cursor(ch.name)
        )
    return channels


def demo_channels(store: Store, seed: int, *, live: bool) -> dict[str, Backend]:
    """The simulated workspace's channels, one per demo kind, with their cursors in `store`."""
    from frontdesk.backends.demo import demo_channels as simulated

    cursors = {kind: store.cursor(kind) for kind in DEMO_KINDS}
    return simulated(seed, live=live, cursors=cursors)


def build_hooks(escalation: EscalationConfig) -> list[HookSpec]:
    """The desk's hooks from `[[escalation.hooks]]`; a URL hook's bearer token comes from credentials
    (`frontdesk creds set hook-<name> token` or FRONTDESK_SECRET_HOOK_<NAME>_TOKEN)."""
    from frontdesk import credentials
    from frontdesk.desk.hooks import HookSpec

    return [
        HookSpec(
            hook.name,
            url=hook.url,
            command=hook.command,
            timeout=hook.timeout,
            targets=hook.targets,
            token=credentials.get_secret(hook.secret_owner, "token") if hook.url else None,
        )
        for hook in escalation.hooks
    ]


def build_desk(
    cfg: Config,
    store: Store,
    channels: Mapping[str, Backend] | None = None,
    *,
    agent: str | None = None,
    agents: Iterable[str] | None = None,
    agent_names: Mapping[str, str] | None = None,
    default_targets: Iterable[str] = (),
) -> Desk:
    """The desk on `store` as the config sets it up: its channels (`build_channels`) unless
    `channels` are given, `[agent]`'s name and agents unless `agent`/`agents` are, and
    `[escalation]`'s targets (`default_targets` when it names none) and hooks, and
    `[webhooks] listen` for the receiver its webhook channels need, and `[[rules]]`."""
    from frontdesk.backends.webhook import WebhookBackend
    from frontdesk.desk import Desk
    from frontdesk.desk.automation.rule_actions import rules_automata

    channels = build_channels(cfg, store) if channels is None else channels
    for name, backend in channels.items():
        if isinstance(backend, WebhookBackend) and cfg.webhooks:
            backend.public_url = cfg.webhooks.channel_url(name) or ""
    return Desk(
        store,
        channels,
        agent=cfg.agent.name if agent is None else agent,
        agents=cfg.agent.agents if agents is None else agents,
        agent_names=agent_names,
        escalation_targets=cfg.escalation.targets or default_targets,
        hooks=build_hooks(cfg.escalation),
        webhook_listen=(cfg.webhooks.host, cfg.webhooks.port) if cfg.webhooks else None,
        automata=rules_automata(cfg.rules),
    )
