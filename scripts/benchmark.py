#!/usr/bin/env python3
"""Benchmark `grade` against the local practice node and compare it with a naive paramiko script.

Prints figures, it is not a test. Run as root (the sshd log of the practice node is root-only):

    .venv/bin/python scripts/benchmark.py [--runs N] [--alt-runs M] [--json]

"grade" runs the whole `grade` process N times; "alternative" asks the same questions the way a
champion would script them: one fresh SSH connection per question, Airflow CLI and pgrep.
Nothing on the node is changed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import paramiko

REPO_ROOT = Path(__file__).resolve().parent.parent
GRADE_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
EXEC_TIMEOUT = 60.0
TARGET_SECONDS = 0.7
TARGET_TEXT = "< 0.7 s wall on loopback with one SSH connection"


@dataclass
class GradeFigures:
    """What N runs of the `grade` process measured."""

    runs: int
    wall_seconds: list[float]
    reported_seconds: list[float | None]
    scores: list[int | None]
    exit_codes: list[int]
    connections: list[int | None]
    exec_sessions: list[int | None]
    tunnels: list[int | None]
    sshd_accepted: int | None

    @property
    def median(self) -> float:
        return statistics.median(self.wall_seconds)


@dataclass
class AltFigures:
    """What M runs of the naive one-connection-per-question script measured."""

    runs: int
    commands: int
    wall_seconds: list[float]
    connections: list[int | None]
    exec_sessions: list[int]
    succeeded: list[int]
    failures: list[str] = field(default_factory=list)
    sshd_accepted: int | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall_seconds)


def node_info() -> dict[str, Any]:
    """The practice node's facts from `bash practice/node info`."""
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "practice" / "node"), "info"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=GRADE_TIMEOUT,
        check=True,
    )
    return json.loads(out.stdout)


def grade_executable() -> str:
    """The `grade` console script of the running venv (or the repo's .venv, or PATH)."""
    for candidate in (Path(sys.executable).parent / "grade", REPO_ROOT / ".venv" / "bin" / "grade"):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("grade")
    if not found:
        sys.exit("benchmark: cannot find the `grade` console script")
    return found


def count_accepted(sshd_log: Path) -> int | None:
    """Lines with "Accepted publickey" in the node's sshd log; None when it cannot be read."""
    try:
        with open(sshd_log, encoding="utf-8", errors="replace") as handle:
            return sum("Accepted publickey" in line for line in handle)
    except OSError:
        return None


def log_delta(sshd_log: Path, before: int | None) -> int | None:
    """Accepted-publickey lines added since `before`."""
    after = count_accepted(sshd_log)
    return None if before is None or after is None else after - before


def bench_grade(info: dict[str, Any], runs: int) -> GradeFigures:
    """Run the whole `grade` process `runs` times with one fresh known_hosts file."""
    sshd_log = Path(info["logs"]) / "sshd.log"
    figures = GradeFigures(runs, [], [], [], [], [], [], [], None)
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        command = [
            grade_executable(),
            "--host", str(info["host"]),
            "--port", str(info["port"]),
            "--user", str(info["user"]),
            "--key", str(info["key"]),
            "--known-hosts", str(Path(tmp) / "known_hosts"),
            "--format", "json",
        ]  # fmt: skip
        before = count_accepted(sshd_log)
        for index in range(runs):
            start = time.perf_counter()
            try:
                proc = subprocess.run(command, capture_output=True, text=True, timeout=GRADE_TIMEOUT)
            except subprocess.TimeoutExpired:
                sys.exit(f"benchmark: grade run {index + 1} took longer than {GRADE_TIMEOUT:.0f} s")
            figures.wall_seconds.append(time.perf_counter() - start)
            try:
                report = json.loads(proc.stdout)[0]
            except (ValueError, IndexError, KeyError) as exc:
                sys.exit(
                    f"benchmark: grade run {index + 1} (exit {proc.returncode}) printed no JSON report "
                    f"({exc}); stderr:\n{proc.stderr.strip()}"
                )
            ssh = report.get("ssh") or {}
            figures.exit_codes.append(proc.returncode)
            figures.scores.append(report.get("score"))
            figures.reported_seconds.append(report.get("seconds"))
            figures.connections.append(ssh.get("connections"))
            figures.exec_sessions.append(ssh.get("exec_sessions"))
            figures.tunnels.append(ssh.get("tunnels"))
        figures.sshd_accepted = log_delta(sshd_log, before)
    return figures


def alt_commands(info: dict[str, Any]) -> list[str]:
    """The questions a champion's script would ask, as shell commands for the node."""
    airflow = f"AIRFLOW_HOME={shlex.quote(info['airflow_home'])} {shlex.quote(info['venv'] + '/bin/airflow')}"
    return [
        f"{airflow} config get-value core executor",
        f"{airflow} config get-value database sql_alchemy_conn",
        f"{airflow} config get-value celery broker_url",
        f"{airflow} config get-value celery result_backend",
        f"{airflow} users list -o json",
        "pgrep -f redis-server",
        "pgrep -f mariadbd",
        'pgrep -f "airflow webserver"',
        'pgrep -f "airflow scheduler"',
        "pgrep -f celeryd",
    ]


def run_remote(client: paramiko.SSHClient, command: str, timeout: float) -> int:
    """Run one command on an open connection; its exit status, or raise TimeoutError."""
    transport = client.get_transport()
    if transport is None:
        raise paramiko.SSHException("no transport")
    channel = transport.open_session(timeout=CONNECT_TIMEOUT)
    try:
        channel.exec_command(command)
        deadline = time.monotonic() + timeout
        while True:
            while channel.recv_ready():
                channel.recv(65536)
            while channel.recv_stderr_ready():
                channel.recv_stderr(65536)
            if channel.exit_status_ready():
                return channel.recv_exit_status()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no exit status after {timeout:.0f} s")
            time.sleep(0.005)
    finally:
        channel.close()


def alt_once(info: dict[str, Any], commands: list[str]) -> tuple[int, int, int, list[str]]:
    """One naive pass: a fresh SSHClient per command. Returns (connections, exec sessions, ok, errors)."""
    connections = sessions = succeeded = 0
    errors: list[str] = []
    for command in commands:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # in memory only
        try:
            client.connect(
                info["host"],
                port=int(info["port"]),
                username=info["user"],
                key_filename=info["key"],
                timeout=CONNECT_TIMEOUT,
                banner_timeout=CONNECT_TIMEOUT,
                auth_timeout=CONNECT_TIMEOUT,
                look_for_keys=False,
                allow_agent=False,
            )
            connections += 1
            sessions += 1
            status = run_remote(client, command, EXEC_TIMEOUT)
            if status == 0:
                succeeded += 1
            else:
                errors.append(f"exit {status}: {command}")
        except (OSError, paramiko.SSHException, TimeoutError) as exc:
            errors.append(f"{type(exc).__name__} {exc}: {command}")
        finally:
            client.close()
    return connections, sessions, succeeded, errors


def bench_alternative(info: dict[str, Any], runs: int) -> AltFigures:
    """Time the naive script `runs` times."""
    commands = alt_commands(info)
    sshd_log = Path(info["logs"]) / "sshd.log"
    figures = AltFigures(runs, len(commands), [], [], [], [])
    before = count_accepted(sshd_log)
    for _ in range(runs):
        start = time.perf_counter()
        connections, sessions, succeeded, errors = alt_once(info, commands)
        figures.wall_seconds.append(time.perf_counter() - start)
        figures.connections.append(connections)
        figures.exec_sessions.append(sessions)
        figures.succeeded.append(succeeded)
        figures.failures.extend(errors)
    figures.sshd_accepted = log_delta(sshd_log, before)
    return figures


def distinct(values: list[Any]) -> str:
    """`1` when all values agree, else `1/2` (sorted distinct values)."""
    unique = sorted(set(values), key=str)
    return "/".join(str(v) for v in unique)


def log_surplus(accepted: int | None, connections: list[int | None]) -> int | None:
    """sshd logins beyond the connections an approach reports; >0 means other SSH clients were active."""
    return None if accepted is None else accepted - sum(c or 0 for c in connections)


def summary(grade: GradeFigures, alt: AltFigures) -> dict[str, Any]:
    """All figures as one JSON-ready dict."""
    reported = [s for s in grade.reported_seconds if s is not None]
    per_grade = None if grade.sshd_accepted is None else grade.sshd_accepted / grade.runs
    per_alt = None if alt.sshd_accepted is None else alt.sshd_accepted / alt.runs
    misses = []
    if grade.median >= TARGET_SECONDS:
        misses.append(f"median wall {grade.median:.4f} s >= {TARGET_SECONDS} s")
    if set(grade.connections) != {1}:
        misses.append(f"grade reported {distinct(grade.connections)} SSH connections")
    if per_grade is not None and per_grade != 1:
        misses.append(f"sshd log counted {per_grade:g} connections per grade")
    # Logins beyond the connections each approach reports itself came from other SSH clients at the same time.
    others = {
        "grade": log_surplus(grade.sshd_accepted, grade.connections),
        "alternative": log_surplus(alt.sshd_accepted, alt.connections),
    }
    return {
        "grade": {
            **asdict(grade),
            "median_seconds": grade.median,
            "min_seconds": min(grade.wall_seconds),
            "max_seconds": max(grade.wall_seconds),
            "median_reported_seconds": statistics.median(reported) if reported else None,
            "sshd_accepted_per_run": per_grade,
        },
        "alternative": {
            **asdict(alt),
            "median_seconds": alt.median,
            "min_seconds": min(alt.wall_seconds),
            "max_seconds": max(alt.wall_seconds),
            "sshd_accepted_per_run": per_alt,
        },
        "ratio_alternative_to_grade": alt.median / grade.median,
        "target": TARGET_TEXT,
        "meets_target": not misses,
        "target_misses": misses,
        "sshd_logins_not_ours": others,
    }


def print_table(figures: dict[str, Any]) -> None:
    """The readable report."""
    g, a = figures["grade"], figures["alternative"]

    def per_run(value: float | None) -> str:
        return "n/a" if value is None else f"{value:g}"

    print(f"grade ({g['runs']} runs, whole process incl. Python start-up)")
    own = g["median_reported_seconds"]
    print(
        f"  wall s: median {g['median_seconds']:.3f}  min {g['min_seconds']:.3f}  max {g['max_seconds']:.3f}"
        f"   (grade's own 'seconds' median {'n/a' if own is None else f'{own:.3f}'})"
    )
    print(
        f"  reported ssh: connections {distinct(g['connections'])}, exec_sessions "
        f"{distinct(g['exec_sessions'])}, tunnels {distinct(g['tunnels'])}"
    )
    print(f"  score {distinct(g['scores'])}, exit code {distinct(g['exit_codes'])}")
    if g["sshd_accepted"] is None:
        print("  sshd log unreadable (run as root): no independent connection count")
    print(
        f"  sshd log: {g['sshd_accepted']} 'Accepted publickey' lines → {per_run(g['sshd_accepted_per_run'])} per grade"
    )
    print()
    print(
        f"alternative ({a['runs']} runs, naive paramiko, one connection per question, {a['commands']} questions)"
    )
    print(
        f"  wall s: median {a['median_seconds']:.3f}  min {a['min_seconds']:.3f}  max {a['max_seconds']:.3f}"
    )
    print(
        f"  connections {distinct(a['connections'])}, exec sessions {distinct(a['exec_sessions'])}, "
        f"commands succeeded (exit 0) {distinct(a['succeeded'])}/{a['commands']}"
    )
    print(
        f"  sshd log: {a['sshd_accepted']} 'Accepted publickey' lines → {per_run(a['sshd_accepted_per_run'])} per run"
    )
    for failure in dict.fromkeys(a["failures"]):
        print(f"  failed: {failure}")
    print()
    rows = [("approach", "median wall s/node", "SSH connections", "sshd-counted/run", "exec sessions")]
    for name, fig in (("grade", g), ("alternative", a)):
        rows.append(
            (
                name,
                f"{fig['median_seconds']:.3f}",
                distinct(fig["connections"]),
                per_run(fig["sshd_accepted_per_run"]),
                distinct(fig["exec_sessions"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print()
    print(f"ratio alternative/grade: {figures['ratio_alternative_to_grade']:.1f}x")
    verdict = "MET" if figures["meets_target"] else "NOT MET: " + "; ".join(figures["target_misses"])
    print(
        f"target {figures['target']}: {verdict} "
        f"(median {g['median_seconds']:.4f} s, connections {distinct(g['connections'])})"
    )
    extra = {k: v for k, v in figures["sshd_logins_not_ours"].items() if v}
    if extra:
        listed = ", ".join(f"{v} during {k}" for k, v in extra.items())
        print(
            f"warning: sshd logged logins this benchmark did not make ({listed}); other SSH clients were active"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run both approaches, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="grade runs (default 15)")
    parser.add_argument("--alt-runs", type=int, default=3, help="alternative runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.alt_runs < 1:
        parser.error("--runs and --alt-runs must be at least 1")
    info = node_info()
    grade = bench_grade(info, args.runs)
    alt = bench_alternative(info, args.alt_runs)
    figures = summary(grade, alt)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
