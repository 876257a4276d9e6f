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
    from frontdesk.config import Config, CsatConfig, EscalationConfig, SlaConfig
    from frontdesk.desk.automation.csat import CsatSettings
    from datetime import tzinfo

    from frontdesk.desk.sla import SlaPolicy
    from frontdesk.desk import Desk
    from frontdesk.desk.report.metrics import BusinessSeconds
    from frontdesk.desk.automation import Automaton
    from frontdesk.desk.hooks import HookSpec
    from frontdesk.store import Store

DEMO_TARGETS = ("billing", "tier-2", "engineering")
"""Escalation targets of `frontdesk demo` when the config names none."""
DEMO_SLA_HOURS = {
    "urgent": (0.25, 5 / 60),
    "high": (1, 0.25),
    "medium": (4, 0.25),
    "low": (8, 0.25),
    "none": (8, 0.25),
}
"""`frontdesk demo`'s [sla] when the config has none: first and next reply targets in hours
(next replies within 15 minutes, 5 when urgent, as chat teams promise: a customer the demo
makes write again breaches, with its line, while one tries it)."""
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


_ON_CHATWOOT = {
    "export": "export them from Chatwoot (its API, or the dashboard's Reports → Download)",
    "report": "its figures are on Chatwoot's Reports page",
}
"""What a Chatwoot account offers for the local desk's commands that read the local cache."""


def chatwoot_refusal(cfg: Config, command: str) -> str | None:
    """Why `command`, which runs the local desk's channels or reads its cache, has nothing to do
    with a Chatwoot desk (None with the local desk): the server receives, sends and keeps."""
    if cfg.desk.kind != "chatwoot":
        return None
    if command in _ON_CHATWOOT:
        return (
            f"`frontdesk {command}` reads the local desk's cache, but {cfg.path} sets [desk] kind = "
            f'"chatwoot", whose conversations are on the server: {_ON_CHATWOOT[command]}; '
            "remove [desk] to use the local desk"
        )
    return (
        f"`frontdesk {command}` runs the local desk's channels, but {cfg.path} sets [desk] kind = "
        '"chatwoot", whose server receives and sends for its inboxes; run `frontdesk` for the '
        "console, or remove [desk] to use the local desk"
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


def demo_config(cfg: Config) -> Config:
    """The config `frontdesk demo` and `serve --demo` run with: the user's, with the demo's
    example automation wherever it sets none: `[hours]` closed now (the away message), the
    FAQ bot on LINE, `[[rules]]` and `[sla]` targets (time left and breaches in the list)."""
    from dataclasses import replace

    from frontdesk.desk.automation.demo_faq import with_demo_faq
    from frontdesk.desk.automation.demo_hours import demo_hours
    from frontdesk.desk.automation.demo_rules import with_demo_rules
    from frontdesk.model import utcnow

    cfg = replace(cfg, hours=cfg.hours or demo_hours(utcnow()), sla=cfg.sla or demo_sla())
    return with_demo_rules(with_demo_faq(cfg))


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
    return simulated(seed, live=live, cursors=cursors, newcomer=live)


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
    `[escalation]`'s targets (`default_targets` when it names none) and hooks, `[sla]`
    `[webhooks] listen` for the receiver its webhook
    channels need, and its automata (`build_automata`: the FAQ bot, assignment, business
    hours, CSAT) answering from the canned.toml beside the config."""
    from frontdesk.backends.webhook import WebhookBackend
    from frontdesk.desk import Desk
    from frontdesk.desk.canned import CannedLibrary

    channels = build_channels(cfg, store) if channels is None else channels
    for name, backend in channels.items():
        if isinstance(backend, WebhookBackend) and cfg.webhooks:
            backend.public_url = cfg.webhooks.channel_url(name) or ""
    desk = Desk(
        store,
        channels,
        automata=build_automata(cfg),
        sla=sla_policy(cfg),
        agent=cfg.agent.name if agent is None else agent,
        agents=cfg.agent.agents if agents is None else agents,
        agent_names=agent_names,
        escalation_targets=cfg.escalation.targets or default_targets,
        hooks=build_hooks(cfg.escalation),
        webhook_listen=(cfg.webhooks.host, cfg.webhooks.port) if cfg.webhooks else None,
        # automation answers from the canned replies the console offers: next to the config
        canned=CannedLibrary(cfg.path.parent / "canned.toml"),
    )
    desk.business_seconds, desk.report_tz = report_clock(cfg)
    return desk


def report_clock(cfg: Config) -> tuple[BusinessSeconds | None, tzinfo | None]:
    """What reports count business time and days in: `[hours]` per channel and its default
    timezone; (None, None) without [hours] (calendar time, UTC)."""
    if cfg.hours is None:
        return None, None
    from zoneinfo import ZoneInfo

    from frontdesk.desk.automation.hours import ChannelClock

    return ChannelClock(cfg.hours).business_seconds, ZoneInfo(cfg.hours.default.schedule.timezone)


def build_automata(cfg: Config) -> list[Automaton]:
    """What the desk does by itself, in the order it acts on each trigger."""
    from frontdesk.desk.automation.assign import AutoAssign, Candidate
    from frontdesk.desk.automation.bot import faq_automata
    from frontdesk.desk.automation.away import hours_automata
    from frontdesk.desk.automation.csat import Survey
    from frontdesk.desk.automation.hours import ChannelClock
    from frontdesk.desk.automation.rule_actions import rules_automata

    automata: list[Automaton] = []
    automata.extend(faq_automata(cfg.faq))  # first: a new conversation may be the bot's
    clock = ChannelClock(cfg.hours) if cfg.hours is not None else None
    rules = rules_automata(cfg.rules, clock.open_at) if clock else rules_automata(cfg.rules)
    automata.extend(rules)  # a rule's routing comes before round robin
    if cfg.assignment.auto and cfg.team is not None and cfg.team.agents:
        automata.append(
            AutoAssign(
                [
                    Candidate(a.user, a.languages, a.skills, a.max_open)
                    for a in cfg.team.agents.values()
                ],
                cfg.assignment.channels,
            )
        )
    automata.extend(hours_automata(cfg.hours))
    if cfg.csat.enabled:
        automata.append(Survey(csat_settings(cfg.csat)))
    return automata


def csat_settings(csat: CsatConfig) -> CsatSettings:
    """`[csat]` as the survey automaton takes it."""
    from frontdesk.desk.automation.csat import QUESTIONS, CsatSettings, SurveyTemplate

    template = csat.whatsapp_template
    return CsatSettings(
        channels=frozenset(csat.channels) if csat.channels is not None else None,
        questions={**QUESTIONS, **csat.questions},
        whatsapp_template=SurveyTemplate(template, csat.whatsapp_template_language)
        if template
        else None,
    )


def sla_policy(cfg: Config) -> SlaPolicy | None:
    """`[sla]` as the desk keeps it: targets by priority (None: no SLA)."""
    from frontdesk.desk.sla import SlaPolicy, SlaTarget
    from frontdesk.model import Priority

    if cfg.sla is None:
        return None
    targets = {
        priority: SlaTarget(cfg.sla.first.get(priority.value), cfg.sla.next.get(priority.value))
        for priority in Priority
        if priority.value in cfg.sla.first or priority.value in cfg.sla.next
    }
    if cfg.sla.business_hours and cfg.hours is not None:
        from frontdesk.desk.automation.hours import ChannelClock

        return SlaPolicy(targets, ChannelClock(cfg.hours).after)
    return SlaPolicy(targets)


def demo_sla() -> SlaConfig:
    """DEMO_SLA_HOURS as the [sla] section it stands for."""
    from datetime import timedelta

    from frontdesk.config import SlaConfig

    return SlaConfig(
        first={p: timedelta(hours=first) for p, (first, _) in DEMO_SLA_HOURS.items()},
        next={p: timedelta(hours=following) for p, (_, following) in DEMO_SLA_HOURS.items()},
    )
