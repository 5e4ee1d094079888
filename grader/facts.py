"""Facts about one node: plain, serialisable data the checks judge. Never holds a secret.

Recorded facts (`grade --save-facts`) are JSON files of this shape; unit tests and
`grade --from-facts` judge them without a node.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.redact import redact_tree

SCHEMA = 1


@dataclass
class Proc:
    pid: int
    ppid: int
    uid: int | None
    user: str | None
    state: str  # R S D Z T ...
    elapsed: float  # seconds since start
    title: str  # argv joined (what ps shows), or comm for kernel threads
    argv: list[str] = field(default_factory=list)
    exe: str | None = None  # the program really running (/proc/PID/exe), when readable

    @property
    def zombie(self) -> bool:
        return self.state.startswith(("Z", "X"))


@dataclass
class Socket:
    state: str  # listen | established
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    inode: int
    uid: int | None = None  # the socket's owner (the process's user that opened it)


@dataclass
class ProcDetail:
    pid: int
    environ_blank: bool  # retitled (setproctitle): the environment can no longer be read
    env_names: list[str] = field(default_factory=list)  # AIRFLOW_* names found
    airflow_home: str | None = None
    airflow_config: str | None = None
    cwd: str | None = None
    site_packages: str | None = None
    socket_inodes: list[int] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass
class Option:
    value: str | None  # redacted
    origin: str  # env:NAME | file:[section] key (line N) | default | derived
    line: int | None = None
    error: str | None = None  # why Airflow cannot read it (an exception's class name, never the value)


@dataclass
class ConfigProblem:
    kind: str  # duplicate-option | duplicate-section | no-section-header | syntax
    line: int | None
    where: str


@dataclass
class AirflowFacts:
    version: str | None = None
    installs: list[str] = field(default_factory=list)
    fab_provider: str | None = None
    home: str | None = None
    home_source: str = ""  # env:PID | profile:PATH:LINE | default:USER
    config_path: str | None = None
    config_state: str = "none"  # ok | missing | unreadable | not-regular | timeout | error | parse-error
    config_problem: ConfigProblem | None = None
    config_mtime: float | None = None
    options: dict[str, Option] = field(default_factory=dict)  # "core.executor" -> Option
    env_overrides: list[str] = field(default_factory=list)
    env_readable: bool = False  # some Airflow process (or its parent shell) showed its environment
    singular_auth_backend_ignored: bool = False
    history: list[str] = field(default_factory=list)  # "airflow webserver", "airflow db init", ...

    @property
    def major(self) -> int:
        try:
            return int((self.version or "2").split(".")[0])
        except ValueError:
            return 2

    def option(self, dotted: str) -> Option | None:
        return self.options.get(dotted)


@dataclass
class RedisFacts:
    host: str
    port: int
    source: str  # broker_url | process (the port redis-server's title shows)
    reachable: bool = False
    reply: str | None = None
    version: str | None = None
    error: str | None = None
    auth_used: bool = False
    # INFO server's own view of itself: ties the reply to a redis-server process on the node.
    process_id: int | None = None
    tcp_port: int | None = None
    uptime: int | None = None
    # Our connection, opened before the probe ran: the node's socket table must show it.
    opened_before_probe: bool = False
    client_port: int | None = None  # its port as Redis saw it (CLIENT INFO)


@dataclass
class ChampionFacts:
    exists: bool
    active: bool | None = None
    roles: list[str] = field(default_factory=list)
    password_hash_method: str | None = None
    password_matches: bool | None = None
    hash_refused: str | None = None  # a stored hash asking for more work than werkzeug ever writes


@dataclass
class MysqlFacts:
    host: str
    port: int
    source: str  # sql_alchemy_conn | default
    server_version: str | None = None
    greeting_error: str | None = None
    login_user: str | None = None
    database: str | None = None
    login_error: str | None = None
    tables_present: bool | None = None
    scheduler_state: str | None = None
    scheduler_heartbeat_age: float | None = None
    champion: ChampionFacts | None = None
    query_error: str | None = None
    # The server's own view of itself (after a login): ties it to a mysqld process on the node.
    server_hostname: str | None = None
    server_port: int | None = None
    server_uptime: float | None = None
    opened_before_probe: bool = False  # our connection existed while the probe read the socket table
    client_port: int | None = None  # its port as MySQL saw it (PROCESSLIST)

    @property
    def is_mariadb(self) -> bool:
        return "mariadb" in (self.server_version or "").lower()


@dataclass
class WebFacts:
    port: int
    base_path: str = ""
    health_path: str = "/health"
    health_status: int | None = None
    health: dict[str, Any] | None = None
    error: str | None = None
    timed_out_after: float | None = None  # seconds, when the health request got no answer
    login_method: str | None = None  # api-basic | form | jwt
    login_status: int | None = None
    login_result: str | None = None  # ok | denied | rate_limited | error | skipped
    login_roles: list[str] | None = None
    login_error: str | None = None


@dataclass
class HostFacts:
    user: str
    uid: int
    home: str
    hostname: str
    kernel: str
    os_id: str = ""
    os_version: str = ""
    os_name: str = ""
    nproc: int | None = None
    memtotal_kb: int | None = None
    python: str = ""
    nested_processes: int = 0  # in containers / nested PID namespaces: not the node's own services


@dataclass
class Facts:
    host: HostFacts
    collected_at: str
    processes: list[Proc] = field(default_factory=list)
    sockets: list[Socket] = field(default_factory=list)
    details: list[ProcDetail] = field(default_factory=list)
    airflow: AirflowFacts = field(default_factory=AirflowFacts)
    redis: RedisFacts | None = None  # the node's own Redis (127.0.0.1)
    broker: RedisFacts | None = None  # the Redis that broker_url names (often the same)
    mysql: MysqlFacts | None = None
    web: WebFacts | None = None
    problems: list[str] = field(default_factory=list)
    early_refused: list[int] = field(default_factory=list)  # 127.0.0.1 ports closed just before the probe
    early_refused6: list[int] = field(default_factory=list)  # the same on ::1
    schema: int = SCHEMA

    def listening(self, port: int) -> list[Socket]:
        return [s for s in self.sockets if s.state == "listen" and s.local_port == port]

    def connections(self, client_port: int, server_port: int) -> list[Socket]:
        """The socket table's rows (either end) of a TCP connection between these two local ports."""
        ends = {(client_port, server_port), (server_port, client_port)}
        return [s for s in self.sockets if s.state == "established" and (s.local_port, s.remote_port) in ends]

    def has_connection(self, client_port: int, server_port: int) -> bool:
        return bool(self.connections(client_port, server_port))

    def detail(self, pid: int) -> ProcDetail | None:
        return next((d for d in self.details if d.pid == pid), None)

    def connected_to(self, pid: int, port: int) -> bool:
        """Whether process `pid` holds an established TCP connection to remote `port`."""
        detail = self.detail(pid)
        if not detail:
            return False
        inodes = set(detail.socket_inodes)
        return any(
            s.state == "established" and s.remote_port == port and s.inode in inodes for s in self.sockets
        )

    # ---- JSON ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facts:
        return _from_dict(cls, data)

    def save(self, path: Path, secrets: Iterable[str] = ()) -> None:
        """Write the facts as JSON after one last pass over every string (patterns and the known
        `secrets`, raw and percent-encoded): no secret reaches the file, even one a node put where
        no pattern looks (an error reply, a health body)."""
        from grader.display import json_text  # no raw control or bidi character in the file either

        clean = redact_tree(copy.deepcopy(self), secrets)
        path.write_text(json_text(clean.to_json(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Facts:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _from_dict(tp: Any, value: Any) -> Any:
    """Rebuild dataclasses (and their lists, dicts, optionals) from plain JSON data."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_dict(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp) if f.init}
        return tp(**{k: _from_dict(hints[k], v) for k, v in value.items() if k in names})
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_from_dict(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {k: _from_dict(item, v) for k, v in value.items()}
    return value
