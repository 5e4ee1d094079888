"""Protocol-level evidence over a socket-like channel: Redis PING, MySQL login and queries, HTTP.

A process merely named like a service is not the service: these speak each service's own
protocol through an SSH tunnel, as Airflow itself would from the node.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from grader import limits


class Channel(Protocol):
    def sendall(self, data: bytes) -> None: ...
    def recv(self, size: int) -> bytes: ...
    def makefile(self, *args: Any, **kwargs: Any) -> Any: ...
    def settimeout(self, timeout: float | None) -> None: ...
    def close(self) -> None: ...


# ---- Redis ---------------------------------------------------------------------------------


@dataclass
class RedisReply:
    ok: bool  # PING answered +PONG
    reply: str  # first line of the PING reply (or of the AUTH error)
    version: str | None = None
    auth_used: bool = False
    info: dict[str, str] = field(default_factory=dict)  # INFO server fields that tie it to a process
    client_port: int | None = None  # our own connection's port as the server sees it (CLIENT INFO)


# INFO server fields kept: the version, and what ties the reply to a process on the node.
INFO_FIELDS = ("redis_version", "valkey_version", "process_id", "run_id", "tcp_port", "uptime_in_seconds")


def _resp(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _LineReader:
    """RESP lines and bulk strings, each capped before it is read (limits.REDIS_*)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.buffer = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > limits.REDIS_LINE_BYTES:
                raise ConnectionError("Redis reply line too long")
            chunk = self.channel.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n")
        return head

    def exact(self, size: int) -> bytes:
        if size > limits.REDIS_BULK_BYTES:
            raise ConnectionError(
                f"Redis announced a {size}-byte reply (more than {limits.REDIS_BULK_BYTES})"
            )
        while len(self.buffer) < size + 2:
            chunk = self.channel.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
        return data


def _bulk_size(head: bytes) -> int:
    try:
        return int(head[1:])
    except ValueError:
        raise ConnectionError("not a Redis reply") from None


def redis_ping(channel: Channel, password: str | None = None, username: str | None = None) -> RedisReply:
    """AUTH (when the URL has a password), PING and INFO server, pipelined in one round trip."""
    commands = []
    if password:
        commands.append(_resp("AUTH", username, password) if username else _resp("AUTH", password))
    commands += [_resp("PING"), _resp("INFO", "server"), _resp("CLIENT", "INFO")]
    channel.sendall(b"".join(commands))
    reader = _LineReader(channel)
    if password:
        auth = reader.line().decode("utf-8", "replace")
        if not auth.startswith("+"):
            return RedisReply(False, auth, auth_used=True)
    ping = reader.line().decode("utf-8", "replace")
    info: dict[str, str] = {}
    head = reader.line()
    if head.startswith(b"$") and _bulk_size(head) >= 0:
        body = reader.exact(_bulk_size(head)).decode("utf-8", "replace")
        for line in body.splitlines():
            name, sep, value = line.partition(":")
            if sep and name in INFO_FIELDS and name not in info:
                info[name] = value.strip()
    version = info.get("redis_version") or info.get("valkey_version")
    return RedisReply(ping == "+PONG", ping, version, bool(password), info, _client_port(reader))


def _client_port(reader: _LineReader) -> int | None:
    """Our connection's port from CLIENT INFO (Redis >= 6.2: "id=7 addr=127.0.0.1:40412 ...");
    None when the server has no such command or said nothing more (the tie then says so)."""
    try:
        head = reader.line()
        if not head.startswith(b"$") or _bulk_size(head) < 0:
            return None
        match = re.search(rb"(?:^| )addr=\S*:(\d{1,5})(?: |$)", reader.exact(_bulk_size(head)))
    except ConnectionError:
        return None
    return int(match.group(1)) if match else None


# ---- MySQL ---------------------------------------------------------------------------------


@dataclass
class MysqlGreeting:
    protocol: int
    server_version: str


def mysql_greeting(channel: Channel) -> MysqlGreeting:
    """Read the server's initial handshake packet (sent before any credentials)."""
    reader = b""
    while len(reader) < 4:
        chunk = channel.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the MySQL handshake")
        reader += chunk
    length = int.from_bytes(reader[:3], "little")
    while len(reader) < 4 + length:
        chunk = channel.recv(4096)
        if not chunk:
            break
        reader += chunk
    payload = reader[4 : 4 + length]
    if not payload:
        raise ConnectionError("empty MySQL handshake")
    if payload[0] == 0xFF:  # ERR packet, e.g. "Host ... is not allowed to connect"
        message = payload[3:].decode("utf-8", "replace").lstrip("#")
        raise ConnectionError(f"server refused: {message}")
    if payload[0] != 10:
        raise ConnectionError(f"not a MySQL handshake (protocol byte {payload[0]})")
    version = payload[1 : payload.index(b"\0", 1)].decode("utf-8", "replace")
    return MysqlGreeting(10, version)


@dataclass
class ChampionRow:
    exists: bool
    active: bool | None = None
    roles: list[str] = field(default_factory=list)
    password_hash_method: str | None = None
    stored_hash: str | None = field(default=None, repr=False)  # in memory only, never a fact


@dataclass
class MysqlSession:
    server_version: str
    login_error: str | None = None  # e.g. "(1045) Access denied for user ..."
    tables_present: bool | None = None  # Airflow's schema (alembic_version) exists
    scheduler_heartbeat_age: float | None = None
    scheduler_state: str | None = None
    champion: ChampionRow | None = None
    query_error: str | None = None
    # What ties the server to a process on the node: its own view of host, port and uptime.
    server_hostname: str | None = None
    server_port: int | None = None
    server_uptime: float | None = None
    client_port: int | None = None  # our own connection's port as the server sees it (PROCESSLIST)


def mysql_session(
    channel: Channel,
    *,
    user: str,
    password: str,
    database: str | None,
    champion_user: str,
    timeout: float,
) -> MysqlSession:
    """Log in as Airflow does and ask, read-only, what the grader needs."""
    import pymysql  # imported here: only needed when a MySQL endpoint is configured
    from pymysql.constants import CLIENT

    conn = pymysql.connections.Connection(
        user=user,
        password=password,
        database=database,
        defer_connect=True,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        charset="utf8mb4",
        autocommit=None,  # no `SET AUTOCOMMIT` round trip: the work is one read-only transaction
        # The SSH tunnel already encrypts, and the server is the node's own localhost: PyMySQL's
        # default "preferred TLS" would cost a CA-store load (~50 ms CPU) and a handshake per node.
        ssl_disabled=True,
        # Statements go in two batches: each round trip costs the node's RTT through the tunnel.
        client_flag=CLIENT.MULTI_STATEMENTS,
    )
    try:
        conn.connect(sock=channel)  # type: ignore[arg-type]
    except pymysql.MySQLError as exc:
        version = getattr(conn, "server_version", None)
        if not version:  # no handshake at all: not a MySQL server answering
            raise ConnectionError(_mysql_error(exc)) from None
        return MysqlSession(version, login_error=_mysql_error(exc))
    result = MysqlSession(conn.server_version or "")
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SET SESSION TRANSACTION READ ONLY; START TRANSACTION READ ONLY; "
                "SELECT @@hostname, @@port, (SELECT host FROM information_schema.processlist "
                "WHERE id = CONNECTION_ID()); SHOW GLOBAL STATUS LIKE 'Uptime'; "
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name IN ('alembic_version', 'ab_user', 'job')"
            )
            cursor.nextset()
            cursor.nextset()
            _server_identity(result, cursor.fetchone())
            cursor.nextset()
            uptime = cursor.fetchone()
            result.server_uptime = _number(uptime[1]) if uptime and len(uptime) > 1 else None
            cursor.nextset()
            tables = {str(row[0]).lower() for row in cursor.fetchall()}
            result.tables_present = "alembic_version" in tables
            statements: list[str] = []
            if "job" in tables:
                statements.append(
                    "SELECT state, TIMESTAMPDIFF(MICROSECOND, latest_heartbeat, UTC_TIMESTAMP(6)) / 1e6 "
                    "FROM job WHERE job_type = 'SchedulerJob' ORDER BY latest_heartbeat DESC LIMIT 1"
                )
            if "ab_user" in tables:
                statements.append(
                    "SELECT u.active, u.password, r.name FROM ab_user u "
                    "LEFT JOIN ab_user_role ur ON ur.user_id = u.id LEFT JOIN ab_role r ON r.id = ur.role_id "
                    "WHERE u.username = %(user)s ORDER BY r.name"
                )
            statements.append("ROLLBACK")
            cursor.execute("; ".join(statements), {"user": champion_user})
            if "job" in tables:
                row = cursor.fetchone()
                if row:
                    result.scheduler_state = row[0]
                    result.scheduler_heartbeat_age = float(row[1]) if row[1] is not None else None
                cursor.nextset()
            if "ab_user" in tables:
                result.champion = _champion(cursor.fetchall())
                cursor.nextset()
    except pymysql.MySQLError as exc:
        result.query_error = _mysql_error(exc)
    finally:
        try:
            conn.close()
        except Exception:  # closing a half-dead tunnel must not hide the answer
            pass
    return result


def _number(value: Any) -> float | None:
    """A finite number from a server's reply (a node may answer "inf" or 1e400)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e15 else None


def _server_identity(result: MysqlSession, row: Sequence[Any] | None) -> None:
    if not row or len(row) < 2:
        return
    result.server_hostname = str(row[0])[: limits.EVIDENCE_CHARS] if row[0] is not None else None
    port = _number(row[1])
    result.server_port = int(port) if port is not None else None
    client = re.search(r":(\d{1,5})$", str(row[2])) if len(row) > 2 and row[2] is not None else None
    result.client_port = int(client.group(1)) if client else None


def _champion(rows: Sequence[Sequence[Any]]) -> ChampionRow:
    """The champion's user row joined with its roles (one row per role, or one with no role)."""
    if not rows:
        return ChampionRow(False)
    active, stored = rows[0][0], rows[0][1]
    roles = [str(r[2]) for r in rows if r[2] is not None]
    method = stored.split("$", 1)[0] if stored and "$" in stored else None
    return ChampionRow(True, bool(active), roles, method, stored)


def _mysql_error(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    return str(exc) or exc.__class__.__name__


def hash_cost_refusal(stored: str) -> str | None:
    """Why a stored password hash is refused before it is computed (None: fine to check).

    werkzeug (and so FAB's `airflow users create`) never writes more than limits.PBKDF2_MAX_ROUNDS
    pbkdf2 rounds or scrypt parameters above its own default: a hash that asks for more was put
    there by hand, and checking it could cost minutes of CPU or gigabytes of memory."""
    method = stored.split("$", 1)[0]
    kind, *args = method.split(":")
    try:
        if kind == "pbkdf2" and len(args) > 1 and int(args[1]) > limits.PBKDF2_MAX_ROUNDS:
            return f"pbkdf2 {int(args[1])} rounds (werkzeug writes at most {limits.PBKDF2_MAX_ROUNDS})"
        if kind == "scrypt" and args:
            n, r, p = (int(x) for x in args)
            if n > limits.SCRYPT_MAX_N or r > limits.SCRYPT_MAX_R or p > limits.SCRYPT_MAX_P:
                return f"scrypt n={n} r={r} p={p} (werkzeug writes at most n=2^15, r=8, p=1)"
    except ValueError:
        return "unreadable hash parameters"
    return None


def check_password_hash(stored: str, password: str) -> bool | None:
    """Verify a Werkzeug password hash (what FAB stores) without Werkzeug; None when unknown or
    refused (see hash_cost_refusal)."""
    if hash_cost_refusal(stored):
        return None
    try:
        method, salt, expected = stored.split("$", 2)
    except ValueError:
        return None
    kind, *args = method.split(":")
    pw, salt_b = password.encode(), salt.encode()
    try:
        if kind == "scrypt":
            n, r, p = (int(x) for x in (args or ["32768", "8", "1"]))
            got = hashlib.scrypt(pw, salt=salt_b, n=n, r=r, p=p, maxmem=132 * n * r * p, dklen=64).hex()
        elif kind == "pbkdf2":
            name = args[0] if args else "sha256"
            rounds = int(args[1]) if len(args) > 1 else 600000
            got = hashlib.pbkdf2_hmac(name, pw, salt_b, rounds).hex()
        else:
            return None
    except (ValueError, MemoryError):
        return None
    return hmac.compare_digest(got, expected)


# ---- HTTP ----------------------------------------------------------------------------------


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not JSON, too deep or too many values (limits)."""
        problem = json_shape_problem(self.body, limits.JSON_DEPTH, limits.PROBE_JSON_ITEMS)
        if problem:
            raise ValueError(f"JSON {problem}")
        return json.loads(self.body.decode("utf-8", "replace"))


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b"[]{},")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def json_shape_problem(data: bytes, max_depth: int, max_items: int) -> str | None:
    """Why JSON text is refused before it is parsed ("nested too deeply", "has too many values"), or
    None. Strings are set aside first (a `[` inside a process title is text), the rest runs at C
    speed: a node's 8 MB of brackets costs milliseconds, not the parser's memory."""
    structure = _JSON_STRING.sub(b"", data).translate(None, _NOT_STRUCTURE)
    if structure.count(b",") + structure.count(b"[") + structure.count(b"{") > max_items:
        return "has too many values"
    brackets = structure.replace(b",", b"")
    for _ in range(max_depth):
        if not brackets:
            return None
        shorter = _INNERMOST.sub(b"", brackets)  # one level per pass
        if len(shorter) == len(brackets):
            return None  # not well-formed: the parser says so
        brackets = shorter
    return "nested too deeply" if brackets else None


def http_request(
    channel: Channel,
    method: str,
    path: str,
    *,
    host_header: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    max_bytes: int = limits.HTTP_BODY_BYTES,
) -> HttpReply:
    """One HTTP/1.1 request with `Connection: close` over an open channel.

    The reply is read until its Content-Length (or EOF), headers capped at limits.HTTP_HEAD_BYTES
    and the body at `max_bytes`. (http.client closes its socket as soon as it sees
    `Connection: close`, before the body is read; on a paramiko channel that loses the body, so
    the reply is parsed here.)"""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host_header}",
        "Connection: close",
        "User-Agent: airflow-course-grader",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    try:
        channel.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        head, rest = _read_head(channel)
        status, reply_headers = _parse_head(head)
        length = reply_headers.get("content-length", "")
        chunked = "chunked" in reply_headers.get("transfer-encoding", "").lower()
        want = int(length) if length.isdigit() and not chunked else None
        if want is not None and want > max_bytes:
            raise ConnectionError(f"HTTP body of {want} bytes announced (more than {max_bytes})")
        data = bytearray(rest)
        while (want is None or len(data) < want) and len(data) <= max_bytes:
            chunk = channel.recv(65536)
            if not chunk:
                break
            data += chunk
        if len(data) > max_bytes:
            raise ConnectionError(f"HTTP body larger than {max_bytes} bytes")
    finally:
        channel.close()
    rest = bytes(data)
    if chunked:
        rest = _dechunk(rest)
    elif want is not None:
        rest = rest[:want]
    return HttpReply(status, reply_headers, rest)


def _read_head(channel: Channel) -> tuple[bytes, bytes]:
    data = bytearray()
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return bytes(data[:end]), bytes(data[end + 4 :])
        if len(data) > limits.HTTP_HEAD_BYTES:
            raise ConnectionError(f"HTTP headers larger than {limits.HTTP_HEAD_BYTES} bytes")
        chunk = channel.recv(65536)
        if not chunk:
            raise ConnectionError("incomplete HTTP response" if data else "empty HTTP response")
        data += chunk


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise ConnectionError(f"not an HTTP response: {status_line[:60]!r}")
    reply_headers: dict[str, str] = {}
    for line in header_lines[:200]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        reply_headers[key] = (
            f"{reply_headers[key]}, {value.strip()}" if key in reply_headers else value.strip()
        )
    return int(parts[1]), reply_headers


def _dechunk(data: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            break
        size = int(data[position:end].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[end + 2 : end + 2 + size]
        position = end + 2 + size + 2
    return bytes(out)


def basic_auth(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: bytes) -> str | None:
    match = _CSRF.search(html)
    if not match:
        return None
    return (match.group(1) or match.group(2)).decode()


def session_cookie(headers: dict[str, str]) -> str | None:
    cookie = headers.get("set-cookie", "")
    match = re.search(r"(session=[^;]+)", cookie)
    return match.group(1) if match else None
