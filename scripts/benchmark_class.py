"""Benchmark: grade a simulated class of N nodes behind a delayed link, in parallel and one by one.

    .venv/bin/python scripts/benchmark_class.py [--sizes 10,50,100] [--jobs 32] [--no-sequential]

Each of the N nodes is its own address on the `pass` node of `practice/class` (address aliases
in its network namespace), so every grade is a separate SSH connection through the delayed
link (practice/latency.py, 25 ms each way) and a full grade: probe, Redis, MySQL, webserver
health and the champion's login. Prints wall time, nodes per second, the slowest single node,
the grader's CPU and peak memory, and the CPU the simulated nodes spent on this same machine
(in a real class that work runs on N separate instances). Run as root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASS = ROOT / "practice" / "class"
NODE = ROOT / "practice" / "node"
GRADE = Path(sys.executable).with_name("grade")


def sh(*args: str, check: bool = True) -> str:
    proc = subprocess.run(args, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def nested_cpu_seconds() -> float:
    """CPU (own + reaped children) of every process in a nested PID namespace: the class nodes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            status = Path(f"/proc/{name}/status").read_text()
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        nspid = re.search(r"^NSpid:\s+(.*)$", status, re.M)
        if not nspid or len(nspid.group(1).split()) < 2:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / tick


def champion_hash(node: str) -> str:
    sql = "SELECT password FROM ab_user WHERE username = 'trey'"
    return sh(
        "bash", str(CLASS), "exec", node, "mysql", "--protocol=socket", "-uroot", "-N", "airflow", "-e", sql
    ).strip()


def set_champion_hash(node: str, value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9:$./+=_-]+", value):
        raise SystemExit(f"unexpected password hash format: {value[:20]}…")
    sql = f"UPDATE ab_user SET password = '{value}' WHERE username = 'trey'"
    sh("bash", str(CLASS), "exec", node, "mysql", "--protocol=socket", "-uroot", "airflow", "-e", sql)


def rtt_ms(address: str) -> float:
    out = sh("ping", "-c", "5", "-i", "0.2", "-q", address, check=False)
    match = re.search(r"= [\d.]+/([\d.]+)/", out)
    return float(match.group(1)) if match else float("nan")


def run_grade(roster: Path, known_hosts: Path, jobs: int, timeout: float) -> dict:
    """One `grade --roster` run as a child process; wall, CPU and peak memory from wait4()."""
    node_cpu_before = nested_cpu_seconds()
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(
            [str(GRADE), "--roster", str(roster), "--known-hosts", str(known_hosts), "--format", "json",
             "--jobs", str(jobs), "--timeout", str(timeout)],
            stdout=out, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        results = json.load(out)
    node_cpu = nested_cpu_seconds() - node_cpu_before
    seconds = sorted(r["seconds"] for r in results)
    return {
        "wall_s": wall,
        "nodes": len(results),
        "graded_full_marks": sum(r["status"] == "graded" and r["score"] == r["max_score"] for r in results),
        "not_graded": sum(r["status"] != "graded" for r in results),
        "slowest_node_s": seconds[-1],
        "median_node_s": statistics.median(seconds),
        "grader_cpu_s": usage.ru_utime + usage.ru_stime,
        "grader_peak_mb": usage.ru_maxrss / 1024,
        "nodes_cpu_s": node_cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--jobs", type=int, default=None, help="grade --jobs (default: grade's own default)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-after-another comparison")
    parser.add_argument(
        "--keep-loopback",
        action="store_true",
        help="leave the loopback practice node's scheduler running (by default it is paused during the runs: "
        "it is not part of the class and its example-DAG parsing takes CPU from the nodes)",
    )
    parser.add_argument(
        "--keep-class",
        action="store_true",
        help="leave the other class nodes (redis-down, local-exec, airflow3) running; by default they are "
        "paused (SIGSTOP) during the runs: they are not graded and their idle Airflow takes CPU",
    )
    parser.add_argument(
        "--cheap-login-hash",
        action="store_true",
        help="during the runs, store the champion's password on the pass node as pbkdf2:sha256:1000 instead of "
        "scrypt (restored after): each login then costs the node ~1 ms instead of ~0.1-0.2 s of CPU. On EC2 every "
        "node pays its own scrypt on its own CPU; here all N logins share this machine's two cores",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("root로 실행하세요 (practice/class가 네임스페이스를 만듭니다)")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    from grader.batch import DEFAULT_JOBS

    jobs = args.jobs or DEFAULT_JOBS

    print(f"[bench] practice/class up, {max(sizes)} addresses on the pass node", file=sys.stderr, flush=True)
    sh("bash", str(CLASS), "up")
    sh("bash", str(CLASS), "aliases", str(max(sizes)))
    info = json.loads(sh("bash", str(CLASS), "info"))
    node = next(n for n in info["nodes"] if n["name"] == "pass")
    addresses = info["pass_aliases"][: max(sizes)]
    if len(addresses) < max(sizes):
        raise SystemExit(f"only {len(addresses)} alias addresses")
    work = Path(tempfile.mkdtemp(prefix="bench-class-"))
    # Every alias is the same sshd: a champion who graded the class once has all their host keys.
    host_key = (Path(node["key"]).parents[1] / "sshd" / "ssh_host_ed25519_key.pub").read_text().split()
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(f"{a} {host_key[0]} {host_key[1]}\n" for a in addresses))
    rtt = rtt_ms(addresses[0])

    paused = False
    if not args.keep_loopback:
        sh("bash", str(NODE), "stop", "scheduler", check=False)
        paused = True
    others = (
        []
        if args.keep_class
        else [n["name"] for n in info["nodes"] if n["name"] != "pass" and n["state"] != "unreachable"]
    )
    for name in others:  # every process of the node but its PID 1
        sh("bash", str(CLASS), "exec", name, "kill", "-STOP", "-1", check=False)
    saved_hash = None
    if args.cheap_login_hash:
        saved_hash = champion_hash("pass")
        cheap = sh(
            "/home/ec2-user/airflow-venv/bin/python", "-c",
            "from werkzeug.security import generate_password_hash as g; "
            "print(g('test123!', method='pbkdf2:sha256:1000'))",
        ).strip()  # fmt: skip
        set_champion_hash("pass", cheap)
    rows = []
    try:
        time.sleep(3)
        for size in sizes:
            roster = work / f"roster-{size}.csv"
            roster.write_text(
                "name,host,user,port,key\n"
                + "".join(
                    f"node-{i:03d},{a},ec2-user,22,{node['key']}\n" for i, a in enumerate(addresses[:size], 1)
                ),
                encoding="utf-8",
            )
            print(f"[bench] N={size} parallel (--jobs {jobs})", file=sys.stderr, flush=True)
            parallel = run_grade(roster, known_hosts, jobs, args.timeout)
            row = {"n": size, "jobs": jobs, "parallel": parallel}
            if not args.no_sequential:
                print(f"[bench] N={size} one after another (--jobs 1)", file=sys.stderr, flush=True)
                row["sequential"] = run_grade(roster, known_hosts, 1, args.timeout)
            rows.append(row)
    finally:
        if saved_hash:
            set_champion_hash("pass", saved_hash)
        for name in others:
            sh("bash", str(CLASS), "exec", name, "kill", "-CONT", "-1", check=False)
        if paused:
            sh("bash", str(NODE), "start", "scheduler", check=False)

    print(f"\nSimulated class: 'pass' node aliases behind {rtt:.1f} ms RTT (ping), {os.cpu_count()} cores")
    print(
        "champion's password hash on the pass node: "
        + (
            "pbkdf2:sha256:1000 (--cheap-login-hash)"
            if saved_hash
            else "scrypt, as `airflow users create` stores it"
        )
    )
    print(
        "paused during the runs: "
        + (", ".join([*(["loopback scheduler"] if paused else []), *others]) or "nothing")
    )
    head = (
        f"{'N':>4} {'jobs':>4} {'wall s':>7} {'nodes/s':>8} {'slowest':>8} {'median':>7} "
        f"{'grader CPU':>10} {'peak MB':>8} {'nodes CPU':>9} {'full marks':>10} {'1-by-1 s':>9} {'speed-up':>8}"
    )
    print(head)
    for row in rows:
        p = row["parallel"]
        seq = row.get("sequential")
        print(
            f"{row['n']:>4} {row['jobs']:>4} {p['wall_s']:>7.2f} {p['nodes'] / p['wall_s']:>8.1f} "
            f"{p['slowest_node_s']:>8.2f} {p['median_node_s']:>7.2f} {p['grader_cpu_s']:>10.2f} "
            f"{p['grader_peak_mb']:>8.1f} {p['nodes_cpu_s']:>9.2f} {p['graded_full_marks']:>5}/{p['nodes']:<4} "
            + (f"{seq['wall_s']:>9.2f} {seq['wall_s'] / p['wall_s']:>7.1f}x" if seq else f"{'-':>9} {'-':>8}")
        )
    print(
        "\nwall s: the whole `grade --roster` run; slowest/median: one node's own grading time within it;"
        "\ngrader CPU: user+sys of the grade process; nodes CPU: what the simulated nodes spent on this"
        "\nmachine meanwhile (on EC2 each node pays its own share on its own instance)."
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"rtt_ms": rtt, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
