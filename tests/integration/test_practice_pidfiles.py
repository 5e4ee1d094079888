"""practice/node must not take a leftover PID file for a running service.

A class node gets a new PID namespace on every `practice/class up`, and a machine reboot
does the same to the loopback node: the PID numbers in old PID files then name unrelated
processes. CI once failed because the node script believed Redis was running (its old
PID now belonged to another process) and never started it. These tests use a scratch
NODE_ROOT, so the practice node itself is not touched.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = ROOT / "practice" / "node"


def start_time(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(") ", 1)[1].split()[19]


def node_status(node_root: Path) -> dict[str, str]:
    proc = subprocess.run(
        ["bash", str(NODE_SCRIPT), "status"],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ROOT": str(node_root)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = [line.split(None, 1) for line in proc.stdout.splitlines() if line.startswith("  ")]
    return {parts[0]: parts[1] for parts in lines if len(parts) == 2 and not parts[0].startswith("host")}


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen]:
    """A live process unrelated to any service (what an old PID now points at)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def test_stale_pid_with_other_start_time_is_not_running(tmp_path: Path, stranger) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "redis.pid").write_text(f"{stranger.pid}\n")
    (run / "redis.start").write_text(str(int(start_time(stranger.pid)) - 1) + "\n")
    assert node_status(tmp_path)["redis"] == "중지됨"


def test_stale_pid_without_start_time_needs_the_service_command_line(tmp_path: Path, stranger) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "worker.pid").write_text(f"{stranger.pid}\n")
    assert node_status(tmp_path)["worker"] == "중지됨"


def test_recorded_process_is_running(tmp_path: Path, stranger) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "redis.pid").write_text(f"{stranger.pid}\n")
    (run / "redis.start").write_text(start_time(stranger.pid) + "\n")
    assert node_status(tmp_path)["redis"] == f"실행 중 (pid {stranger.pid})"
