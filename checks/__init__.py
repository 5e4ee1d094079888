"""The 과제 checks, in report order. Ids are stable: reports and scoreboards key on them."""

from __future__ import annotations

from checks import account, advisories, configuration, services
from checks.model import Advisory, AdvisorySpec, CheckSpec, Hint, Outcome, Status, Verdict
from checks.ties import TieResult, probe_not_live
from grader.facts import Facts
from grader.i18n import t
from grader.settings import CourseSettings

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("redis.running", t("Redis 실행", "Redis running"), "3.2 Redis 세팅", services.redis_running),
    CheckSpec("mysql.running", t("MySQL 실행", "MySQL running"), "3.3 MySQL 세팅", services.mysql_running),
    CheckSpec(
        "airflow.webserver",
        t("Webserver·API server", "Webserver / API server"),
        "3.4 Airflow 설치 및 세팅",
        services.webserver,
    ),
    CheckSpec(
        "airflow.scheduler",
        t("Airflow 스케줄러", "Airflow scheduler"),
        "3.4 Airflow 설치 및 세팅",
        services.scheduler,
    ),
    CheckSpec(
        "airflow.dag_processor",
        t("DAG 프로세서 (3.x)", "DAG processor (3.x)"),
        "3.4 Airflow 설치 및 세팅",
        services.dag_processor,
        majors=(3,),
        not_applicable=t(
            "Airflow {v}: DAG 파일은 scheduler가 처리합니다 (별도 dag-processor는 3.x부터)",
            "Airflow {v}: the scheduler parses DAG files (a separate dag-processor is 3.x only)",
        ),
    ),
    CheckSpec(
        "airflow.worker", t("Celery 워커", "Celery worker"), "3.4 Airflow 설치 및 세팅", services.worker
    ),
    CheckSpec(
        "config.executor",
        t("Executor = CeleryExecutor", "Executor = CeleryExecutor"),
        "3.4 airflow.cfg",
        configuration.executor,
    ),
    CheckSpec(
        "config.metadata_db",
        t("메타데이터 DB = MySQL", "Metadata DB = MySQL"),
        "3.4 airflow.cfg",
        configuration.metadata_db,
    ),
    CheckSpec(
        "config.broker", t("브로커 = Redis", "Broker = Redis"), "3.4 airflow.cfg", configuration.broker
    ),
    CheckSpec(
        "config.result_backend",
        t("결과 백엔드 = db+mysql", "Result backend = db+mysql"),
        "3.4 airflow.cfg",
        configuration.result_backend,
    ),
    CheckSpec("account.champion", t("챔피언 계정", "Champion account"), "과제 2", account.champion),
)

ADVISORIES: tuple[AdvisorySpec, ...] = (
    AdvisorySpec("redis.open_without_password", advisories.redis_open),
    AdvisorySpec("db.mariadb", advisories.mariadb),
    AdvisorySpec("eol.os", advisories.eol_os),
    AdvisorySpec("eol.mysql", advisories.eol_mysql),
    AdvisorySpec("eol.airflow", advisories.eol_airflow),
    AdvisorySpec("node.smaller_than_guide", advisories.small_instance),
    AdvisorySpec("config.catchup", advisories.catchup),
    AdvisorySpec("api.basic_auth", advisories.api_auth),
    AdvisorySpec("config.env_unverified", advisories.env_hidden),
)

CHECK_IDS = tuple(c.id for c in CHECKS)
# Checks every node is judged on, whatever its Airflow: their points are a class's common maximum.
COMMON_CHECK_IDS = tuple(c.id for c in CHECKS if set(c.majors) >= {2, 3})


def judge(facts: Facts, settings: CourseSettings, only: set[str] | None = None) -> list[Verdict]:
    """Run every check (or those in `only`) on the facts; never raises for a bad fact."""
    verdicts = []
    stale = probe_not_live(facts)
    for spec in CHECKS:
        if only and spec.id not in only and spec.id.split(".")[0] not in only:
            continue
        if facts.airflow.major not in spec.majors:
            reason = spec.not_applicable or t(
                "Airflow {v}에는 해당하지 않습니다", "Does not apply to Airflow {v}"
            )
            outcome = Outcome(Status.NOT_APPLICABLE, [reason.format(v=facts.airflow.version or "2.x")])
            verdicts.append(Verdict(spec.id, spec.title, outcome.status, 0, 0, outcome.evidence, None))
            continue
        try:
            outcome = spec.judge(facts, settings) if stale is None else _void(stale)
        except Exception as exc:  # a bug in one check must not hide the others
            outcome = Outcome(
                Status.ERROR, [t("점검 중 내부 오류: {e}", "Internal error in this check: {e}", e=repr(exc))]
            )
        max_points = settings.points_for(spec.id)
        if outcome.status is Status.NOT_APPLICABLE:
            max_points = 0
        points = max_points if outcome.status.passed else 0
        verdicts.append(
            Verdict(spec.id, spec.title, outcome.status, points, max_points, outcome.evidence, outcome.hint)
        )
    return verdicts


def _void(stale: TieResult) -> Outcome:
    """A check resting on a probe that the node's live connections contradict."""
    return Outcome(
        Status.FAIL,
        [stale.evidence],
        Hint(
            "probe-not-live",
            t(
                "채점기가 본 노드의 상태가 실제 노드의 것이 아닙니다. 채점기의 SSH 접속을 가로채거나 흉내 내는 "
                "설정(강제 명령, 포트 포워딩, 가짜 응답)을 모두 없애고 다시 채점을 받으세요.",
                "What the grader saw is not the real node. Remove whatever intercepts or imitates the grader's "
                "SSH session (forced commands, port forwards, made-up replies) and have it graded again.",
            ),
        ),
    )


def advise(facts: Facts, settings: CourseSettings) -> list[Advisory]:
    out = []
    for spec in ADVISORIES:
        try:
            message = spec.judge(facts, settings)
        except Exception:  # advisories are best effort
            message = None
        if message is not None:
            out.append(Advisory(spec.id, message))
    return out
