"""Whether a service's protocol reply comes from the node's own process.

A reply through a tunnel only proves that *something* answered on that port as seen from the
node: a canned listener, or a port forward to a classmate's working node, answers too. A reply
is tied when the node's own socket table shows a socket listening on the port, owned by the
process the grader identified (its user, its open sockets), and when the protocol's own view of
the server (Redis INFO `process_id`/`uptime_in_seconds`/`tcp_port`, MySQL `@@port` and
`Uptime`) matches that process. The node's root can forge all of this; the aim is that forging
costs more than doing the 과제, and that a forwarded or canned service is caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from grader import limits
from grader.facts import Facts, Proc
from grader.i18n import Text, t

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
# Listening addresses a connection to 127.0.0.1 reaches.
LOOPBACK_REACHABLE = ("127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1")
LOOPBACK6_REACHABLE = ("::1", "::")  # ... and to ::1


class Tie(Enum):
    TIED = "tied"
    UNKNOWN = "unknown"  # could not be tied (the reason is the evidence): a warning, never a silent pass
    CONTRADICTED = "contradicted"  # the node's own data says the reply is not from its process


@dataclass
class TieResult:
    tie: Tie
    evidence: Text


def _socket_owner(facts: Facts, port: int, procs: list[Proc], what: str) -> TieResult | None:
    """The node listens on `port` with a socket of one of `procs` (by open socket, else by user).

    None when that is so; otherwise why not."""
    if not facts.sockets:
        return TieResult(
            Tie.UNKNOWN,
            t(
                "노드의 소켓 표를 읽지 못해 응답이 {what} 프로세스의 것인지 확인하지 못했습니다",
                "The node's socket table could not be read, so the reply was not tied to {what}",
                what=what,
            ),
        )
    sockets = facts.listening(port)
    if not sockets:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "노드의 소켓 표에 :{port}에서 기다리는(LISTEN) 소켓이 없습니다. 응답은 이 노드의 {what}가 아닌 "
                "다른 곳(포트 포워딩 등)에서 왔습니다",
                "Nothing listens on :{port} in the node's own socket table: the reply came from "
                "somewhere else (a port forward?), not from this node's {what}",
                port=port,
                what=what,
            ),
        )
    # Sets, built once: a node may list 5,000 service processes and 20,000 listening rows.
    open_sockets = {d.pid: set(d.socket_inodes) for d in facts.details}
    readable = [p for p in procs if open_sockets.get(p.pid)]
    held_by_service = set().union(*(open_sockets[p.pid] for p in readable))
    if any(s.inode in held_by_service for s in sockets):
        return None
    if readable:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                ":{port}에서 기다리는 소켓이 {what} 프로세스(pid {pids})의 것이 아닙니다",
                "The socket listening on :{port} is not held by the {what} process (pid {pids})",
                port=port,
                what=what,
                pids=", ".join(str(p.pid) for p in readable[:5]),
            ),
        )
    owners = {s.uid for s in sockets if s.uid is not None}
    users = {p.uid for p in procs if p.uid is not None}
    if not owners or not users:
        return TieResult(
            Tie.UNKNOWN,
            t(
                ":{port} 소켓의 주인을 알 수 없어 {what} 프로세스와 연결하지 못했습니다",
                "The owner of the socket on :{port} is unknown, so it was not tied to {what}",
                port=port,
                what=what,
            ),
        )
    if owners & users:
        return None
    return TieResult(
        Tie.CONTRADICTED,
        t(
            ":{port}에서 기다리는 소켓의 주인(uid {owner})이 {what} 프로세스의 사용자(uid {users})가 아닙니다",
            "The socket listening on :{port} belongs to uid {owner}, not to the {what} process's user (uid {users})",
            port=port,
            what=what,
            owner=", ".join(str(o) for o in sorted(owners)),
            users=", ".join(str(u) for u in sorted(users)),
        ),
    )


def _is_local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")


def _uptime_matches(uptime: float, procs: list[Proc]) -> bool:
    return any(abs(p.elapsed - uptime) <= limits.UPTIME_SLACK_SECONDS for p in procs)


def _live(
    facts: Facts, opened_early: bool, client_port: int | None, port: int, what: str
) -> TieResult | None:
    """The grader's own connection, opened before the probe ran, must be in the probe's socket table
    (and held by no Airflow process the probe read: it is sshd's, not the worker's).

    None when it is (or when it cannot be asked); otherwise why the probe is not this node's now."""
    if not opened_early or client_port is None:
        return None
    held = {inode for d in facts.details for inode in d.socket_inodes}
    rows = facts.connections(client_port, port)
    if rows and not any(s.inode in held for s in rows):  # an Airflow process's connection is not ours
        return None
    return TieResult(
        Tie.CONTRADICTED,
        t(
            "{what}는 채점기의 연결을 :{client} → :{port}로 보았지만, 그 시각 노드의 소켓 표에는 그 연결이 "
            "없습니다. 노드 점검 결과나 {what} 응답이 이 노드의 지금 상태가 아닙니다 (기록해 둔 응답, 다른 곳으로 넘긴 포트)",
            "{what} saw the grader's connection as :{client} → :{port}, but the node's socket table at that "
            "moment has no such connection: the probe or the {what} reply is not this node's present state "
            "(a recorded answer, a forwarded port)",
            what=what,
            client=client_port,
            port=port,
        ),
    )


def _on_this_node(
    facts: Facts, host: str, port: int, procs: list[Proc], service: str, program: str
) -> TieResult | None:
    """A service reached on the node's loopback, listening with a socket of the process found."""
    if not _is_local(host):
        return TieResult(
            Tie.UNKNOWN,
            t("{host}는 이 노드 밖의 {s}입니다", "{host} is a {s} outside this node", host=host, s=service),
        )
    return _socket_owner(facts, port, procs, program)


def _own_view(
    facts: Facts, what: str, own_port: int | None, port: int, opened_early: bool, client_port: int | None
) -> TieResult | None:
    """The server's own view of itself: the port it says it serves, and the grader's connection
    it says it sees (which the probe's socket table must hold)."""
    if own_port is not None and own_port != port:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 {what}는 자기 포트가 {own}라고 합니다 (접속한 포트 {port})",
                "The answering {what} says its port is {own} (connected to {port})",
                what=what,
                own=own_port,
                port=port,
            ),
        )
    return _live(facts, opened_early, client_port, port, what)


def _version_at_least(version: str | None, wanted: tuple[int, int]) -> bool:
    numbers = [int(n) for n in (version or "").split(".")[:2] if n.isdigit()]
    return len(numbers) == 2 and tuple(numbers) >= wanted


def probe_not_live(facts: Facts) -> TieResult | None:
    """Whether the probe's picture of the node is contradicted by the grader's own live connections.

    A recorded or made-up probe answer, replayed by a scripted node, fails here: every check that
    rests on the probe is then void (checks.judge fails them all with this evidence)."""
    if not facts.sockets:  # a live node's table holds at least the grader's own SSH connection
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "노드 점검 결과의 소켓 표가 비어 있습니다. 살아 있는 노드라면 적어도 채점기의 SSH 연결이 있어야 합니다",
                "The probe's socket table is empty; a live node's holds at least the grader's own SSH connection",
            ),
        )
    closed = [("127.0.0.1", port, LOOPBACK_REACHABLE) for port in facts.early_refused]
    closed += [("::1", port, LOOPBACK6_REACHABLE) for port in facts.early_refused6]
    for host, port, reachable in closed:
        if any(s.local_ip in reachable for s in facts.listening(port)):
            return TieResult(
                Tie.CONTRADICTED,
                t(
                    "점검 직전에 채점기가 {host}:{port}에 연결하려 했을 때는 닫혀 있었는데, 노드 점검 결과는 그 포트가 "
                    "열려(LISTEN) 있다고 합니다. 점검 결과가 이 노드의 지금 상태가 아닙니다",
                    "Just before the probe, {host}:{port} refused the grader's connection, yet the probe says "
                    "it is listening: the probe is not this node's present state",
                    host=f"[{host}]" if ":" in host else host,
                    port=port,
                ),
            )
    redis, mysql = facts.redis, facts.mysql
    if redis and redis.reachable:
        live = _live(facts, redis.opened_before_probe, redis.client_port, redis.port, "Redis")
        if live is not None:
            return live
    if mysql and mysql.server_version and mysql.login_error is None and mysql.query_error is None:
        live = _live(facts, mysql.opened_before_probe, mysql.client_port, mysql.port, "MySQL")
        if live is not None:
            return live
    return None


def redis_tie(facts: Facts, procs: list[Proc]) -> TieResult:
    """The node's Redis answered PONG: is it the redis-server process the grader found?"""
    redis = facts.redis
    assert redis is not None
    where = _on_this_node(facts, redis.host, redis.port, procs, "Redis", "redis-server")
    if where is not None:
        return where
    if redis.process_id is None:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "INFO server에 process_id가 없습니다. 실제 Redis는 항상 알려 주는 값입니다",
                "INFO server has no process_id, which a real Redis always reports",
            ),
        )
    same = [p for p in procs if p.pid == redis.process_id]
    if not same:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 Redis의 process_id {pid}는 이 노드의 redis-server 프로세스(pid {pids})가 아닙니다",
                "The answering Redis says process_id {pid}, not this node's redis-server (pid {pids})",
                pid=redis.process_id,
                pids=", ".join(str(p.pid) for p in procs[:5]),
            ),
        )
    own_view = _own_view(
        facts, "Redis", redis.tcp_port, redis.port, redis.opened_before_probe, redis.client_port
    )
    if own_view is not None:
        return own_view
    if redis.uptime is not None and not _uptime_matches(redis.uptime, same):
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 Redis의 가동 시간 {up}초가 pid {pid} 프로세스의 실행 시간 {age:.0f}초와 다릅니다",
                "The answering Redis has been up {up}s, but pid {pid} has run {age:.0f}s",
                up=redis.uptime,
                pid=same[0].pid,
                age=same[0].elapsed,
            ),
        )
    if redis.client_port is None and _version_at_least(redis.version, (6, 2)):
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "Redis {v}라면 CLIENT INFO에 답해야 하는데 답하지 않았습니다",
                "A Redis {v} answers CLIENT INFO, this one did not",
                v=redis.version,
            ),
        )
    if redis.client_port is None:
        return TieResult(
            Tie.UNKNOWN,
            t(
                "Redis가 CLIENT INFO에 답하지 않아(6.2 미만?) 채점기의 연결을 노드의 소켓 표와 맞춰 보지 못했습니다",
                "Redis did not answer CLIENT INFO (older than 6.2?), so the grader's connection was not matched "
                "with the node's socket table",
            ),
        )
    if not redis.opened_before_probe:
        return _not_early("Redis", redis.port)
    return TieResult(
        Tie.TIED,
        t(
            "응답은 이 노드의 redis-server(pid {pid})가 :{port}에서 보낸 것입니다 (소켓 표, 채점기의 연결, INFO process_id·가동 시간)",
            "The reply is from this node's redis-server (pid {pid}) on :{port} (socket table, the grader's connection, INFO process_id and uptime)",
            pid=same[0].pid,
            port=redis.port,
        ),
    )


def _not_early(what: str, port: int) -> TieResult:
    """A service on a port the grader could not connect to before the probe ran (not the course's
    port, or closed then): its reply and the probe were not matched with each other."""
    return TieResult(
        Tie.UNKNOWN,
        t(
            ":{port}는 과정 설정의 포트가 아니어서 점검 전에 채점기의 연결을 열어 두지 못했습니다. {what} 응답을 노드의 "
            "프로세스와는 맞춰 보았지만, 점검 결과가 지금 이 노드의 것인지는 확인하지 못했습니다",
            ":{port} is not the course's port, so no grader connection was open before the probe: the {what} "
            "reply was matched with the node's process, but not the probe with the live node",
            port=port,
            what=what,
        ),
    )


def mysql_tie(facts: Facts, procs: list[Proc]) -> TieResult:
    """The node's MySQL answered: is it the mysqld/mariadbd process the grader found?"""
    mysql = facts.mysql
    assert mysql is not None
    where = _on_this_node(facts, mysql.host, mysql.port, procs, "MySQL", "mysqld")
    if where is not None:
        return where
    own_view = _own_view(
        facts, "MySQL", mysql.server_port, mysql.port, mysql.opened_before_probe, mysql.client_port
    )
    if own_view is not None:
        return own_view
    answered = mysql.login_error is None and mysql.query_error is None and mysql.tables_present is not None
    if answered and (mysql.server_port is None or (mysql.opened_before_probe and mysql.client_port is None)):
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "로그인한 MySQL이 자기 포트(@@port)나 채점기의 연결(PROCESSLIST)을 알려 주지 않습니다. 실제 MySQL은 항상 답합니다",
                "The MySQL server the grader logged in to does not tell its own port (@@port) or list the "
                "grader's connection (PROCESSLIST), which a real MySQL always does",
            ),
        )
    if mysql.server_uptime is not None and not _uptime_matches(mysql.server_uptime, procs):
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 MySQL의 가동 시간(Uptime) {up:.0f}초가 이 노드의 mysqld 프로세스 실행 시간과 다릅니다",
                "The answering MySQL has been up {up:.0f}s, unlike this node's mysqld process",
                up=mysql.server_uptime,
            ),
        )
    if answered and not mysql.opened_before_probe:
        return _not_early("MySQL", mysql.port)
    how = (
        t("소켓 표, 채점기의 연결, @@port·Uptime", "socket table, the grader's connection, @@port and Uptime")
        if answered
        else t("소켓 표", "socket table")
    )
    return TieResult(
        Tie.TIED,
        t(
            "응답은 이 노드의 {name}(pid {pid})가 :{port}에서 보낸 것입니다 ({how})",
            "The reply is from this node's {name} (pid {pid}) on :{port} ({how_en})",
            name=procs[0].title.split(" ", 1)[0].rsplit("/", 1)[-1],
            pid=procs[0].pid,
            port=mysql.port,
            how=how.ko,
            how_en=how.en,
        ),
    )


def web_tie(facts: Facts, procs: list[Proc], name: str) -> TieResult:
    """The webserver (3.x: api-server) answered health: from the process the grader found?"""
    web = facts.web
    assert web is not None
    socket_problem = _socket_owner(facts, web.port, procs, f"airflow {name}")
    if socket_problem is not None:
        return socket_problem
    return TieResult(
        Tie.TIED,
        t(
            "응답은 이 노드의 airflow {name} 프로세스가 :{port}에서 보낸 것입니다 (소켓 표)",
            "The reply is from this node's airflow {name} process on :{port} (socket table)",
            name=name,
            port=web.port,
        ),
    )
