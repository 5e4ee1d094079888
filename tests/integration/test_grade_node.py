"""`grade --host` against the real practice node: the full pass, then the node broken on
purpose one way at a time. Each scenario asserts exactly which checks fail, and that the
others still pass."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from tests.integration.conftest import ALL_CHECKS, PracticeNode, silent_listener

SECRETS = ("Bespin12!", "Bespin12%21", "test123!")


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_full_pass(node: PracticeNode) -> None:
    graded = node.grade()
    result = graded.result
    assert graded.code == 0, graded.stdout
    assert result["status"] == "graded"
    assert {c["id"] for c in result["checks"]} == ALL_CHECKS
    assert graded.not_passed == set(), graded.explain()
    assert graded.statuses["mysql.running"] == "warn"  # MariaDB: passes with a note
    assert result["score"] == result["max_score"] == node.max_score
    assert result["airflow_version"] == node.info["airflow_version"]
    assert result["target"] == {
        "name": "127.0.0.1",
        "host": "127.0.0.1",
        "port": node.info["port"],
        "user": "ec2-user",
    }
    assert result["ssh"]["connections"] == 1 and result["ssh"]["exec_sessions"] == 1
    advisories = {a["id"] for a in result["advisories"]}
    assert "db.mariadb" in advisories
    assert ("eol.airflow" in advisories) == (node.major == 2)  # 2.x ended on 2026-04-22
    assert "api.basic_auth" not in advisories and "config.catchup" not in advisories
    # Evidence comes from the protocol, and never shows a password.
    evidence = " ".join(" ".join(c["evidence"]) for c in result["checks"])
    assert "PONG" in evidence and "HTTP 200" in evidence and "mysql+pymysql://airflow:***@" in evidence
    assert_no_secrets(graded.stdout, graded.stderr)
    # ...and every service's reply is tied to the node's own process and to this very probe.
    ties = {
        c["id"]: c["evidence"][-1]
        for c in result["checks"]
        if c["id"] in ("redis.running", "airflow.webserver")
    }
    assert "채점기의 연결" in ties["redis.running"] and "소켓 표" in ties["airflow.webserver"], ties
    assert any("채점기의 연결" in e for e in graded.check("mysql.running")["evidence"])


def test_table_is_korean_and_clean(node: PracticeNode) -> None:
    graded_table = node.run_cli()
    assert graded_table.returncode == 0
    full = f"{node.max_score}/{node.max_score}"
    assert "✅" in graded_table.stdout and f"합계: {full}" in graded_table.stdout
    assert "redis.running" in graded_table.stdout and "Traceback" not in graded_table.stderr
    assert_no_secrets(graded_table.stdout)
    english = node.run_cli("--lang", "en")
    assert f"Total: {full}" in english.stdout and "합계" not in english.stdout


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("redis", {"redis.running", "config.broker"}),
        ("webserver", {"airflow.webserver"}),
        ("scheduler", {"airflow.scheduler"}),
        ("worker", {"airflow.worker"}),
    ],
)
def test_service_stopped(node: PracticeNode, service: str, expected: set[str]) -> None:
    with node.stopped(service):
        graded = node.grade()
        assert graded.code == 1
        assert graded.not_passed == expected, graded.explain()
        for check_id in expected:
            assert graded.check(check_id)["hint"], check_id
    node.wait_healthy()


def test_mysql_stopped(node: PracticeNode) -> None:
    node.node("stop", "mariadb")
    try:
        graded = node.grade()
        assert graded.code == 1
        # The metadata DB is gone: everything that lives in it cannot pass.
        assert {"mysql.running", "config.metadata_db", "account.champion"} <= graded.not_passed, (
            graded.explain()
        )
        assert graded.not_passed <= {
            "mysql.running",
            "config.metadata_db",
            "account.champion",
            "airflow.scheduler",
            "airflow.dag_processor",  # 3.x: its heartbeat lives in the metadata DB too
        }, graded.explain()
        assert graded.statuses["redis.running"] == "pass" and graded.statuses["config.executor"] == "pass"
        assert (
            "mysqld" in graded.check("mysql.running")["hint"]
            or "MySQL" in graded.check("mysql.running")["hint"]
        )
    finally:
        node.node("start", "mariadb")
        node.node("up")  # the scheduler may have given up while its DB was away
    node.wait_healthy()


def _set(text: str, key: str, line: str) -> str:
    new, count = re.subn(rf"(?m)^{key} = .*$", line, text, count=1)
    assert count == 1, key
    return new


@pytest.mark.parametrize(
    ("edit", "expected", "hint_id"),
    [
        (
            lambda t: _set(t, "executor", "executor = LocalExecutor"),
            {"config.executor"},
            "executor-not-celery",
        ),
        (
            lambda t: _set(t, "executor", "# executor = CeleryExecutor"),
            {"config.executor"},
            "executor-not-celery",
        ),
        (
            lambda t: _set(t, "executor", "executor = CeleryExecutor  # celery"),
            {"config.executor"},
            "executor-inline-comment",
        ),
        (
            lambda t: _set(
                t, "sql_alchemy_conn", "sql_alchemy_conn = sqlite:////home/ec2-user/airflow/airflow.db"
            ),
            {"config.metadata_db"},
            "metadata-not-mysql",
        ),
        (
            lambda t: _set(
                t,
                "sql_alchemy_conn",
                "sql_alchemy_conn = mysql+pymysql://airflow:wrong@127.0.0.1:3306/airflow",
            ),
            {"config.metadata_db"},
            "metadata-db-login",
        ),
        (
            lambda t: _set(t, "broker_url", "broker_url = redis://localhost:6390/0"),
            {"config.broker"},
            "broker-unreachable",
        ),
        (
            lambda t: _set(t, "result_backend", "result_backend = redis://localhost:6379/1"),
            {"config.result_backend"},
            "result-backend-not-mysql",
        ),
        (
            lambda t: t.replace(
                "executor = CeleryExecutor", "executor = CeleryExecutor\nexecutor = LocalExecutor", 1
            ),
            {"config.executor", "config.metadata_db", "config.broker", "config.result_backend"},
            "cfg-malformed",
        ),
    ],
    ids=[
        "local-executor",
        "executor-commented-out",
        "executor-inline-comment",
        "sqlite",
        "wrong-db-password",
        "broker-wrong-port",
        "result-backend-redis",
        "duplicate-key",
    ],
)
def test_config_broken(node: PracticeNode, edit, expected: set[str], hint_id: str) -> None:  # type: ignore[no-untyped-def]
    with node.cfg_edited(edit):
        graded = node.grade()
        assert graded.code == 1
        assert graded.not_passed == expected, graded.explain()
        for check_id in expected:
            assert graded.check(check_id)["hint_id"] == hint_id
        assert_no_secrets(graded.stdout)


def test_deprecated_core_location_is_read(node: PracticeNode) -> None:
    """sql_alchemy_conn under [core] (the pre-2.3 place) is still what Airflow uses."""

    def move_to_core(text: str) -> str:
        conn = re.search(r"(?m)^sql_alchemy_conn = (.*)$", text).group(1)  # type: ignore[union-attr]
        text = re.sub(r"(?m)^sql_alchemy_conn = .*$", "# moved to [core]", text, count=1)
        return text.replace("[core]\n", f"[core]\nsql_alchemy_conn = {conn}\n", 1)

    with node.cfg_edited(move_to_core):
        graded = node.grade()
        assert graded.not_passed == set(), graded.explain()
        evidence = " ".join(graded.check("config.metadata_db")["evidence"])
        assert "[core]" in evidence


def test_guide_singular_auth_backend_trap(node: PracticeNode) -> None:
    """2.x: the guide's `auth_backend = ...basic_auth` does nothing next to `auth_backends`: the grader
    says so, and still proves the champion's login through the login form. 3.x has no REST basic auth
    to lose: the same line is harmless and the champion logs in for a token."""
    singular = "auth_backend = airflow.api.auth.backend.basic_auth"

    def guide_way(text: str) -> str:
        if node.major >= 3:
            return text.replace("[api]\n", f"[api]\n{singular}\n", 1)
        return re.sub(
            r"(?m)^auth_backends = .*$",
            f"auth_backends = airflow.api.auth.backend.session\n{singular}",
            text,
            count=1,
        )

    login_seen = ("POST /auth/token",) if node.major >= 3 else ("로그인 화면", "HTTP 429")
    with node.cfg_edited(guide_way):
        node.node("restart", "webserver")
        deadline = time.monotonic() + 120
        while True:  # a restarted webserver's workers take a while to answer the login
            graded = node.grade()
            evidence = " ".join(graded.check("account.champion")["evidence"])
            if any(word in evidence for word in login_seen) or time.monotonic() > deadline:
                break
            time.sleep(2)
        advisories = {a["id"]: a["message"] for a in graded.result["advisories"]}
        assert graded.statuses["account.champion"] in ("pass", "warn"), graded.explain()
        assert any(word in evidence for word in login_seen), evidence
        if node.major >= 3:
            assert "api.basic_auth" not in advisories
        else:
            assert "api.basic_auth" in advisories and "auth_backend" in advisories["api.basic_auth"]
    node.restart("webserver")


def test_cfg_missing(node: PracticeNode) -> None:
    backup = node.cfg.with_suffix(".cfg.test-backup")
    node.cfg.rename(backup)
    try:
        graded = node.grade()
        # Without a cfg Airflow 3 starts with its default auth manager (SimpleAuthManager), which has
        # no champion account: the grader says so on a 3.x node.
        champion = {"account.champion"} if node.major >= 3 else set()
        assert graded.not_passed == {
            "config.executor",
            "config.metadata_db",
            "config.broker",
            "config.result_backend",
            *champion,
        }, graded.explain()
        assert "없습니다" in " ".join(graded.check("config.executor")["evidence"])
        assert (
            graded.statuses["redis.running"] == "pass"
        )  # the node's own Redis, not broker_url's default host
    finally:
        backup.rename(node.cfg)


def test_cfg_not_a_regular_file(node: PracticeNode) -> None:
    """A FIFO named airflow.cfg would block a naive `cat`; the probe must not hang on it."""
    node.cfg.unlink()
    os.mkfifo(node.cfg)
    try:
        graded = node.grade("--timeout", "10")
        assert graded.result["status"] == "graded"
        for check_id in ("config.executor", "config.metadata_db", "config.broker", "config.result_backend"):
            assert graded.statuses[check_id] == "error"
        assert graded.code == 1
    finally:
        node.restore_cfg()


def test_webserver_that_never_answers(node: PracticeNode) -> None:
    """A webserver port that accepts and stays silent (a hung gunicorn): the grade still ends within
    --timeout, and the evidence says how long it waited instead of a bare "timed out"."""
    node.node("stop", "webserver")
    try:
        with silent_listener(8080):
            started = time.monotonic()
            graded = node.grade("--timeout", "12")
            took = time.monotonic() - started
    finally:
        node.node("start", "webserver")
        node.wait_healthy()
    assert graded.result["status"] == "graded" and graded.code == 1
    assert took < 12 + 5, took  # bounded by the node's own deadline (plus start-up)
    assert graded.not_passed == {"airflow.webserver"}, graded.explain()
    evidence = " ".join(graded.check("airflow.webserver")["evidence"])
    assert re.search(r"GET :8080/health → \d+초 안에 응답이 없습니다", evidence), evidence
    assert graded.statuses["airflow.scheduler"] == "pass"  # its heartbeat comes from the metadata DB then
    # No login through a silent webserver: the champion is proven by the stored hash instead.
    assert "해시가 공지된 비밀번호와 일치" in " ".join(graded.check("account.champion")["evidence"])


def test_env_override_beats_file(node: PracticeNode) -> None:
    """AIRFLOW__CORE__EXECUTOR in a running Airflow process's environment wins over airflow.cfg: the
    webserver's on 2.x, the scheduler's on 3.x (where the executor runs; the grader reads it first)."""
    service = "scheduler" if node.major >= 3 else "webserver"
    node.node("stop", service)
    env = os.path.join(node.info["run"], "env-override")
    try:
        with open(env, "w") as handle:
            handle.write("AIRFLOW__CORE__EXECUTOR=SequentialExecutor\n")
        subprocess.run(
            ["bash", str(node.info["node_script"]), "start", service],
            check=True,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NODE_EXTRA_ENV": env},
            timeout=300,
            capture_output=True,
        )
        graded = node.grade()
        assert graded.not_passed == {"config.executor"}, graded.explain()
        assert "AIRFLOW__CORE__EXECUTOR" in " ".join(graded.check("config.executor")["evidence"])
    finally:
        os.unlink(env)
        node.restart(service)


def test_champion_role_viewer(node: PracticeNode) -> None:
    set_role = (
        "UPDATE ab_user_role SET role_id = (SELECT id FROM ab_role WHERE name = '{role}') "
        "WHERE user_id = (SELECT id FROM ab_user WHERE username = 'trey')"
    )
    node.sql(set_role.format(role="Viewer"))
    try:
        graded = node.grade()
        assert graded.not_passed == {"account.champion"}, graded.explain()
        assert graded.check("account.champion")["hint_id"] == "champion-role"
    finally:
        node.sql(set_role.format(role="Admin"))


def test_champion_deleted(node: PracticeNode) -> None:
    node.sql(
        "DELETE ur FROM ab_user_role ur JOIN ab_user u ON u.id = ur.user_id WHERE u.username = 'trey'; "
        "DELETE FROM ab_user WHERE username = 'trey'"
    )
    try:
        graded = node.grade()
        assert graded.not_passed == {"account.champion"}, graded.explain()
        assert graded.check("account.champion")["hint_id"] == "champion-missing"
        assert "airflow users create" in graded.check("account.champion")["hint"]
    finally:
        node.node("up")  # re-creates the champion the way the guide does
    graded = node.grade()
    assert graded.not_passed == set(), graded.explain()
