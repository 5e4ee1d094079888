"""End to end, without a node: a recorded probe made to hold passwords in every place a careless or
hostile trainee can put one (airflow.cfg URLs, command lines, bash history, environments, replies),
observed, judged and written in every output format; no file may hold any of them."""

from __future__ import annotations

import copy
import html
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from grader.cli_class import write_class_table
from grader.facts import Facts, MysqlFacts, RedisFacts, WebFacts
from grader.history import append_history, history_record, read_history
from grader.i18n import t
from grader.notebook import CheckView
from grader.observe import observe
from grader.report import write_json, write_table
from grader.reports.html import write_html
from grader.reports.junit import write_junit
from grader.runner import TargetResult, judge_facts
from grader.scoreboard import Scoreboard, result_row
from grader.settings import CourseSettings
from grader.target import Target

RAW = Path(__file__).resolve().parents[1] / "fixtures" / "probe" / "practice-2.11.2-raw.json"
SETTINGS = CourseSettings()
CHAMPION = SETTINGS.champion.password

# Unencoded `/ ? # : @` in the DB password: SQLAlchemy takes all of it (to the first `@`... the
# mask goes to the last one); a space in command-line passwords (one argv element, or quoted).
DB = "db/Pw?x#1:z@q"
BROKER = "br0ker/Pw:7"
QUERY = "qry-Secret-77"
MYSQL_CLI = "cli My Pw 3"
MYSQL_LONG = "mysql-Long-31"
REDIS_CLI = "rcli-Pw-44"
REDIS_PASS = "rpass-Pw-45"
MYSQL_PWD = "envPwd-55"
CONN = "conn-Pw-66"
CONN_URI = "uri/Pw@77"
USERS = "users-Pw-88"
FERNET = "fernet-Key-99="
SQL_ENV = "sqlenv-Pw-12"
HISTORY = "hist Pw 13"
JWT = "eyJhbGciOi.jwt-token-payload.sig"
SECRETS = [
    DB,
    BROKER,
    QUERY,
    MYSQL_CLI,
    MYSQL_LONG,
    REDIS_CLI,
    REDIS_PASS,
    MYSQL_PWD,
    CONN,
    CONN_URI,
    USERS,
    FERNET,
    SQL_ENV,
    HISTORY,
    JWT,
    CHAMPION,
]


def _proc(pid: int, argv: list[str], ppid: int = 1) -> dict[str, Any]:
    return {"pid": pid, "ppid": ppid, "uid": 1000, "state": "S", "elapsed": 60.0, "argv": argv, "comm": "x"}


def hostile_probe() -> dict[str, Any]:
    raw = json.loads(RAW.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    for entry in raw["files"]:
        lines = []
        for number, line in entry.get("lines") or []:
            key = line.split("=", 1)[0].strip()
            if key == "sql_alchemy_conn":
                line = (
                    f"sql_alchemy_conn = mysql+pymysql://airflow:{DB}@127.0.0.1:3306/airflow"
                    f"?charset=utf8mb4&password={QUERY}"
                )
            elif key == "result_backend":
                line = f"result_backend = db+mysql://airflow:{DB}@127.0.0.1:3306/airflow"
            elif key == "broker_url":
                line = f"broker_url = redis://:{BROKER}@localhost:6379/0"
            lines.append([number, line])
        entry["lines"] = lines
    raw["processes"] += [
        _proc(90001, ["mysql", "-u", "root", f"-p{MYSQL_CLI}", "airflow"]),
        _proc(90002, ["mysql", "-u", "root", "--password", MYSQL_LONG]),
        _proc(90003, ["redis-cli", "-a", REDIS_CLI, "monitor"]),
        _proc(90004, ["redis-cli", "--pass", REDIS_PASS, "ping"]),
        _proc(90005, ["bash", "-c", f"MYSQL_PWD={MYSQL_PWD} mysql -u root airflow"]),
        _proc(
            90006,
            [
                "airflow",
                "connections",
                "add",
                "db",
                "--conn-password",
                CONN,
                "--conn-uri",
                f"mysql://u:{CONN_URI}@h/db",
            ],
        ),
        _proc(90007, ["airflow", "users", "create", "-u", "trey", "-r", "Admin", "-p", USERS]),
        # a retitled process: the whole command line in one argv element
        _proc(
            90008,
            [
                f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=mysql+pymysql://airflow:{SQL_ENV}@127.0.0.1/airflow airflow triggerer"
            ],
        ),
    ]
    detail = raw["details"][0]
    detail["env"] = [*detail["env"], f"AIRFLOW__CORE__FERNET_KEY={FERNET}"]
    raw["history"] = [
        f"mysql -uroot -p'{HISTORY}' airflow",
        f"airflow users create -u trey -r Admin -p '{CHAMPION}' -e t@example.com -f t -l t",
        f"export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN='mysql+pymysql://airflow:{DB}@127.0.0.1/airflow'",
        "airflow db migrate",
    ]
    raw["problems"] = [f"cannot read /proc/90005/environ (MYSQL_PWD={MYSQL_PWD})"]
    return raw


def replies_from_a_hostile_node(facts: Facts) -> None:
    """Node replies that carry secrets where no pattern looks (as gather would store them)."""
    facts.redis = RedisFacts(
        "127.0.0.1", 6379, "process", reachable=True, reply="PONG", version=f"7.0 {BROKER}"
    )
    facts.broker = RedisFacts("localhost", 6379, "broker_url", error=f"WRONGPASS {REDIS_CLI} {REDIS_PASS}")
    facts.mysql = MysqlFacts(
        "127.0.0.1",
        3306,
        "sql_alchemy_conn",
        server_version=f"10.5.25-MariaDB {DB}",
        login_user="airflow",
        login_error=f"(1045, \"Access denied for user 'airflow' (using password: YES)\") {MYSQL_CLI} {CONN}",
        query_error=f"{CONN_URI} {USERS} {FERNET} {SQL_ENV} {HISTORY}",
    )
    facts.web = WebFacts(
        8080,
        health_status=200,
        health={"metadatabase": {"status": f"healthy {JWT}"}, JWT: QUERY},
        login_method="jwt",
        login_result="error",
        login_error=f"POST /auth/token: {JWT} {CHAMPION} {MYSQL_LONG}",
    )


def _forms(secret: str) -> set[str]:
    """The secret as any writer could spell it: raw, percent-encoded, JSON-, HTML-, XML-escaped."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    return {f for f in forms if len(f) >= 3}


@pytest.fixture(scope="module")
def graded() -> tuple[list[TargetResult], Facts]:
    raw = hostile_probe()
    facts, resolved = observe(raw)
    secrets = resolved.secrets() | {CHAMPION, JWT}
    assert {DB, BROKER, MYSQL_CLI, MYSQL_LONG, REDIS_CLI, CONN, CONN_URI, USERS, FERNET, SQL_ENV} <= secrets
    replies_from_a_hostile_node(facts)
    target = Target(name="trainee-01", host="10.0.0.1", hostname="10.0.0.1", user="ec2-user")
    result = judge_facts(target, facts, SETTINGS)
    result.secrets = secrets
    result.seconds = 1.0
    # A node that could not be graded: its message quotes URLs and commands; only the champion's
    # password is known then, so the patterns must do the work.
    failed = TargetResult(
        Target(name="trainee-02", host="10.0.0.2", hostname="10.0.0.2", user="ec2-user"),
        "error",
        datetime.now(UTC).isoformat(timespec="seconds"),
        message=t(
            f"점검 실패: mysql+pymysql://airflow:{DB}@127.0.0.1/airflow; redis-cli -a {REDIS_CLI}; "
            f"MYSQL_PWD={MYSQL_PWD}; --conn-password={CONN}; {CHAMPION}",
            f"probe failed: redis://:{BROKER}@localhost:6379/0 airflow users create -p {USERS}",
        ),
        secrets={CHAMPION},
    )
    return [result, failed], facts


@pytest.fixture(scope="module")
def outputs(graded: tuple[list[TargetResult], Facts], tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    results, facts = graded
    out = tmp_path_factory.mktemp("outputs")
    written: list[Path] = []
    for lang in ("ko", "en"):
        as_json = [r.to_json(lang) for r in results]
        path = out / f"results.{lang}.json"
        with path.open("w", encoding="utf-8") as stream:
            write_json(results, stream, lang=lang)
        table = io.StringIO()
        write_table(results, table, lang=lang)
        write_class_table(as_json, table, lang)
        (out / f"table.{lang}.txt").write_text(table.getvalue(), encoding="utf-8")
        write_junit(as_json, out / f"junit.{lang}.xml")
        history = out / f"history.{lang}.jsonl"
        append_history(history, [history_record(r, "run-1") for r in as_json])
        write_html(
            as_json,
            out / f"report.{lang}.html",
            title="t",
            generated_at="2026-01-01T00:00:00+00:00",
            lang=lang,
            history=read_history(history),
        )
        board = Scoreboard()
        for r in as_json:
            board.update(result_row(r, 100))
        (out / f"scoreboard.{lang}.csv").write_bytes(board.to_csv_bytes())
        written += [path, out / f"table.{lang}.txt", out / f"junit.{lang}.xml", history]
        written += [out / f"report.{lang}.html", out / f"scoreboard.{lang}.csv"]
    view = CheckView(results[0])
    (out / "notebook.txt").write_text(
        str(view) + view._repr_html_() + str(CheckView(results[1])), encoding="utf-8"
    )
    facts.save(out / "facts.json", results[0].secrets)
    written += [out / "notebook.txt", out / "facts.json"]
    return written


def test_the_planted_secrets_reach_the_outputs_unless_masked(
    graded: tuple[list[TargetResult], Facts],
) -> None:
    """The test is meaningful: without masking, the replies and messages would carry them."""
    results, facts = graded
    assert facts.mysql is not None and DB in (facts.mysql.server_version or "")
    assert results[1].message is not None and REDIS_CLI in results[1].message.ko
    assert results[0].verdicts, "the hostile facts are still judged"


def test_no_output_holds_a_secret(outputs: list[Path]) -> None:
    leaks = []
    for path in outputs:
        text = path.read_text(encoding="utf-8-sig")
        assert text.strip(), path
        for secret in SECRETS:
            for form in _forms(secret):
                if form in text:
                    leaks.append(f"{path.name}: {secret!r} as {form!r}")
    assert not leaks, "\n".join(leaks)


def test_facts_in_memory_hold_no_command_line_or_url_password(
    graded: tuple[list[TargetResult], Facts],
) -> None:
    """Titles, argv and options are masked by pattern in observe (the replies are masked on output)."""
    _, facts = graded
    text = json.dumps(
        [facts.to_json()[k] for k in ("processes", "airflow", "details", "problems")], ensure_ascii=False
    )
    for secret in [
        DB,
        BROKER,
        QUERY,
        MYSQL_CLI,
        MYSQL_LONG,
        REDIS_CLI,
        REDIS_PASS,
        MYSQL_PWD,
        CONN,
        CONN_URI,
    ]:
        assert secret not in text
    assert "mysql+pymysql://airflow:***@127.0.0.1:3306/airflow?charset=utf8mb4&password=***" in text


def test_saved_facts_load_and_judge(outputs: list[Path]) -> None:
    facts = Facts.load(next(p for p in outputs if p.name == "facts.json"))
    assert judge_facts(Target(name="x", host="x", hostname="x", user="u"), facts, SETTINGS).verdicts
