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
from grader.facts import Facts, Proc, Socket
from grader.i18n import Text, t

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


class Tie(Enum):
    TIED = "tied"
    UNKNOWN = "unknown"  # could not be tied (the reason is the evidence): a warning, never a silent pass
    CONTRADICTED = "contradicted"  # the node's own data says the reply is not from its process


@dataclass
class TieResult:
    tie: Tie
    evidence: Text


def _listening(facts: Facts, port: int) -> list[Socket]:
    return facts.listening(port)


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
    sockets = _listening(facts, port)
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
    held = {s.inode for s in sockets if any(facts.holds_socket(p.pid, s.inode) for p in procs)}
    if held:
        return None
    readable = [p for p in procs if facts.detail(p.pid) and facts.detail(p.pid).socket_inodes]  # type: ignore[union-attr]
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


def redis_tie(facts: Facts, procs: list[Proc]) -> TieResult:
    """The node's Redis answered PONG: is it the redis-server process the grader found?"""
    redis = facts.redis
    assert redis is not None
    if not _is_local(redis.host):
        return TieResult(
            Tie.UNKNOWN,
            t("{host}는 이 노드 밖의 Redis입니다", "{host} is a Redis outside this node", host=redis.host),
        )
    socket_problem = _socket_owner(facts, redis.port, procs, "redis-server")
    if socket_problem is not None:
        return socket_problem
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
    if redis.tcp_port is not None and redis.tcp_port != redis.port:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 Redis는 자기 포트가 {own}라고 합니다 (접속한 포트 {port})",
                "The answering Redis says its port is {own} (connected to {port})",
                own=redis.tcp_port,
                port=redis.port,
            ),
        )
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
    return TieResult(
        Tie.TIED,
        t(
            "응답은 이 노드의 redis-server(pid {pid})가 :{port}에서 보낸 것입니다 (소켓 표, INFO process_id·가동 시간)",
            "The reply is from this node's redis-server (pid {pid}) on :{port} (socket table, INFO process_id and uptime)",
            pid=same[0].pid,
            port=redis.port,
        ),
    )


def mysql_tie(facts: Facts, procs: list[Proc]) -> TieResult:
    """The node's MySQL answered: is it the mysqld/mariadbd process the grader found?"""
    mysql = facts.mysql
    assert mysql is not None
    if not _is_local(mysql.host):
        return TieResult(
            Tie.UNKNOWN,
            t("{host}는 이 노드 밖의 MySQL입니다", "{host} is a MySQL outside this node", host=mysql.host),
        )
    socket_problem = _socket_owner(facts, mysql.port, procs, "mysqld")
    if socket_problem is not None:
        return socket_problem
    if mysql.server_port is not None and mysql.server_port != mysql.port:
        return TieResult(
            Tie.CONTRADICTED,
            t(
                "응답한 MySQL은 자기 포트(@@port)가 {own}라고 합니다 (접속한 포트 {port})",
                "The answering MySQL says its port (@@port) is {own} (connected to {port})",
                own=mysql.server_port,
                port=mysql.port,
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
    how = (
        t("소켓 표, @@port·Uptime", "socket table, @@port and Uptime")
        if mysql.server_uptime is not None
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
