"""Gather a node's facts over one SSH session: the probe (one exec), then protocol probes
through tunnels (Redis, MySQL, HTTP) in parallel over the same connection."""

from __future__ import annotations

import json
import re
import shlex
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from importlib.resources import files
from secrets import token_hex
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from checks import processes as P
from grader import limits, protocols
from grader.facts import ChampionFacts, Facts, MysqlFacts, RedisFacts, WebFacts
from grader.i18n import Text, t
from grader.observe import Resolved, observe
from grader.redact import redact
from grader.settings import CourseSettings
from grader.transport import (
    TUNNEL_SECONDS,
    CommandResult,
    CommandTimeout,
    NodeChannel,
    SshSession,
    TargetError,
)
from grader.urls import kombu_url, sqlalchemy_url

if TYPE_CHECKING:
    import paramiko

# The system interpreter first: a `python3` that the trainee's PATH finds first (a venv, a
# wrapper script) is the trainee's to change, /usr/bin/python3 is the distribution's.
PYTHONS = (
    "/usr/bin/python3",
    "/usr/local/bin/python3",
    "python3",
    "python3.12",
    "python3.11",
    "python3.9",
    "python3.8",
    "python3.7",
)
NONCE_MARK = b"@GRADER_NONCE@"
# A webserver that has just started (or a small instance under load) may take seconds to answer
# its first requests; this is not a fault. The node's own deadline still bounds it.
WEB_TIMEOUT = 15.0

# Find a Python on the node (Airflow needs one) and feed it the probe on stdin.
PROBE_COMMAND = (
    "for p in " + " ".join(shlex.quote(p) for p in PYTHONS) + "; do "
    'if command -v "$p" >/dev/null 2>&1; then exec "$p" -I -S -; fi; done; '
    "echo '{\"no_python\": true}'"
)


def probe_source(nonce: str = "") -> bytes:
    source = files("grader").joinpath("remote_probe.py").read_bytes()
    return source.replace(NONCE_MARK, nonce.encode(), 1) if nonce else source


def _probe_failure(result: CommandResult, what: Text) -> TargetError:
    stderr = result.stderr.decode("utf-8", "replace").strip().splitlines()
    # Masked before it is cut: a cut inside a URL's password would hide the `@` that marks it.
    detail = redact(stderr[-1])[: limits.EVIDENCE_CHARS] if stderr else ""
    return TargetError(
        "error",
        t(
            "노드 점검 결과를 읽을 수 없습니다: {what}{trunc} (종료 코드 {code}) {detail}",
            "Cannot read the probe's output: {what_en}{trunc_en} (exit {code}) {detail}",
            what=what.ko,
            what_en=what.en,
            trunc=" (출력이 너무 큼)" if result.truncated else "",
            trunc_en=" (output too large)" if result.truncated else "",
            code=result.exit_status,
            detail=detail,
        ),
    )


def run_probe(session: SshSession) -> dict:
    """Run the probe in one exec; its output must be this run's (the nonce) and of a sane shape."""
    nonce = token_hex(16)
    try:
        result = session.run(PROBE_COMMAND, stdin=probe_source(nonce))
    except CommandTimeout:
        raise TargetError(
            "timeout",
            t(
                "노드 점검 명령이 제한 시간({sec:.0f}초) 안에 끝나지 않았습니다",
                "The probe command did not finish within the time limit ({sec:.0f}s)",
                sec=session.deadline.seconds,
            ),
        ) from None
    if result.truncated:
        raise _probe_failure(result, t("출력이 너무 큽니다", "output too large"))
    shape = protocols.json_shape_problem(result.stdout, limits.PROBE_JSON_DEPTH, limits.PROBE_JSON_ITEMS)
    if shape == "nested too deeply":
        raise _probe_failure(result, t("JSON이 너무 깊게 중첩되어 있습니다", "JSON nested too deeply"))
    if shape:
        raise _probe_failure(result, t("JSON 값이 너무 많습니다", "JSON with too many values"))
    try:
        raw = json.loads(result.stdout.decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError):
        raise _probe_failure(result, t("JSON이 아닙니다", "not JSON")) from None
    if not isinstance(raw, dict):
        raise _probe_failure(result, t("JSON 객체가 아닙니다", "not a JSON object"))
    if raw.get("no_python"):
        raise TargetError(
            "error",
            t(
                "노드에 python3가 없습니다 (Airflow가 설치되지 않은 노드)",
                "No python3 on the node (Airflow cannot be installed there)",
            ),
        )
    if raw.get("nonce") != nonce:
        raise TargetError(
            "error",
            t(
                "노드 점검 결과가 이번 점검의 것이 아닙니다: 채점기가 보낸 점검 스크립트를 실행한 결과가 아니라 "
                "미리 만들어 두었거나 다른 곳에서 가져온 응답입니다",
                "The probe's output is not from this run: the node answered with a recorded or "
                "made-up result instead of running the grader's probe",
            ),
        )
    return raw


def _url(value: str | None):  # type: ignore[no-untyped-def]
    if not value:
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port
        return parts
    except ValueError:
        return None


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class EarlyTunnels:
    """Tunnels to the node's Redis and MySQL opened *before* the probe runs.

    sshd connects them on the node before it starts the probe, so the probe's socket table must
    show them; the server then tells which client port it sees (Redis CLIENT INFO, MySQL
    PROCESSLIST). A recorded or made-up probe cannot know that port: this ties the probe's
    socket table and the service's reply to one live node."""

    HOSTS = ("127.0.0.1", "::1")  # both loopbacks: a fake listening on ::1 alone is no way around

    def __init__(self) -> None:
        self._channels: dict[tuple[str, int], NodeChannel] = {}
        self._lock = threading.Lock()
        self.refused: list[tuple[str, int]] = []  # closed when the grader tried, just before the probe

    def open(self, session: SshSession, host: str, port: int) -> None:
        try:
            channel = session.open_tunnel(host, port)
        except ConnectionRefusedError:
            with self._lock:
                self.refused.append((host, port))  # the probe's socket table must not show it listening
            return
        except (OSError, ConnectionError):
            return  # forwarding off, a timeout: the later probes say what is wrong
        with self._lock:
            self._channels[(host, port)] = channel

    def take(self, host: str, port: int) -> NodeChannel | None:
        """The early channel to host:port (the node's own loopback), once; None if there is none."""
        if host not in LOCAL_HOSTS:
            return None
        with self._lock:
            channel = self._channels.pop(("::1" if host == "::1" else "127.0.0.1", port), None)
        if channel is not None:
            channel.rearm()
        return channel

    def close(self) -> None:
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()


def _ping(
    session: SshSession,
    host: str,
    port: int,
    source: str,
    password: str | None,
    username: str | None,
    secrets: set[str],
    early: EarlyTunnels,
) -> RedisFacts:
    facts = RedisFacts(host=host, port=port, source=source)
    try:
        channel = early.take(host, port)
        facts.opened_before_probe = channel is not None
        channel = channel or session.open_tunnel(host, port)
        try:
            reply = protocols.redis_ping(channel, password, username)
        finally:
            channel.close()
        facts.reachable, facts.reply, facts.version, facts.auth_used = (
            reply.ok,
            reply.reply,  # capped by the protocol reader; cut for display only after masking
            reply.version,
            reply.auth_used,
        )
        facts.process_id = _int(reply.info.get("process_id"))
        facts.tcp_port = _int(reply.info.get("tcp_port"))
        facts.uptime = _int(reply.info.get("uptime_in_seconds"))
        facts.client_port = reply.client_port
    except (OSError, ConnectionError, ValueError) as exc:
        facts.error = redact(str(exc) or exc.__class__.__name__, secrets)
    return facts


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _local_redis_port(facts: Facts, settings: CourseSettings) -> int:
    """The port the node's redis-server listens on: Redis titles itself `redis-server HOST:PORT`."""
    for proc in facts.processes:
        if P.is_redis_server(proc):
            match = re.search(r":(\d+)\s*$", proc.title.split(" [")[0])
            if match:
                return int(match.group(1))
    return settings.ports.redis


def _redis(
    session: SshSession,
    facts: Facts,
    resolved: Resolved,
    settings: CourseSettings,
    secrets: set[str],
    early: EarlyTunnels,
) -> tuple[RedisFacts, RedisFacts | None]:
    """The node's own Redis, and the broker that broker_url names (one ping when they are the same)."""
    parts = kombu_url(resolved.value("celery", "broker_url"))
    local_port = _local_redis_port(facts, settings)
    broker = None
    if parts and parts.scheme in ("redis", "rediss"):
        host, port = parts.host or "localhost", parts.port or 6379
        broker = _ping(session, host, port, "broker_url", parts.password, parts.username, secrets, early)
        if host in LOCAL_HOSTS and port == local_port:
            return broker, broker
    return _ping(session, "127.0.0.1", local_port, "process", None, None, secrets, early), broker


def _mysql(
    session: SshSession, resolved: Resolved, settings: CourseSettings, secrets: set[str], early: EarlyTunnels
) -> tuple[MysqlFacts, str | None]:
    parts = sqlalchemy_url(resolved.value("database", "sql_alchemy_conn"))
    is_mysql = bool(parts and parts.scheme.split("+")[0] == "mysql")
    if is_mysql and parts:
        host, port, source = parts.host or "localhost", parts.port or 3306, "sql_alchemy_conn"
    else:
        host, port, source = "127.0.0.1", settings.ports.mysql, "default"
    facts = MysqlFacts(host=host, port=port, source=source)
    timeout = min(TUNNEL_SECONDS, session.deadline.remaining())
    try:
        channel = early.take(host, port)
        facts.opened_before_probe = channel is not None
        channel = channel or session.open_tunnel(host, port)
        try:
            if not (is_mysql and parts):  # only the handshake: is a MySQL server there at all?
                facts.server_version = protocols.mysql_greeting(channel).server_version
                return facts, None
            facts.login_user = parts.username or ""
            facts.database = parts.database or None
            answer = protocols.mysql_session(
                channel,
                user=facts.login_user,
                password=parts.password or "",
                database=facts.database,
                champion_user=settings.champion.username,
                timeout=timeout,
            )
        finally:
            channel.close()
    except (OSError, ConnectionError, ValueError) as exc:
        facts.greeting_error = redact(str(exc) or exc.__class__.__name__, secrets)
        return facts, None
    facts.server_version = answer.server_version
    facts.server_hostname, facts.server_port = answer.server_hostname, answer.server_port
    facts.server_uptime, facts.client_port = answer.server_uptime, answer.client_port
    facts.login_error = redact(answer.login_error, secrets) if answer.login_error else None
    facts.query_error = redact(answer.query_error, secrets) if answer.query_error else None
    facts.tables_present = answer.tables_present
    facts.scheduler_state = answer.scheduler_state
    facts.scheduler_heartbeat_age = answer.scheduler_heartbeat_age
    stored_hash = None
    if answer.champion:
        c = answer.champion
        facts.champion = ChampionFacts(c.exists, c.active, c.roles, c.password_hash_method)
        stored_hash = c.stored_hash
    return facts, stored_hash


def _web_tunnel(session: SshSession, port: int) -> paramiko.Channel:
    """A channel to the node's own webserver (api-server on 3.x), allowed WEB_TIMEOUT to answer."""
    return session.open_tunnel("127.0.0.1", port, timeout=WEB_TIMEOUT)


def _web(
    session: SshSession, resolved: Resolved, settings: CourseSettings, major: int, secrets: set[str]
) -> WebFacts:
    key = ("api", "port") if major >= 3 else ("webserver", "web_server_port")
    try:
        port = int(resolved.value(*key) or settings.ports.webserver)
    except ValueError:
        port = settings.ports.webserver
    base = _url(resolved.value("webserver", "base_url"))
    base_path = (base.path.rstrip("/") if base else "") if major < 3 else ""
    facts = WebFacts(port=port, base_path=base_path)
    facts.health_path = base_path + ("/api/v2/monitor/health" if major >= 3 else "/health")
    host_header = f"localhost:{port}"
    # The login does not wait for the health answer: both round trips overlap (one RTT saved
    # per grade on a distant node). Its result only counts when the webserver answered at all.
    login = WebFacts(port=port, base_path=base_path)
    login_thread = threading.Thread(
        target=_contained(_login_v3 if major >= 3 else _login_v2),
        args=(session, login, settings, host_header, secrets),
        daemon=True,
    )
    login_thread.start()
    wait = min(WEB_TIMEOUT, session.deadline.remaining())  # what open_tunnel allows: for the evidence
    try:
        channel = _web_tunnel(session, port)
        reply = protocols.http_request(channel, "GET", facts.health_path, host_header=host_header)
        facts.health_status = reply.status
        try:
            body = reply.json()
            facts.health = body if isinstance(body, dict) else None
        except ValueError:
            facts.health = None
    except TimeoutError:
        facts.error, facts.timed_out_after = "timeout", round(wait, 1)
    except (OSError, ConnectionError, ValueError) as exc:
        facts.error = redact(str(exc) or exc.__class__.__name__, secrets)
    login_thread.join(session.deadline.remaining())
    if facts.error is None and not login_thread.is_alive():
        facts.login_method, facts.login_status = login.login_method, login.login_status
        facts.login_result, facts.login_roles = login.login_result, login.login_roles
        facts.login_error = login.login_error
    return facts


def _contained(login):  # type: ignore[no-untyped-def]
    """A login run in its own thread: whatever the node does to it ends as the login's error, never
    as a traceback on the champion's terminal."""

    def run(session: SshSession, facts: WebFacts, *args: object) -> None:
        try:
            login(session, facts, *args)
        except Exception as exc:
            facts.login_result, facts.login_error = "error", exc.__class__.__name__

    return run


def _login_v3(
    session: SshSession, facts: WebFacts, settings: CourseSettings, host_header: str, secrets: set[str]
) -> None:
    """Airflow 3: `POST /auth/token` gives a JWT (basic auth is gone); with it, the FAB API's view
    of the champion's roles. The token is a secret: it never reaches the facts."""
    user, password = settings.champion.username, settings.champion.password
    facts.login_method = "jwt"
    try:
        reply = protocols.http_request(
            _web_tunnel(session, facts.port),
            "POST",
            "/auth/token",
            host_header=host_header,
            headers={"Content-Type": "application/json"},
            body=json.dumps({"username": user, "password": password}).encode(),
        )
        facts.login_status = reply.status
        if reply.status in (401, 403):
            facts.login_result = "denied"
            return
        if reply.status == 429:
            facts.login_result = "rate_limited"
            return
        if reply.status not in (200, 201):
            facts.login_result, facts.login_error = "error", f"POST /auth/token → HTTP {reply.status}"
            return
        try:
            token = reply.json().get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            facts.login_result, facts.login_error = "error", "POST /auth/token: no access_token"
            return
        secrets.add(token)
        facts.login_result = "ok"
        roles = protocols.http_request(
            _web_tunnel(session, facts.port),
            "GET",
            f"/auth/fab/v1/users/{user}",
            host_header=host_header,
            headers={"Authorization": f"Bearer {token}"},
        )
        if roles.status == 200:
            try:
                facts.login_roles = [r.get("name") for r in roles.json().get("roles", [])]
            except (ValueError, AttributeError):
                facts.login_roles = None
    except (OSError, ConnectionError, ValueError) as exc:
        facts.login_result = "error"
        facts.login_error = redact(str(exc) or exc.__class__.__name__, secrets)


def _login_v2(
    session: SshSession, facts: WebFacts, settings: CourseSettings, host_header: str, secrets: set[str]
) -> None:
    """Log in as the champion: the REST API with basic auth when it is on, else the login form."""
    user, password = settings.champion.username, settings.champion.password
    prefix = facts.base_path
    try:
        reply = protocols.http_request(
            _web_tunnel(session, facts.port),
            "GET",
            f"{prefix}/api/v1/users/{user}",
            host_header=host_header,
            headers=protocols.basic_auth(user, password),
        )
        if reply.status >= 500:
            facts.login_method, facts.login_status, facts.login_result = "api-basic", reply.status, "error"
            facts.login_error = f"HTTP {reply.status}"
            return
        if reply.status == 200:
            facts.login_method, facts.login_status, facts.login_result = "api-basic", 200, "ok"
            try:
                facts.login_roles = [r.get("name") for r in reply.json().get("roles", [])]
            except (ValueError, AttributeError):
                facts.login_roles = None
            return
        # 401/403: basic auth off (the guide's `auth_backend` trap) or wrong credentials.
        page = protocols.http_request(
            _web_tunnel(session, facts.port),
            "GET",
            f"{prefix}/login/",
            host_header=host_header,
        )
        token = protocols.csrf_token(page.body)
        cookie = protocols.session_cookie(page.headers)
        facts.login_method = "form"
        if page.status != 200 or not token:
            facts.login_result, facts.login_status = "error", page.status
            facts.login_error = f"login page answered {page.status}"
            return
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        answer = protocols.http_request(
            _web_tunnel(session, facts.port),
            "POST",
            f"{prefix}/login/",
            host_header=host_header,
            headers=headers,
            body=protocols.form_body({"csrf_token": token, "username": user, "password": password}),
        )
        facts.login_status = answer.status
        location = answer.headers.get("location", "")
        if answer.status == 429:
            facts.login_result = "rate_limited"
        elif answer.status >= 500:
            facts.login_result, facts.login_error = "error", f"HTTP {answer.status}"
        elif answer.status in (302, 303) and "/login" not in location:
            facts.login_result = "ok"
        else:
            facts.login_result = "denied"
    except (OSError, ConnectionError, ValueError) as exc:
        facts.login_result = "error"
        facts.login_error = redact(str(exc) or exc.__class__.__name__, secrets)


def _observe(raw: dict) -> tuple[Facts, Resolved]:
    try:
        return observe(raw)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError, OverflowError):
        raise TargetError(
            "error",
            t(
                "노드 점검 결과의 형식이 맞지 않습니다 (채점기의 점검 스크립트가 낸 결과가 아닙니다)",
                "The probe's output has the wrong shape (not what the grader's probe writes)",
            ),
        ) from None


def _in_time(job: Future, session: SshSession, late: object) -> object:
    """A tunnel probe's result, waited for no longer than the node's deadline (else `late`)."""
    try:
        return job.result(timeout=session.deadline.remaining())
    except FutureTimeout:
        return late


def gather(
    session: SshSession, settings: CourseSettings, secrets: set[str] | None = None
) -> tuple[Facts, set[str]]:
    """Probe, then the protocol probes in parallel; returns the facts and the secrets seen (also
    added to `secrets` as they are found, so a grading cut short still masks them).

    Every wait ends at the node's deadline: a probe that has not answered by then is recorded as
    not answering in time (its checks judge that), and the others keep what they found."""
    late = f"no answer before the node's deadline ({session.deadline.seconds:.0f}s)"
    pool = ThreadPoolExecutor(max_workers=4)
    early = EarlyTunnels()
    try:
        opening = [
            pool.submit(early.open, session, host, port)
            for host in EarlyTunnels.HOSTS
            for port in (settings.ports.redis, settings.ports.mysql)
        ]
        for job in opening:  # connected on the node before the probe starts (one round trip)
            _in_time(job, session, None)
        raw = run_probe(session)
        facts, resolved = _observe(raw)
        facts.early_refused = sorted(port for host, port in early.refused if host == "127.0.0.1")
        facts.early_refused6 = sorted(port for host, port in early.refused if host == "::1")
        secrets = secrets if secrets is not None else set()
        secrets |= resolved.secrets() | {settings.champion.password}
        major = facts.airflow.major
        redis_job = pool.submit(_redis, session, facts, resolved, settings, secrets, early)
        mysql_job = pool.submit(_mysql, session, resolved, settings, secrets, early)
        web_job = pool.submit(_web, session, resolved, settings, major, secrets)
        redis_late = RedisFacts("127.0.0.1", settings.ports.redis, "process", error=late)
        facts.redis, facts.broker = _in_time(redis_job, session, (redis_late, None))  # type: ignore[misc]
        mysql_late = MysqlFacts("127.0.0.1", settings.ports.mysql, "default", greeting_error=late)
        facts.mysql, stored_hash = _in_time(mysql_job, session, (mysql_late, None))  # type: ignore[misc]
        web_late = WebFacts(settings.ports.webserver, error="timeout")
        web_late.timed_out_after = round(session.deadline.seconds, 1)
        facts.web = _in_time(web_job, session, web_late)  # type: ignore[assignment]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a late thread ends when the connection closes
        early.close()
    champion = facts.mysql.champion
    if champion and champion.exists and stored_hash and (facts.web.login_result != "ok"):
        # No real login proved the password: check it against the stored hash (~0.1 s of scrypt),
        # unless the hash asks for more work than werkzeug ever writes.
        champion.hash_refused = protocols.hash_cost_refusal(stored_hash)
        if champion.hash_refused is None:
            champion.password_matches = protocols.check_password_hash(stored_hash, settings.champion.password)
    return facts, secrets
