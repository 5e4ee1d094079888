"""Airflow 2 vs 3 and Amazon Linux 2 / 2023 nodes, judged from facts recorded on the practice
nodes (`grade --save-facts`) and changed the way those platforms differ (documented names:
redis6-server, mariadbd from mariadb105-server, mysqld started by mysqld_safe, MySQL 5.7 on AL2)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

import checks
from checks.model import Status
from grader.facts import Facts, Option, Proc
from grader.settings import CourseSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"
SETTINGS = CourseSettings()


@pytest.fixture(scope="module")
def recorded3() -> Facts:
    return Facts.load(FIXTURES / "practice-3.3.2-pass.json")


@pytest.fixture(scope="module")
def recorded2() -> Facts:
    return Facts.load(FIXTURES / "practice-2.11.2-pass.json")


@pytest.fixture
def af3(recorded3: Facts) -> Facts:
    return copy.deepcopy(recorded3)


@pytest.fixture
def af2(recorded2: Facts) -> Facts:
    return copy.deepcopy(recorded2)


def verdicts(facts: Facts) -> dict:
    return {v.id: v for v in checks.judge(facts, SETTINGS)}


def advisories(facts: Facts) -> set[str]:
    return {a.id for a in checks.advise(facts, SETTINGS)}


def failing(facts: Facts) -> dict[str, str | None]:
    return {
        i: (v.hint.id if v.hint else None)
        for i, v in verdicts(facts).items()
        if not v.status.passed and v.status is not Status.NOT_APPLICABLE
    }


def drop(facts: Facts, test) -> None:  # type: ignore[no-untyped-def]
    facts.processes = [p for p in facts.processes if not test(p)]


# ---- Airflow 3 ---------------------------------------------------------------------------------


def test_airflow3_recorded_node_passes_with_the_dag_processor_counted(af3: Facts) -> None:
    assert af3.airflow.major == 3 and af3.web.login_method == "jwt"
    found = verdicts(af3)
    assert failing(af3) == {}
    assert found["airflow.dag_processor"].status is Status.PASS
    assert sum(v.max_points for v in found.values()) == 110


def test_airflow2_dag_processor_not_applicable_and_not_counted(af2: Facts) -> None:
    found = verdicts(af2)
    assert found["airflow.dag_processor"].status is Status.NOT_APPLICABLE
    assert found["airflow.dag_processor"].max_points == 0
    assert sum(v.max_points for v in found.values()) == 100


def test_airflow3_dag_processor_missing(af3: Facts) -> None:
    drop(af3, lambda p: "dag-processor" in p.title or "dag_processor" in p.title)
    assert failing(af3) == {"airflow.dag_processor": "dag-processor-not-running"}


def test_airflow3_dag_processor_without_heartbeat(af3: Facts) -> None:
    af3.web.health["dag_processor"] = {"status": "unhealthy", "latest_dag_processor_heartbeat": None}
    assert failing(af3) == {"airflow.dag_processor": "dag-processor-no-heartbeat"}


@pytest.mark.parametrize(
    "value",
    [
        None,  # not set: Airflow 3's default
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    ],
)
def test_airflow3_simple_auth_manager_fails_the_champion(af3: Facts, value: str | None) -> None:
    old = af3.airflow.options["core.auth_manager"]
    if value is None:
        af3.airflow.options["core.auth_manager"] = Option(
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager", "default"
        )
    else:
        af3.airflow.options["core.auth_manager"] = Option(value, old.origin, old.line)
    assert failing(af3) == {"account.champion": "champion-simple-auth-manager"}
    champion = verdicts(af3)["account.champion"]
    assert (
        "FabAuthManager" in champion.hint.text.ko
        and "pip install apache-airflow-providers-fab" in champion.hint.text.ko
    )


def test_airflow3_login_denied(af3: Facts) -> None:
    af3.web.login_result, af3.web.login_status, af3.web.login_roles = "denied", 401, None
    assert failing(af3) == {"account.champion": "champion-login-denied"}


def test_webserver_hints_fit_the_version(af3: Facts, af2: Facts) -> None:
    from checks import processes as P

    drop(af3, P.is_api_server)
    af3.web.health_status, af3.web.health, af3.web.error = None, None, "Connect failed"
    af3.airflow.history = ["airflow webserver -D"]
    found = verdicts(af3)
    assert found["airflow.webserver"].hint.id == "webserver-is-api-server"
    assert "airflow api-server" in found["airflow.webserver"].hint.text.ko

    drop(af2, P.is_webserver)
    af2.web.health_status, af2.web.health, af2.web.error = None, None, "Connect failed"
    hint = verdicts(af2)["airflow.webserver"].hint
    assert hint.id == "webserver-not-running" and "airflow webserver -D" in hint.text.ko


@pytest.mark.parametrize(
    ("value", "passes"),
    [
        ("CeleryExecutor", True),
        ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", True),
        ("CeleryExecutor,KubernetesExecutor", True),
        ("celery:airflow.providers.celery.executors.celery_executor.CeleryExecutor", True),
        ("LocalExecutor,CeleryExecutor", False),  # tasks run on the first (default) executor
        ("LocalExecutor", False),
    ],
)
def test_executor_spellings(af3: Facts, value: str, passes: bool) -> None:
    old = af3.airflow.options["core.executor"]
    af3.airflow.options["core.executor"] = Option(value, old.origin, old.line)
    assert ("config.executor" not in failing(af3)) is passes


# ---- Amazon Linux 2023 and 2 ------------------------------------------------------------------


def retitle(facts: Facts, old: str, argv: list[str]) -> None:
    for index, proc in enumerate(facts.processes):
        if proc.title.split(" ", 1)[0].endswith(old):
            facts.processes[index] = replace(proc, argv=argv, title=" ".join(argv))
            return
    raise AssertionError(f"no {old} process in the recorded facts")


def as_al2023(facts: Facts) -> Facts:
    """AL2023: `dnf install redis6 mariadb105-server`; the redis6 unit runs /usr/bin/redis6-server."""
    facts.host.os_id, facts.host.os_version, facts.host.os_name = (
        "amzn",
        "2023",
        "Amazon Linux 2023.9.20261101",
    )
    retitle(facts, "redis-server", ["/usr/bin/redis6-server", "127.0.0.1:6379"])
    retitle(facts, "mariadbd", ["/usr/libexec/mariadbd", "--basedir=/usr"])
    return facts


def as_al2_mysql57(facts: Facts) -> Facts:
    """AL2 with MySQL 5.7 community: mysqld_safe (a shell script) starts mysqld."""
    facts.host.os_id, facts.host.os_version, facts.host.os_name = "amzn", "2", "Amazon Linux 2"
    retitle(facts, "mariadbd", ["/usr/sbin/mysqld", "--basedir=/usr", "--datadir=/var/lib/mysql"])
    mysqld = next(p for p in facts.processes if p.title.startswith("/usr/sbin/mysqld"))
    safe = Proc(
        pid=90001, ppid=1, uid=0, user="root", state="S", elapsed=100.0,
        title="/bin/sh /usr/bin/mysqld_safe --datadir=/var/lib/mysql",
        argv=["/bin/sh", "/usr/bin/mysqld_safe", "--datadir=/var/lib/mysql"],
    )  # fmt: skip
    facts.processes.append(safe)
    mysqld.ppid = safe.pid
    facts.mysql.server_version = "5.7.44"
    return facts


def test_al2023_redis6_and_mariadb105(af3: Facts) -> None:
    facts = as_al2023(af3)
    found = verdicts(facts)
    assert failing(facts) == {}
    assert any("redis6-server" in e.ko for e in found["redis.running"].evidence)
    assert any("mariadbd" in e.ko for e in found["mysql.running"].evidence)
    assert "eol.os" not in advisories(facts)


def test_al2023_valkey_counts_as_redis(af3: Facts) -> None:
    facts = as_al2023(af3)
    retitle(facts, "redis6-server", ["/usr/bin/valkey-server", "127.0.0.1:6379"])
    found = verdicts(facts)
    assert failing(facts) == {}
    assert any("valkey-server" in e.ko for e in found["redis.running"].evidence)


def test_al2023_without_redis6_running(af3: Facts) -> None:
    facts = as_al2023(af3)
    drop(facts, lambda p: "redis6-server" in p.title)
    assert "redis.running" in failing(facts)


def test_al2_mysql57_started_by_mysqld_safe(af2: Facts) -> None:
    facts = as_al2_mysql57(af2)
    found = verdicts(facts)
    assert failing(facts) == {}
    mysql_evidence = " ".join(e.ko for e in found["mysql.running"].evidence)
    assert "mysqld" in mysql_evidence and "mysqld_safe" not in mysql_evidence
    assert found["mysql.running"].status is Status.PASS  # MySQL, not MariaDB: no note
    assert {"eol.os", "eol.mysql"} <= advisories(facts)


def test_al2_only_mysqld_safe_left_is_not_a_server(af2: Facts) -> None:
    facts = as_al2_mysql57(af2)
    drop(facts, lambda p: p.title.startswith("/usr/sbin/mysqld"))
    assert "mysql.running" in failing(facts)
