"""The services of the 과제 run, and answer in their own protocol: Redis, MySQL, webserver,
scheduler, Celery worker."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from checks import processes as P
from checks.model import Hint, Outcome, Status
from checks.ties import Tie, TieResult, mysql_tie, redis_tie, web_tie
from grader.facts import Facts, Proc
from grader.i18n import Text, t
from grader.settings import CourseSettings


def _pids(procs: list[Proc]) -> str:
    return ", ".join(str(p.pid) for p in procs[:5])


def _impostors(facts: Facts, test) -> list[Text]:  # type: ignore[no-untyped-def]
    """Evidence for processes titled as the service whose program is something else."""
    return [
        t(
            "pid {pid}는 이름({title})만 서비스처럼 바꾼 다른 프로그램({exe})입니다",
            "pid {pid} only carries the service's name ({title}); it runs {exe}",
            pid=p.pid,
            title=p.title[:60],
            exe=p.exe,
        )
        for p in facts.processes
        if P.impostor(p) and test(replace(p, exe=None))  # what its title claims
    ][:3]


def _tied(outcome_if_tied: Outcome, tie: TieResult, hint: Hint) -> Outcome:
    """A service that answered: passes only when its reply is tied to the node's own process."""
    outcome_if_tied.evidence.append(tie.evidence)
    if tie.tie is Tie.TIED:
        return outcome_if_tied
    if tie.tie is Tie.UNKNOWN:
        return Outcome(Status.WARN, outcome_if_tied.evidence, outcome_if_tied.hint)
    return Outcome(Status.FAIL, outcome_if_tied.evidence, hint)


def is_al2023(facts: Facts) -> bool:
    return facts.host.os_id == "amzn" and facts.host.os_version.startswith("2023")


def redis_running(facts: Facts, settings: CourseSettings) -> Outcome:
    procs = P.find(facts, P.is_redis_server)
    redis = facts.redis
    evidence: list[Text] = []
    if procs:
        names = sorted({P.program(p) for p in procs})  # redis-server, or redis6-server on AL2023
        evidence.append(
            t(
                "{names} 프로세스 실행 중 (pid {pids})",
                "{names} process running (pid {pids})",
                names="/".join(names),
                pids=_pids(procs),
            )
        )
    else:
        evidence.append(
            t(
                "redis-server(AL2023: redis6-server 또는 valkey-server) 프로세스가 없습니다",
                "No redis-server (AL2023: redis6-server or valkey-server) process",
            )
        )
    evidence += _impostors(facts, P.is_redis_server)
    answered = bool(redis and redis.reachable)
    if redis and redis.reachable:
        evidence.append(
            t(
                "{host}:{port} PING → PONG (Redis {v})",
                "{host}:{port} PING → PONG (Redis {v})",
                host=redis.host,
                port=redis.port,
                v=redis.version or "?",
            )
        )
    elif redis and (redis.reply or "").startswith("-"):
        evidence.append(
            t(
                "{host}:{port}가 PING에 PONG 대신 오류로 답했습니다: {r}",
                "{host}:{port} answered PING with an error instead of PONG: {r}",
                host=redis.host,
                port=redis.port,
                r=redis.reply,
            )
        )
    elif redis:
        evidence.append(
            t(
                "{host}:{port}에 PING 응답 없음 ({e})",
                "No PING answer at {host}:{port} ({e})",
                host=redis.host,
                port=redis.port,
                e=redis.error or redis.reply,
            )
        )
    if procs and answered and redis:
        return _tied(Outcome(Status.PASS, evidence), redis_tie(facts, procs), _NOT_OWN["redis"])
    start = "sudo systemctl start redis6" if is_al2023(facts) else "sudo service redis start"
    hint = Hint(
        "redis-not-running",
        t(
            "가이드 3.2 Redis 세팅: `{cmd}`로 Redis를 시작하고 `ps -ef | grep redis`로 redis-server를 확인하세요.",
            "Guide 3.2 (Redis): start Redis with `{cmd}` and confirm redis-server with `ps -ef | grep redis`.",
            cmd=start,
        ),
    )
    if procs and not answered:
        hint = Hint(
            "redis-no-answer",
            t(
                "redis-server는 떠 있지만 {port} 포트에서 응답하지 않습니다. /etc/redis.conf의 bind·port 설정과 broker_url의 포트가 같은지 확인하세요 (가이드 3.2).",
                "redis-server runs but does not answer on port {port}. Check bind/port in /etc/redis.conf against broker_url (guide 3.2).",
                port=redis.port if redis else settings.ports.redis,
            ),
        )
    return Outcome(Status.FAIL, evidence, hint)


def mysql_running(facts: Facts, settings: CourseSettings) -> Outcome:
    procs = P.find(facts, P.is_mysql_server)
    mysql = facts.mysql
    evidence: list[Text] = []
    if procs:
        names = sorted({p.argv[0].rsplit("/", 1)[-1] for p in procs if p.argv})
        evidence.append(
            t(
                "{names} 프로세스 실행 중 (pid {pids})",
                "{names} running (pid {pids})",
                names="/".join(names),
                pids=_pids(procs),
            )
        )
    else:
        evidence.append(t("mysqld/mariadbd 프로세스가 없습니다", "No mysqld/mariadbd process"))
    evidence += _impostors(facts, P.is_mysql_server)
    if mysql and mysql.server_version:
        evidence.append(
            t(
                "{host}:{port} 접속 인사(handshake) 응답: 서버 {v}",
                "{host}:{port} answered the handshake: server {v}",
                host=mysql.host,
                port=mysql.port,
                v=mysql.server_version,
            )
        )
    elif mysql:
        evidence.append(
            t(
                "{host}:{port} 응답 없음 ({e})",
                "No answer at {host}:{port} ({e})",
                host=mysql.host,
                port=mysql.port,
                e=mysql.greeting_error,
            )
        )
    if procs and mysql and mysql.server_version:
        tie = mysql_tie(facts, procs)
        if tie.tie is not Tie.TIED:
            return _tied(Outcome(Status.PASS, evidence), tie, _NOT_OWN["mysql"])
        evidence.append(tie.evidence)
        if mysql.is_mariadb:
            evidence.append(
                t(
                    "MariaDB입니다. Airflow는 MariaDB를 지원하지 않으니 MySQL 8.4 LTS를 쓰세요 (통과, 참고)",
                    "This is MariaDB; Airflow does not support MariaDB, use MySQL 8.4 LTS (passes, note)",
                )
            )
            return Outcome(
                Status.WARN,
                evidence,
                Hint(
                    "mysql-is-mariadb",
                    t(
                        "가이드 3.3처럼 MySQL 커뮤니티 서버를 설치하세요. 2026년에 새로 설치한다면 MySQL 8.4 LTS입니다.",
                        "As in guide 3.3, install the MySQL community server; a new install in 2026 is MySQL 8.4 LTS.",
                    ),
                ),
            )
        return Outcome(Status.PASS, evidence)
    start = "sudo systemctl start mysqld" if is_al2023(facts) else "sudo service mysqld start"
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "mysql-not-running",
            t(
                "가이드 3.3 MySQL 세팅: `{cmd}`로 MySQL을 시작하세요. 시작되지 않으면 /var/log/mysqld.log를 확인하세요.",
                "Guide 3.3 (MySQL): start MySQL with `{cmd}`; if it does not start, read /var/log/mysqld.log.",
                cmd=start,
            ),
        ),
    )


def _health_component(facts: Facts, name: str) -> dict | None:
    health = facts.web.health if facts.web else None
    value = health.get(name) if isinstance(health, dict) else None
    return value if isinstance(value, dict) else None


# Airflow calls a component healthy when its heartbeat is within seconds (30 by default) of the
# node's clock; a "healthy" whose heartbeat is far from the probe's own time is a canned reply.
HEARTBEAT_SLACK_SECONDS = 600.0


def _heartbeat_age(value: object, facts: Facts) -> float | None:
    """Seconds between a health heartbeat and the probe's time on the node; None if unreadable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        beat = datetime.fromisoformat(value.replace("Z", "+00:00"))
        now = datetime.fromisoformat(facts.collected_at)
    except ValueError:
        return None
    if beat.tzinfo is None:
        beat = beat.replace(tzinfo=UTC)
    return abs((now - beat).total_seconds())


def _health_heartbeat(facts: Facts, name: str) -> tuple[bool | None, Text | None]:
    """Whether the webserver's (3.x: api-server's) health says `name` is healthy, with a heartbeat
    of the node's present time, and that as evidence."""
    component = _health_component(facts, name)
    if component is None:
        return None, None
    server = "api-server" if facts.airflow.major >= 3 else "Webserver"
    beat = component.get(f"latest_{name}_heartbeat")
    healthy = component.get("status") == "healthy"
    age = _heartbeat_age(beat, facts)
    seen = t(
        "{server} health: {name} {s} (마지막 heartbeat {hb})",
        "{server_en} health: {name} {s} (last heartbeat {hb})",
        server=server,
        server_en="api-server" if facts.airflow.major >= 3 else "Webserver",
        name=name,
        s=str(component.get("status"))[:40],
        hb=str(beat)[:40],
    )
    if healthy and (age is None or age > HEARTBEAT_SLACK_SECONDS):
        return False, t(
            "{seen} — 그런데 그 heartbeat가 노드의 지금 시각과 맞지 않습니다 (읽을 수 없거나 10분 넘게 차이)",
            "{seen_en}, but that heartbeat is not the node's present time (unreadable or over 10 minutes off)",
            seen=seen.ko,
            seen_en=seen.en,
        )
    return healthy, seen


def webserver(facts: Facts, settings: CourseSettings) -> Outcome:
    v3 = facts.airflow.major >= 3
    procs = P.find(facts, P.is_api_server if v3 else P.is_webserver)
    name = "api-server" if v3 else "webserver"
    web = facts.web
    evidence: list[Text] = []
    if procs:
        evidence.append(
            t(
                "airflow {n} 프로세스 실행 중 (pid {pids})",
                "airflow {n} running (pid {pids})",
                n=name,
                pids=_pids(procs),
            )
        )
    else:
        evidence.append(t("airflow {n} 프로세스가 없습니다", "No airflow {n} process", n=name))
    evidence += _impostors(facts, P.is_api_server if v3 else P.is_webserver)
    metadatabase = _health_component(facts, "metadatabase")
    answered = bool(web and web.health_status == 200 and metadatabase)
    db_ok = bool(metadatabase and metadatabase.get("status") == "healthy")
    if web and web.health_status is not None:
        evidence.append(
            t(
                "GET :{port}{path} → HTTP {s}",
                "GET :{port}{path} → HTTP {s}",
                port=web.port,
                path=web.health_path,
                s=web.health_status,
            )
        )
    elif web and web.timed_out_after:
        evidence.append(
            t(
                "GET :{port}{path} → {n:.0f}초 안에 응답이 없습니다",
                "GET :{port}{path} → no answer within {n:.0f}s",
                port=web.port,
                path=web.health_path,
                n=web.timed_out_after,
            )
        )
    elif web:
        evidence.append(
            t(":{port} 접속 실패 ({e})", ":{port} connection failed ({e})", port=web.port, e=web.error)
        )
    if answered and not db_ok:
        evidence.append(
            t(
                "health가 메타데이터 DB 상태를 {s}(으)로 알립니다: {server}는 떠 있지만 메타데이터 DB에 닿지 못합니다 (config.metadata_db 참고)",
                "Health reports the metadatabase as {s}: the {server} runs but cannot reach the metadata DB (see config.metadata_db)",
                server=web_server_name(facts),
                s=str(metadatabase.get("status"))[:40] if metadatabase else "?",
            )
        )
    if procs and answered and web:
        # The process answers as Airflow's webserver: tied, it passes; a DB it cannot reach is the
        # metadata DB checks' failure, noted here, not counted twice.
        outcome = Outcome(Status.PASS if db_ok else Status.WARN, evidence)
        return _tied(outcome, web_tie(facts, procs, name), _NOT_OWN["web"])
    if v3 and any(re.search(r"(^|[\s;&|])airflow\s+webserver\b", line) for line in facts.airflow.history):
        hint = t(
            "Airflow {v}에는 `airflow webserver`가 없습니다. 대신 `airflow api-server`를 실행하세요 (포트 {port}).",
            "Airflow {v} has no `airflow webserver`; run `airflow api-server` instead (port {port}).",
            v=facts.airflow.version,
            port=web.port if web else 8080,
        )
        return Outcome(Status.FAIL, evidence, Hint("webserver-is-api-server", hint))
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "webserver-not-running",
            t(
                "3.4: {start}로 {server}를 띄우고 브라우저에서 {{DNS}}:{port}에 접속되는지 확인하세요. 이미 떠 있다면 로그에서 포트 충돌이나 DB 오류를 찾으세요.",
                "3.4: start it with {start_en} and open {{DNS}}:{port} in a browser. If it runs, look for a port clash or DB error in its log.",
                **_start_command(facts, name, name),
                server=web_server_name(facts),
                port=web.port if web else settings.ports.webserver,
            ),
        ),
    )


def scheduler(facts: Facts, settings: CourseSettings) -> Outcome:
    procs = P.find(facts, P.is_scheduler)
    evidence: list[Text] = []
    if procs:
        evidence.append(
            t(
                "airflow scheduler 프로세스 실행 중 (pid {pids})",
                "airflow scheduler running (pid {pids})",
                pids=_pids(procs),
            )
        )
    else:
        evidence.append(t("airflow scheduler 프로세스가 없습니다", "No airflow scheduler process"))
    heartbeat_ok, seen = _health_heartbeat(facts, "scheduler")
    if seen is not None:
        evidence.append(seen)
    elif facts.mysql and facts.mysql.scheduler_heartbeat_age is not None:
        age = facts.mysql.scheduler_heartbeat_age
        heartbeat_ok = age <= settings.scheduler_heartbeat_seconds
        evidence.append(
            t(
                "메타데이터 DB의 마지막 scheduler heartbeat: {age:.0f}초 전",
                "Last scheduler heartbeat in the metadata DB: {age:.0f}s ago",
                age=age,
            )
        )
    if procs and heartbeat_ok:
        return Outcome(Status.PASS, evidence)
    if procs and heartbeat_ok is None:
        evidence.append(
            t(
                "heartbeat를 확인할 수 없습니다 ({server}·메타데이터 DB 모두 응답 없음)",
                "Cannot see a heartbeat (neither the {server} nor the metadata DB answered)",
                server=web_server_name(facts),
            )
        )
        return Outcome(
            Status.ERROR,
            evidence,
            Hint(
                "scheduler-no-heartbeat",
                t(
                    "{server}와 MySQL을 먼저 살리면 scheduler 상태를 판단할 수 있습니다.",
                    "Bring up the {server} and MySQL first so the scheduler can be judged.",
                    server=web_server_name(facts),
                ),
            ),
        )
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "scheduler-not-running",
            t(
                "3.4: {start}로 Scheduler를 띄우세요. 떠 있는데 heartbeat가 없으면 Scheduler 로그에서 DB 연결 오류를 확인하세요.",
                "3.4: start it with {start_en}. If it runs without a heartbeat, look for DB errors in its log.",
                **_start_command(facts, "scheduler", "scheduler"),
            ),
        ),
    )


def web_server_name(facts: Facts) -> str:
    """The web UI server by its name on this node's major: 2.x Webserver, 3.x API server."""
    return "API server" if facts.airflow.major >= 3 else "Webserver"


def _start_command(facts: Facts, unit: str, subcommand: str) -> dict[str, str]:
    """How to (re)start a service on this node: 3.x follows the 2026 path (one systemd unit per
    service, notebook 3), 2.x the guide's daemon command."""
    if facts.airflow.major >= 3:
        ko = (
            f"`sudo systemctl restart airflow-{unit}`(노트북 3의 systemd 유닛. 유닛을 쓰지 않는다면 "
            f"가이드처럼 `airflow {subcommand} -D`)"
        )
        en = (
            f"`sudo systemctl restart airflow-{unit}` (notebook 3's systemd unit; without one, "
            f"`airflow {subcommand} -D` as in the guide)"
        )
        return {"start": ko, "start_en": en}
    return {
        "start": f"가이드의 `airflow {subcommand} -D`",
        "start_en": f"the guide's `airflow {subcommand} -D`",
    }


def worker(facts: Facts, settings: CourseSettings) -> Outcome:
    procs = P.find(facts, P.is_celery_worker)
    children = P.find(facts, P.is_celery_pool_child)
    evidence: list[Text] = []
    if not procs:
        evidence.append(t("airflow celery worker 프로세스가 없습니다", "No airflow celery worker process"))
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "worker-not-running",
                t(
                    "3.4: {start}로 Celery Worker를 띄우세요.",
                    "3.4: start a Celery worker with {start_en}.",
                    **_start_command(facts, "worker", "celery worker"),
                ),
            ),
        )
    evidence.append(
        t(
            "Celery worker 실행 중 (pid {pids}, 작업 프로세스 {n}개)",
            "Celery worker running (pid {pids}, {n} pool processes)",
            pids=_pids(procs),
            n=len(children),
        )
    )
    broker = facts.broker or facts.redis
    broker_port = broker.port if broker else settings.ports.redis
    if any(facts.connected_to(p.pid, broker_port) for p in procs):
        evidence.append(
            t(
                "worker가 브로커(:{port})에 연결되어 있음",
                "The worker is connected to the broker (:{port})",
                port=broker_port,
            )
        )
        return Outcome(Status.PASS, evidence)
    evidence.append(
        t(
            "worker의 브로커(:{port}) 연결이 보이지 않습니다",
            "No broker connection (:{port}) seen from the worker",
            port=broker_port,
        )
    )
    return Outcome(
        Status.WARN,
        evidence,
        Hint(
            "worker-no-broker",
            t(
                "worker는 떠 있지만 Redis 브로커에 연결되어 있지 않습니다. Redis를 확인하고 worker 로그에 `ready.`가 있는지 보세요.",
                "The worker runs but is not connected to the Redis broker. Check Redis and look for `ready.` in the worker log.",
            ),
        ),
    )


def dag_processor(facts: Facts, settings: CourseSettings) -> Outcome:
    """Airflow 3 parses DAG files in its own `airflow dag-processor` (2.x: not applicable, see CHECKS)."""
    procs = P.find(facts, P.is_dag_processor)
    evidence: list[Text] = []
    if procs:
        evidence.append(
            t(
                "airflow dag-processor 프로세스 실행 중 (pid {pids})",
                "airflow dag-processor running (pid {pids})",
                pids=_pids(procs),
            )
        )
    else:
        evidence.append(t("airflow dag-processor 프로세스가 없습니다", "No airflow dag-processor process"))
    healthy, seen = _health_heartbeat(facts, "dag_processor")
    if seen is not None:
        evidence.append(seen)
    if procs and healthy:
        return Outcome(Status.PASS, evidence)
    if procs and healthy is None:
        evidence.append(
            t(
                "api-server가 답하지 않아 heartbeat는 확인하지 못했습니다",
                "The api-server did not answer, so the heartbeat was not seen",
            )
        )
        return Outcome(Status.WARN, evidence)
    if procs:
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "dag-processor-no-heartbeat",
                t(
                    "dag-processor가 떠 있지만 heartbeat가 없습니다. 로그에서 DB 연결 오류를 확인하고 다시 띄우세요.",
                    "The dag-processor runs without a heartbeat; look for DB errors in its log and restart it.",
                ),
            ),
        )
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "dag-processor-not-running",
            t(
                "Airflow 3에서는 DAG 파일을 읽는 DAG processor를 따로 띄워야 합니다: {start} (가이드의 2.x에는 없는 단계)",
                "Airflow 3 needs its own dag-processor to read DAG files: {start_en} (a step the guide's 2.x does not have)",
                **_start_command(facts, "dag-processor", "dag-processor"),
            ),
        ),
    )


_NOT_OWN = {
    "redis": Hint(
        "redis-not-own",
        t(
            "PONG은 왔지만 이 노드의 redis-server가 보낸 것으로 확인되지 않았습니다. 이 노드에서 Redis를 직접 "
            "실행하세요 (가이드 3.2). 다른 노드로 포트를 넘기거나 흉내 낸 응답은 통과하지 않습니다.",
            "A PONG came back, but not from this node's own redis-server. Run Redis on this node "
            "(guide 3.2); a forwarded port or a made-up reply does not pass.",
        ),
    ),
    "mysql": Hint(
        "mysql-not-own",
        t(
            "MySQL 응답이 이 노드의 mysqld가 보낸 것으로 확인되지 않았습니다. 이 노드에서 MySQL을 직접 실행하세요 "
            "(가이드 3.3). 다른 노드로 포트를 넘기거나 흉내 낸 응답은 통과하지 않습니다.",
            "The MySQL reply did not come from this node's own mysqld. Run MySQL on this node "
            "(guide 3.3); a forwarded port or a made-up reply does not pass.",
        ),
    ),
    "web": Hint(
        "webserver-not-own",
        t(
            "health 응답이 이 노드의 Airflow Webserver(3.x: API server)가 보낸 것으로 확인되지 않았습니다. "
            "이 노드에서 직접 띄우세요 (가이드 3.4).",
            "The health reply did not come from this node's own Airflow webserver (3.x: api-server). "
            "Run it on this node (guide 3.4).",
        ),
    ),
}
