"""Who to grade: a trainee node's address and SSH login, with `~/.ssh/config` aliases honoured."""

from __future__ import annotations

import os
from dataclasses import dataclass

import paramiko

DEFAULT_USER = "ec2-user"
DEFAULT_PORT = 22


@dataclass(frozen=True)
class Target:
    """A node as the champion named it, resolved against ~/.ssh/config."""

    name: str
    host: str  # as given (may be an ssh_config alias)
    hostname: str  # what we connect to
    port: int = DEFAULT_PORT
    user: str = DEFAULT_USER
    key: str | None = None
    proxy_command: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "host": self.host, "port": self.port, "user": self.user}


def resolve_target(
    host: str,
    *,
    name: str | None = None,
    port: int | None = None,
    user: str | None = None,
    key: str | None = None,
    ssh_config_path: str | None = None,
) -> Target:
    """Explicit values win over ~/.ssh/config, which wins over the course defaults (like OpenSSH)."""
    path = ssh_config_path or os.path.expanduser("~/.ssh/config")
    entry: dict[str, object] = {}
    if os.path.isfile(path):
        try:
            entry = dict(paramiko.SSHConfig.from_path(path).lookup(host))
        except (OSError, paramiko.SSHException, ValueError, ImportError):
            entry = {}  # an unusable ssh_config (or a `Match exec` line) is ignored, not fatal
    identity = entry.get("identityfile")
    config_key = None
    if isinstance(identity, list):
        config_key = next(
            (os.path.expanduser(k) for k in identity if os.path.isfile(os.path.expanduser(k))), None
        )
    config_port = entry.get("port")
    return Target(
        name=name or host,
        host=host,
        hostname=str(entry.get("hostname") or host),
        port=port or (int(str(config_port)) if config_port else DEFAULT_PORT),
        user=user or str(entry.get("user") or DEFAULT_USER),
        key=os.path.expanduser(key) if key else config_key,
        proxy_command=str(entry["proxycommand"]) if entry.get("proxycommand") else None,
    )
