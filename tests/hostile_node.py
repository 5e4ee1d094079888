"""A scripted hostile node: an SSH server (paramiko server mode, threads in the test process)
on 127.0.0.1 that plays a `Scenario` as a hostile or broken trainee's node would.

Nothing real runs behind it. The probe exec answers with scripted bytes (by default a real probe
recorded from the practice node, see `load_probe`); direct-tcpip tunnels reach scripted handlers
keyed by port (Redis, MySQL, HTTP fakes below, or `forward_to` a real service).

    scenario = practice_scenario()                     # replays the practice node: a full pass
    scenario.services[6379] = redis_fake(info=HUGE_BULK, then=trickle(b"x" * 100, 1.0))
    with hostile_node(scenario) as node:
        subprocess.run([GRADE, *node.grade_args(), "--timeout", "5"])
        assert node.tunnels == [("127.0.0.1", 6379), ...]

A handler is `Callable[[paramiko.Channel], None]`: it talks to the grader over the channel and
returns when done (the fixture then closes the channel). Everything is torn down on exit, even
with handlers still blocked: threads are daemons, and closing the transports closes their channels.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import os
import re
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

Handler = Callable[[paramiko.Channel], None]
"""Speaks to the grader over one channel; the fixture closes the channel when it returns."""

PROBE_DIR = Path(__file__).resolve().parent / "fixtures" / "probe"
PRACTICE_PROBE = PROBE_DIR / "practice-2.11.2-raw.json"

PRACTICE_MYSQL_VERSION = b"10.11.14-MariaDB-0+deb12u2"  # what the practice node's MariaDB greets with
CHAMPION = ("trey", "test123!")  # grader.settings defaults

HUGE_BULK = b"$107374182400\r\n"  # a Redis bulk string announced as 100 GB
NONCE_SLOT = b"@GRADER_NONCE@"  # the probe's nonce placeholder; a recording made without one keeps it
_NONCE = re.compile(rb'^NONCE = "([^"]*)"', re.M)


# ---- scenario and node -----------------------------------------------------------------------


@dataclass
class Scenario:
    """What the node does. `probe`: the reply to every exec (bytes; a dict is sent as JSON; or a
    handler that writes to the exec channel itself, e.g. `trickle`, `silent`). Bytes and dicts are
    sent after the client's stdin ends (a real node reads the probe first), then `stderr` and
    `exit_status`; after a handler returns, `exit_status` is sent. With `echo_nonce`, the node
    plays a replaying cheat that reads the grader's nonce from the probe script it was sent and
    puts it in place of `NONCE_SLOT` (which recordings and `probe_with` dicts carry).
    `services`: tunnel handlers by destination port, or by (host, port) which wins; any other
    destination is refused as a closed port would be (or prohibited when `forwarding` is off).
    `services_after_probe`: tunnels are refused until the probe has been asked for, as a node
    that starts its fakes (or forwards) only when the grader's probe arrives.
    `banner`: raw bytes (or a handler given the raw socket) sent before the SSH version line;
    a handler that never returns is a server that never speaks SSH.
    """

    probe: bytes | Mapping[str, Any] | Handler = b"{}"
    services: dict[int | tuple[str, int], Handler] = field(default_factory=dict)
    stderr: bytes = b""
    exit_status: int = 0
    banner: bytes | Callable[[socket.socket], None] | None = None
    version: str = "SSH-2.0-OpenSSH_8.7"
    forwarding: bool = True
    echo_nonce: bool = True
    services_after_probe: bool = False  # refuse every tunnel until the probe exec has started


@dataclass
class Exec:
    command: str
    stdin: bytes | None  # None when a probe handler owned the channel
    nonce: str | None = None  # the nonce found in the probe script sent on stdin


@dataclass
class HostileNode:
    """A running hostile node: where to connect, and what the client asked of it."""

    host: str
    port: int
    user: str
    key: Path  # a private key file the server accepts (OpenSSH ed25519, paramiko can read it)
    known_hosts: Path  # a fresh path (not created) for the grader's --known-hosts
    host_key: paramiko.PKey
    execs: list[Exec] = field(default_factory=list)
    tunnels: list[tuple[str, int]] = field(default_factory=list)  # every direct-tcpip request, in order
    errors: list[BaseException] = field(default_factory=list)  # handler bugs (not closed-channel noise)

    def grade_args(self) -> list[str]:
        """The `grade` CLI's target arguments for this node."""
        return [
            "--host", self.host, "--port", str(self.port), "--user", self.user,
            "--key", str(self.key), "--known-hosts", str(self.known_hosts),
        ]  # fmt: skip

    def connect(self, timeout: float = 5.0) -> paramiko.SSHClient:
        """A plain paramiko client logged in to this node (the caller closes it)."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            self.host, port=self.port, username=self.user, key_filename=str(self.key),
            timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
            allow_agent=False, look_for_keys=False,
        )  # fmt: skip
        return client


def _ed25519() -> tuple[paramiko.Ed25519Key, str]:
    """A fresh ed25519 key, and its private half as an OpenSSH key file's text."""
    text = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        .decode()
    )
    return paramiko.Ed25519Key(file_obj=io.StringIO(text)), text


class _Server(paramiko.ServerInterface):
    def __init__(
        self, node: HostileNode, client_key: paramiko.PKey, scenario: Scenario, run: _Runner
    ) -> None:
        self.node, self.client_key, self.scenario, self.run = node, client_key, scenario, run
        self.destinations: dict[int, tuple[str, int]] = {}

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == self.node.user and key.get_base64() == self.client_key.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        host, port = destination[0], int(destination[1])
        self.node.tunnels.append((host, port))
        if not self.scenario.forwarding:
            return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self._service(host, port) is None or (self.scenario.services_after_probe and not self.node.execs):
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        self.destinations[chanid] = (host, port)
        return paramiko.OPEN_SUCCEEDED

    def _service(self, host: str, port: int) -> Handler | None:
        services = self.scenario.services
        return services.get((host, port)) or services.get(port)

    def service_for(self, channel: paramiko.Channel) -> Handler | None:
        destination = self.destinations.pop(channel.get_id(), None)
        return self._service(*destination) if destination else None

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.run(self._exec, channel, command.decode("utf-8", "replace"))
        return True

    def _exec(self, channel: paramiko.Channel, command: str) -> None:
        probe, scenario = self.scenario.probe, self.scenario
        if callable(probe):
            self.node.execs.append(Exec(command, None))
            probe(channel)
        else:
            stdin = _read_to_eof(channel, timeout=10.0)
            nonce = _nonce(stdin)
            self.node.execs.append(Exec(command, stdin, nonce))
            reply = probe if isinstance(probe, bytes) else json.dumps(probe).encode()
            channel.sendall(with_nonce(reply, nonce) if scenario.echo_nonce else reply)
            if scenario.stderr:
                channel.sendall_stderr(scenario.stderr)
        if not channel.closed:
            channel.send_exit_status(scenario.exit_status)


class _Runner:
    """Runs handlers in daemon threads; remembers what they raised, except closed-channel noise."""

    def __init__(self, node: HostileNode) -> None:
        self.node = node
        self.threads: list[threading.Thread] = []

    def __call__(self, handler: Callable[..., None], channel: Any, *args: Any) -> None:
        def body() -> None:
            try:
                handler(channel, *args)
            except (EOFError, OSError, paramiko.SSHException):
                pass  # the client went away, or the node was torn down
            except Exception as exc:
                self.node.errors.append(exc)
            finally:
                with contextlib.suppress(Exception):
                    channel.close()

        thread = threading.Thread(target=body, daemon=True, name="hostile-handler")
        self.threads.append(thread)
        thread.start()


@contextlib.contextmanager
def hostile_node(scenario: Scenario, user: str = "ec2-user") -> Iterator[HostileNode]:
    """Serve `scenario` on 127.0.0.1 (a free port) until the block ends; then tear down in < 2 s."""
    host_key, _ = _ed25519()
    client_key, client_text = _ed25519()
    with tempfile.TemporaryDirectory(prefix="hostile-node-") as tmp:
        key = Path(tmp) / "id_ed25519"
        key.write_text(client_text, encoding="ascii")
        os.chmod(key, 0o600)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        node = HostileNode(
            "127.0.0.1", listener.getsockname()[1], user, key, Path(tmp) / "known_hosts", host_key
        )
        run = _Runner(node)
        stop = threading.Event()
        sockets: list[socket.socket] = []
        transports: list[paramiko.Transport] = []

        def serve(conn: socket.socket) -> None:
            if isinstance(scenario.banner, bytes):
                conn.sendall(scenario.banner)
            elif scenario.banner is not None:
                scenario.banner(conn)
            if stop.is_set():
                return
            transport = paramiko.Transport(conn)
            transports.append(transport)
            transport.local_version = scenario.version
            transport.add_server_key(host_key)
            server = _Server(node, client_key, scenario, run)
            transport.start_server(server=server)
            while not stop.is_set() and transport.is_active():
                channel = transport.accept(0.1)
                handler = server.service_for(channel) if channel is not None else None
                if handler is not None:
                    run(handler, channel)

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn = listener.accept()[0]
                except OSError:
                    continue
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sockets.append(conn)
                run(serve, conn)

        acceptor = threading.Thread(target=accept, daemon=True, name="hostile-accept")
        acceptor.start()
        try:
            yield node
        finally:
            stop.set()
            acceptor.join(1.0)
            listener.close()
            for transport in list(transports):
                with contextlib.suppress(Exception):
                    transport.close()
            for conn in sockets:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            end = time.monotonic() + 0.5  # handlers see their channel closed; stragglers are daemons
            for thread in run.threads:
                thread.join(max(0.0, end - time.monotonic()))


# ---- small helpers for handlers ------------------------------------------------------------


def _closed(stream: Any) -> bool:
    if isinstance(stream, paramiko.Channel):
        return stream.closed or stream.eof_sent
    return stream.fileno() == -1


def _pause(stream: Any, seconds: float) -> None:
    """Sleep, but return early once the stream is closed (so teardown is quick)."""
    end = time.monotonic() + seconds
    while not _closed(stream) and (left := end - time.monotonic()) > 0:
        time.sleep(min(0.05, left))


def _read_to_eof(channel: paramiko.Channel, timeout: float) -> bytes:
    """Everything the client sends until it closes its side (or `timeout` passes)."""
    data, end = bytearray(), time.monotonic() + timeout
    channel.settimeout(0.1)
    while not channel.closed and time.monotonic() < end:
        try:
            chunk = channel.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    channel.settimeout(None)
    return bytes(data)


def _nonce(script: bytes) -> str | None:
    found = _NONCE.search(script)
    return found.group(1).decode("ascii", "replace") if found else None


def read_nonce(channel: paramiko.Channel, timeout: float = 10.0) -> str | None:
    """For probe handlers: read the probe script from stdin (to EOF) and return its nonce."""
    return _nonce(_read_to_eof(channel, timeout))


def with_nonce(reply: bytes, nonce: str | None) -> bytes:
    """`reply` with `NONCE_SLOT` replaced by `nonce` (unchanged when there is none)."""
    return reply.replace(NONCE_SLOT, nonce.encode()) if nonce else reply


def _wait_close(channel: paramiko.Channel) -> None:
    """Keep the connection open, as a live service would, until the client closes it."""
    _read_to_eof(channel, timeout=3600)


class _Reader:
    """Buffered reads of lines and exact sizes from a channel; EOFError when the client closes."""

    def __init__(self, channel: paramiko.Channel, buffer: bytes = b"") -> None:
        self.channel, self.buffer = channel, buffer

    def _fill(self) -> None:
        chunk = self.channel.recv(65536)
        if not chunk:
            raise EOFError
        self.buffer += chunk

    def until(self, separator: bytes, limit: int = 1 << 20) -> bytes:
        while separator not in self.buffer:
            if len(self.buffer) > limit:
                raise EOFError("request too long")
            self._fill()
        head, _, self.buffer = self.buffer.partition(separator)
        return head

    def exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


# ---- generic handlers ----------------------------------------------------------------------


def silent() -> Handler:
    """Accept, read whatever comes, never answer (until the client or the teardown closes it)."""
    return _wait_close


def static(data: bytes, then: Handler | None = None) -> Handler:
    """Send `data` at once, then run `then` (default: stay open until the client closes)."""

    def handler(channel: paramiko.Channel) -> None:
        channel.sendall(data)
        (then or _wait_close)(channel)

    return handler


def trickle(data: bytes, every: float, forever: bool = False) -> Handler:
    """Send `data` one byte every `every` seconds (repeating it if `forever`), then return.
    Also works as a `Scenario.banner` (it is then given the raw socket)."""

    def handler(stream: Any) -> None:
        while True:
            for byte in data:
                if _closed(stream):
                    return
                stream.sendall(bytes([byte]))
                _pause(stream, every)
            if not forever:
                return

    return handler


def forward_to(host: str, port: int) -> Handler:
    """Relay the tunnel to a real TCP service (a port forward to, say, a classmate's node)."""

    def handler(channel: paramiko.Channel) -> None:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.setblocking(False)
            channel_open, sock_open = True, True
            while sock_open and not channel.closed:
                watched = [sock] + ([channel] if channel_open else [])
                readable, _, _ = select.select(watched, [], [], 0.2)
                if channel in readable:
                    data = channel.recv(65536)
                    if data:
                        sock.setblocking(True)
                        sock.sendall(data)
                        sock.setblocking(False)
                    else:  # the client closed its side: pass that on, keep relaying the answer
                        channel_open = False
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_WR)
                if sock in readable:
                    data = sock.recv(65536)
                    if data:
                        channel.sendall(data)
                    else:
                        sock_open = False

    return handler


# ---- Redis -----------------------------------------------------------------------------------


def redis_info(**fields: Any) -> bytes:
    """An `INFO server` bulk reply; fields (None drops one) default to a practice node's Redis."""
    values = {
        "redis_version": "7.0.15",
        "redis_mode": "standalone",
        "os": "Linux 6.1.0 x86_64",
        "process_id": 5529,
        "run_id": "1ea29a869861c980530a87bab6c02719be3f0932",
        "tcp_port": 6379,
        "uptime_in_seconds": 219,
        "executable": "/usr/bin/redis-server",
        **fields,
    }
    body = ("# Server\r\n" + "".join(f"{k}:{v}\r\n" for k, v in values.items() if v is not None)).encode()
    return b"$%d\r\n%s\r\n" % (len(body), body)


def redis_fake(
    *,
    ping: bytes = b"+PONG\r\n",
    auth: bytes = b"+OK\r\n",
    info: bytes | Mapping[str, Any] | None = None,
    then: Handler | None = None,
) -> Handler:
    """Answer RESP commands as they come: AUTH with `auth`, PING with `ping` (e.g. b"-NOAUTH ..."),
    INFO with `info` (fields for `redis_info`, or raw bytes such as `HUGE_BULK`), others `+OK`.
    After an INFO, `then` takes over the channel (e.g. `trickle`); by default the loop goes on."""
    info_reply = info if isinstance(info, bytes) else redis_info(**(info or {}))

    def handler(channel: paramiko.Channel) -> None:
        reader = _Reader(channel)
        while True:
            head = reader.until(b"\r\n")
            if not head.startswith(b"*"):  # inline command
                command = head.split()[0].upper() if head.strip() else b""
            else:
                args = []
                for _ in range(int(head[1:])):
                    size = int(reader.until(b"\r\n")[1:])
                    args.append(reader.exact(size + 2)[:-2])
                command = args[0].upper() if args else b""
            reply = {b"AUTH": auth, b"PING": ping, b"INFO": info_reply}.get(command, b"+OK\r\n")
            channel.sendall(reply)
            if command == b"INFO" and then is not None:
                then(channel)
                return

    return handler


# ---- MySQL -----------------------------------------------------------------------------------

_CAPABILITIES = (
    1 | 2 | 4 | 8  # LONG_PASSWORD, FOUND_ROWS, LONG_FLAG, CONNECT_WITH_DB
    | 512 | 8192 | 32768  # PROTOCOL_41, TRANSACTIONS, SECURE_CONNECTION
    | 1 << 16 | 1 << 17 | 1 << 19 | 1 << 20 | 1 << 21  # MULTI_STATEMENTS/RESULTS, PLUGIN_AUTH(+attrs, lenenc)
)  # fmt: skip
_MORE_RESULTS, _AUTOCOMMIT = 0x0008, 0x0002


def mysql_handshake(version: bytes = PRACTICE_MYSQL_VERSION, thread_id: int = 42) -> bytes:
    """A MySQL protocol-10 initial handshake packet (mysql_native_password), ready to send."""
    salt = b"0123456789abcdefghij"
    payload = (
        b"\x0a" + version + b"\0" + struct.pack("<I", thread_id) + salt[:8] + b"\0"
        + struct.pack("<HBHHB", _CAPABILITIES & 0xFFFF, 45, _AUTOCOMMIT, _CAPABILITIES >> 16, 21)
        + b"\0" * 10 + salt[8:] + b"\0" + b"mysql_native_password\0"
    )  # fmt: skip
    return _packet(0, payload)


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def _lenenc(value: bytes) -> bytes:
    size = len(value)
    if size < 251:
        return bytes([size]) + value
    if size < 1 << 16:
        return b"\xfc" + struct.pack("<H", size) + value
    return b"\xfd" + struct.pack("<I", size)[:3] + value


def _ok(status: int = _AUTOCOMMIT) -> bytes:
    return b"\x00\x00\x00" + struct.pack("<HH", status, 0)


def _err(message: str, code: int = 1045, state: bytes = b"28000") -> bytes:
    return b"\xff" + struct.pack("<H", code) + b"#" + state + message.encode()


def _eof(status: int) -> bytes:
    return b"\xfe" + struct.pack("<HH", 0, status)


def _result_set(names: Sequence[str], rows: Sequence[Sequence[Any]], status: int) -> list[bytes]:
    """Payloads of a text-protocol result set; column types follow the first non-NULL value."""
    payloads = [bytes([len(names)])]
    for i, name in enumerate(names):
        sample = next((row[i] for row in rows if row[i] is not None), "")
        kind = 0x08 if isinstance(sample, int) else 0x05 if isinstance(sample, float) else 0xFD
        payloads.append(
            b"".join(_lenenc(s) for s in (b"def", b"airflow", b"t", b"t", name.encode(), name.encode()))
            + b"\x0c" + struct.pack("<HIBHB", 63 if kind != 0xFD else 45, 255, kind, 0, 0) + b"\0\0"
        )  # fmt: skip
    payloads.append(_eof(status))
    for row in rows:
        payloads.append(
            b"".join(
                b"\xfb"
                if v is None
                else _lenenc(
                    v if isinstance(v, bytes) else str(int(v) if isinstance(v, bool) else v).encode()
                )
                for v in row
            )
        )
    payloads.append(_eof(status))
    return payloads


@functools.cache
def werkzeug_hash(password: str, salt: str = "hostile0salt0000") -> str:
    """A Werkzeug `scrypt:32768:8:1` password hash, as FAB stores it in ab_user.password."""
    digest = hashlib.scrypt(
        password.encode(), salt=salt.encode(), n=32768, r=8, p=1, maxmem=132 * 32768 * 8, dklen=64
    )
    return f"scrypt:32768:8:1${salt}${digest.hex()}"


def mysql_fake(
    version: bytes = PRACTICE_MYSQL_VERSION,
    *,
    login_error: str | None = None,
    queries: bool = True,
    tables: Sequence[str] = ("alembic_version", "ab_user", "job"),
    scheduler: Sequence[tuple[Any, ...]] | None = None,
    champion: Sequence[tuple[Any, ...]] | None = None,
) -> Handler:
    """A MySQL server as the grader's PyMySQL session sees it: handshake, then the login answered
    with OK (any password) or ERR `login_error`; then, if `queries`, the grader's statements
    (SET/START/ROLLBACK: OK; the information_schema SELECT: `tables`; `FROM job`: `scheduler`
    rows (state, heartbeat age); `FROM ab_user`: `champion` rows (active, password hash, role)).
    Without `queries` the server goes quiet after the login (a hung database)."""
    if scheduler is None:
        scheduler = [("running", 1.5)]

    def handler(channel: paramiko.Channel) -> None:
        reader = _Reader(channel)
        channel.sendall(mysql_handshake(version))
        _read_packet(reader)  # the client's handshake response (credentials not checked)
        if login_error is not None:
            channel.sendall(_packet(2, _err(login_error)))
            return
        channel.sendall(_packet(2, _ok()))
        if not queries:
            _wait_close(channel)
            return
        rows = champion if champion is not None else [(1, werkzeug_hash(CHAMPION[1]), "Admin")]
        while True:
            command = _read_packet(reader)
            if not command or command[0] == 0x01:  # COM_QUIT
                return
            if command[0] != 0x03:  # not COM_QUERY: just say OK
                channel.sendall(_packet(1, _ok()))
                continue
            statements = [s.strip() for s in command[1:].decode("utf-8", "replace").split(";") if s.strip()]
            payloads: list[bytes] = []
            for i, statement in enumerate(statements):
                status = _AUTOCOMMIT | (_MORE_RESULTS if i < len(statements) - 1 else 0)
                lowered = statement.lower()
                if "information_schema.tables" in lowered:
                    payloads += _result_set(["table_name"], [(t,) for t in tables], status)
                elif "from job" in lowered:
                    payloads += _result_set(["state", "age"], scheduler, status)
                elif "from ab_user" in lowered:
                    payloads += _result_set(["active", "password", "name"], rows, status)
                else:
                    payloads.append(_ok(status))
            channel.sendall(b"".join(_packet(seq, p) for seq, p in enumerate(payloads, start=1)))

    return handler


def mysql_static(version: bytes = PRACTICE_MYSQL_VERSION, login_error: str | None = None) -> Handler:
    """A static handshake, then OK (or ERR `login_error`) to the login, then silence."""
    return mysql_fake(version, login_error=login_error, queries=False)


def _read_packet(reader: _Reader) -> bytes:
    header = reader.exact(4)
    return reader.exact(int.from_bytes(header[:3], "little"))


# ---- HTTP ------------------------------------------------------------------------------------


def health_body(
    metadatabase: str = "healthy", scheduler: str = "healthy", heartbeat: str | None = None
) -> bytes:
    """Airflow 2's `/health` JSON; the heartbeat defaults to now."""
    beat = heartbeat or datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "metadatabase": {"status": metadatabase},
            "scheduler": {"status": scheduler, "latest_scheduler_heartbeat": beat},
            "triggerer": {"status": None, "latest_triggerer_heartbeat": None},
            "dag_processor": {"status": None, "latest_dag_processor_heartbeat": None},
        }
    ).encode()


def _read_head(channel: paramiko.Channel) -> tuple[str, _Reader]:
    """Read an HTTP request head; the path, and a reader holding what came after it."""
    reader = _Reader(channel)
    head = reader.until(b"\r\n\r\n", limit=64 * 1024)
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return (parts[1].decode("latin-1") if len(parts) > 1 else ""), reader


def http_reply(
    status: int = 200, body: bytes | Callable[[], bytes] = b"", headers: Mapping[str, str] | None = None
) -> Handler:
    """A canned HTTP/1.1 response to any request (Content-Length, Connection: close); `body` may be
    a function, called per request (e.g. `health_body`, for a fresh heartbeat)."""
    fields = {"Content-Type": "application/json", **(headers or {})}

    def handler(channel: paramiko.Channel) -> None:
        if not getattr(channel, "head_read", False):
            _read_head(channel)
        data = body() if callable(body) else body
        lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in fields.items())]
        lines += [f"Content-Length: {len(data)}", "Connection: close"]
        channel.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    return handler


def http_routes(routes: Mapping[str, Handler], default: Handler | None = None) -> Handler:
    """Dispatch on the request path (query string ignored); unknown paths get `default` (404)."""

    def handler(channel: paramiko.Channel) -> None:
        path, _ = _read_head(channel)
        chosen = routes.get(path.split("?")[0]) or default or http_reply(404, b'{"detail": "Not Found"}')
        channel.head_read = True  # type: ignore[attr-defined]  # the reply handlers must not wait for it
        chosen(channel)

    return handler


def http_endless_headers(every: float = 0.0) -> Handler:
    """A status line, then header lines forever (64 KiB at a time, or one line every `every` s)."""

    def handler(channel: paramiko.Channel) -> None:
        if not getattr(channel, "head_read", False):
            _read_head(channel)
        channel.sendall(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Hostile: " + b"a" * 50 + b"\r\n"
        while not _closed(channel):
            channel.sendall(line if every else line * (65536 // len(line)))
            _pause(channel, every)

    return handler


# ---- probes ----------------------------------------------------------------------------------


def load_probe(path: Path = PRACTICE_PROBE) -> dict[str, Any]:
    """A recorded raw probe result (default: the practice node, Airflow 2.11.2, all passing).
    It holds the practice node's fixed test secrets (`Bespin12!`, its fernet and secret keys)."""
    return json.loads(path.read_text(encoding="utf-8"))


def probe_with(raw: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a raw probe with top-level keys replaced (e.g. `processes=[...]`)."""
    probe = copy.deepcopy(dict(raw))
    probe.update(changes)
    return probe


def cfg_with(raw: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A raw probe whose recorded airflow.cfg lines have `old` replaced by `new`."""
    probe = copy.deepcopy(dict(raw))
    for entry in probe.get("files", []):
        entry["lines"] = [[n, text.replace(old, new)] for n, text in entry.get("lines") or []]
    return probe


def process_chain(
    n: int,
    title: str = "airflow scheduler",
    first_pid: int = 100000,
    uid: int = 1001,
    exe: str | None = "/usr/bin/python3.11",
) -> list[dict]:
    """`n` probe process entries, each the parent of the next (the first a child of pid 1)."""
    return [
        {
            "pid": first_pid + i,
            "ppid": first_pid + i - 1 if i else 1,
            "uid": uid,
            "state": "S",
            "elapsed": 100.0,
            "argv": [title],
            "comm": title[:15],
            **({"exe": exe} if exe else {}),
        }
        for i in range(n)
    ]


def nested_json(depth: int, raw: Mapping[str, Any] | None = None, key: str = "processes") -> bytes:
    """`depth` nested JSON arrays; with `raw`, placed as the value of `key` in that probe."""
    nesting = b"[" * depth + b"]" * depth
    if raw is None:
        return nesting
    marker = "\x00nested\x00"
    text = json.dumps(probe_with(raw, **{key: marker})).encode()
    return text.replace(json.dumps(marker).encode(), nesting)


# ---- measuring the grader --------------------------------------------------------------------------


@dataclass
class Measured:
    """One grader process as it ran against a node: exit code, output, wall time, CPU, peak memory."""

    code: int
    stdout: str
    stderr: str
    wall: float
    cpu: float  # user + system seconds of the grader process
    peak_mb: float  # its VmHWM (ru_maxrss would count the forking parent's pages)


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_measured(command: Sequence[str], limit: float, **popen: Any) -> Measured:
    """Run `command`, killed after `limit` seconds (only a grader bug gets there), and measure it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(command), stdout=out, stderr=err, text=True, **popen)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _high_water_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > limit:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        return Measured(code, out.read(), err.read(), wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024)


# ---- a whole node ----------------------------------------------------------------------------


def practice_scenario() -> Scenario:
    """The recorded practice node replayed, with fakes answering as its services would: a node
    that forges a full pass with nothing running. Change its parts to make it hostile."""
    user, _ = CHAMPION
    roles = json.dumps({"username": user, "active": True, "roles": [{"name": "Admin"}]}).encode()
    raw = load_probe()
    redis = next(p for p in raw["processes"] if p["comm"] == "redis-server")
    return Scenario(
        probe=raw,
        services={  # Redis's INFO tied to the recorded redis-server process, as the real one was
            6379: redis_fake(info={"process_id": redis["pid"], "uptime_in_seconds": int(redis["elapsed"])}),
            3306: mysql_fake(),
            8080: http_routes(
                {"/health": http_reply(200, health_body), f"/api/v1/users/{user}": http_reply(200, roles)}
            ),
        },
    )


def record_probe(out: Path = PRACTICE_PROBE) -> None:
    """Record the practice node's raw probe result (read-only; the nonce left as `NONCE_SLOT`)
    with the grader's current probe: `python -m tests.hostile_node record` after a probe change."""
    from grader.gather import PROBE_COMMAND, probe_source

    info = json.loads(
        subprocess.run(
            ["bash", str(Path(__file__).resolve().parents[1] / "practice" / "node"), "info"],
            capture_output=True,
            check=True,
        ).stdout
    )
    ssh = ["ssh", "-p", str(info["port"]), "-i", info["key"], "-o", "StrictHostKeyChecking=no"]
    ssh += ["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{info['user']}@{info['host']}"]
    result = subprocess.run([*ssh, PROBE_COMMAND], input=probe_source(), capture_output=True, check=True)
    raw = json.loads(result.stdout)
    out.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    record_probe()
