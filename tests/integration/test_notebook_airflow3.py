"""Notebook 2's DAG code (answers and hidden tests) on Airflow 3, the version a 2026 trainee
installs: every code cell of the source notebook, in order, run by the Python of the practice
node's Airflow 3.3.2 venv (`NODE_AIRFLOW_VERSION=3.3.2 practice/node install`, idempotent).
The course kernel itself runs Airflow 2.11.2; this keeps the notebook honest on both majors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = ROOT / "practice" / "node"
NOTEBOOK = ROOT / "notebooks" / "source" / "02_architecture" / "02_architecture.ipynb"
AIRFLOW3 = "3.3.2"


@pytest.fixture(scope="module")
def airflow3_python() -> Path:
    if os.geteuid() != 0:
        pytest.fail("needs root (run as root: bash scripts/test.sh)")
    env = os.environ | {"NODE_AIRFLOW_VERSION": AIRFLOW3}
    subprocess.run(
        ["bash", str(NODE_SCRIPT), "install"], env=env, check=True, capture_output=True, timeout=900
    )
    info = json.loads(
        subprocess.run(
            ["bash", str(NODE_SCRIPT), "info"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    return Path(info["venv"]) / "bin" / "python"


def notebook_as_script(replace: tuple[str, str] | None = None) -> str:
    """The notebook's code cells in order (all plain Python), then the Airflow version it ran on."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    script = "\n\n".join(cells)
    if replace is not None:
        assert replace[0] in script, f"{replace[0]!r} is not in the notebook"
        script = script.replace(*replace, 1)
    return script + "\n\nimport airflow\nprint('AIRFLOW_VERSION', airflow.__version__)\n"


def run(python: Path, script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "notebook2.py"
    path.write_text(script, encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [str(python), str(path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_answers_and_hidden_tests_pass_on_airflow3(airflow3_python: Path, tmp_path: Path) -> None:
    proc = run(airflow3_python, notebook_as_script(), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"AIRFLOW_VERSION {AIRFLOW3}" in proc.stdout
    assert f"Airflow {AIRFLOW3}: Airflow 3 경로 (airflow.sdk" in proc.stdout  # not the 2.x fallback
    # The cells' own printouts: the TaskFlow task and the dependencies built from real objects.
    assert "→ Task count_words" in proc.stdout
    # What the trainee sees is clean: the setup cell hides 2-vs-3 deprecation warnings.
    assert "Warning" not in proc.stderr, proc.stderr[-3000:]


def test_a_wrong_dependency_fails_on_airflow3(airflow3_python: Path, tmp_path: Path) -> None:
    """The hidden tests judge real upstream/downstream sets on 3.x too: one edge reversed fails."""
    proc = run(
        airflow3_python,
        notebook_as_script(("third_task << fourth_task", "third_task >> fourth_task")),
        tmp_path,
    )
    assert proc.returncode != 0
    assert "AssertionError: third_task" in proc.stderr
    assert "AIRFLOW_VERSION" not in proc.stdout
