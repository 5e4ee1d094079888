"""The configuration Airflow really uses: executor, metadata DB, broker, result backend.

Values come from the effective configuration (env overrides > airflow.cfg > defaults,
deprecated names included; see grader/airflow_config.py), and are backed by evidence
from the protocol and from the running processes."""

from __future__ import annotations

from checks import processes as P
from checks.model import Hint, Outcome, Status
from grader.facts import Facts, Option
from grader.i18n import Text, t
from grader.settings import CourseSettings

CELERY_NAMES = {"celeryexecutor", "airflow.providers.celery.executors.celery_executor.celeryexecutor"}


def _origin(option: Option | None) -> Text:
    if option is None:
        return t("알 수 없음", "unknown")
    origin = option.origin
    if origin.startswith("env:"):
        return t("환경 변수 {n}", "environment variable {n}", n=origin[4:])
    if origin.startswith("file:"):
        return t("airflow.cfg {w}", "airflow.cfg {w}", w=origin[5:])
    if origin == "derived":
        return t("sql_alchemy_conn에서 유도", "derived from sql_alchemy_conn")
    return t("기본값 (설정 없음)", "default (not set)")


def _shown(option: Option | None, facts: Facts) -> Text:
    value = option.value if option else None
    origin = _origin(option)
    where = facts.airflow.config_path or "?"
    return Text(
        f"{value!s} ← {origin.ko} [{where}]",
        f"{value!s} ← {origin.en} [{where}]",
    )


def config_unusable(facts: Facts) -> Outcome | None:
    """A cfg Airflow cannot read stops every config check with the same clear verdict."""
    airflow = facts.airflow
    state = airflow.config_state
    if state == "parse-error" and airflow.config_problem:
        problem = airflow.config_problem
        messages = {
            "duplicate-option": t(
                "{w} 항목이 {line}번째 줄에 또 있습니다. Airflow는 이런 파일로 시작하지 못합니다: 주석(#)으로 바꾸거나 한 줄만 남기세요.",
                "{w} appears again at line {line}; Airflow will not start with this file. Comment out (#) or keep one line.",
                w=problem.where,
                line=problem.line,
            ),
            "duplicate-section": t(
                "{w} 섹션이 {line}번째 줄에 또 있습니다. Airflow는 이런 파일로 시작하지 못합니다.",
                "Section {w} appears again at line {line}; Airflow will not start with this file.",
                w=problem.where,
                line=problem.line,
            ),
            "no-section-header": t(
                "{line}번째 줄이 첫 섹션([core]) 앞에 있습니다.",
                "Line {line} comes before the first section header ([core]).",
                line=problem.line,
            ),
            "encoding": t(
                "{line}번째 줄에 UTF-8이 아닌 바이트가 있습니다. Airflow는 이런 파일로 시작하지 못합니다: 그 줄을 UTF-8로 다시 쓰세요.",
                "Line {line} holds a byte that is not UTF-8; Airflow will not start with this file. Rewrite that line in UTF-8.",
                line=problem.line,
            ),
            "syntax": t(
                "{line}번째 줄이 `키 = 값` 형식이 아닙니다 (vim에서 잘못 입력된 글자가 없는지 보세요).",
                "Line {line} is not `key = value` (look for stray characters typed in vim).",
                line=problem.line,
            ),
        }
        message = messages.get(
            problem.kind, t("airflow.cfg를 읽을 수 없습니다", "airflow.cfg cannot be read")
        )
        return Outcome(
            Status.FAIL,
            [t("{p}: 형식 오류", "{p}: malformed", p=airflow.config_path)],
            Hint("cfg-malformed", message),
        )
    if state in ("unreadable", "not-regular", "timeout", "error"):
        reasons = {
            "unreadable": t("읽기 권한이 없습니다", "no read permission"),
            "not-regular": t("일반 파일이 아닙니다", "not a regular file"),
            "timeout": t("읽는 데 시간이 너무 오래 걸립니다", "reading it timed out"),
            "error": t("읽다가 오류가 났습니다", "read error"),
        }
        reason = reasons[state]
        return Outcome(
            Status.ERROR,
            [Text(f"{airflow.config_path}: {reason.ko}", f"{airflow.config_path}: {reason.en}")],
            Hint(
                "cfg-unreadable",
                t(
                    "airflow.cfg를 SSH 사용자가 읽을 수 있는 일반 파일로 두세요 (`ls -l $AIRFLOW_HOME/airflow.cfg`).",
                    "Keep airflow.cfg a regular file the SSH user can read (`ls -l $AIRFLOW_HOME/airflow.cfg`).",
                ),
            ),
        )
    return None


def value_unreadable(label: str, option: Option | None, facts: Facts) -> Outcome | None:
    """An option Airflow itself cannot read (a lone `%`, an unsplittable URL): it fails, saying why."""
    if option is None or not option.error:
        return None
    if option.error.startswith("Interpolation"):
        why = t(
            "값에 `%`가 있는데 Airflow의 설정 읽기는 `%`를 특별하게 씁니다. 값 안의 `%`는 `%%`로 쓰세요 "
            "(예: 비밀번호를 URL 인코딩한 `%40`은 `%%40`).",
            "The value holds a `%`, which Airflow's config reader treats specially: write each `%` as `%%` "
            "(e.g. a URL-encoded `%40` in a password becomes `%%40`).",
        )
    elif option.error == "ValueError":
        why = t(
            "Airflow가 이 URL을 나누지 못합니다(비밀번호의 `[`·`]` 등). 그런 글자는 URL 인코딩해서 쓰세요.",
            "Airflow cannot split this URL (a `[` or `]` in the password?); URL-encode such characters.",
        )
    else:
        why = t("Airflow가 이 값을 읽지 못합니다.", "Airflow cannot read this value.")
    origin = _origin(option)
    return Outcome(
        Status.FAIL,
        [
            t(
                "{label}: Airflow가 읽지 못하는 값 ({e}) ← {o}",
                "{label}: a value Airflow cannot read ({e}) ← {o_en}",
                label=label,
                e=option.error,
                o=origin.ko,
                o_en=origin.en,
            )
        ],
        Hint("cfg-value-unreadable", why),
    )


def _file_note(facts: Facts) -> list[Text]:
    airflow = facts.airflow
    notes = []
    if airflow.config_state == "missing":
        notes.append(
            t(
                "{p} 파일이 없습니다 (AIRFLOW_HOME={h}): 기본값이 쓰입니다",
                "{p} does not exist (AIRFLOW_HOME={h}): defaults apply",
                p=airflow.config_path,
                h=airflow.home,
            )
        )
    return notes


def executor(facts: Facts, settings: CourseSettings) -> Outcome:
    if (stop := config_unusable(facts)) is not None:
        return stop
    option = facts.airflow.option("core.executor")
    if (unreadable := value_unreadable("executor", option, facts)) is not None:
        return unreadable
    value = (option.value or "") if option else ""
    # A list (2.10+ multi-executor) runs tasks on its first entry by default; an entry may be
    # `alias:module.path.Class` or `module.path.Class` as well as the short name.
    first = value.split(",")[0].strip()
    if ":" in first and "#" not in first.split(":", 1)[0]:
        first = first.split(":", 1)[1].strip()
    evidence = [*_file_note(facts), _line("executor", option, facts)]
    local_workers = P.find(facts, P.is_local_executor_worker)
    if local_workers:
        evidence.append(
            t(
                "실행 중인 scheduler가 LocalExecutor 작업 프로세스를 쓰고 있습니다 (pid {pids})",
                "The running scheduler uses LocalExecutor worker processes (pid {pids})",
                pids=", ".join(str(p.pid) for p in local_workers[:3]),
            )
        )
    if "#" in first:
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "executor-inline-comment",
                t(
                    "값 뒤의 `# ...`도 값의 일부로 읽힙니다. 주석은 줄 맨 앞에만 두세요: `executor = CeleryExecutor`.",
                    "A trailing `# ...` is read as part of the value; put comments on their own line: `executor = CeleryExecutor`.",
                ),
            ),
        )
    if first.lower() in CELERY_NAMES and not local_workers:
        return Outcome(Status.PASS, evidence)
    if first.lower() in CELERY_NAMES:
        hint = t(
            "airflow.cfg에는 CeleryExecutor가 있지만 실행 중인 scheduler는 아직 LocalExecutor입니다. scheduler를 다시 시작하세요.",
            "airflow.cfg says CeleryExecutor but the running scheduler still uses LocalExecutor; restart the scheduler.",
        )
        return Outcome(Status.FAIL, evidence, Hint("executor-restart", hint))
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "executor-not-celery",
            t(
                "가이드 3.4 airflow.cfg 설정: [core]에 `executor = CeleryExecutor`를 쓰고 (주석 # 없이) scheduler·worker를 다시 시작하세요.",
                "Guide 3.4: set `executor = CeleryExecutor` in [core] (no leading #) and restart the scheduler and worker.",
            ),
        ),
    )


def _line(label: str, option: Option | None, facts: Facts) -> Text:
    shown = _shown(option, facts)
    return Text(f"{label} = {shown.ko}", f"{label} = {shown.en}")


def metadata_db(facts: Facts, settings: CourseSettings) -> Outcome:
    if (stop := config_unusable(facts)) is not None:
        return stop
    option = facts.airflow.option("database.sql_alchemy_conn")
    if (unreadable := value_unreadable("sql_alchemy_conn", option, facts)) is not None:
        return unreadable
    value = (option.value or "") if option else ""
    scheme = value.split("://", 1)[0].lower()
    evidence = [*_file_note(facts), _line("sql_alchemy_conn", option, facts)]
    if option and option.origin.startswith("file:[core]"):
        evidence.append(
            t(
                "[core]의 sql_alchemy_conn은 2.3부터 [database]로 옮겨졌습니다 (아직 읽히지만 곧 사라질 위치)",
                "[core] sql_alchemy_conn moved to [database] in 2.3 (still read, deprecated)",
            )
        )
    if not scheme.startswith("mysql"):
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "metadata-not-mysql",
                t(
                    "가이드 3.4: [database]에 `sql_alchemy_conn = mysql+pymysql://airflow:<비밀번호>@127.0.0.1:3306/airflow`를 쓰고 `airflow db migrate`(가이드의 db init) 후 서비스를 다시 시작하세요.",
                    "Guide 3.4: set `sql_alchemy_conn = mysql+pymysql://airflow:<password>@127.0.0.1:3306/airflow` in [database], run `airflow db migrate` (the guide's db init) and restart.",
                ),
            ),
        )
    mysql = facts.mysql
    if not mysql or mysql.greeting_error:
        evidence.append(
            t(
                "MySQL 응답 없음 ({e})",
                "MySQL does not answer ({e})",
                e=mysql.greeting_error if mysql else "?",
            )
        )
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "metadata-db-down",
                t(
                    "MySQL이 응답하지 않습니다: mysql.running 항목부터 해결하세요 (가이드 3.3).",
                    "MySQL does not answer: fix mysql.running first (guide 3.3).",
                ),
            ),
        )
    if mysql.login_error:
        evidence.append(
            t("이 설정으로 로그인 실패: {e}", "Login with these settings failed: {e}", e=mysql.login_error)
        )
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "metadata-db-login",
                t(
                    "가이드 3.3 MySQL 세부 세팅: `create user 'airflow'@'localhost' identified by ...`와 `grant all privileges on airflow.* ...`를 했는지, 비밀번호가 sql_alchemy_conn과 같은지 확인하세요. 비밀번호의 특수문자(@ : / #)는 URL 인코딩이 필요합니다.",
                    "Guide 3.3: check `create user 'airflow'@'localhost' ...` and `grant all privileges on airflow.* ...`, and that the password matches sql_alchemy_conn. Special characters (@ : / #) must be URL-encoded.",
                ),
            ),
        )
    evidence.append(
        t(
            "{user}@{host}:{port}/{db} 로그인 성공 (서버 {v})",
            "Logged in as {user}@{host}:{port}/{db} (server {v})",
            user=mysql.login_user,
            host=mysql.host,
            port=mysql.port,
            db=mysql.database,
            v=mysql.server_version,
        )
    )
    if not mysql.tables_present:
        return Outcome(
            Status.FAIL,
            [*evidence, t("Airflow 테이블이 없습니다", "Airflow's tables are missing")],
            Hint(
                "metadata-db-empty",
                t(
                    "airflow.cfg를 고친 뒤 `airflow db migrate`(가이드의 `airflow db init`)를 다시 실행해 테이블을 만드세요.",
                    "After editing airflow.cfg run `airflow db migrate` (the guide's `airflow db init`) again to create the tables.",
                ),
            ),
        )
    schedulers = P.find(facts, P.is_scheduler)
    if any(facts.connected_to(p.pid, mysql.port) for p in schedulers):
        evidence.append(
            t(
                "실행 중인 scheduler가 이 MySQL(:{port})에 연결되어 있음",
                "The running scheduler is connected to this MySQL (:{port})",
                port=mysql.port,
            )
        )
    return Outcome(Status.PASS, evidence)


def broker(facts: Facts, settings: CourseSettings) -> Outcome:
    if (stop := config_unusable(facts)) is not None:
        return stop
    option = facts.airflow.option("celery.broker_url")
    if (unreadable := value_unreadable("broker_url", option, facts)) is not None:
        return unreadable
    value = (option.value or "") if option else ""
    evidence = [*_file_note(facts), _line("broker_url", option, facts)]
    if not value.lower().startswith(("redis://", "rediss://")):
        return Outcome(
            Status.FAIL,
            evidence,
            Hint(
                "broker-not-redis",
                t(
                    "가이드 3.4: [celery]에 `broker_url = redis://localhost:6379/0`을 쓰고 scheduler·worker를 다시 시작하세요.",
                    "Guide 3.4: set `broker_url = redis://localhost:6379/0` in [celery] and restart the scheduler and worker.",
                ),
            ),
        )
    redis = facts.broker
    if redis and redis.reachable:
        evidence.append(
            t("이 주소의 Redis가 PING에 응답 (PONG)", "Redis at this address answers PING (PONG)")
        )
        return Outcome(Status.PASS, evidence)
    evidence.append(
        t(
            "이 주소의 Redis가 응답하지 않습니다: {e}",
            "Redis at this address does not answer: {e}",
            e=(redis.error or redis.reply) if redis else "?",
        )
    )
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "broker-unreachable",
            t(
                "broker_url의 호스트·포트·비밀번호로 Redis에 닿지 않습니다. Redis가 떠 있는지(가이드 3.2), 주소가 맞는지 확인하세요.",
                "Redis cannot be reached with broker_url's host, port and password. Check Redis runs (guide 3.2) and the address.",
            ),
        ),
    )


def result_backend(facts: Facts, settings: CourseSettings) -> Outcome:
    if (stop := config_unusable(facts)) is not None:
        return stop
    option = facts.airflow.option("celery.result_backend")
    if (unreadable := value_unreadable("result_backend", option, facts)) is not None:
        return unreadable
    value = (option.value or "") if option else ""
    evidence = [*_file_note(facts), _line("result_backend", option, facts)]
    if value.lower().startswith("db+mysql"):
        if option and option.origin == "derived":
            evidence.append(
                t(
                    "result_backend가 비어 있어 Airflow가 sql_alchemy_conn에서 만들어 씁니다 (가이드처럼 직접 쓰기를 권장)",
                    "result_backend is unset; Airflow derives it from sql_alchemy_conn (setting it as the guide does is recommended)",
                )
            )
        return Outcome(Status.PASS, evidence)
    return Outcome(
        Status.FAIL,
        evidence,
        Hint(
            "result-backend-not-mysql",
            t(
                "가이드 3.4: [celery]에 `result_backend = db+mysql://airflow:<비밀번호>@127.0.0.1:3306/airflow`를 쓰세요 (앞의 `db+`를 빠뜨리지 마세요).",
                "Guide 3.4: set `result_backend = db+mysql://airflow:<password>@127.0.0.1:3306/airflow` in [celery] (keep the `db+` prefix).",
            ),
        ),
    )
