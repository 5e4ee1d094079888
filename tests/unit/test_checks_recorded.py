"""The 10 checks and the advisories on facts recorded from the real practice node (all pass),
then on one deliberate breakage at a time: exactly the expected checks stop passing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

import checks
from checks.model import Status, Verdict
from grader.facts import ConfigProblem, Facts, HostFacts, Option, Proc, Socket
from grader.settings import CourseSettings
from tests.stable_ids import STABLE_CHECK_IDS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "practice-2.11.2-pass.json"
SETTINGS = CourseSettings()
CONFIG_IDS = {"config.executor", "config.metadata_db", "config.broker", "config.result_backend"}
ALL_IDS = set(STABLE_CHECK_IDS)


@pytest.fixture(scope="module")
def recorded() -> Facts:
    return Facts.load(FIXTURE)


@pytest.fixture
def facts(recorded: Facts) -> Facts:
    return copy.deepcopy(recorded)


def by_id(facts: Facts) -> dict[str, Verdict]:
    return {v.id: v for v in checks.judge(facts, SETTINGS)}


def not_passed(verdicts: dict[str, Verdict]) -> set[str]:
    return {i for i, v in verdicts.items() if not v.status.passed and v.status is not Status.NOT_APPLICABLE}


def advisory_ids(facts: Facts) -> set[str]:
    return {a.id for a in checks.advise(facts, SETTINGS)}


def redis_facts(facts: Facts) -> list:
    """The Redis facts the checks may read (the node's own Redis and, when recorded, the broker's)."""
    out = [facts.redis]
    broker = getattr(facts, "broker", None)
    if broker is not None and broker is not facts.redis:
        out.append(broker)
    return [r for r in out if r is not None]


def set_option(facts: Facts, dotted: str, value: str) -> None:
    old = facts.airflow.options[dotted]
    facts.airflow.options[dotted] = Option(value, old.origin, old.line)


# ---- the recorded node -------------------------------------------------------------------------


def test_recorded_node_passes_everything(recorded: Facts):
    verdicts = by_id(recorded)
    assert set(verdicts) == ALL_IDS == set(checks.CHECK_IDS)
    assert not_passed(verdicts) == set()
    assert sum(v.points for v in verdicts.values()) == 100
    assert sum(v.max_points for v in verdicts.values()) == 100
    # MariaDB passes with a note; everything else is a clean pass
    assert verdicts["mysql.running"].status is Status.WARN
    assert verdicts["mysql.running"].hint is not None
    assert verdicts["mysql.running"].hint.id == "mysql-is-mariadb"
    assert {i for i, v in verdicts.items() if v.status is Status.PASS} == ALL_IDS - {
        "mysql.running",
        "airflow.dag_processor",
    }
    # 2.x has no separate DAG processor: shown, not counted
    assert verdicts["airflow.dag_processor"].status is Status.NOT_APPLICABLE
    assert verdicts["airflow.dag_processor"].max_points == 0


def test_fixture_holds_no_password(recorded: Facts):
    text = FIXTURE.read_text(encoding="utf-8")
    assert "Bespin" not in text and "test123" not in text
    assert recorded.airflow.options["database.sql_alchemy_conn"].value == (
        "mysql+pymysql://airflow:***@127.0.0.1:3306/airflow"
    )


def test_facts_round_trip(recorded: Facts, tmp_path: Path):
    again = Facts.from_json(recorded.to_json())
    assert again == recorded
    assert isinstance(again.processes[0], Proc)
    assert isinstance(again.airflow.options["core.executor"], Option)
    path = tmp_path / "facts.json"
    recorded.save(path)
    assert Facts.load(path) == recorded


def test_round_trip_keeps_config_problem(recorded: Facts):
    facts = copy.deepcopy(recorded)
    facts.airflow.config_state = "parse-error"
    facts.airflow.config_problem = ConfigProblem("duplicate-option", 53, "[core] executor")
    again = Facts.from_json(facts.to_json())
    assert again.airflow.config_problem == ConfigProblem("duplicate-option", 53, "[core] executor")
    assert again == facts


def test_judge_only_subset(recorded: Facts):
    verdicts = checks.judge(recorded, SETTINGS, only={"config"})
    assert {v.id for v in verdicts} == CONFIG_IDS


def test_points_from_settings(recorded: Facts):
    settings = CourseSettings(points={"account.champion": 30})
    verdicts = {v.id: v for v in checks.judge(recorded, settings)}
    assert verdicts["account.champion"].points == 30
    assert sum(v.points for v in verdicts.values()) == 120


# ---- one breakage at a time --------------------------------------------------------------------


def _drop_redis_process(facts: Facts) -> None:
    facts.processes = [p for p in facts.processes if "redis-server" not in p.title]


def _zombie_redis_process(facts: Facts) -> None:
    for proc in facts.processes:
        if "redis-server" in proc.title:
            proc.state = "Z"


def _redis_unreachable(facts: Facts) -> None:
    for redis in redis_facts(facts):
        redis.reachable, redis.reply, redis.version = False, None, None
        redis.error = "[Errno 111] Connection refused"


def _champion_missing(facts: Facts) -> None:
    facts.mysql.champion.exists = False
    facts.mysql.champion.roles = []


def _champion_viewer(facts: Facts) -> None:
    facts.mysql.champion.roles = ["Viewer"]


def _denied_and_missing(facts: Facts) -> None:
    _champion_missing(facts)
    facts.web.login_result, facts.web.login_status, facts.web.login_roles = "denied", 401, None


def _denied_db_unknown(facts: Facts) -> None:
    facts.mysql.champion = None
    facts.web.login_result, facts.web.login_status, facts.web.login_roles = "denied", 401, None


def _local_executor_worker(facts: Facts) -> None:
    facts.processes.append(
        Proc(9100, 3437, 1001, "ec2-user", "S", 5.0, "airflow worker -- LocalExecutor", [])
    )
    facts.processes[-1].argv = [facts.processes[-1].title]


def _parse_error(facts: Facts) -> None:
    facts.airflow.config_state = "parse-error"
    facts.airflow.config_problem = ConfigProblem("duplicate-option", 53, "[core] executor")


def _unreadable(facts: Facts) -> None:
    facts.airflow.config_state = "unreadable"


SCENARIOS: list[tuple[str, Callable[[Facts], None], set[str], dict[str, str]]] = [
    # name, mutation, ids that must not pass, {id: hint id}
    (
        "redis process removed",
        _drop_redis_process,
        {"redis.running"},
        {"redis.running": "redis-not-running"},
    ),
    (
        "redis process zombie",
        _zombie_redis_process,
        {"redis.running"},
        {"redis.running": "redis-not-running"},
    ),
    (
        "redis unreachable",
        _redis_unreachable,
        {"redis.running", "config.broker"},
        {"redis.running": "redis-no-answer", "config.broker": "broker-unreachable"},
    ),
    (
        "executor LocalExecutor",
        lambda f: set_option(f, "core.executor", "LocalExecutor"),
        {"config.executor"},
        {"config.executor": "executor-not-celery"},
    ),
    (
        "executor with inline comment",
        lambda f: set_option(f, "core.executor", "CeleryExecutor # celery"),
        {"config.executor"},
        {"config.executor": "executor-inline-comment"},
    ),
    (
        "executor full class path",
        lambda f: set_option(
            f, "core.executor", "airflow.providers.celery.executors.celery_executor.CeleryExecutor"
        ),
        set(),
        {},
    ),
    (
        "metadata db sqlite",
        lambda f: set_option(f, "database.sql_alchemy_conn", "sqlite:////home/ec2-user/airflow/airflow.db"),
        {"config.metadata_db"},
        {"config.metadata_db": "metadata-not-mysql"},
    ),
    (
        "mysql login error",
        lambda f: setattr(f.mysql, "login_error", "(1045) Access denied for user 'airflow'@'localhost'"),
        {"config.metadata_db"},
        {"config.metadata_db": "metadata-db-login"},
    ),
    (
        "cfg duplicate option",
        _parse_error,
        CONFIG_IDS,
        dict.fromkeys(CONFIG_IDS, "cfg-malformed"),
    ),
    ("cfg unreadable", _unreadable, CONFIG_IDS, dict.fromkeys(CONFIG_IDS, "cfg-unreadable")),
    (
        "champion missing",
        _champion_missing,
        {"account.champion"},
        {"account.champion": "champion-missing"},
    ),
    ("champion viewer", _champion_viewer, {"account.champion"}, {"account.champion": "champion-role"}),
    (
        "login denied, champion missing",
        _denied_and_missing,
        {"account.champion"},
        {"account.champion": "champion-missing"},
    ),
    (
        "login denied, db unknown",
        _denied_db_unknown,
        {"account.champion"},
        {"account.champion": "champion-missing"},
    ),
    (
        "local executor worker running",
        _local_executor_worker,
        {"config.executor"},
        {"config.executor": "executor-restart"},
    ),
]


@pytest.mark.parametrize(
    ("mutate", "broken", "hints"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_scenario(facts: Facts, mutate, broken: set[str], hints: dict[str, str]):
    mutate(facts)
    verdicts = by_id(facts)
    assert not_passed(verdicts) == broken
    for check_id in broken:
        assert verdicts[check_id].status in (Status.FAIL, Status.ERROR)
        assert verdicts[check_id].points == 0
    for check_id in ALL_IDS - broken:
        # 2.x facts: the 3.x-only DAG processor is not applicable, everything else passes
        assert verdicts[check_id].status.passed or check_id == "airflow.dag_processor"
    assert verdicts["airflow.dag_processor"].status is Status.NOT_APPLICABLE
    for check_id, hint_id in hints.items():
        assert verdicts[check_id].hint is not None, check_id
        assert verdicts[check_id].hint.id == hint_id
    assert sum(v.points for v in verdicts.values()) == 10 * (10 - len(broken))


def test_parse_error_fails_with_line_in_hint(facts: Facts):
    _parse_error(facts)
    verdicts = by_id(facts)
    for check_id in CONFIG_IDS:
        assert verdicts[check_id].status is Status.FAIL
        assert "53" in verdicts[check_id].hint.text.en
        assert "[core] executor" in verdicts[check_id].hint.text.ko


def test_unreadable_cfg_is_error_not_fail(facts: Facts):
    _unreadable(facts)
    verdicts = by_id(facts)
    for check_id in CONFIG_IDS:
        assert verdicts[check_id].status is Status.ERROR


def test_redis_zombie_and_redis_gone_say_no_process(facts: Facts):
    _zombie_redis_process(facts)
    verdict = by_id(facts)["redis.running"]
    assert verdict.status is Status.FAIL
    assert any(
        "No redis-server (AL2023: redis6-server or valkey-server) process" in e.en for e in verdict.evidence
    )


# ---- never raises --------------------------------------------------------------------------------


def minimal_facts() -> Facts:
    host = HostFacts(user="ec2-user", uid=1000, home="/home/ec2-user", hostname="ip-10-0-0-1", kernel="6.1")
    return Facts(host=host, collected_at="2026-11-24T00:00:00+00:00")


def test_judge_never_raises_on_minimal_facts():
    verdicts = checks.judge(minimal_facts(), SETTINGS)
    assert [v.id for v in verdicts] == list(checks.CHECK_IDS)
    assert len(verdicts) == 11
    for verdict in verdicts:
        if verdict.id == "airflow.dag_processor":  # minimal facts say nothing of a version: 2.x
            assert verdict.status is Status.NOT_APPLICABLE
            continue
        assert not verdict.status.passed
        assert verdict.points == 0
        # no check crashed: a crash is reported as "Internal error in this check"
        assert not any("Internal error" in e.en for e in verdict.evidence), (verdict.id, verdict.evidence)


def test_advisories_never_raise_on_minimal_facts():
    facts = minimal_facts()
    for spec in checks.ADVISORIES:  # called directly: advise() would swallow a crash
        spec.judge(facts, SETTINGS)
    # nothing is known, so only "basic auth is not configured" (no auth_backends option) is said
    assert advisory_ids(facts) == {"api.basic_auth"}


def test_judge_reports_a_crashing_check_as_error(monkeypatch, recorded: Facts):
    spec = checks.CHECKS[0]

    def boom(facts, settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "CHECKS", (type(spec)(spec.id, spec.title, spec.guide_step, boom),))
    (verdict,) = checks.judge(recorded, SETTINGS)
    assert verdict.status is Status.ERROR
    assert verdict.points == 0
    assert "boom" in verdict.evidence[0].en


# ---- advisories -------------------------------------------------------------------------------------


def test_advisories_on_recorded_node(recorded: Facts):
    assert advisory_ids(recorded) == {"db.mariadb", "eol.airflow"}


def test_eol_os_amazon_linux_2(facts: Facts):
    facts.host.os_id, facts.host.os_version, facts.host.os_name = "amzn", "2", "Amazon Linux 2"
    facts.collected_at = "2026-11-24T14:17:24+00:00"
    assert "eol.os" in advisory_ids(facts)


def test_no_eol_os_before_end_or_on_al2023(facts: Facts):
    facts.host.os_id, facts.host.os_version = "amzn", "2"
    facts.collected_at = "2026-05-01T00:00:00+00:00"
    assert "eol.os" not in advisory_ids(facts)
    facts.host.os_version = "2023"
    facts.collected_at = "2026-11-24T14:17:24+00:00"
    assert "eol.os" not in advisory_ids(facts)


def test_redis_open_without_password(facts: Facts):
    assert "redis.open_without_password" not in advisory_ids(facts)  # recorded: 127.0.0.1 only
    facts.sockets.append(Socket("listen", "0.0.0.0", 6379, "0.0.0.0", 0, 99999))
    facts.redis.auth_used = False
    assert "redis.open_without_password" in advisory_ids(facts)
    facts.redis.auth_used = True
    assert "redis.open_without_password" not in advisory_ids(facts)


def test_catchup_true(facts: Facts):
    set_option(facts, "scheduler.catchup_by_default", "True")
    assert "config.catchup" in advisory_ids(facts)
    set_option(facts, "scheduler.catchup_by_default", "false")
    assert "config.catchup" not in advisory_ids(facts)


def test_api_auth_singular_backend_ignored(facts: Facts):
    set_option(facts, "api.auth_backends", "airflow.api.auth.backend.session")
    facts.airflow.singular_auth_backend_ignored = True
    messages = {a.id: a.message for a in checks.advise(facts, SETTINGS)}
    assert "api.basic_auth" in messages
    assert "auth_backend" in messages["api.basic_auth"].en


def test_small_instance(facts: Facts):
    facts.host.nproc, facts.host.memtotal_kb = 1, 1 * 1024 * 1024
    assert "node.smaller_than_guide" in advisory_ids(facts)


def test_env_unverified(facts: Facts):
    facts.airflow.env_readable = False
    assert "config.env_unverified" in advisory_ids(facts)


def test_webserver_that_never_answers_says_how_long_it_waited(facts: Facts):
    facts.web.health_status, facts.web.health = None, None
    facts.web.error, facts.web.timed_out_after = "timeout", 15.0
    verdict = by_id(facts)["airflow.webserver"]
    assert verdict.status is Status.FAIL
    evidence = [e.ko for e in verdict.evidence]
    assert any("/health" in e and "15초 안에 응답이 없습니다" in e for e in evidence), evidence
    assert any("no answer within 15s" in e.en for e in verdict.evidence)
