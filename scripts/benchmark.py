#!/usr/bin/env python3
"""Benchmark `grade` against the local practice node and compare it with a naive paramiko script.

Prints figures, it is not a test. Run as root (the sshd log of the practice node is root-only):

    .venv/bin/python scripts/benchmark.py [--runs N] [--alt-runs M] [--json]
    .venv/bin/python scripts/benchmark.py --hostile [--class-size 30] [--json]

"grade" runs the whole `grade` process N times; "alternative" asks the same questions the way a
champion would script them: one fresh SSH connection per question, Airflow CLI and pgrep.
Nothing on the node is changed.

`--hostile` grades scripted hostile nodes (tests/hostile_node.py: trickling services, huge
announcements, a pbkdf2 bomb, 60,000 processes, replayed and forwarded nodes) one at a time with
`--timeout 10`, then a class of 30 in which 5 nodes are hostile and the rest are the practice
node: wall time, the grader's CPU and peak memory, each node's verdict.
"""

from __future__ import annotations

import argparse
import contextlib
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


# ---- hostile nodes (--hostile) --------------------------------------------------------------

HOSTILE_TIMEOUT = 10.0


def hostile_scenarios() -> dict[str, Any]:
    """The attacks of issue 9, as scripted nodes."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests import hostile_node as h

    def hung_probe(channel: Any) -> None:
        h.read_nonce(channel)
        while not channel.closed:
            time.sleep(0.2)

    def trickled_probe(channel: Any) -> None:
        h.trickle(h.with_nonce(json.dumps(h.load_probe()).encode(), h.read_nonce(channel)), 0.5)(channel)

    def scenario(**services: Any) -> Any:
        base = h.practice_scenario()
        for port, handler in services.items():
            base.services[int(port.removeprefix("p"))] = handler
        return base

    raw = h.load_probe()
    chain = h.practice_scenario()
    chain.probe = h.probe_with(raw, processes=raw["processes"] + h.process_chain(60_000))
    bomb = scenario(
        p3306=h.mysql_fake(champion=[(1, "pbkdf2:sha256:2000000000$salt$00", "Admin")]),
        p8080=h.http_reply(503, b""),
    )
    return {
        "trickling webserver (1 byte / 2 s)": scenario(
            p8080=h.trickle(b"HTTP/1.1 200 OK\r\n" + b"X" * 200, 2.0)
        ),
        "trickling Redis (1 byte / s)": scenario(p6379=h.trickle(b"+PONG\r\n$4000\r\n" + b"x" * 4000, 1.0)),
        "Redis bulk announced as 100 GB": scenario(p6379=h.redis_fake(info=h.HUGE_BULK, then=h.silent())),
        "champion hash pbkdf2 2e9 rounds": bomb,
        "60,000 'airflow scheduler' processes": chain,
        "probe JSON nested 200,000 deep": h.Scenario(probe=h.nested_json(200_000, raw)),
        "probe trickled (1 byte / 0.5 s)": h.Scenario(probe=trickled_probe),
        "probe never answers": h.Scenario(probe=hung_probe),
        "replayed probe, fake services": h.practice_scenario(),
        "replayed probe, forwarded to a working node": scenario(
            p6379=h.forward_to("127.0.0.1", 6379), p3306=h.forward_to("127.0.0.1", 3306)
        ),
    }


def bench_hostile(class_size: int) -> dict[str, Any]:
    scenarios = hostile_scenarios()  # puts the repository on sys.path
    from tests import hostile_node as h

    grade = grade_executable()
    figures: dict[str, Any] = {"timeout": HOSTILE_TIMEOUT, "nodes": [], "class": {}}
    for name, scenario in scenarios.items():
        with h.hostile_node(scenario) as node:
            command = [grade, *node.grade_args(), "--format", "json", "--timeout", str(HOSTILE_TIMEOUT)]
            done = h.run_measured(command, HOSTILE_TIMEOUT + 60)
            wall, cpu, peak, out = done.wall, done.cpu, done.peak_mb, done.stdout
        try:
            report = json.loads(out)[0]
            verdict = f"{report['status']} {report['score']}/{report['max_score']}"
        except (ValueError, IndexError, KeyError):
            verdict = "no report"
        figures["nodes"].append({"case": name, "wall": wall, "cpu": cpu, "peak_mb": peak, "verdict": verdict})
    # A class: `class_size` rows, 5 of them hostile, the rest the practice node under other names.
    info = node_info()
    picked = [
        "trickling webserver (1 byte / 2 s)",
        "trickling Redis (1 byte / s)",
        "probe never answers",
        "Redis bulk announced as 100 GB",
        "replayed probe, fake services",
    ]
    with tempfile.TemporaryDirectory(prefix="hostile-class-") as tmp, contextlib.ExitStack() as stack:
        nodes = [stack.enter_context(h.hostile_node(scenarios[name])) for name in picked]
        rows = ["name,host,port,user,key"]
        rows += [f"hostile-{i},{n.host},{n.port},{n.user},{n.key}" for i, n in enumerate(nodes)]
        rows += [
            f"practice-{i},{info['host']},{info['port']},{info['user']},{info['key']}"
            for i in range(class_size - len(nodes))
        ]
        roster = Path(tmp) / "roster.csv"
        roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
        board = Path(tmp) / "board.csv"
        command = [grade, "--roster", str(roster), "--scoreboard", str(board)]
        command += ["--known-hosts", str(Path(tmp) / "known_hosts"), "--timeout", str(HOSTILE_TIMEOUT)]
        done = h.run_measured(command, HOSTILE_TIMEOUT + 120)
        wall, cpu, peak = done.wall, done.cpu, done.peak_mb
        graded = board.read_text(encoding="utf-8-sig").count("\n") - 2 if board.exists() else 0
    figures["class"] = {
        "size": class_size,
        "hostile": len(picked),
        "wall": wall,
        "cpu": cpu,
        "peak_mb": peak,
        "rows": graded,
        "over_deadline": wall - HOSTILE_TIMEOUT,
    }
    return figures


def print_hostile(figures: dict[str, Any]) -> None:
    print(f"Hostile nodes, one at a time, grade --timeout {figures['timeout']:.0f}:")
    print(f"  {'case':45} {'wall':>7} {'CPU':>7} {'peak':>8}  verdict")
    for row in figures["nodes"]:
        print(
            f"  {row['case']:45} {row['wall']:6.2f}s {row['cpu']:6.2f}s {row['peak_mb']:6.0f}MB  {row['verdict']}"
        )
    c = figures["class"]
    print(
        f"Class of {c['size']} ({c['hostile']} hostile, the rest the practice node), --timeout "
        f"{figures['timeout']:.0f}: wall {c['wall']:.2f}s ({c['over_deadline']:+.2f}s past the slowest "
        f"deadline), grader CPU {c['cpu']:.2f}s, peak {c['peak_mb']:.0f} MB, scoreboard rows {c['rows']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run both approaches, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="grade runs (default 15)")
    parser.add_argument("--alt-runs", type=int, default=3, help="alternative runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--hostile", action="store_true", help="grade scripted hostile nodes instead")
    parser.add_argument("--class-size", type=int, default=30, help="hostile class size (default 30)")
    args = parser.parse_args(argv)
    if args.hostile:
        hostile = bench_hostile(args.class_size)
        print(json.dumps(hostile, indent=2)) if args.json else print_hostile(hostile)
        return 0
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
