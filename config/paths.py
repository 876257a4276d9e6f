"""Where frontdesk's files live (platformdirs, the environment); callers create what they write."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from frontdesk.config.sections import DeskConfig, TeamConfig

APP_NAME = "frontdesk"
SOCKET_NAME = "desk.sock"


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


def chatwoot_cache_dir(data_dir: Path, desk: DeskConfig) -> Path:
    """The folder in the data dir that keeps what was seen of one Chatwoot account:
    `chatwoot-<host>-<account id>`, a port or path prefix joined with "_" (chatwoot-localhost_3000-1);
    a name that had to lose other characters or length gets a short hash of the URL, so two
    servers never share one."""
    parts = urlsplit(desk.url)
    where = (parts.netloc + parts.path.rstrip("/")).lower()
    joined = re.sub(r"[:/]", "_", where)
    slug = re.sub(r"[^a-z0-9._-]+", "-", joined).strip("-.")[:80] or "server"
    if slug != joined or "_" in where:
        slug += "-" + hashlib.sha256(where.encode()).hexdigest()[:8]
    return Path(data_dir) / f"chatwoot-{slug}-{desk.account_id}"
