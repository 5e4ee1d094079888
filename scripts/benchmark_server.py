"""Benchmark of the course server on this machine (root): `up` from scratch and again, the hub's
memory, then N trainee servers started at once (a class logging in at 9:00) and one notebook cell
(`%load_ext grader.notebook`, the course's first cell) run in each through Jupyter's kernel API.

It uses its own root, exchange, ports, instructor and trainee ids (b001...), so it does not touch
a course server already running here. Prints the figures; asserts nothing.

    .venv/bin/python scripts/benchmark_server.py            # 30 trainees, from scratch
    .venv/bin/python scripts/benchmark_server.py --reuse    # keep the venvs of the last run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from course_server import accounts  # noqa: E402
from course_server.layout import Layout, Settings  # noqa: E402

BENCH_ROOT = Path("/opt/course-server-bench")
BENCH_EXCHANGE = Path("/srv/nbgrader/exchange-bench")
PORTS = {"--port": "8100", "--hub-port": "8181", "--proxy-api-port": "8101"}
INSTRUCTOR = "benchchamp"
CELL = "%load_ext grader.notebook"


def course_server(*args: str) -> float:
    env = os.environ | {"COURSE_SERVER_ROOT": str(BENCH_ROOT), "COURSE_SERVER_EXCHANGE": str(BENCH_EXCHANGE)}
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "server" / "course-server"), *args], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"course-server {' '.join(args)} failed:\n{proc.stdout}{proc.stderr[-3000:]}")
    return time.monotonic() - start


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def user_rss_mib(name: str) -> float:
    total = 0.0
    for pid in accounts.processes_of(name):
        try:
            total += rss_mib(pid)
        except FileNotFoundError:
            continue
    return total


class Hub:
    def __init__(self, layout: Layout, settings: Settings) -> None:
        self.api = f"http://127.0.0.1:{settings.hub_port}/hub/api"
        self.public = settings.local_url
        self.token = layout.service_token.read_text().strip()

    def call(self, method: str, url: str, body: object | None = None) -> tuple[int, object]:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as reply:
                text = reply.read().decode()
                return reply.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()[:300]


async def first_cell(hub: Hub, user: str) -> dict[str, float]:
    """Spawn (as the hub's spawn button does), start a kernel, run one cell; the times it took."""
    loop = asyncio.get_running_loop()
    call = lambda *a: loop.run_in_executor(None, hub.call, *a)  # noqa: E731
    t0 = time.monotonic()
    await call("POST", f"{hub.api}/users/{user}/server")
    while True:
        _, state = await call("GET", f"{hub.api}/users/{user}")
        if isinstance(state, dict) and state.get("server") and not state.get("pending"):
            break
        await asyncio.sleep(0.5)
    ready = time.monotonic()
    _, kernel = await call("POST", f"{hub.public}/user/{user}/api/kernels", {"name": "python3"})
    kernel_id = kernel["id"]  # type: ignore[index]
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"{hub.public.replace('http', 'ws', 1)}/user/{user}/api/kernels/{kernel_id}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.token}"}))
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "username": user,
        "session": uuid.uuid4().hex,
        "msg_type": "execute_request",
        "version": "5.3",
    }
    content = {
        "code": CELL,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
    }
    await ws.write_message(
        json.dumps(
            {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
        )
    )
    status = "?"
    while True:
        raw = await ws.read_message()
        if raw is None:
            break
        message = json.loads(raw)
        if (
            message.get("parent_header", {}).get("msg_id") == msg_id
            and message["header"]["msg_type"] == "execute_reply"
        ):
            status = message["content"]["status"]
            break
    ws.close()
    done = time.monotonic()
    return {"spawn": ready - t0, "cell": done - ready, "total": done - t0, "ok": status == "ok"}


async def class_logs_in(hub: Hub, users: list[str]) -> list[dict[str, float]]:
    return await asyncio.gather(*(first_cell(hub, u) for u in users))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trainees", type=int, default=30)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the installed venvs (no from-scratch figure)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    roster = Path(tempfile.mkdtemp()) / "bench.csv"
    roster.write_text(
        "name,id\n" + "".join(f"연수생{i:03d},b{i:03d}\n" for i in range(1, args.trainees + 1)),
        encoding="utf-8",
    )
    options = [x for pair in PORTS.items() for x in pair]
    if not args.reuse:
        if (BENCH_ROOT / "etc").exists():
            course_server("down")
        shutil.rmtree(BENCH_ROOT, ignore_errors=True)
    scratch = course_server("up", "--roster", str(roster), "--instructor", INSTRUCTOR, *options)
    again = course_server("up")
    os.environ["COURSE_SERVER_ROOT"] = str(BENCH_ROOT)
    layout = Layout(root=BENCH_ROOT, exchange=BENCH_EXCHANGE)
    settings = Settings.load(layout.settings_file)
    hub_pid = int(layout.hub_pidfile.read_text())
    proxy_pid = int((layout.state / "jupyterhub-proxy.pid").read_text())
    hub_mem, proxy_mem = rss_mib(hub_pid), rss_mib(proxy_pid)
    print(f"up (from scratch{', venvs kept' if args.reuse else ''}): {scratch:.1f} s")
    print(f"up again (nothing to change): {again:.1f} s")
    print(f"hub memory: JupyterHub {hub_mem:.0f} MiB, configurable-http-proxy {proxy_mem:.0f} MiB (RSS)")

    users = [f"b{i:03d}" for i in range(1, args.trainees + 1)]
    hub = Hub(layout, settings)
    start = time.monotonic()
    results = asyncio.run(class_logs_in(hub, users))
    wall = time.monotonic() - start
    totals = [r["total"] for r in results]
    per_user = [user_rss_mib(u) for u in users]
    hub_after = rss_mib(hub_pid) + rss_mib(proxy_pid)
    print(
        f"{len(users)} trainees at once: all first cells done in {wall:.1f} s, {sum(r['ok'] for r in results)} ok"
    )
    print(
        f"time to first cell: median {statistics.median(totals):.1f} s, max {max(totals):.1f} s "
        f"(server start median {statistics.median(r['spawn'] for r in results):.1f} s, "
        f"kernel + cell median {statistics.median(r['cell'] for r in results):.1f} s)"
    )
    print(
        f"memory per trainee (Jupyter server + kernel, RSS): median {statistics.median(per_user):.0f} MiB, "
        f"max {max(per_user):.0f} MiB; total {sum(per_user) / 1024:.2f} GiB trainees + {hub_after:.0f} MiB hub and proxy"
    )
    course_server("down")
    for user in users:  # the class's accounts go; the venvs stay for a --reuse run
        course_server("remove", user)
    subprocess.run(["userdel", "--remove", INSTRUCTOR], capture_output=True, check=False)
    print(f"benchmark server stopped and its accounts removed; venvs kept in {BENCH_ROOT} (--reuse)")


if __name__ == "__main__":
    main()
