"""The practice node as a test fixture: grade it with the real `grade` CLI, break it on
purpose and restore it. Needs root and a node stood up by `practice/node up`
(scripts/test.sh does both); without them these tests fail, they are not skipped."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.stable_ids import STABLE_CHECK_IDS

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = ROOT / "practice" / "node"
GRADE = Path(sys.executable).with_name("grade")
ALL_CHECKS = set(STABLE_CHECK_IDS)


@contextlib.contextmanager
def silent_listener(port: int = 0) -> Iterator[int]:
    """Something on 127.0.0.1:port (0: any free port, yielded) that accepts TCP connections and never
    says a word: not an SSH server, or a hung webserver."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(50)
    server.settimeout(0.2)
    stop, held = threading.Event(), []

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@dataclass
class Graded:
    code: int
    result: dict
    stdout: str
    stderr: str

    @property
    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.result["checks"]}

    @property
    def not_passed(self) -> set[str]:
        return {
            c["id"] for c in self.result["checks"] if c["status"] not in ("pass", "warn", "not_applicable")
        }

    def check(self, check_id: str) -> dict:
        return next(c for c in self.result["checks"] if c["id"] == check_id)

    def explain(self) -> str:
        """The evidence of every check that did not pass: an assertion message worth reading."""
        lines = [f"exit {self.code}, status {self.result.get('status')}"]
        failing = self.not_passed
        for c in self.result.get("checks", []):
            if c["id"] in failing:
                lines.append(f"{c['id']} {c['status']}: " + " | ".join(c.get("evidence", [])))
        return "\n".join(lines)


class PracticeNode:
    def __init__(self, info: dict, known_hosts: Path) -> None:
        self.info = info
        self.known_hosts = known_hosts
        self.cfg = Path(info["airflow_home"]) / "airflow.cfg"
        self.pristine_cfg = Path(info["pristine_cfg"])

    @property
    def major(self) -> int:
        """The node's Airflow major: 3 by default (the 2026 path), 2 with NODE_AIRFLOW_VERSION=2.11.2."""
        return int(self.info["airflow_major"])

    @property
    def max_score(self) -> int:
        """Full marks on this node: 3.x adds airflow.dag_processor to the guide's 100."""
        return 110 if self.major >= 3 else 100

    # ---- grading --------------------------------------------------------------------
    def grade_args(self, *extra: str) -> list[str]:
        return [
            str(GRADE),
            "--host",
            self.info["host"],
            "--port",
            str(self.info["port"]),
            "--user",
            self.info["user"],
            "--key",
            self.info["key"],
            "--known-hosts",
            str(self.known_hosts),
            *extra,
        ]

    def run_cli(self, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.grade_args(*extra), capture_output=True, text=True, timeout=timeout)

    def grade(self, *extra: str, timeout: float = 60) -> Graded:
        proc = self.run_cli(*extra, "--format", "json", timeout=timeout)
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(
                f"grade printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            ) from None
        assert isinstance(data, list) and len(data) == 1
        return Graded(proc.returncode, data[0], proc.stdout, proc.stderr)

    # ---- breaking and restoring ---------------------------------------------------------
    def node(self, *args: str) -> None:
        subprocess.run(["bash", str(NODE_SCRIPT), *args], check=True, capture_output=True, timeout=300)

    @contextlib.contextmanager
    def stopped(self, service: str) -> Iterator[None]:
        self.node("stop", service)
        try:
            yield
        finally:
            self.node("start", service)
            self.wait_healthy()

    def restart(self, service: str) -> None:
        """Restart a service and wait until the whole node grades clean again: the next test
        must not meet a webserver whose gunicorn workers are still warming up."""
        self.node("restart", service)
        self.wait_healthy()

    @contextlib.contextmanager
    def cfg_edited(self, edit) -> Iterator[None]:  # type: ignore[no-untyped-def]
        """Edit airflow.cfg as the trainee would (no restart); restore the practice copy after."""
        text = self.cfg.read_text(encoding="utf-8")
        self.cfg.write_text(edit(text), encoding="utf-8")
        try:
            yield
        finally:
            self.restore_cfg()

    def restore_cfg(self) -> None:
        if self.cfg.is_symlink() or (self.cfg.exists() and not self.cfg.is_file()):
            self.cfg.unlink()
        shutil.copyfile(self.pristine_cfg, self.cfg)
        shutil.chown(self.cfg, self.info["user"], self.info["user"])
        os.chmod(self.cfg, 0o600)

    def sql(self, statement: str) -> str:
        proc = subprocess.run(
            ["mysql", "--protocol=socket", "-uroot", "-N", "-B", "airflow", "-e", statement],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        return proc.stdout

    def wait_healthy(self, seconds: float = 120) -> None:
        """Wait until a grade passes every check again (after a restore), the champion's login on
        the webserver included (a warming webserver passes the account check on the stored hash)."""
        deadline = time.monotonic() + seconds
        while True:
            graded = self.grade()
            logged_in = any("로그인 성공" in e for e in graded.check("account.champion")["evidence"])
            if not graded.not_passed and logged_in:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"node did not recover:\n{graded.explain()}")
            time.sleep(2)


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> PracticeNode:
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (run as root: bash scripts/test.sh)")
    proc = subprocess.run(["bash", str(NODE_SCRIPT), "info"], capture_output=True, text=True, check=True)
    info = json.loads(proc.stdout)
    if not Path(info["key"]).exists():
        pytest.fail("practice node is not set up (run as root: bash scripts/test.sh)")
    practice = PracticeNode(info, tmp_path_factory.mktemp("ssh") / "known_hosts")
    practice.node("up")  # idempotent: starts whatever an earlier test run left stopped
    return practice
