"""One SSH connection per node (paramiko): bounded commands and direct-tcpip tunnels over it.

Host keys follow OpenSSH's `StrictHostKeyChecking accept-new`, kept in the grader's own
known_hosts: a new host is remembered, a changed key is refused as a possible attack.
Every failure becomes a `TargetError` with a status the report understands.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from grader import limits
from grader.i18n import Text, t
from grader.target import Target

# paramiko's transport thread logs its own tracebacks (e.g. a node that never sends a
# banner); the champion gets our verdict instead, never a traceback on stderr.
_paramiko_log = logging.getLogger("paramiko")
_paramiko_log.addHandler(logging.NullHandler())
_paramiko_log.propagate = False


class TargetError(Exception):
    """The node could not be graded; `status` is one of the report's target statuses."""

    def __init__(self, status: str, message: Text) -> None:
        super().__init__(message.en)
        self.status = status  # unreachable | auth_failed | host_key_mismatch | timeout | error
        self.message = message


class CommandTimeout(Exception):
    """A remote command did not finish before the deadline."""


@dataclass
class CommandResult:
    stdout: bytes
    stderr: bytes
    exit_status: int | None
    truncated: bool = False


@dataclass
class SessionStats:
    connections: int = 0
    exec_sessions: int = 0
    tunnels: int = 0


def default_known_hosts() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "airflow-grader" / "known_hosts"


class _LiveSockets:
    """Open node connections, so a class run stopped by Ctrl-C can cut them all at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.aborted = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            aborted = self.aborted
        if aborted:
            _shutdown(sock)

    def discard(self, sock: object) -> None:
        with self._lock:
            self._sockets.discard(sock)  # type: ignore[arg-type]

    def reset(self) -> None:
        """A new run (e.g. the next grading in the same notebook kernel) starts un-aborted."""
        with self._lock:
            self.aborted = False

    def abort_all(self) -> None:
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _close(sock: object) -> None:
    LIVE_SOCKETS.discard(sock)
    sock.close()  # type: ignore[attr-defined]


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


LIVE_SOCKETS = _LiveSockets()


class KnownHostsCache:
    """known_hosts files parsed once per process and shared by every connection of a class run.

    Parsing the grader's known_hosts for each of 300 nodes (and matching every line) cost more
    CPU than the rest of a grade; a file is re-read only when it changed behind our back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[tuple[int, int] | None, paramiko.HostKeys]] = {}

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def get(self, path: Path) -> paramiko.HostKeys:
        """The file's host keys (empty when missing); raises OSError/SSHException if unreadable."""
        with self._lock:
            stamp = self._stamp(path)
            cached = self._files.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            keys = paramiko.HostKeys()
            if stamp is not None:
                keys.load(str(path))
            self._files[path] = (stamp, keys)
            return keys

    def remember(self, path: Path, hostname: str, key: paramiko.PKey) -> None:
        """Accept-new: append the host's key to our file and to the cached copy."""
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="ascii") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            cached = self._files.get(path)
            if cached is not None:
                cached[1].add(hostname, key.get_name(), key)
                self._files[path] = (self._stamp(path), cached[1])


KNOWN_HOSTS = KnownHostsCache()
SYSTEM_KNOWN_HOSTS = Path(os.path.expanduser("~/.ssh/known_hosts"))


class _Client(paramiko.SSHClient):
    """SSHClient that checks host keys against the shared, already parsed known_hosts files."""

    def __init__(self, system: paramiko.HostKeys, own: paramiko.HostKeys) -> None:
        super().__init__()
        # paramiko only reads these two during connect(): sharing them across threads is safe.
        self._system_host_keys = system
        self._host_keys = own


class _Transport(paramiko.Transport):
    """AES-GCM first: its authentication tag is checked in C, where HMAC modes compare every
    packet's MAC byte by byte in Python (the largest CPU cost of a class run after parsing)."""

    _preferred_ciphers = (
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
        *(c for c in paramiko.Transport._preferred_ciphers if "gcm" not in c),
    )


class AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Remember a host seen for the first time (append to our known_hosts); never overwrite."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        KNOWN_HOSTS.remember(self.path, hostname, key)


# What one tunnel exchange (a Redis PING, a MySQL session) may take, inside the node's deadline.
TUNNEL_SECONDS = 10.0


@dataclass
class Deadline:
    seconds: float
    start: float = field(default_factory=time.monotonic)

    def remaining(self, floor: float = 0.05) -> float:
        return max(floor, self.seconds - (time.monotonic() - self.start))

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.start >= self.seconds

    @property
    def end(self) -> float:
        return self.start + self.seconds


class NodeChannel:
    """A tunnel to a service on the node, bounded on every read: the node's deadline, the
    exchange's own time budget and a byte budget. Node services are untrusted: one that trickles
    a byte every few seconds, or announces a gigabyte, is cut, never waited for or paid.

    Socket-like (`recv`, `sendall`, `makefile`, `settimeout`, `close`), so PyMySQL and the
    protocol readers use it as they would a socket."""

    def __init__(
        self,
        channel: paramiko.Channel,
        deadline: Deadline,
        seconds: float,
        where: str,
        max_bytes: int = limits.TUNNEL_REPLY_BYTES,
    ) -> None:
        self.channel = channel
        self.deadline = deadline
        self.seconds = seconds
        self.until = min(deadline.end, time.monotonic() + seconds)
        self.where = where
        self.max_bytes = max_bytes
        self.received = 0

    def _left(self) -> float:
        return self.until - time.monotonic()

    def rearm(self) -> None:
        """A channel opened early (before the probe) gets its exchange budget from now on."""
        self.until = min(self.deadline.end, time.monotonic() + self.seconds)

    def _timeout(self) -> TimeoutError:
        waited = min(self.seconds, self.deadline.seconds)
        return TimeoutError(f"{self.where}: no complete answer within {waited:.0f}s")

    def recv(self, size: int) -> bytes:
        left = self._left()
        if left <= 0:
            raise self._timeout()
        try:
            self.channel.settimeout(left)
            data = self.channel.recv(min(size, 65536))
        except TimeoutError:
            raise self._timeout() from None
        except (EOFError, paramiko.SSHException) as exc:  # the connection closed (e.g. at the deadline)
            raise self._closed(exc) from None
        self.received += len(data)
        if self.received > self.max_bytes:
            raise ConnectionError(f"{self.where}: reply larger than {self.max_bytes} bytes")
        return data

    def sendall(self, data: bytes) -> None:
        if self._left() <= 0:
            raise self._timeout()
        try:
            self.channel.settimeout(self._left())
            self.channel.sendall(data)
        except TimeoutError:
            raise self._timeout() from None
        except (EOFError, paramiko.SSHException) as exc:
            raise self._closed(exc) from None

    def _closed(self, exc: BaseException) -> OSError:
        if self.deadline.expired:
            return self._timeout()
        return ConnectionError(f"{self.where}: connection closed ({exc.__class__.__name__})")

    def settimeout(self, timeout: float | None) -> None:
        """Callers may shorten, never lengthen, the wait (PyMySQL sets its own)."""
        if timeout is not None:
            self.until = min(self.until, time.monotonic() + timeout)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_ChannelReader(self))

    def close(self) -> None:
        try:
            self.channel.close()
        except (EOFError, OSError, paramiko.SSHException):  # already gone with its connection
            pass


class _ChannelReader(io.RawIOBase):
    """A file over a NodeChannel (what PyMySQL reads packets from)."""

    def __init__(self, channel: NodeChannel) -> None:
        self.node_channel = channel

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.node_channel.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _DeadlineGuard:
    """Closes a node's connection when its deadline passes, whatever is blocked on it.

    Every read also checks the deadline; this is the backstop for a read that cannot (paramiko's
    banner and key exchange, a thread still waiting on a tunnel): closing the socket and the
    transport wakes them all, so a node never holds its worker past `--timeout`."""

    def __init__(self, deadline: Deadline, sock: object) -> None:
        self.sock = sock
        self.client: paramiko.SSHClient | None = None
        self.fired = False
        self._timer = threading.Timer(max(0.0, deadline.end - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if isinstance(self.sock, socket.socket):
            _shutdown(self.sock)
        elif self.sock is not None:
            try:
                self.sock.close()  # type: ignore[attr-defined]
            except Exception:  # a ProxyCommand that is already gone
                pass
        if self.client is not None:
            self.client.close()

    def cancel(self) -> None:
        self._timer.cancel()


class SshSession:
    """An open SSH connection to one node; use as a context manager."""

    def __init__(
        self,
        client: paramiko.SSHClient,
        deadline: Deadline,
        sock: object = None,
        guard: _DeadlineGuard | None = None,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self._sock = sock
        self._guard = guard
        self.stats = SessionStats(connections=1)
        self._lock = threading.Lock()

    def __enter__(self) -> SshSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def host_key(self) -> str:
        """The node's SSH host key fingerprint (SHA256, as `ssh-keygen -lf` prints it)."""
        transport = self.client.get_transport()
        key = transport.get_remote_server_key() if transport else None
        return key.fingerprint if key is not None else ""

    @property
    def cut_at_deadline(self) -> bool:
        """The node's deadline passed while the connection was open: it was closed then."""
        return bool(self._guard and self._guard.fired)

    @property
    def past_deadline(self) -> bool:
        """The deadline passed, by the clock or by the guard that closed the connection at it (an
        error from a connection closed at the deadline is the deadline's, never "connection dropped")."""
        return self.deadline.expired or self.cut_at_deadline

    def close(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
        self.client.close()
        LIVE_SOCKETS.discard(self._sock)

    @classmethod
    def connect(cls, target: Target, known_hosts: Path, deadline: Deadline) -> SshSession:
        if target.key and not os.path.isfile(target.key):
            raise TargetError(
                "error", t("키 파일이 없습니다: {key}", "Key file not found: {key}", key=target.key)
            )
        try:
            system_keys = KNOWN_HOSTS.get(SYSTEM_KNOWN_HOSTS)
        except (OSError, paramiko.SSHException):
            system_keys = paramiko.HostKeys()  # an unreadable ~/.ssh/known_hosts only means nothing is known
        try:
            own_keys = KNOWN_HOSTS.get(known_hosts)
        except (OSError, paramiko.SSHException) as exc:
            raise TargetError(
                "error",
                t(
                    "grader의 known_hosts 파일을 읽을 수 없습니다: {path} ({exc})",
                    "Cannot read the grader's known_hosts file: {path} ({exc})",
                    path=known_hosts,
                    exc=exc,
                ),
            ) from None
        client = _Client(system_keys, own_keys)
        client.set_missing_host_key_policy(AcceptNewPolicy(known_hosts))
        sock = _open_socket(target, deadline)
        guard = _DeadlineGuard(deadline, sock)
        guard.client = client
        try:
            _handshake(client, target, sock, deadline, known_hosts)
        except BaseException:
            guard.cancel()
            _close(sock)
            raise
        return cls(client, deadline, sock, guard)

    # ---- commands ----------------------------------------------------------------------

    def run(
        self,
        command: str,
        stdin: bytes = b"",
        max_bytes: int = limits.PROBE_OUTPUT_BYTES,
        max_stderr: int = limits.PROBE_STDERR_BYTES,
    ) -> CommandResult:
        """Run one command (stdin fed, then closed); read both streams to the end within the deadline.

        Raises CommandTimeout at the deadline (or when the connection was cut there)."""
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            if self.past_deadline:
                raise CommandTimeout(command)
            raise TargetError("error", t("SSH 연결이 끊어졌습니다", "The SSH connection dropped"))
        with self._lock:
            self.stats.exec_sessions += 1
        try:
            channel = transport.open_session(timeout=self.deadline.remaining())
        except (paramiko.SSHException, EOFError, OSError):
            if self.past_deadline:
                raise CommandTimeout(command) from None
            raise TargetError("error", t("SSH 연결이 끊어졌습니다", "The SSH connection dropped")) from None
        try:
            result = self._exchange(channel, command, stdin, max_bytes, max_stderr)
            if self.cut_at_deadline:  # the streams "ended" because the connection was closed
                raise CommandTimeout(command)
            return result
        except (paramiko.SSHException, EOFError, OSError):
            if self.past_deadline:
                raise CommandTimeout(command) from None
            raise TargetError("error", t("SSH 연결이 끊어졌습니다", "The SSH connection dropped")) from None
        finally:
            channel.close()

    def _exchange(
        self, channel: paramiko.Channel, command: str, stdin: bytes, max_bytes: int, max_stderr: int
    ) -> CommandResult:
        channel.settimeout(0.1)
        channel.exec_command(command)
        if stdin:
            channel.settimeout(self.deadline.remaining())
            channel.sendall(stdin)
            channel.settimeout(0.1)
        channel.shutdown_write()
        out, err = bytearray(), bytearray()
        truncated = False
        out_eof = False
        while True:
            if self.deadline.expired:
                raise CommandTimeout(command)
            progressed = False
            while channel.recv_stderr_ready() and not self.deadline.expired:
                chunk = channel.recv_stderr(65536)
                if len(err) < max_stderr:
                    err += chunk[: max_stderr - len(err)]
                progressed = True
            if not out_eof:
                try:
                    chunk = channel.recv(65536)
                except TimeoutError:
                    chunk = None
                if chunk == b"":
                    out_eof = True
                elif chunk:
                    progressed = True
                    room = max_bytes - len(out)
                    if len(chunk) > room:
                        out += chunk[:room]
                        truncated = True
                        break
                    out += chunk
            if out_eof and channel.exit_status_ready() and not channel.recv_stderr_ready():
                break
            if out_eof and not progressed:
                time.sleep(0.005)
        status = channel.recv_exit_status() if channel.exit_status_ready() else None
        return CommandResult(bytes(out), bytes(err), status, truncated)

    # ---- tunnels ------------------------------------------------------------------------

    def open_tunnel(self, host: str, port: int, timeout: float = TUNNEL_SECONDS) -> NodeChannel:
        """A direct-tcpip channel to host:port as seen from the node (raises OSError on failure).

        `timeout` bounds the whole exchange on it (never past the node's deadline)."""
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionError("SSH connection dropped")
        with self._lock:
            self.stats.tunnels += 1
        where = f"{host}:{port}"
        try:
            channel = transport.open_channel(
                "direct-tcpip",
                (host, port),
                ("127.0.0.1", 0),
                timeout=min(timeout, self.deadline.remaining()),
            )
        except paramiko.ChannelException as exc:
            if exc.code == 1:
                raise PermissionError(
                    "SSH port forwarding is disabled on the node (AllowTcpForwarding)"
                ) from None
            reason = (exc.text or "connection failed")[: limits.EVIDENCE_CHARS]
            raise ConnectionRefusedError(f"{where}: {reason}") from None
        except (paramiko.SSHException, EOFError) as exc:
            if self.deadline.expired:
                raise TimeoutError(f"{where}: no answer before the node's deadline") from None
            raise TimeoutError(f"{where}: {exc}") from None
        return NodeChannel(channel, self.deadline, timeout, where)


def _timeout(where: str, deadline: Deadline) -> TargetError:
    return TargetError(
        "timeout",
        t(
            "{where}: {sec:.0f}초 안에 응답이 없습니다",
            "{where}: no answer within {sec:.0f}s",
            where=where,
            sec=deadline.seconds,
        ),
    )


def _open_socket(target: Target, deadline: Deadline) -> socket.socket | paramiko.ProxyCommand:
    where = f"{target.hostname}:{target.port}"
    if target.proxy_command:
        return paramiko.ProxyCommand(target.proxy_command)
    try:
        sock = socket.create_connection((target.hostname, target.port), timeout=deadline.remaining())
        # Small SSH packets (channel requests, tunnel data) must not wait for delayed ACKs (~40 ms each).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        LIVE_SOCKETS.add(sock)
        return sock
    except socket.gaierror:
        raise TargetError(
            "unreachable",
            t(
                "호스트 이름을 찾을 수 없습니다: {host}",
                "Unknown host name: {host}",
                host=target.hostname,
            ),
        ) from None
    except ConnectionRefusedError:
        raise TargetError(
            "unreachable",
            t(
                "{where}: 연결이 거부되었습니다. 인스턴스가 켜져 있는지, 보안 그룹에서 SSH 포트가 열려 있는지 확인하세요.",
                "{where}: connection refused. Is the instance running and the SSH port open in its security group?",
                where=where,
            ),
        ) from None
    except TimeoutError:
        raise TargetError(
            "unreachable",
            t(
                "{where}: {sec:.0f}초 안에 연결되지 않았습니다 (보안 그룹, 퍼블릭 IP, 인스턴스 상태를 확인하세요)",
                "{where}: no TCP connection within {sec:.0f}s (check security group, public IP, instance state)",
                where=where,
                sec=deadline.seconds,
            ),
        ) from None
    except OSError as exc:
        raise TargetError(
            "unreachable",
            t("{where}: 연결할 수 없습니다 ({exc})", "{where}: cannot connect ({exc})", where=where, exc=exc),
        ) from None


def _handshake(
    client: paramiko.SSHClient, target: Target, sock: object, deadline: Deadline, known_hosts: Path
) -> None:
    """paramiko's connect and authentication; its failures become TargetErrors (the caller closes)."""
    where = f"{target.hostname}:{target.port}"
    try:
        client.connect(
            target.hostname,
            port=target.port,
            username=target.user,
            key_filename=target.key,
            sock=sock,
            timeout=deadline.remaining(),
            banner_timeout=deadline.remaining(),
            auth_timeout=deadline.remaining(),
            channel_timeout=deadline.remaining(),
            allow_agent=True,
            look_for_keys=target.key is None,
            transport_factory=_Transport,
        )
    except paramiko.BadHostKeyException as exc:
        raise TargetError(
            "host_key_mismatch",
            t(
                "{where}의 호스트 키가 지난번과 다릅니다 (받은 키 {got}). 중간자 공격일 수 있어 접속하지 "
                "않았습니다. 노드를 새로 만들었다면 {path}에서 그 줄을 지우세요.",
                "The host key of {where} changed since last time (got {got}). Refusing to connect "
                "(possible attack). If the node was rebuilt, remove its line from {path}.",
                where=where,
                got=exc.key.get_fingerprint().hex(":")[:23] + "…",
                path=known_hosts,
            ),
        ) from None
    except paramiko.AuthenticationException:
        raise TargetError(
            "auth_failed",
            t(
                "{user}@{where}: SSH 인증 실패 (키 {key}). 사용자 이름과 키 페어를 확인하세요.",
                "{user}@{where}: SSH authentication failed (key {key}). Check the user name and key pair.",
                user=target.user,
                where=where,
                key=target.key or "ssh-agent/기본 키",
            ),
        ) from None
    except TimeoutError:
        raise _timeout(where, deadline) from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        text = str(exc)
        if "No authentication methods" in text:  # no key given and none in ssh-agent/~/.ssh
            raise TargetError(
                "auth_failed",
                t(
                    "{user}@{where}: 쓸 SSH 키가 없습니다. --key로 EC2 키 페어의 .pem 파일을 알려 주세요.",
                    "{user}@{where}: no SSH key to use. Give the EC2 key pair's .pem file with --key.",
                    user=target.user,
                    where=where,
                ),
            ) from None
        transport = client.get_transport()
        spoke_ssh = bool(transport and transport.remote_version)
        if deadline.expired and not spoke_ssh:
            raise TargetError(
                "timeout",
                t(
                    "{where}: TCP 연결은 되지만 {sec:.0f}초 동안 SSH 응답이 없습니다. SSH 서버가 맞는지 확인하세요.",
                    "{where}: TCP connects but no SSH banner within {sec:.0f}s. Is this an SSH server?",
                    where=where,
                    sec=deadline.seconds,
                ),
            ) from None
        if deadline.expired:
            raise _timeout(where, deadline) from None
        if "banner" in text.lower():
            raise TargetError(
                "error",
                t(
                    "{where}: SSH 서버가 아닙니다 (프로토콜 배너 없음)",
                    "{where}: not an SSH server (no protocol banner)",
                    where=where,
                ),
            ) from None
        raise TargetError(
            "error",
            t(
                "{where}: SSH 연결 오류: {exc}",
                "{where}: SSH connection error: {exc}",
                where=where,
                exc=text or exc.__class__.__name__,
            ),
        ) from None
    except ValueError as exc:  # e.g. a key file paramiko cannot parse
        raise TargetError(
            "error", t("키 파일을 읽을 수 없습니다: {exc}", "Cannot use the key file: {exc}", exc=exc)
        ) from None
