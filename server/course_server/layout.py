"""Where the course server keeps its parts, and the champion's settings that `up` remembers."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "server"
COURSE_ID = "airflow-single-node"
TRAINEE_GROUP = "course-trainees"  # every account the server made for a trainee; nothing else


@dataclass(frozen=True)
class Layout:
    """Everything under one root (default /opt/course-server) except the homes and the exchange."""

    root: Path = Path(os.environ.get("COURSE_SERVER_ROOT", "/opt/course-server"))
    exchange: Path = Path(os.environ.get("COURSE_SERVER_EXCHANGE", "/srv/nbgrader/exchange"))

    @property
    def hub_venv(self) -> Path:
        return self.root / "hub-venv"

    @property
    def user_venv(self) -> Path:
        return self.root / "user-venv"

    @property
    def proxy(self) -> Path:
        return self.root / "proxy"

    @property
    def proxy_command(self) -> Path:
        return self.proxy / "node_modules" / ".bin" / "configurable-http-proxy"

    @property
    def etc(self) -> Path:
        """Root only (0700): hub config, secrets, passwords, the kept roster and settings."""
        return self.root / "etc"

    @property
    def state(self) -> Path:
        """Root only (0700): the hub's database, pidfiles and log."""
        return self.root / "state"

    @property
    def jupyter(self) -> Path:
        """Per-role Jupyter config (read-only, world-readable): trainee/ and instructor/."""
        return self.root / "jupyter"

    @property
    def passwords(self) -> Path:
        return self.etc / "passwords.csv"

    @property
    def roster(self) -> Path:
        return self.etc / "roster.csv"

    @property
    def settings_file(self) -> Path:
        return self.etc / "settings.json"

    @property
    def hub_config(self) -> Path:
        return self.etc / "jupyterhub_config.py"

    @property
    def hub_pidfile(self) -> Path:
        return self.state / "jupyterhub.pid"

    @property
    def hub_log(self) -> Path:
        return self.state / "jupyterhub.log"

    @property
    def service_token(self) -> Path:
        return self.etc / "service_token"


@dataclass
class Settings:
    """What the champion chose on `up` (kept in etc/settings.json; a later `up` reuses it)."""

    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    ssl_cert: str = ""
    ssl_key: str = ""
    allow_http: bool = False
    instructor: str = "champion"
    idle_timeout: int = 3600
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_cert else "http"

    @property
    def url(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def local_url(self) -> str:
        """How this machine reaches the hub (a wildcard address is not one to connect to)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.ip)
        return f"{self.scheme}://{host}:{self.port}" if host else self.url

    @classmethod
    def load(cls, path: Path) -> Settings:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path) -> bool:
        """Write if different; True when something changed."""
        text = json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if path.exists() and path.read_text(encoding="utf-8") == text:
            return False
        write_private(path, text)
        return True


def write_private(path: Path, text: str) -> None:
    """A root-only file (0600), created with that mode (never readable in between)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write a file only when its text or mode differs; True when it changed."""
    if path.exists() and path.read_text(encoding="utf-8") == text and (path.stat().st_mode & 0o7777) == mode:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True
