"""Evidence tied to the node's own processes, on facts recorded from the real practice node:
the real node's replies are tied (full marks), and each way a forged or forwarded service shows
itself in the node's own data costs that check its points."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import checks
from checks.model import Status, Verdict
from checks.ties import Tie, mysql_tie, redis_tie, web_tie
from grader.facts import Facts
from grader.settings import CourseSettings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "practice-2.11.2-pass.json"
SETTINGS = CourseSettings()


@pytest.fixture(scope="module")
def recorded() -> Facts:
    return Facts.load(FIXTURE)


@pytest.fixture
def facts(recorded: Facts) -> Facts:
    return copy.deepcopy(recorded)


def verdict(facts: Facts, check_id: str) -> Verdict:
    return next(v for v in checks.judge(facts, SETTINGS) if v.id == check_id)


def procs(facts: Facts, name: str) -> list:
    from checks import processes as P

    test = {"redis": P.is_redis_server, "mysql": P.is_mysql_server, "web": P.is_webserver}[name]
    return P.find(facts, test)


def evidence(v: Verdict) -> str:
    return " | ".join(e.ko for e in v.evidence)


def test_the_recorded_real_node_is_tied_everywhere(facts: Facts) -> None:
    assert redis_tie(facts, procs(facts, "redis")).tie is Tie.TIED
    assert mysql_tie(facts, procs(facts, "mysql")).tie is Tie.TIED
    assert web_tie(facts, procs(facts, "web"), "webserver").tie is Tie.TIED
    statuses = {v.id: v.status for v in checks.judge(facts, SETTINGS)}
    assert statuses["redis.running"] is Status.PASS
    assert statuses["airflow.webserver"] is Status.PASS
    assert statuses["mysql.running"] is Status.WARN  # MariaDB, the practice node's known note
    assert "mysqld" in evidence(verdict(facts, "mysql.running")) or "mariadbd" in evidence(
        verdict(facts, "mysql.running")
    )


def _drop_listener(facts: Facts, port: int) -> None:
    facts.sockets = [s for s in facts.sockets if not (s.state == "listen" and s.local_port == port)]


@pytest.mark.parametrize(
    ("check_id", "port"), [("redis.running", 6379), ("mysql.running", 3306), ("airflow.webserver", 8080)]
)
def test_a_reply_with_nothing_listening_on_the_node_is_a_forward(
    facts: Facts, check_id: str, port: int
) -> None:
    _drop_listener(facts, port)
    v = verdict(facts, check_id)
    assert v.status is Status.FAIL and v.points == 0
    assert "소켓 표" in evidence(v)
    assert v.hint and v.hint.id.endswith("-not-own")


def test_redis_process_id_of_another_machine(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.process_id = 999_999
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL and "process_id 999999" in evidence(v)


def test_redis_without_process_id_is_not_redis(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.process_id = None
    assert verdict(facts, "redis.running").status is Status.FAIL


def test_redis_uptime_of_another_process(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.uptime = (facts.redis.uptime or 0) + 86_400
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL and "가동 시간" in evidence(v)


def test_redis_error_reply_is_not_a_running_redis(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.reachable, facts.redis.reply = False, "-ERR I am not Redis"
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL and "-ERR I am not Redis" in evidence(v)


def test_socket_owned_by_another_user(facts: Facts) -> None:
    listener = next(s for s in facts.sockets if s.state == "listen" and s.local_port == 6379)
    listener.uid = 1001  # ec2-user's forwarder, not the redis user
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL and "uid 1001" in evidence(v)


def test_renamed_process_is_no_redis(facts: Facts) -> None:
    redis = procs(facts, "redis")[0]
    redis.exe = "/usr/bin/sleep"
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL
    assert "/usr/bin/sleep" in evidence(v)


def test_renamed_scheduler_is_no_scheduler(facts: Facts) -> None:
    from checks import processes as P

    for proc in P.find(facts, P.is_scheduler):
        proc.exe = "/usr/bin/sleep"
    assert verdict(facts, "airflow.scheduler").status is Status.FAIL


def test_mysql_uptime_of_another_server(facts: Facts) -> None:
    assert facts.mysql is not None
    facts.mysql.server_uptime = 5.0
    v = verdict(facts, "mysql.running")
    assert v.status is Status.FAIL and "Uptime" in evidence(v)


def test_mysql_port_of_another_server(facts: Facts) -> None:
    assert facts.mysql is not None
    facts.mysql.server_port = 3307
    assert verdict(facts, "mysql.running").status is Status.FAIL


def test_health_with_an_unhealthy_metadatabase_is_never_a_silent_pass(facts: Facts) -> None:
    """The real webserver of a node whose MySQL is down: noted, counted once (under the DB checks)."""
    assert facts.web is not None and facts.web.health is not None
    facts.web.health["metadatabase"] = {"status": "unhealthy"}
    v = verdict(facts, "airflow.webserver")
    assert v.status is Status.WARN and "unhealthy" in evidence(v)
    _drop_listener(facts, 8080)  # and from anything but the node's own webserver, it fails
    assert verdict(facts, "airflow.webserver").status is Status.FAIL


def test_web_socket_not_held_by_the_webserver(facts: Facts) -> None:
    listener = next(s for s in facts.sockets if s.state == "listen" and s.local_port == 8080)
    listener.inode = 1  # some other process of the same user holds the port
    v = verdict(facts, "airflow.webserver")
    assert v.status is Status.FAIL and "airflow webserver" in evidence(v)


def test_an_empty_socket_table_voids_every_check(facts: Facts) -> None:
    """A live node's table holds at least the grader's own SSH connection."""
    facts.sockets = []
    counted = [v for v in checks.judge(facts, SETTINGS) if v.status is not Status.NOT_APPLICABLE]
    assert all(v.status is Status.FAIL and v.hint and v.hint.id == "probe-not-live" for v in counted)
    assert "소켓 표가 비어 있습니다" in evidence(counted[0])


def test_a_port_closed_before_the_probe_but_listening_in_it(facts: Facts) -> None:
    """A node that opens its fake listeners only once the probe has run (or replays a probe)."""
    facts.early_refused = [6379]
    assert verdict(facts, "config.executor").status is Status.FAIL
    facts.early_refused = [6390]  # closed, and the probe agrees: nothing to say
    assert verdict(facts, "config.executor").status is Status.PASS


def test_a_padded_socket_table_does_not_skip_the_live_check(facts: Facts) -> None:
    from grader.facts import Socket
    from grader.limits import SOCKETS

    assert facts.redis is not None and facts.redis.client_port is not None
    facts.redis.client_port += 1
    facts.sockets += [Socket("established", "10.0.0.1", 1, "10.0.0.2", 2, 9) for _ in range(SOCKETS)]
    assert verdict(facts, "config.executor").status is Status.FAIL


# ---- the grader's own connections, opened before the probe ran ---------------------------------


def test_the_recorded_probe_saw_the_graders_own_connections(facts: Facts) -> None:
    from checks.ties import probe_not_live

    assert facts.redis is not None and facts.mysql is not None
    assert facts.redis.opened_before_probe and facts.redis.client_port
    assert facts.mysql.opened_before_probe and facts.mysql.client_port
    assert facts.has_connection(facts.redis.client_port, facts.redis.port)
    assert probe_not_live(facts) is None


def test_a_replayed_probe_voids_every_check(facts: Facts) -> None:
    """The same recorded probe, replayed later: the live Redis reports another client port."""
    assert facts.redis is not None and facts.redis.client_port is not None
    facts.redis.client_port += 1
    verdicts = checks.judge(facts, SETTINGS)
    counted = [v for v in verdicts if v.status is not Status.NOT_APPLICABLE]
    assert counted and all(v.status is Status.FAIL and v.points == 0 for v in counted)
    assert all(v.hint and v.hint.id == "probe-not-live" for v in counted)
    assert "소켓 표에는 그 연결이 없습니다" in evidence(counted[0])


def test_a_connection_row_held_by_an_airflow_process_is_not_the_graders(facts: Facts) -> None:
    """A forger pointing CLIENT INFO at the worker's broker connection does not pass."""
    assert facts.redis is not None
    worker_row = next(
        s
        for s in facts.sockets
        if s.state == "established"
        and s.remote_port == facts.redis.port
        and any(s.inode in d.socket_inodes for d in facts.details)
    )
    facts.redis.client_port = worker_row.local_port
    assert verdict(facts, "config.executor").status is Status.FAIL


def test_mysql_login_without_its_own_connection_listed(facts: Facts) -> None:
    assert facts.mysql is not None
    facts.mysql.client_port = None
    v = verdict(facts, "mysql.running")
    assert v.status is Status.FAIL and "PROCESSLIST" in evidence(v)


def test_redis_62_or_newer_without_client_info(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.client_port = None
    v = verdict(facts, "redis.running")
    assert v.status is Status.FAIL and "CLIENT INFO" in evidence(v)


def test_an_old_redis_without_client_info_is_a_warning(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.client_port, facts.redis.version = None, "5.0.3"
    v = verdict(facts, "redis.running")
    assert v.status is Status.WARN and v.points == v.max_points


# ---- second red-team pass -----------------------------------------------------------------------


def test_a_fake_on_ipv6_loopback_opened_after_the_probe(facts: Facts) -> None:
    """Fakes listening on ::1 only, started after the probe: ::1 refused the grader just before."""
    from grader.facts import Socket

    facts.early_refused6 = [6379]
    facts.sockets.append(Socket("listen", "::1", 6379, "::", 0, 424242, 1001))
    assert verdict(facts, "config.executor").status is Status.FAIL
    assert "[::1]:6379" in evidence(verdict(facts, "config.executor"))


def test_a_service_without_an_early_connection_is_never_a_silent_pass(facts: Facts) -> None:
    assert facts.redis is not None
    facts.redis.opened_before_probe = False
    v = verdict(facts, "redis.running")
    assert v.status is Status.WARN and "점검 전에 채점기의 연결을 열어 두지 못했습니다" in evidence(v)
    assert "채점기의 연결, INFO" not in evidence(v)  # no claim of a check that was not made


def test_a_healthy_scheduler_with_a_heartbeat_of_another_time(facts: Facts) -> None:
    assert facts.web is not None and facts.web.health is not None
    for beat in ("9999-01-01T00:00:00+00:00", "1e308", "NaN", "2020-01-01T00:00:00+00:00"):
        facts.web.health["scheduler"]["latest_scheduler_heartbeat"] = beat
        facts.mysql = None  # no second opinion from the metadata DB
        v = verdict(facts, "airflow.scheduler")
        assert v.status is not Status.PASS, beat
        assert "지금 시각과 맞지 않습니다" in evidence(v)


def test_thousands_of_listeners_and_service_processes_are_judged(facts: Facts) -> None:
    """20,000 LISTEN rows and 5,000 'redis-server' processes: sets, not a product (was ~37 s CPU)."""
    from grader.facts import Proc, Socket

    facts.sockets += [
        Socket("listen", "127.0.0.1", 6379, "0.0.0.0", 0, 500_000 + i, 105) for i in range(20_000)
    ]
    facts.processes += [
        Proc(
            300_000 + i,
            1,
            105,
            "redis",
            "S",
            10.0,
            "redis-server 127.0.0.1:6379",
            ["redis-server 127.0.0.1:6379"],
        )
        for i in range(5_000)
    ]
    assert verdict(facts, "redis.running").status in (Status.PASS, Status.FAIL, Status.WARN)
