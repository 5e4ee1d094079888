"""Notebook 3's cfg exercise: the committed default airflow.cfg looks like the one Airflow 3.3.2
writes (scripts/make_default_cfg.py regenerates it), and the exercise's hidden test, run on that
file with the grader's own reader, passes the solution and fails the guide's traps."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from grader.airflow_config import parse_cfg, resolve

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "notebooks" / "source" / "03_single_node"
DEFAULT = FOLDER / "airflow-3.3.2-default.cfg"
FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def test_default_cfg_is_a_real_airflow3_default() -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    values, _ = parse_cfg(text)
    for section in ("core", "database", "api", "api_auth", "celery", "scheduler", "dag_processor", "fab"):
        assert section in values, section
    assert values["core"]["executor"] == "LocalExecutor"
    assert values["core"]["dags_folder"] == "/home/ec2-user/airflow/dags"
    assert values["database"]["sql_alchemy_conn"] == "sqlite:////home/ec2-user/airflow/airflow.db"
    assert values["celery"]["broker_url"] == "redis://redis:6379/0"
    assert "result_backend" not in values["celery"]  # commented out: derived from sql_alchemy_conn
    assert re.search(r"(?m)^# result_backend = $", text)
    assert values["api"]["port"] == "8080"
    assert "auth_backends" not in values["api"] and "auth_backend" not in values["api"]  # 2.x only
    assert "sql_alchemy_conn" not in values["core"]
    assert len(text.splitlines()) > 3000  # the whole file, comments and all
    effective = resolve(values, {}, {}, 3, "/home/ec2-user/airflow")
    assert effective[("core", "auth_manager")].value.endswith("SimpleAuthManager")
    # no generated key is committed, and the throwaway AIRFLOW_HOME left no trace
    for key, section in (("fernet_key", "core"), ("secret_key", "api"), ("jwt_secret", "api_auth")):
        assert values[section][key] == "RANDOM-VALUE-AIRFLOW-GENERATES-ON-FIRST-RUN", key
    assert "airflow-default-cfg-" not in text


def exercise() -> tuple[dict, str, dict]:
    nb = nbformat.read(FOLDER / "03_single_node.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(FOLDER)  # the notebook reads the data file beside it, as nbgrader runs it
    try:
        exec(cells["q34-helper"], namespace)
    finally:
        os.chdir(cwd)
    exec(cells["q34-answer"], namespace)
    return namespace, cells["q34-test"], dict(namespace["cfg_edits"])


def judge(edits: dict) -> None:
    namespace, test, _ = exercise()
    namespace["cfg_edits"] = edits
    exec(test, namespace)


def test_the_solution_passes_and_restating_defaults_is_fine() -> None:
    _, _, solution = exercise()
    judge(solution)
    judge(solution | {("core", "dags_folder"): "/home/ec2-user/airflow/dags"})
    judge(solution | {("scheduler", "catchup_by_default"): "False"})


@pytest.mark.parametrize(
    "change",
    [
        {("api", "auth_backend"): "airflow.api.auth.backend.basic_auth"},  # the guide's singular
        {
            ("api", "auth_backends"): "airflow.api.auth.backend.basic_auth"
        },  # 2.x's plural: no such option on 3.x
        {("core", "sql_alchemy_conn"): "mysql+pymysql://airflow:Bespin12!@127.0.0.1:3306/airflow"},
        {("Core", "executor"): "CeleryExecutor"},
        {("celery", "broker_url"): "redis://redis:6379/0"},  # the default's host, not this node
        {("celery", "result_backend"): "db+postgresql://airflow:x@127.0.0.1/airflow"},
        {
            (
                "core",
                "auth_manager",
            ): "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        },
    ],
    ids=[
        "singular-auth_backend",
        "api-auth_backends",
        "conn-in-core",
        "Core",
        "broker-host",
        "postgres",
        "simple",
    ],
)
def test_traps_fail(change: dict) -> None:
    _, _, solution = exercise()
    with pytest.raises(AssertionError):
        judge(solution | change)


@pytest.mark.parametrize(
    "left_out", ["executor", "sql_alchemy_conn", "broker_url", "result_backend", "auth_manager"]
)
def test_leaving_out_a_needed_edit_fails(left_out: str) -> None:
    """An omitted result_backend would be derived (db+mysql+pymysql://...); the guide writes it."""
    _, _, solution = exercise()
    with pytest.raises(AssertionError):
        judge({k: v for k, v in solution.items() if k[1] != left_out})


def test_the_fab_api_backend_is_a_real_3x_option() -> None:
    _, _, solution = exercise()
    judge(
        solution
        | {("fab", "auth_backends"): "airflow.providers.fab.auth_manager.api.auth.backend.basic_auth"}
    )
    assert FAB in solution.values()
