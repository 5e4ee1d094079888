"""How the grader reads airflow.cfg and resolves the effective configuration, like Airflow does."""

from __future__ import annotations

import textwrap

import pytest

from grader import airflow_config as cfg
from grader.airflow_config import ConfigFileError, parse_cfg, resolve

HOME = "/home/ec2-user/airflow"


def _cfg(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _resolve(text: str, env: dict[str, str] | None = None, major: int = 2, user_home: str = ""):
    values, lines = parse_cfg(_cfg(text))
    return resolve(values, lines, env or {}, major, HOME, user_home)


# ---- precedence ------------------------------------------------------------------------------


def test_file_value_and_its_line_number():
    settings = _resolve(
        """
        [core]
        dags_folder = /srv/dags
        executor = LocalExecutor
        """
    )
    executor = settings[("core", "executor")]
    assert executor.value == "LocalExecutor"
    assert executor.line == 3
    assert executor.origin == "file:[core] executor (line 3)"


def test_env_override_beats_file():
    settings = _resolve(
        """
        [core]
        executor = LocalExecutor
        """,
        env={"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"},
    )
    executor = settings[("core", "executor")]
    assert executor.value == "CeleryExecutor"
    assert executor.origin == "env:AIRFLOW__CORE__EXECUTOR"
    assert executor.line is None


def test_env_with_deprecated_name_beats_file_with_new_name():
    settings = _resolve(
        """
        [database]
        sql_alchemy_conn = sqlite:////tmp/file.db
        """,
        env={"AIRFLOW__CORE__SQL_ALCHEMY_CONN": "mysql+pymysql://airflow:pw@127.0.0.1/airflow"},
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value == "mysql+pymysql://airflow:pw@127.0.0.1/airflow"
    assert conn.origin == "env:AIRFLOW__CORE__SQL_ALCHEMY_CONN"


def test_deprecated_core_sql_alchemy_conn_used_when_database_lacks_it():
    settings = _resolve(
        """
        [core]
        executor = CeleryExecutor
        sql_alchemy_conn = mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow
        [database]
        sql_engine_encoding = utf-8
        """
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value == "mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow"
    assert conn.origin == "file:[core] sql_alchemy_conn (line 3)"
    assert conn.line == 3


def test_database_section_wins_over_deprecated_core():
    settings = _resolve(
        """
        [core]
        sql_alchemy_conn = sqlite:////home/ec2-user/airflow/airflow.db
        [database]
        sql_alchemy_conn = mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow
        """
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value == "mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow"
    assert conn.origin.startswith("file:[database] sql_alchemy_conn")
    assert conn.line == 4


def test_singular_auth_backend_ignored_when_plural_present():
    text = """
        [api]
        auth_backends = airflow.api.auth.backend.session
        auth_backend = airflow.api.auth.backend.basic_auth
        """
    values, lines = parse_cfg(_cfg(text))
    settings = resolve(values, lines, {}, 2, HOME)
    backends = settings[("api", "auth_backends")]
    assert backends.value == "airflow.api.auth.backend.session"
    assert backends.origin.startswith("file:[api] auth_backends")
    assert cfg.singular_auth_backend_ignored(values) is True


def test_singular_auth_backend_used_when_alone():
    text = """
        [api]
        auth_backend = airflow.api.auth.backend.basic_auth
        """
    values, lines = parse_cfg(_cfg(text))
    settings = resolve(values, lines, {}, 2, HOME)
    backends = settings[("api", "auth_backends")]
    assert backends.value == "airflow.api.auth.backend.basic_auth"
    assert backends.origin == "file:[api] auth_backend (line 2)"
    assert cfg.singular_auth_backend_ignored(values) is False


def test_singular_auth_backend_ignored_handles_no_file():
    assert cfg.singular_auth_backend_ignored(None) is False
    assert cfg.singular_auth_backend_ignored({"core": {"executor": "x"}}) is False


@pytest.mark.parametrize(("major", "expected"), [(2, "SequentialExecutor"), (3, "LocalExecutor")])
def test_commented_executor_is_not_a_setting(major, expected):
    settings = _resolve(
        """
        [core]
        # executor = CeleryExecutor
        ; executor = CeleryExecutor
        dags_folder = /srv/dags
        """,
        major=major,
    )
    executor = settings[("core", "executor")]
    assert executor.value == expected
    assert executor.origin == "default"
    assert executor.line is None


def test_defaults_when_there_is_no_file():
    settings = resolve(None, {}, {}, 2, HOME)
    assert settings[("core", "dags_folder")].value == "/home/ec2-user/airflow/dags"
    assert settings[("database", "sql_alchemy_conn")].value == "sqlite:////home/ec2-user/airflow/airflow.db"
    assert settings[("scheduler", "catchup_by_default")].value == "True"
    assert settings[("api", "auth_backends")].value == "airflow.api.auth.backend.session"
    v3 = resolve(None, {}, {}, 3, HOME)
    assert v3[("scheduler", "catchup_by_default")].value == "False"
    assert v3[("api", "auth_backends")].value is None
    assert set(settings) == set(cfg.WATCHED)


def test_inline_comment_is_part_of_the_value():
    settings = _resolve(
        """
        [core]
        executor = CeleryExecutor # changed for the course
        """
    )
    assert settings[("core", "executor")].value == "CeleryExecutor # changed for the course"


def test_option_names_are_case_insensitive_like_configparser():
    settings = _resolve(
        """
        [core]
        Executor = CeleryExecutor
        """
    )
    assert settings[("core", "executor")].value == "CeleryExecutor"
    assert settings[("core", "executor")].line == 2


# ---- files Airflow cannot read -------------------------------------------------------------


def test_duplicate_option_is_fatal_with_line_number():
    text = _cfg(
        """
        [core]
        dags_folder = /srv/dags
        executor = SequentialExecutor

        executor = CeleryExecutor
        """
    )
    with pytest.raises(ConfigFileError) as info:
        parse_cfg(text)
    assert info.value.kind == "duplicate-option"
    assert info.value.line == 5
    assert info.value.where == "[core] executor"


def test_duplicate_option_differing_only_in_case():
    text = "[core]\nexecutor = A\nEXECUTOR = B\n"
    with pytest.raises(ConfigFileError) as info:
        parse_cfg(text)
    assert info.value.kind == "duplicate-option"
    assert info.value.line == 3


def test_duplicate_section_is_fatal():
    text = _cfg(
        """
        [core]
        executor = CeleryExecutor
        [celery]
        broker_url = redis://localhost:6379/0
        [core]
        load_examples = False
        """
    )
    with pytest.raises(ConfigFileError) as info:
        parse_cfg(text)
    assert info.value.kind == "duplicate-section"
    assert info.value.line == 5
    assert info.value.where == "[core]"


def test_missing_section_header():
    with pytest.raises(ConfigFileError) as info:
        parse_cfg("executor = CeleryExecutor\n[core]\n")
    assert info.value.kind == "no-section-header"
    assert info.value.line == 1


@pytest.mark.parametrize("garbage", ["ㅑㅑ", ":wq", "executor CeleryExecutor"])
def test_garbage_line_is_a_syntax_error(garbage):
    # a stray vim command, a Hangul IME typo, a missing `=`: Airflow would not start
    text = f"[core]\nload_examples = False\n\n{garbage}\nexecutor = CeleryExecutor\n"
    with pytest.raises(ConfigFileError) as info:
        parse_cfg(text)
    assert info.value.kind == "syntax"
    assert info.value.line == 4


def test_indented_line_is_a_continuation_not_an_error():
    values, _ = parse_cfg("[core]\nexecutor = CeleryExecutor\n    more\n")
    assert values["core"]["executor"] == "CeleryExecutor\nmore"


def test_config_file_error_is_a_value_error_with_a_message():
    error = ConfigFileError("duplicate-option", 7, "[core] executor")
    assert isinstance(error, ValueError)
    assert "line 7" in str(error)


# ---- _cmd / _secret, derived values, expansion ------------------------------------------------


def test_env_cmd_variant_gives_no_value():
    settings = _resolve(
        """
        [database]
        sql_alchemy_conn = sqlite:////tmp/a.db
        """,
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "cat /run/secrets/conn"},
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value is None
    assert conn.origin == "env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"


def test_file_cmd_variant_gives_no_value():
    settings = _resolve(
        """
        [celery]
        broker_url_cmd = cat /run/secrets/broker
        """
    )
    broker = settings[("celery", "broker_url")]
    assert broker.value is None
    assert "_cmd" in broker.origin
    assert broker.origin.startswith("file:[celery] broker_url_cmd")
    assert broker.line == 2


def test_result_backend_derived_from_sql_alchemy_conn():
    settings = _resolve(
        """
        [database]
        sql_alchemy_conn = mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow
        """
    )
    backend = settings[("celery", "result_backend")]
    assert backend.value == "db+mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow"
    assert backend.origin == "derived"


def test_result_backend_not_derived_when_set():
    settings = _resolve(
        """
        [database]
        sql_alchemy_conn = mysql+pymysql://airflow:pw@127.0.0.1:3306/airflow
        [celery]
        result_backend = db+mysql://airflow:pw@127.0.0.1:3306/airflow
        """
    )
    backend = settings[("celery", "result_backend")]
    assert backend.value == "db+mysql://airflow:pw@127.0.0.1:3306/airflow"
    assert backend.origin.startswith("file:[celery] result_backend")


def test_result_backend_derived_from_default_sqlite():
    backend = resolve(None, {}, {}, 2, HOME)[("celery", "result_backend")]
    assert backend.value == "db+sqlite:////home/ec2-user/airflow/airflow.db"
    assert backend.origin == "derived"


def test_numbered_lines_keep_line_numbers():
    entries = [
        (1, "[core]"),
        (3, "executor = CeleryExecutor"),
        (5, "[celery]"),
        (6, "broker_url = redis://localhost:6379/0"),
    ]
    values, line_numbers = cfg.parse_numbered(entries)
    assert values["core"]["executor"] == "CeleryExecutor"
    assert line_numbers[("core", "executor")] == 3
    assert line_numbers[("celery", "broker_url")] == 6


def test_numbered_lines_keep_colons_in_the_line():
    values, _ = cfg.parse_numbered([(1, "[webserver]"), (2, "base_url = http://localhost:8080")])
    assert values["webserver"]["base_url"] == "http://localhost:8080"


def test_numbered_lines_empty():
    assert cfg.parse_numbered([]) == ({}, {})


def test_env_var_and_home_expansion():
    settings = _resolve(
        """
        [core]
        dags_folder = $AIRFLOW_HOME/dags
        [webserver]
        base_url = ${BASE}:8080
        [database]
        sql_alchemy_conn = sqlite:///~/airflow.db
        [celery]
        broker_url = redis://$UNKNOWN_VAR:6379/0
        """,
        env={"AIRFLOW_HOME": "/srv/airflow", "BASE": "http://node"},
        user_home="/home/trainee",
    )
    assert settings[("core", "dags_folder")].value == "/srv/airflow/dags"
    assert settings[("webserver", "base_url")].value == "http://node:8080"
    # `~` is only expanded at the start of a value, like os.path.expanduser.
    assert settings[("database", "sql_alchemy_conn")].value == "sqlite:///~/airflow.db"
    # unknown variables stay as written, like os.path.expandvars
    assert settings[("celery", "broker_url")].value == "redis://$UNKNOWN_VAR:6379/0"


def test_tilde_expansion_at_start():
    settings = _resolve(
        """
        [core]
        dags_folder = ~/dags
        """,
        user_home="/home/trainee",
    )
    assert settings[("core", "dags_folder")].value == "/home/trainee/dags"


def test_env_override_values_are_expanded_too():
    settings = _resolve(
        "[core]\n",
        env={"AIRFLOW__CORE__DAGS_FOLDER": "$AIRFLOW_HOME/dags", "AIRFLOW_HOME": "/opt/af"},
    )
    dags = settings[("core", "dags_folder")]
    assert dags.value == "/opt/af/dags"
    assert dags.origin == "env:AIRFLOW__CORE__DAGS_FOLDER"


def test_parse_numbered_keeps_file_line_numbers():
    """The probe sends only the lines that matter; errors and evidence still cite the file's lines."""
    entries = [
        (3, "[core]"),
        (40, "executor = CeleryExecutor"),
        (77, "[database]"),
        (90, "sql_alchemy_conn = x"),
    ]
    values, lines = cfg.parse_numbered(entries)
    assert values["core"]["executor"] == "CeleryExecutor"
    assert lines[("core", "executor")] == 40 and lines[("database", "sql_alchemy_conn")] == 90
    with pytest.raises(ConfigFileError) as caught:
        cfg.parse_numbered([*entries, (120, "[core]"), (121, "executor = LocalExecutor")])
    assert caught.value.kind == "duplicate-section" and caught.value.line == 120
    with pytest.raises(ConfigFileError) as caught:
        cfg.parse_numbered([(5, "[core]"), (9, "executor = A"), (2000, "executor = B")])
    assert caught.value.kind == "duplicate-option" and caught.value.line == 2000
