"""Isolation on the course server, tried as real trainee Unix accounts (runuser): every read that
must fail fails with the kernel's permission error."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.integration.server.conftest import INSTRUCTOR, RUNUSER, Server, start_server

READER, OTHER = "kim", "jiho-lee"  # kim tries to read what belongs to jiho-lee, the instructor, root
CHAMPION_KEY = Path("/opt/airflow-practice/client/id_ed25519")


def denied(server: Server, user: str, *cmd: str, why: str = "Permission denied") -> None:
    proc = server.as_user(user, *cmd)
    assert proc.returncode != 0, f"{user} could run {cmd}: {proc.stdout[:300]}"
    assert why in proc.stderr, (cmd, proc.stderr)


@pytest.fixture(scope="module")
def submitted(server: Server) -> Path:
    """jiho-lee fetches and submits 01_definition through the exchange (nbgrader's own commands)."""
    for step in (("fetch_assignment", "01_definition", "--replace"), ("submit", "01_definition")):
        proc = server.as_user(OTHER, "nbgrader", *step)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    inbound = server.exchange_course / "inbound"
    mine = sorted(inbound.glob(f"{OTHER}+01_definition+*"))
    assert mine, "the submission is in the exchange"
    return mine[-1]


def test_another_trainees_home_is_closed(server: Server, submitted: Path) -> None:
    assert (Path("/home") / OTHER / "01_definition" / "01_definition.ipynb").exists()
    denied(server, READER, "ls", f"/home/{OTHER}")
    denied(server, READER, "cat", f"/home/{OTHER}/01_definition/01_definition.ipynb")
    denied(server, READER, "ls", f"/home/{OTHER}/.local/share/jupyter/nbgrader_cache")


def test_submissions_in_the_exchange_cannot_be_listed(server: Server, submitted: Path) -> None:
    denied(server, READER, "ls", str(server.exchange_course / "inbound"))
    # nbgrader names each submission with a random part, so it cannot be guessed either.
    assert len(submitted.name.split("+")) == 4, submitted.name


def test_the_course_folder_in_the_exchange_cannot_be_replaced(server: Server) -> None:
    course = server.exchange_course
    denied(server, READER, "mv", str(course), f"{course}-mine", why="Operation not permitted")
    assert course.is_dir()
    denied(server, READER, "touch", str(course / "outbound" / "01_definition" / "answers.txt"))
    denied(server, READER, "rm", "-rf", str(course / "outbound" / "01_definition"))
    assert (course / "outbound" / "01_definition" / "01_definition.ipynb").exists()


def test_instructor_source_answers_hidden_tests_and_gradebook(server: Server) -> None:
    source = server.course / "source" / "01_definition" / "01_definition.ipynb"
    assert "BEGIN HIDDEN TESTS" in source.read_text(encoding="utf-8")
    assert (server.course / "gradebook.db").exists()
    denied(server, READER, "cat", str(source))
    denied(server, READER, "cat", str(server.course / "gradebook.db"))
    denied(server, READER, "ls", f"/home/{INSTRUCTOR}")


def test_champion_keys(server: Server) -> None:
    assert CHAMPION_KEY.exists()
    denied(server, READER, "cat", str(CHAMPION_KEY))
    denied(server, READER, "ls", "/root")


@pytest.mark.parametrize(
    "name",
    [
        "etc/cookie_secret",
        "etc/proxy_token",
        "etc/service_token",
        "etc/passwords.csv",
        "etc/jupyterhub_config.py",
        "etc/hub_settings.json",
        "state/jupyterhub.sqlite",
    ],
)
def test_hub_secrets(server: Server, name: str) -> None:
    path = server.layout.root / name
    assert path.exists()
    assert path.stat().st_mode & 0o077 == 0 or path.parent.stat().st_mode & 0o077 == 0
    denied(server, READER, "cat", str(path))


def test_the_proxy_token_is_not_on_a_command_line(server: Server) -> None:
    proxy_pid = (server.layout.state / "jupyterhub-proxy.pid").read_text().strip()
    token = (server.layout.etc / "proxy_token").read_text().strip()
    cmdline = server.as_user(READER, "cat", f"/proc/{proxy_pid}/cmdline")
    assert cmdline.returncode == 0 and "configurable-http-proxy" in cmdline.stdout
    assert token not in cmdline.stdout
    denied(server, READER, "cat", f"/proc/{proxy_pid}/environ")


def test_an_uploaded_key_is_the_trainees_alone(server: Server, tmp_path: Path) -> None:
    """The key goes up the way JupyterLab's upload sends it (a PUT to the contents API of the
    trainee's own server, into the home); the server's umask makes it 0600, nobody else reads it."""
    start_server(server, READER)
    key = CHAMPION_KEY.read_text()
    body = json.dumps({"type": "file", "format": "text", "content": key}).encode()
    request = urllib.request.Request(
        f"{server.url}/user/{READER}/api/contents/practice.pem",
        data=body,
        method="PUT",
        headers={"Authorization": f"token {server.token()}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status in (200, 201)
    uploaded = Path(f"/home/{READER}/practice.pem")
    assert uploaded.stat().st_mode & 0o777 == 0o600
    assert uploaded.owner() == READER
    denied(server, OTHER, "cat", str(uploaded))
    ok = subprocess.run([RUNUSER, "-u", READER, "--", "head", "-c", "10", str(uploaded)], capture_output=True)
    assert ok.returncode == 0
