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
    # Airflow 2's validate() appends session to any auth_backends without it
    assert backends.value == "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
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


@pytest.mark.parametrize("major", [2, 3])
def test_option_names_are_case_sensitive_like_airflow(major):
    # Airflow's parser keeps the case of keys and looks up lowercase ones: `Executor` is not read
    settings = _resolve(
        """
        [core]
        Executor = CeleryExecutor
        """,
        major=major,
    )
    assert settings[("core", "executor")].origin == "default"
    assert settings[("core", "executor")].value == ("LocalExecutor" if major == 3 else "SequentialExecutor")


def test_section_names_are_case_sensitive():
    settings = _resolve("[Core]\nexecutor = CeleryExecutor\n[ core ]\nexecutor = LocalExecutor\n")
    assert settings[("core", "executor")].origin == "default"


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


def test_keys_differing_only_in_case_are_not_duplicates():
    values, lines = parse_cfg("[core]\nexecutor = A\nEXECUTOR = B\n")
    assert values["core"] == {"executor": "A", "EXECUTOR": "B"}
    assert lines[("core", "EXECUTOR")] == 3
    assert resolve(values, lines, {}, 2, HOME)[("core", "executor")].value == "A"


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


# ---- rules found by the differential test against Airflow (tests/integration/test_cfg_differential.py)


def test_percent_interpolation_like_airflow():
    settings = _resolve(
        """
        [DEFAULT]
        host = db
        [database]
        sql_alchemy_conn = mysql://airflow:p%%40ss@%(host)s/airflow
        [celery]
        port = 6379
        broker_url = redis://localhost:%(port)s/0
        """
    )
    assert settings[("database", "sql_alchemy_conn")].value == "mysql://airflow:p%40ss@db/airflow"
    assert settings[("celery", "broker_url")].value == "redis://localhost:6379/0"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "mysql://airflow:p%40ss@localhost/airflow",
            "InterpolationSyntaxError",
        ),  # a percent-encoded password
        ("mysql://airflow:pw@%(nowhere)s/airflow", "InterpolationMissingOptionError"),
        ("%(sql_alchemy_conn)s", "InterpolationDepthError"),
    ],
)
def test_a_value_airflow_cannot_interpolate_is_an_error_not_a_value(value, error):
    settings = _resolve(f"[database]\nsql_alchemy_conn = {value}\n")
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value is None and conn.error == error
    assert conn.origin == "file:[database] sql_alchemy_conn (line 2)"


def test_environment_values_are_not_interpolated():
    settings = _resolve("[core]\n", env={"AIRFLOW__CORE__EXECUTOR": "Celery%Executor"})
    assert settings[("core", "executor")].value == "Celery%Executor"


def test_default_section_lends_keys_only_to_existing_sections():
    settings = _resolve("[DEFAULT]\nexecutor = CeleryExecutor\nbroker_url = redis://x\n[core]\n")
    assert settings[("core", "executor")].value == "CeleryExecutor"
    assert settings[("core", "executor")].origin == "file:[DEFAULT] executor (line 2)"
    assert settings[("celery", "broker_url")].origin == "default"  # no [celery] section


@pytest.mark.parametrize("where", ["env", "file"])
def test_cmd_variant_ignored_for_options_that_are_not_sensitive(where):
    if where == "env":
        settings = _resolve("[core]\n", env={"AIRFLOW__CORE__EXECUTOR_CMD": "echo CeleryExecutor"})
    else:
        settings = _resolve("[core]\nexecutor_cmd = echo CeleryExecutor\n")
    executor = settings[("core", "executor")]
    assert executor.value == "SequentialExecutor" and executor.origin == "default"


def test_file_values_of_both_names_come_before_any_cmd():
    settings = _resolve(
        """
        [core]
        sql_alchemy_conn = mysql://old
        [database]
        sql_alchemy_conn_cmd = cat /run/conn
        """
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value == "mysql://old" and conn.origin.startswith("file:[core] sql_alchemy_conn")


def test_env_cmd_comes_before_the_file_value():
    settings = _resolve(
        "[database]\nsql_alchemy_conn = mysql://file\n",
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD": "cat /run/conn"},
    )
    conn = settings[("database", "sql_alchemy_conn")]
    assert conn.value is None and conn.origin == "env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD"


def test_secret_variant_counts_only_with_a_secrets_backend():
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET": "airflow/conn"}
    text = "[database]\nsql_alchemy_conn = mysql://file\n[celery]\nbroker_url_secret = airflow/broker\n"
    plain = _resolve(text, env=env)
    assert plain[("database", "sql_alchemy_conn")].value == "mysql://file"
    assert plain[("celery", "broker_url")].value == "redis://redis:6379/0"
    backend = _resolve(text + "[secrets]\nbackend = my.Backend\n", env=env)
    assert backend[("database", "sql_alchemy_conn")].value is None
    assert (
        backend[("database", "sql_alchemy_conn")].origin == "env:AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET"
    )
    assert backend[("celery", "broker_url")].origin == "file:[celery] broker_url_secret (line 4)"


def test_airflow3_ignores_the_singular_auth_backend():
    settings = _resolve("[api]\nauth_backend = airflow.api.auth.backend.basic_auth\n", major=3)
    backends = settings[("api", "auth_backends")]
    assert backends.value is None and backends.origin == "default"


def test_airflow3_webserver_port_and_base_url_moved_to_api():
    old = _resolve("[webserver]\nweb_server_port = 8081\nbase_url = http://old:8081\n", major=3)
    assert old[("api", "port")].value == "8081"
    assert old[("api", "port")].origin == "file:[webserver] web_server_port (line 2)"
    assert old[("webserver", "web_server_port")].value == "8081"
    new = _resolve("[api]\nport = 9090\nbase_url = http://new:9090\n", major=3)
    assert new[("webserver", "web_server_port")].value == "9090"
    assert new[("webserver", "base_url")].value == "http://new:9090"
    assert _resolve("[core]\n", major=3)[("webserver", "base_url")].value is None


def test_airflow2_has_no_api_port():
    assert _resolve("[api]\n")[("api", "port")].value is None
    assert _resolve("[api]\nport = 9090\n")[("api", "port")].value == "9090"


@pytest.mark.parametrize(
    ("written", "running"),
    [
        ("", "airflow.api.auth.backend.session"),
        ("airflow.api.auth.backend.deny_all", "airflow.api.auth.backend.session"),
        (
            "airflow.api.auth.backend.basic_auth",
            "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session",
        ),
        ("airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session", None),
    ],
)
def test_airflow2_validate_rewrites_auth_backends(written, running):
    backends = _resolve(f"[api]\nauth_backends = {written}\n")[("api", "auth_backends")]
    assert backends.value == (running or written)


@pytest.mark.parametrize(
    ("major", "running"),
    [
        (2, "airflow.executors.sequential_executor.SequentialExecutor"),
        (3, "airflow.executors.sequential_executor.LocalExecutor"),
    ],
)
def test_airflow3_validate_replaces_sequential_executor(major, running):
    text = "[core]\nexecutor = airflow.executors.sequential_executor.SequentialExecutor\n"
    assert _resolve(text, major=major)[("core", "executor")].value == running


def test_validate_upgrades_postgres_scheme_and_celery_derives_psycopg2():
    settings = _resolve("[database]\nsql_alchemy_conn = postgres://a:b@h/db\n")
    assert settings[("database", "sql_alchemy_conn")].value == "postgresql://a:b@h/db"
    assert settings[("celery", "result_backend")].value == "db+postgresql+psycopg2://a:b@h/db"


def test_url_airflow_cannot_split_stops_it_at_start():
    conn = _resolve("[database]\nsql_alchemy_conn = mysql://a:p[w@h/db\n")[("database", "sql_alchemy_conn")]
    assert conn.value == "mysql://a:p[w@h/db" and conn.error == "ValueError"


def test_expansion_names_are_ascii_and_home_comes_from_the_environment():
    settings = _resolve(
        "[core]\ndags_folder = $HOME한글\n[webserver]\nbase_url = ~/x\n",
        env={"HOME": "/srv/user/"},
        user_home="/home/other",
    )
    assert settings[("core", "dags_folder")].value == "/srv/user/한글"
    assert settings[("webserver", "base_url")].value == "/srv/user/x"  # HOME's trailing / dropped


def test_other_users_home_and_unknown_home_stay_as_written():
    settings = _resolve("[core]\ndags_folder = ~nobody/dags\n[webserver]\nbase_url = ~/x\n")
    assert settings[("core", "dags_folder")].value == "~nobody/dags"
    assert settings[("webserver", "base_url")].value == "~/x"


def test_expansion_that_never_settles_is_bounded():
    dags = _resolve("[core]\ndags_folder = $A\n", env={"A": "$A$A"})[("core", "dags_folder")]
    assert dags.value is None and dags.error == "expansion-loop"


@pytest.mark.parametrize(
    "text", ["[core]\rexecutor = CeleryExecutor\r", "[core]\r\nexecutor = CeleryExecutor\r\n"]
)
def test_lines_end_at_cr_like_a_file_opened_by_airflow(text):
    assert _resolve(text)[("core", "executor")].value == "CeleryExecutor"


@pytest.mark.parametrize("char", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028"])
def test_other_line_breaks_of_str_splitlines_stay_in_the_value(char):
    assert (
        _resolve(f"[core]\nexecutor = Celery{char}Executor\n")[("core", "executor")].value
        == f"Celery{char}Executor"
    )


def test_bom_stops_airflow_at_line_one():
    with pytest.raises(ConfigFileError) as info:
        parse_cfg("\ufeff[core]\nexecutor = CeleryExecutor\n")
    assert (info.value.kind, info.value.line) == ("no-section-header", 1)


def test_undecodable_byte_is_an_encoding_error_at_its_line():
    with pytest.raises(ConfigFileError) as info:
        cfg.parse_numbered([(1, "[core]"), (7, "# caf\udce9"), (9, "executor = CeleryExecutor")])
    assert (info.value.kind, info.value.line) == ("encoding", 7)


def test_blank_lines_inside_a_multi_line_value_are_part_of_it():
    entries = [(1, "[core]"), (2, "executor = Celery"), (3, ""), (5, ""), (6, "  more")]  # line 4: a comment
    values, _ = cfg.parse_numbered(entries)
    assert values["core"]["executor"] == "Celery\n\n\nmore"


def test_line_numbers_follow_the_parser_not_a_guess():
    values, lines = parse_cfg("[core]\nexecutor: a = b\nload_examples = x\n  dags_folder = continuation\n")
    assert values["core"]["executor"] == "a = b"
    assert lines[("core", "executor")] == 2 and ("core", "dags_folder") not in lines


# ---- the probe's cfg reading, run from its own source ------------------------------------------


def _probe_lines(data: bytes) -> list[list]:
    import ast
    import json
    from pathlib import Path

    source = Path(cfg.__file__).with_name("remote_probe.py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    namespace: dict = {}
    exec(compile(ast.Module(body=tree.body[:-1], type_ignores=[]), str(source), "exec"), namespace)
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    reader = next(
        n for n in ast.walk(main) if isinstance(n, ast.If) and ast.unparse(n.test) == "data is not None"
    )
    entry: dict = {}
    scope = namespace | {"path": str(source), "data": data, "entry": entry}
    exec(compile(ast.Module(body=reader.body, type_ignores=[]), str(source), "exec"), scope)
    return json.loads(json.dumps(entry["lines"]))


def test_probe_keeps_blank_lines_only_inside_multi_line_values():
    data = b"[core]\n\nexecutor = a\n\n  # note\n   \n  b\n\n# end\n\nload_examples = x\n"
    assert _probe_lines(data) == [
        [1, "[core]"],
        [3, "executor = a"],
        [4, ""],
        [6, "   "],
        [7, "  b"],
        [11, "load_examples = x"],
    ]


def test_probe_splits_lines_like_airflow_and_keeps_undecodable_bytes():
    lines = _probe_lines(b"[core]\rexecutor = a\x0cb\r\n# caf\xe9\n")
    assert lines == [[1, "[core]"], [2, "executor = a\x0cb"], [3, "# caf\udce9"]]
    with pytest.raises(ConfigFileError):
        cfg.parse_numbered([(n, line) for n, line in lines])
