"""The course server as a test fixture: `course-server up` (idempotent: minutes the first time,
seconds after) with a small class, as root, on this machine's real JupyterHub, proxy and Unix
accounts. The practice node (tests/integration/conftest.py) is the node trainees point `%node` at."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from course_server.layout import COURSE_ID, Layout, Settings

ROOT = Path(__file__).resolve().parents[3]
COMMAND = ROOT / "server" / "course-server"
INSTRUCTOR = "champion"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
# One roster for the server and for `grade`: name, an id (given, from the e-mail, or generated)
# and the node's columns, which the course server ignores.
ROSTER = """name,id,email,host,user,port,key
김민수,kim,,127.0.0.1,ec2-user,2222,/opt/airflow-practice/client/id_ed25519
이지호,,jiho.lee@example.com,127.0.0.1,ec2-user,2222,/opt/airflow-practice/client/id_ed25519
박서연,,,127.0.0.1,ec2-user,2222,/opt/airflow-practice/client/id_ed25519
"""


def course_server(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """The champion's command, as the champion runs it (root, bash server/course-server ...)."""
    return subprocess.run(
        ["bash", str(COMMAND), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Server:
    layout: Layout
    settings: Settings
    roster: Path
    passwords: dict[str, str]

    @property
    def url(self) -> str:
        return self.settings.local_url

    @property
    def trainees(self) -> list[str]:
        return [row["id"] for row in csv.DictReader(self.layout.roster.open(encoding="utf-8"))]

    @property
    def course(self) -> Path:
        return Path(f"/home/{INSTRUCTOR}/course")

    @property
    def exchange_course(self) -> Path:
        return self.layout.exchange / COURSE_ID

    def env(self, user: str, role: str = "trainee") -> dict[str, str]:
        """What the hub gives a user's Jupyter (the same PATH and role config)."""
        return {
            "HOME": f"/home/{user}",
            "USER": user,
            "PATH": f"{self.layout.user_venv / 'bin'}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONWARNINGS": "ignore",
            "JUPYTER_CONFIG_PATH": str(self.layout.jupyter / role),
        }

    def as_user(
        self, user: str, *cmd: str, cwd: str | None = None, timeout: float = 300, role: str = "trainee"
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as that real Unix account (runuser), in its home unless told."""
        return subprocess.run(
            [RUNUSER, "-u", user, "--", *cmd],
            cwd=cwd or f"/home/{user}",
            env=self.env(user, role),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def token(self) -> str:
        return self.layout.service_token.read_text().strip()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if os.geteuid() != 0:
        pytest.fail("the course server needs root (useradd, JupyterHub as root)")
    roster = tmp_path_factory.mktemp("class") / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    proc = course_server("up", "--roster", str(roster))
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    layout = Layout()
    settings = Settings.load(layout.settings_file)
    passwords = {r["id"]: r["password"] for r in csv.DictReader(layout.passwords.open(encoding="utf-8"))}
    yield Server(layout, settings, roster, passwords)
    down = course_server("down")  # no hub left running after the suite (accounts and venvs stay)
    assert down.returncode == 0, down.stdout + down.stderr


def hub_api(server: Server, method: str, path: str, body: object | None = None) -> object:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{server.settings.hub_port}/hub/api{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"token {server.token()}"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        text = reply.read().decode()
    return json.loads(text) if text else None


def start_server(server: Server, user: str, timeout: float = 180) -> None:
    """The user's Jupyter started through the hub (as the spawn button does), and ready."""
    import time

    state = hub_api(server, "GET", f"/users/{user}")
    if not (state and state.get("server")):  # type: ignore[union-attr]
        hub_api(server, "POST", f"/users/{user}/server")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = hub_api(server, "GET", f"/users/{user}")
        if state.get("server") and not state.get("pending"):  # type: ignore[union-attr]
            return
        time.sleep(0.5)
    raise AssertionError(f"{user}'s server did not start in {timeout} s")
