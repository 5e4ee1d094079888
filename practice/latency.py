#!/usr/bin/env python3
"""Userspace netem replacement: hold NFQUEUE'd packets for a fixed time, then ACCEPT them.

The kernel here has no sch_netem, so the root namespace sends the traffic of the simulated nodes to an
NFQUEUE (iptables-legacy, mangle table) and this daemon gives each packet its ACCEPT verdict after a
fixed hold time.  One hold time for every packet keeps the order: verdicts leave in arrival order.

`--delay-ms D` is the one-way delay as in `netem delay D`; the round trip is 2*D.  Default layout
("one-sided"): each round trip is queued exactly once and that packet is held 2*D —
  * INPUT  -s SUBNET ! -p icmp  (node -> host: TCP/UDP replies, SYN-ACKs, ACKs of uploads)
  * OUTPUT -d SUBNET -p icmp    (host -> node: ping requests)
Why not D on OUTPUT plus D on INPUT (`--symmetric`)?  A host TCP socket keeps owning its skbs while
they sit in the OUTPUT queue, so TCP Small Queues throttles host->node bulk sends (measured: 1 MiB
upload ~5 s instead of ~0.45 s).  Packets queued at INPUT were already orphaned by the IP receive
path, so nothing throttles them.  ICMP is held on OUTPUT because ping timestamps a reply in the kernel before INPUT, so a
reply held at INPUT would not show in ping's RTT.

    python3 practice/latency.py run --queue 7 --delay-ms 25            # RTT ≈ 50 ms
    python3 practice/latency.py rules add|del --queue 7 --subnet 10.77.0.0/16
    python3 practice/latency.py stats --queue 7

`run` needs the NetfilterQueue package; when the current interpreter lacks it, the script re-executes
itself with the venv made by practice/latency-setup.sh (/opt/airflow-class/latency-venv).
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

VENV = os.environ.get("LATENCY_VENV", "/opt/airflow-class/latency-venv")
IPTABLES = "iptables-legacy"  # the nft backend has no NFT_QUEUE in this kernel
PROC_STATS = "/proc/net/netfilter/nfnetlink_queue"
# Packets due within this many seconds are released in the same wake-up (fewer syscalls).
SLACK_S = 0.0002
# Receive buffer for queue messages; COPY_META messages are small, this holds far more than max_len.
SOCK_RCVBUF = 16 * 1024 * 1024


def log(msg: str) -> None:
    """Print a daemon message to stderr with a timestamp."""
    print(f"{time.strftime('%H:%M:%S')} [latency] {msg}", file=sys.stderr, flush=True)


def import_netfilterqueue() -> Any:
    """Import NetfilterQueue, re-executing under the dedicated venv when this interpreter lacks it."""
    try:
        import netfilterqueue
    except ImportError:
        venv_python = os.path.join(VENV, "bin", "python")
        if os.path.realpath(sys.prefix) != os.path.realpath(VENV) and os.access(venv_python, os.X_OK):
            os.execv(venv_python, [venv_python, os.path.abspath(__file__), *sys.argv[1:]])
        sys.exit(
            f"NetfilterQueue 모듈이 없습니다 (python: {sys.executable}). "
            f"먼저 practice/latency-setup.sh 를 root로 실행하세요 (venv: {VENV})."
        )
    return netfilterqueue


def run(queue: int, delay_ms: float, max_len: int, symmetric: bool, nice: int) -> int:
    """Bind the queue and release each packet a fixed time after it was received, in arrival order."""
    nfq_mod = import_netfilterqueue()
    hold_ms = delay_ms if symmetric else 2 * delay_ms
    delay = hold_ms / 1000.0
    pending: collections.deque[tuple[float, Any]] = collections.deque()
    clock = time.monotonic

    def on_packet(pkt: Any) -> None:
        pending.append((clock() + delay, pkt))

    # Signals only set a flag and wake select() through the wake-up pipe: a verdict is never cut in half.
    stop: list[int] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda s, _f: stop.append(s))

    if nice:
        try:  # timely verdicts matter more than this process's small CPU share
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError as exc:
            log(f"nice {nice} 설정 실패 (무시): {exc}")
    nfq = nfq_mod.NetfilterQueue()
    try:
        nfq.bind(queue, on_packet, max_len=max_len, mode=nfq_mod.COPY_META, range=0, sock_len=SOCK_RCVBUF)
    except OSError as exc:
        log(
            f"queue {queue} bind 실패: {exc} — 다른 프로세스가 이미 이 queue를 쓰고 있는지 {PROC_STATS} 를 확인하세요."
        )
        return 1
    fd = nfq.get_fd()
    log(
        f"준비 완료: queue {queue}, delay {delay_ms:g} ms → RTT ≈ {2 * delay_ms:g} ms "
        f"({'symmetric' if symmetric else 'one-sided'} layout, packet당 hold {hold_ms:g} ms), "
        f"queue-max-len {max_len}, pid {os.getpid()}"
    )
    released = 0
    try:
        while not stop:
            if pending:
                now = clock()
                horizon = now + SLACK_S
                while pending and pending[0][0] <= horizon:
                    pending.popleft()[1].accept()
                    released += 1
                timeout = max(0.0, pending[0][0] - now) if pending else None
            else:
                timeout = None
            readable, _, _ = select.select([fd, wake_r], [], [], timeout)
            if fd in readable:
                nfq.run(block=False)  # drains every queued message, calling on_packet for each
            if wake_r in readable:
                while True:
                    try:
                        if not os.read(wake_r, 64):
                            break
                    except BlockingIOError:
                        break
    finally:
        # Let what we still hold go through at once; after unbind the kernel drops queued packets.
        while pending:
            pending.popleft()[1].accept()
            released += 1
        nfq.unbind()
        signal.set_wakeup_fd(-1)
    log(f"종료 (signal {stop[0] if stop else '-'}): 통과시킨 packet {released}개")
    return 0


def rule_specs(queue: int, subnet: str, symmetric: bool) -> list[list[str]]:
    """Return the mangle-table rule specs (chain + match + target) of one layout."""
    tail = ["-m", "comment", "--comment", f"latency.py q{queue}", "-j", "NFQUEUE", "--queue-num", str(queue)]
    if symmetric:  # D on each direction
        return [["OUTPUT", "-d", subnet, *tail], ["INPUT", "-s", subnet, *tail]]
    # 2*D once per round trip: replies on INPUT, ping requests on OUTPUT (see the module docstring)
    return [["OUTPUT", "-d", subnet, "-p", "icmp", *tail], ["INPUT", "-s", subnet, "!", "-p", "icmp", *tail]]


def iptables(*args: str) -> subprocess.CompletedProcess[str]:
    """Run iptables-legacy on the mangle table, waiting for the xtables lock."""
    return subprocess.run([IPTABLES, "-w", "5", "-t", "mangle", *args], capture_output=True, text=True)


def rules(action: str, queue: int, subnet: str, symmetric: bool) -> int:
    """Install (add) or remove (del) the NFQUEUE rules idempotently in the root namespace.

    `add` also removes the rules of the other layout for the same queue and subnet; `del` removes both
    layouts and ignores missing rules.
    """
    try:
        net = str(ipaddress.IPv4Network(subnet, strict=False))
    except ValueError as exc:
        sys.exit(f"잘못된 subnet: {subnet} ({exc})")
    wanted = rule_specs(queue, net, symmetric) if action == "add" else []
    try:
        for spec in rule_specs(queue, net, not symmetric) + rule_specs(queue, net, symmetric):
            present = iptables("-C", *spec).returncode == 0
            if spec in wanted:
                if not present:
                    res = iptables("-A", *spec)
                    if res.returncode != 0:
                        sys.exit(f"iptables rule 추가 실패 ({' '.join(spec)}): {res.stderr.strip()}")
                continue
            while present:  # also removes duplicates left by hand
                iptables("-D", *spec)
                present = iptables("-C", *spec).returncode == 0
    except FileNotFoundError:
        sys.exit(f"{IPTABLES} 명령이 없습니다. practice/latency-setup.sh 를 먼저 실행하세요.")
    return 0


def stats(queue: int) -> int:
    """Print the kernel counters of one queue; exit 1 if the queue is not bound."""
    names = ("queue", "pid", "queued", "copy_mode", "copy_range", "queue_dropped", "user_dropped", "id_seq")
    with open(PROC_STATS) as fh:
        for line in fh:
            cols = line.split()
            if cols and int(cols[0]) == queue:
                print(" ".join(f"{k}={v}" for k, v in zip(names, cols, strict=False)))
                return 0
    print(f"queue {queue}: bind된 프로세스가 없습니다.", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and dispatch."""
    ap = argparse.ArgumentParser(description="NFQUEUE 기반 고정 지연기 (netem delay 대체)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_run = sub.add_parser("run", help="foreground daemon (SIGTERM/SIGINT로 종료)")
    p_run.add_argument("--queue", type=int, required=True)
    p_run.add_argument("--delay-ms", type=float, required=True, help="한 방향 지연 (RTT ≈ 2배)")
    p_run.add_argument("--max-len", type=int, default=16384, help="queue-max-len (기본 16384)")
    p_run.add_argument("--nice", type=int, default=-10, help="process nice 값 (기본 -10, 0이면 그대로)")
    p_run.add_argument(
        "--symmetric", action="store_true", help="OUTPUT/INPUT 양방향에 D씩 (rules 도 --symmetric)"
    )
    p_rules = sub.add_parser("rules", help="root namespace의 iptables-legacy mangle rule 추가/삭제")
    p_rules.add_argument("action", choices=["add", "del"])
    p_rules.add_argument("--queue", type=int, required=True)
    p_rules.add_argument("--subnet", required=True)
    p_rules.add_argument(
        "--symmetric", action="store_true", help="OUTPUT·INPUT 모든 packet을 queue (run 도 --symmetric)"
    )
    p_stats = sub.add_parser("stats", help=f"{PROC_STATS} 의 queue 통계")
    p_stats.add_argument("--queue", type=int, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        if args.delay_ms < 0 or args.max_len < 1:
            ap.error("--delay-ms 는 0 이상, --max-len 은 1 이상이어야 합니다")
        return run(args.queue, args.delay_ms, args.max_len, args.symmetric, args.nice)
    if args.cmd == "rules":
        return rules(args.action, args.queue, args.subnet, args.symmetric)
    return stats(args.queue)


if __name__ == "__main__":
    sys.exit(main())
