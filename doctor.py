"""`frontdesk doctor`'s checks: each part of the setup, its problems as one line each."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk import __version__
from frontdesk.errors import one_line

if TYPE_CHECKING:
    from frontdesk.config import Config


def check_desk(cfg: Config, root: Path) -> list[str]:
    """Print the served desk's status (running, version, who is attached) as this user sees it;
    with [team] configured, a desk that is not running or refuses this user is a problem."""
    from frontdesk import config
    from frontdesk.team.status import desk_status

    path = config.desk_socket(cfg.team, root)
    status = asyncio.run(desk_status(path, __version__))
    if status.problem:
        print(f"desk:   {path} (cannot ask it)")
        return [status.problem]
    if status.refused:
        print(f"desk:   running at {path}, refuses you")
        return [f"the desk at {path} says: {status.refused}"]
    if status.running:
        attached = ", ".join(status.online) or "nobody"
        print(
            f"desk:   running at {path} (frontdesk {status.version}, protocol "
            f"{status.protocol}); attached: {attached}"
        )
        return []
    if cfg.team is None:
        print("desk:   solo (no [team] in the config: the console runs its own desk)")
        return []
    print(f"desk:   not running at {path}")
    return [
        f"the desk is not running at {path}; start it with `frontdesk serve` "
        "(or ask whoever runs it), see README's Team mode"
    ]


def check_chatwoot(cfg: Config, root: Path, timeout: float = 10.0) -> list[str]:
    """With `[desk] kind = "chatwoot"`: the server, the token and account, the websocket and the
    local cache folder, each an ok line or a problem; what the config sets that a Chatwoot
    account does itself is noted."""
    from frontdesk.chatwoot.probe import cache_finding, probe
    from frontdesk.chatwoot.token import TokenMissing, read_token
    from frontdesk.config import chatwoot_cache_dir

    desk = cfg.desk
    print(f"desk:   Chatwoot account {desk.account_id} at {desk.url}")
    try:
        token = read_token()
    except TokenMissing:
        token = None  # the probe still checks the URL, then says how to set the token
    found = asyncio.run(probe(desk, token, timeout=timeout))
    found.append(cache_finding(chatwoot_cache_dir(root, desk)))
    unused = chatwoot_unused(cfg)
    if unused:
        print(
            f"note: {', '.join(unused)} in {cfg.path} are not used with a Chatwoot desk "
            "(its inboxes, automation and webhooks do that: README, Scaling past one box)"
        )
    from frontdesk.tui.safe import clean_line

    problems = []
    for finding in found:
        if finding.ok:
            print(f"ok: {clean_line(finding.text)}")  # names the server sent
        else:
            problems.append(finding.text)
    return problems


def chatwoot_unused(cfg: Config) -> list[str]:
    """The sections set in the config that only the local desk reads."""
    return [
        name
        for name, used in (
            ("[[channels]]", bool(cfg.channels)),
            ("[team]", cfg.team is not None),
            ("[webhooks]", cfg.webhooks is not None),
            ("[assignment]", cfg.assignment.auto),
            ("[csat]", cfg.csat.enabled),
            ("[sla]", cfg.sla is not None),
            ("[[faq]]/[bot]", bool(cfg.faq.entries) or cfg.faq.on),
            ("[hours]", cfg.hours is not None),
            ("[[rules]]", bool(cfg.rules)),
            ("[[escalation.hooks]]", bool(cfg.escalation.hooks)),
        )
        if used
    ]


def check_cache(root: Path, repair: bool = False) -> list[str]:
    """Problems with the cache: every file read, counts compared; with `repair`, rebuilt where it can be."""
    from frontdesk.store import Store, StoreError, StoreLocked
    from frontdesk.store.store import JOURNAL

    if not (root / "meta.json").exists() and not (root / JOURNAL).exists():
        return []
    store_log = logging.getLogger("frontdesk.store")
    level = store_log.level
    store_log.setLevel(logging.ERROR)  # each problem is printed below as a problem line, not twice
    try:
        if repair:
            try:
                with Store.open(root) as store:
                    done, left = store.repair()
            except StoreLocked as exc:
                return [f"cannot repair the cache: {exc}"]
            for line in done:
                print(f"repaired: {line}")
            problems = left
        else:
            with Store.open(root, readonly=True) as store:
                problems = list(store.verify())
    except StoreError as exc:
        return [str(exc)]
    finally:
        store_log.setLevel(level)
    problems += [
        f"{path} was set aside from a damaged cache; look at it, then delete it"
        for path in store.quarantine_files()
    ]
    if not problems:
        print(f"ok: cache {root}")
    return problems


def check_ui(cfg: Config) -> list[str]:
    """Problems with `[ui]`: a keymap that does not load (unknown id, key name, clash) or an unknown theme."""
    from frontdesk import config
    from frontdesk.keymaps.loader import KeymapError
    from frontdesk.launch import resolve_keymap, theme_names

    problems = []
    try:
        resolve_keymap(cfg.ui.keymap, cfg.ui.keys, cfg.path)
    except KeymapError as exc:
        problems.append(str(exc))
    else:
        print(
            f"ok: keymap {cfg.ui.keymap}"
            + (f" with {len(cfg.ui.keys)} key(s) from [ui.keys]" if cfg.ui.keys else "")
        )
    try:
        config.load_config(
            cfg.path, themes=theme_names
        )  # the error the console would give, with its line
    except config.ConfigError as exc:
        problems.append(str(exc))
    return problems


def check_canned(path: Path) -> list[str]:
    """Problems of the canned replies next to the config (none when the shipped examples are used)."""
    from frontdesk.desk.canned import CannedError, load_canned, template_problems

    try:
        canned = load_canned(path)
    except CannedError as exc:
        return [str(exc)]
    where = (
        "none of your own: the shipped examples (copy them with ctrl+o in the picker)"
        if canned.examples
        else canned.source
    )
    print(f"canned: {where}, {len(canned.replies)} replies")
    return template_problems(canned)


def check_faq(cfg: Config, canned_path: Path) -> list[str]:
    """The FAQ bot's setup: each answer a canned reply the bot can fill in alone (no `{ask:…}`),
    each channel a configured one; a bot on with no [[faq]] only hands over."""
    from frontdesk.desk.canned import CannedError, asks, load_canned

    faq = cfg.faq
    if not faq.entries and not faq.on:
        return []
    where = str(cfg.path)
    problems = [
        f"{where}:{faq.bot.line or 1}: bot.channels names {name!r}, which is no [[channels]] block; "
        "add the channel or remove the name"
        for name in faq.bot.channels
        if name not in {ch.name for ch in cfg.channels}
    ]
    try:
        canned = load_canned(canned_path)
    except CannedError:
        return problems  # check_canned reports the broken file
    answers = [(e.line, f"faq[{i}].reply", e.reply) for i, e in enumerate(faq.entries)]
    if faq.bot.fallback_reply:
        answers.append((faq.bot.line, "bot.fallback_reply", faq.bot.fallback_reply))
    for line, key, code in answers:
        reply = canned.find(code)
        if reply is None:
            problems.append(
                f"{where}:{line or 1}: {key} /{code} is not a canned reply in {canned.source}; "
                "add it there or name an existing shortcode"
            )
        elif asks(reply.body):
            problems.append(
                f"{where}:{line or 1}: {key} /{code} asks the agent for {{ask:{asks(reply.body)[0]}}}, "
                "which the bot cannot fill in; answer with a reply without {ask:…}"
            )
    if faq.on:
        print(
            f"faq bot: on for {', '.join(faq.bot.channels)}, {len(faq.entries)} entries, "
            f"hands over after {faq.bot.misses} unanswered"
        )
    else:
        print(f"faq bot: off ([bot] channels names none), {len(faq.entries)} entries")
    return problems


def check_sla(cfg: Config) -> list[str]:
    """`[sla] business_hours` counts `[hours]`: without it there are none to count."""
    if cfg.sla is not None and cfg.sla.business_hours and cfg.hours is None:
        return [
            f"[sla] business_hours = true in {cfg.path} but there is no [hours] section to "
            "count; add [hours] with a timezone and the days (README, Business hours) or "
            "remove business_hours"
        ]
    return []


def check_hours(cfg: Config) -> list[str]:
    """`[hours]`: each canned reply it names must exist beside the config (or in the shipped
    examples) and be fillable without asking (automation cannot answer `{ask:…}`)."""
    from frontdesk.config_text import display_path
    from frontdesk.desk.canned import CannedError, asks, load_canned

    if cfg.hours is None:
        return []
    try:
        canned = load_canned(cfg.path.parent / "canned.toml")
    except CannedError:
        return []  # check_canned reports the broken file itself
    problems = []
    shown = display_path(cfg.path)
    for table, choice in cfg.hours.replies():
        at = f"{shown}:{choice.line}" if choice.line else shown
        reply = canned.find(choice.shortcode)
        if reply is None:
            problems.append(
                f"{at}: [{table}] names /{choice.shortcode}, which is not a canned reply in "
                f"{canned.source}; add a [[replies]] block with shortcode = "
                f'"{choice.shortcode}" or name an existing one'
            )
        elif asks(reply.body):
            problems.append(
                f"{at}: [{table}] names /{choice.shortcode}, which asks for "
                f"{{ask:{asks(reply.body)[0]}}} ({canned.where(reply)}); automation cannot "
                "answer it: use a reply with only {contact.…} and {agent.…} values"
            )
    known = {ch.name for ch in cfg.channels}
    for name in cfg.hours.channels:
        if cfg.channels and name not in known:
            print(f"warning: [hours.channels.{name}] names no [[channels]] block in {shown}")
    if not problems:
        default = cfg.hours.default
        print(
            f"ok: hours in {default.schedule.timezone}"
            + (f", {len(cfg.hours.channels)} channel override(s)" if cfg.hours.channels else "")
        )
    return problems


async def check_channel(ch) -> list[str]:
    from frontdesk import credentials
    from frontdesk.backends import registry

    try:
        cls = registry.load(ch.backend)
    except Exception as exc:
        return [f"channel {ch.name}: {exc}"]
    settings = dict(ch.settings)
    if ch.base_url:
        settings["base_url"] = ch.base_url
    try:
        backend = cls(ch.name, settings, credentials.secret_source(ch.name))
    except Exception as exc:
        return [f"channel {ch.name}: {one_line(exc)}"]
    missing = [k for k in backend.required_secrets if not credentials.get_secret(ch.name, k)]
    if missing:
        await backend.close()
        return [
            f"channel {ch.name}: secret {key!r} is not set — run `frontdesk creds set {ch.name} {key}` "
            f"or set {credentials.env_name(ch.name, key)}"
            for key in missing
        ]
    try:
        found = await backend.check()
    except Exception as exc:
        found = [f"check failed: {one_line(exc)}"]
    finally:
        await backend.close()
    if not found:
        print(f"ok: channel {ch.name} ({ch.backend})")
    return [f"channel {ch.name}: {line}" for line in found]


def check_webhooks(cfg: Config) -> list[str]:
    """Print, for each webhook channel, the URL to enter in the provider's console; no
    [webhooks] or no public_url is a problem (the provider has nowhere to call), and a
    public_url without https a warning (the providers call https only)."""
    from frontdesk import credentials
    from frontdesk.backends import registry

    names = []
    for ch in cfg.channels:
        try:
            cls = registry.load(ch.backend)
            backend = cls(ch.name, dict(ch.settings), credentials.secret_source(ch.name))
        except Exception:
            continue  # check_channel reports a backend that cannot load
        if ch.enabled and getattr(backend, "webhook", False) is True:
            names.append(ch.name)
    if not names:
        return []
    hooks = cfg.webhooks
    if hooks is None:
        return [
            f"channels {', '.join(names)} are fed by webhooks but {cfg.path} has no [webhooks] "
            'section; add [webhooks] with listen = "127.0.0.1:8787" and public_url '
            "(README, Webhook channels)"
        ]
    print(f"webhooks: the receiver listens on {hooks.listen}")
    if not _loopback(hooks.host):
        print(
            f"warning: [webhooks] listen {hooks.listen} is reachable from the network in plain "
            'HTTP; keep it on loopback (listen = "127.0.0.1:8787") behind a TLS reverse proxy '
            "or a tunnel (README, Webhook channels)"
        )
    if hooks.public_url is None:
        return [
            f"[webhooks] public_url is not set in {cfg.path}, so there is no URL to give the "
            f"provider of {', '.join(names)}; set it to the https address that reaches "
            f"{hooks.listen} (README, Webhook channels)"
        ]
    for name in names:
        print(f"webhook: channel {name}: enter {hooks.channel_url(name)} in the provider's console")
    if not hooks.public_url.startswith("https://"):
        print(
            f"warning: [webhooks] public_url {hooks.public_url} is not https; the providers "
            "call only https addresses: put a TLS reverse proxy or a tunnel in front "
            "(README, Webhook channels)"
        )
    return []


def check_assignment(cfg: Config) -> list[str]:
    """`[assignment] auto` needs agents to give conversations to and channels that exist."""
    rule = cfg.assignment
    if not rule.auto:
        return []
    if cfg.team is None or not cfg.team.agents:
        return [
            f"[assignment] auto = true in {cfg.path} but no [team.agents.<user>] names who may "
            "be given conversations; add one table per agent (README, Auto-assignment)"
        ]
    known = {ch.name for ch in cfg.channels}
    unknown = [name for name in rule.channels or () if name not in known]
    if unknown:
        return [
            f"[assignment] channels in {cfg.path} names {', '.join(unknown)}, not a "
            f"[[channels]] name; use one of: {', '.join(sorted(known)) or 'none configured'}"
        ]
    where = ", ".join(rule.channels) if rule.channels is not None else "every channel"
    count = len(cfg.team.agents)
    print(f"ok: assignment: round robin over {count} agent{'s' * (count != 1)} on {where}")
    return []


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_hook(hook) -> list[str]:
    """A command hook's program must exist; a URL hook is only described (it is not called)."""
    import shutil

    from frontdesk import credentials

    if hook.command:
        program = hook.command[0]
        if shutil.which(program) is None:
            return [
                f"hook {hook.name}: command {program!r} is not found or not executable; fix `command` in [[escalation.hooks]]"
            ]
        print(f"ok: hook {hook.name} runs {program}")
        return []
    token = credentials.get_secret(hook.secret_owner, "token")
    auth = (
        "with a Bearer token"
        if token
        else f"without a token (set one with `frontdesk creds set {hook.secret_owner} token` if it needs one)"
    )
    print(f"ok: hook {hook.name} posts to {hook.url} {auth}")
    return []


def check_rules(cfg: Config) -> list[str]:
    """What `[[rules]]` name that the rest of the setup lacks (the reader checked their shape):
    a canned reply, an agent, a team or a channel; each problem names the file and the line."""
    from frontdesk.config_text import display_path
    from frontdesk.desk.canned import CannedError, load_canned

    if not cfg.rules:
        return []
    active = sum(rule.active for rule in cfg.rules)
    print(f"rules:  {len(cfg.rules)} in {display_path(cfg.path)} ({active} active)")
    try:
        canned = load_canned(cfg.path.parent / "canned.toml")
    except CannedError:
        canned = None  # check_canned reports it
    agents = {cfg.agent.name, *cfg.agent.agents, *(cfg.team.agents if cfg.team else ())}
    teams = set(cfg.escalation.targets)
    channels = {ch.name for ch in cfg.channels} | {ch.backend for ch in cfg.channels}
    problems = []
    for rule in cfg.rules:
        for action in rule.actions:
            problem = _rule_action_problem(action, canned, agents, teams)
            if problem:
                problems.append(_rule_line(cfg, rule, action.line, f"{action} {problem}"))
        for condition in rule.conditions:
            unknown = [v for v in condition.values if channels and v not in channels]
            if condition.attribute == "channel" and unknown:
                problems.append(
                    _rule_line(
                        cfg,
                        rule,
                        condition.line,
                        f"names channel {unknown[0]!r}, which no [[channels]] block has "
                        f"(names and backends: {', '.join(sorted(channels))}); fix the value",
                    )
                )
    return problems


def _rule_action_problem(action, canned, agents: set[str], teams: set[str]) -> str | None:
    if action.name == "send_canned_reply" and canned is not None:
        if canned.find(action.params[0]) is None:
            return f"names no canned reply in {canned.source}; add /{action.params[0]} there or fix the shortcode"
    if action.name == "assign_agent" and action.params[0] not in agents:
        return (
            f"names an agent the config does not know ({', '.join(sorted(agents))}); "
            "add them to [agent] agents or [team.agents], or fix the name"
        )
    if action.name in ("assign_team", "escalate") and teams and action.params[0] not in teams:
        return f"names a team not in [escalation] targets ({', '.join(sorted(teams))}); add it there or fix the name"
    return None


def _rule_line(cfg: Config, rule, line: int | None, problem: str) -> str:
    from frontdesk.config_text import display_path

    where = (
        f"{display_path(cfg.path)}:{line or rule.line}"
        if (line or rule.line)
        else display_path(cfg.path)
    )
    return f"{where}: rule {rule.name!r}: {problem}"
