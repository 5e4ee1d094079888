"""The hub process: its config and secrets, start/stop with a pidfile, and its REST API."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from course_server.errors import CourseServerError, log
from course_server.layout import SERVER, Layout, Settings, write_if_changed, write_private

SECRETS = ("cookie_secret", "proxy_token", "service_token")


def ensure_private_dirs(layout: Layout) -> None:
    for folder in (layout.etc, layout.state):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 0, 0)
        os.chmod(folder, 0o700)


def ensure_secrets(layout: Layout) -> bool:
    """Cookie secret, proxy token and the service token: generated once, root only (0600)."""
    changed = False
    for name in SECRETS:
        path = layout.etc / name
        if not path.exists() or not path.read_text().strip():
            write_private(path, secrets.token_hex(32) + "\n")
            changed = True
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            changed = True
    return changed


def is_loopback(ip: str) -> bool:
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def check_listening(settings: Settings) -> None:
    """Plain HTTP only on loopback unless the champion says a proxy in front does TLS."""
    if bool(settings.ssl_cert) != bool(settings.ssl_key):
        raise CourseServerError("HTTPS에는 --ssl-cert와 --ssl-key가 함께 필요합니다.")
    for path in (settings.ssl_cert, settings.ssl_key):
        if path and not Path(path).is_file():
            raise CourseServerError(f"인증서 파일이 없습니다: {path}")
    if not settings.ssl_cert and not is_loopback(settings.ip) and not settings.allow_http:
        raise CourseServerError(
            f"{settings.ip}에서 암호화하지 않은 HTTP로 열지 않습니다(비밀번호가 그대로 지나갑니다). "
            "인증서를 주거나(--ssl-cert, --ssl-key), 앞의 로드 밸런서(ALB)가 HTTPS를 맡는다면 --allow-http를 붙이세요."
        )


def hub_settings(layout: Layout, settings: Settings, trainees: list[str]) -> dict[str, object]:
    host = f"[{settings.ip}]" if ":" in settings.ip else settings.ip
    return {
        "bind_url": f"{settings.scheme}://{host}:{settings.port}/",
        "ssl_cert": settings.ssl_cert,
        "ssl_key": settings.ssl_key,
        "hub_port": settings.hub_port,
        "proxy_api_port": settings.proxy_api_port,
        "proxy_command": str(layout.proxy_command),
        "state": str(layout.state),
        "trainees": sorted(trainees),
        "instructor": settings.instructor,
        "user_venv": str(layout.user_venv),
        "hub_python": str(layout.hub_venv / "bin" / "python"),
        "jupyter_config": str(layout.jupyter),
        "idle_timeout": settings.idle_timeout,
    }


def ensure_config(layout: Layout, settings: Settings, trainees: list[str]) -> bool:
    """etc/jupyterhub_config.py (server/jupyterhub_config.py) and the hub_settings.json it reads."""
    data = json.dumps(hub_settings(layout, settings, trainees), ensure_ascii=False, indent=2) + "\n"
    config = (SERVER / "jupyterhub_config.py").read_text(encoding="utf-8")
    return any(
        [
            write_if_changed(layout.etc / "hub_settings.json", data, 0o600),
            write_if_changed(layout.hub_config, config, 0o600),
        ]
    )


def config_digest(layout: Layout) -> str:
    h = hashlib.sha256()
    for name in ("jupyterhub_config.py", *SECRETS):
        h.update((layout.etc / name).read_bytes())
    # The roster is in the hub's database too (`add`/`remove` go through the API): no restart for it.
    settings = json.loads((layout.etc / "hub_settings.json").read_text(encoding="utf-8"))
    settings.pop("trainees", None)
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def hub_pids(layout: Layout) -> list[int]:
    """Every live JupyterHub started with this server's config (found by that exact path)."""
    config = str(layout.hub_config)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            words = _cmdline(int(entry.name))
            if config in words and any(w.endswith("jupyterhub") for w in words):
                found.append(int(entry.name))
    return sorted(found)


def pid(layout: Layout) -> int | None:
    """The running hub's pid: the pidfile's if it is our hub, else one found by its config path."""
    try:
        value = int(layout.hub_pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        value = 0
    if value and str(layout.hub_config) in _cmdline(value):
        return value
    layout.hub_pidfile.unlink(missing_ok=True)
    running = hub_pids(layout)
    return running[0] if running else None


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_ports_free(settings: Settings, timeout: float = 20) -> None:
    """Before a start: the public, hub and proxy API ports must be free (a stopping proxy lets go)."""
    ports = (settings.port, settings.hub_port, settings.proxy_api_port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [p for p in ports if not _port_free(p)]
        if not busy:
            return
        time.sleep(0.3)
    raise CourseServerError(
        f"포트 {', '.join(map(str, busy))}을(를) 다른 프로그램이 쓰고 있습니다. "
        "그 프로그램을 끄거나 --port, --hub-port, --proxy-api-port로 다른 포트를 주세요."
    )


def _context(settings: Settings) -> ssl.SSLContext | None:
    if settings.scheme != "https":
        return None
    context = ssl.create_default_context()
    context.check_hostname = False  # this machine asks itself by address; the name is the certificate's
    context.verify_mode = ssl.CERT_NONE
    return context


def healthy(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(
            f"{settings.local_url}/hub/health", timeout=3, context=_context(settings)
        ) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def start(layout: Layout, settings: Settings) -> bool:
    """Start the hub if it is not running, or restart it when its config changed; True if (re)started.
    Trainee servers keep running across a restart (cleanup_servers is off)."""
    digest = config_digest(layout)
    stamp = layout.state / "running-config"
    running = pid(layout)
    if running and stamp.exists() and stamp.read_text().strip() == digest and healthy(settings):
        return False
    if running:
        log("설정이 바뀌어 JupyterHub를 다시 시작합니다 (연수생 서버는 계속 돕니다)")
    stop_hub(layout)  # also a hub or proxy left over from a failed start
    wait_ports_free(settings)
    log(f"JupyterHub 시작: {settings.url}")
    hub = layout.hub_venv / "bin" / "jupyterhub"
    env = {
        "PATH": f"{layout.hub_venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
    }
    with open(layout.hub_log, "ab") as out:
        os.chmod(layout.hub_log, 0o600)
        proc = subprocess.Popen(
            [str(hub), "-f", str(layout.hub_config)],
            cwd=layout.state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.hub_pidfile.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = layout.hub_log.read_text(errors="replace")[-3000:]
            raise CourseServerError(f"JupyterHub가 시작하자마자 끝났습니다 (로그 {layout.hub_log}):\n{tail}")
        if healthy(settings):
            stamp.write_text(digest + "\n")
            return True
        time.sleep(0.5)
    raise CourseServerError(f"JupyterHub가 2분 안에 응답하지 않습니다. 로그를 보세요: {layout.hub_log}")


def _stop(pids: list[int], timeout: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for one in pids:
            try:
                os.kill(one, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.2)
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return


def stop_hub(layout: Layout, timeout: float = 30) -> bool:
    """SIGTERM the hub (it stops its proxy), then the proxy if it outlived it; True if one ran."""
    hubs = sorted({p for p in [pid(layout), *hub_pids(layout)] if p})
    if hubs:
        _stop(hubs, timeout)
    proxy_pidfile = layout.state / "jupyterhub-proxy.pid"
    try:
        proxy = int(proxy_pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        proxy = 0
    if proxy and str(layout.proxy_command) in " ".join(_cmdline(proxy)):
        _stop([proxy], 10)
    proxy_pidfile.unlink(missing_ok=True)
    layout.hub_pidfile.unlink(missing_ok=True)
    return bool(hubs)


class HubAPI:
    """The hub's REST API with the course-server service token (root-only file)."""

    def __init__(self, layout: Layout, settings: Settings) -> None:
        self.base = f"http://127.0.0.1:{settings.hub_port}/hub/api"
        self.token = layout.service_token.read_text().strip()

    def call(self, method: str, path: str, body: object | None = None, timeout: float = 30) -> object:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                text = reply.read().decode()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise CourseServerError(
                f"JupyterHub API {method} {path}: {exc.code} {exc.read().decode()[:300]}"
            ) from None
        except OSError as exc:
            raise CourseServerError(f"JupyterHub API에 닿지 않습니다 ({exc})") from None
        return json.loads(text) if text else None

    def users(self) -> dict[str, dict]:
        return {u["name"]: u for u in self.call("GET", "/users?limit=1000") or []}  # type: ignore[union-attr]

    def add_user(self, name: str) -> None:
        self.call("POST", f"/users/{name}")

    def delete_user(self, name: str) -> None:
        """Stop the user's server and forget the user (their browser session ends with it)."""
        user = self.call("GET", f"/users/{name}")
        if user is None:
            return
        if user.get("server") or user.get("pending"):  # type: ignore[union-attr]
            self.call("DELETE", f"/users/{name}/server")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                user = self.call("GET", f"/users/{name}")
                if not user or not (user.get("server") or user.get("pending")):  # type: ignore[union-attr]
                    break
                time.sleep(0.5)
        self.call("DELETE", f"/users/{name}")

    def stop_all(self) -> list[str]:
        stopped = []
        for name, user in self.users().items():
            if user.get("server"):
                self.call("DELETE", f"/users/{name}/server")
                stopped.append(name)
        return stopped
