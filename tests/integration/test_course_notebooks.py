"""The nbgrader course end to end, with the real nbgrader and Jupyter kernel: student versions are
generated, every source notebook validates, every unanswered student version fails every test, the
notebooks run top to bottom with their check cells against the practice node, and a submission is
autograded, exported and merged into the champion's scoreboard."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.course_links import broken_links
from tests.integration.conftest import PracticeNode

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = ("01_definition", "02_architecture", "03_single_node", "04_assignment")
BIN = Path(sys.executable).parent
STUB = "# 여기에 답을 쓰세요"


def node_line(node: PracticeNode) -> str:
    info = node.info
    return (
        f"{info['host']} --port {info['port']} --user {info['user']} --key {info['key']}"
        f" --known-hosts {node.known_hosts}"
    )


@pytest.fixture(scope="module")
def course_env(node: PracticeNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a trainee's Jupyter has: the venv on PATH (nbgrader runs `alembic` from it), a private
    AIRFLOW_HOME for the DAG exercises, and the practice node preset for the `%node` cells."""
    airflow_home = tmp_path_factory.mktemp("airflow-home")
    return {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW_COURSE_NODE": node_line(node),
        "PYTHONWARNINGS": "ignore",
    }


def nbgrader(course: Path, env: dict[str, str], *args: str, timeout: float = 600) -> str:
    proc = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{output[-3000:]}"
    return output


@pytest.fixture(scope="module")
def course(course_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of notebooks/ with the student versions generated (what a champion releases)."""
    course = tmp_path_factory.mktemp("course") / "notebooks"
    shutil.copytree(ROOT / "notebooks", course, ignore=shutil.ignore_patterns("release", "gradebook.db"))
    for name in ASSIGNMENTS:
        nbgrader(course, course_env, "generate_assignment", name, "--force")
    return course


def released(course: Path, name: str) -> Path:
    return course / "release" / name / f"{name}.ipynb"


def test_student_versions_hide_answers_and_hidden_tests(course: Path) -> None:
    for name in ASSIGNMENTS:
        text = released(course, name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
        assert STUB in text, name


def test_released_copies_carry_their_images_and_pages(course: Path) -> None:
    """A trainee gets the release folder alone: its images and pages are real files inside it."""
    for name in ASSIGNMENTS:
        folder = course / "release" / name
        assert not broken_links(folder, allow_symlinks=False), name
        assert list(folder.glob("docs/troubleshooting.ko.md")), name


def test_every_source_notebook_validates(course: Path, course_env: dict[str, str]) -> None:
    for name in ASSIGNMENTS:
        output = nbgrader(course, course_env, "validate", f"source/{name}/{name}.ipynb")
        assert "Success! Your notebook passes all the tests." in output, f"{name}:\n{output[-3000:]}"


def test_every_unanswered_student_version_fails_every_test(course: Path, course_env: dict[str, str]) -> None:
    for name in ASSIGNMENTS:
        output = nbgrader(course, course_env, "validate", "--invert", str(released(course, name)))
        assert "Success! The notebook does not pass any tests." in output, f"{name}:\n{output[-3000:]}"


def run_notebook(path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    for key in ("PATH", "AIRFLOW_HOME", "AIRFLOW_COURSE_NODE", "PYTHONWARNINGS"):
        monkeypatch.setenv(key, env[key])
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


def outputs_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/html", ""))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_runs_top_to_bottom(
    name: str, course_env: dict[str, str], node: PracticeNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = run_notebook(ROOT / "notebooks" / "source" / name / f"{name}.ipynb", course_env, monkeypatch)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:80]
            assert "Traceback" not in outputs_text(cell), cell.source[:80]
    checks = {
        cell.source.strip(): outputs_text(cell) for cell in nb.cells if cell.source.startswith("%check")
    }
    if name == "03_single_node":
        assert "✅ Redis 실행 [redis.running]" in checks["%check redis"]
        assert "mysql.running" in checks["%check mysql"]
        assert "✅ Executor = CeleryExecutor [config.executor]" in checks["%check config"]
        assert "✅ 챔피언 계정 [account.champion]" in checks["%check account"]
        assert "✅ Celery 워커 [airflow.worker]" in checks["%check airflow"]
        assert f"모두 통과 — {node.max_score}/{node.max_score}점" in checks["%check all"]
    if name == "04_assignment":
        final = [
            c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "final-check"
        ]
        assert f"모두 통과 — {node.max_score}/{node.max_score}점" in outputs_text(final[0])


def answered_like_a_student(course: Path, name: str) -> nbformat.NotebookNode:
    """The student version with every answer cell filled in as the source's solution."""
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    student = nbformat.read(released(course, name), as_version=4)
    for cell in student.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            lines = solutions[grade_id].splitlines()
            markers = ("### BEGIN SOLUTION", "### END SOLUTION")
            cell.source = "\n".join(line for line in lines if line.strip() not in markers)
    return student


def test_autograde_export_and_merge_into_the_scoreboard(
    course: Path, course_env: dict[str, str], node: PracticeNode, tmp_path: Path
) -> None:
    name = "03_single_node"
    nbgrader(course, course_env, "db", "student", "add", "minsu", "--first-name", "민수", "--last-name", "김")
    nbgrader(course, course_env, "db", "student", "add", "jiho", "--first-name", "지호", "--last-name", "이")
    for student, answered in (("minsu", True), ("jiho", False)):
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        notebook = (
            answered_like_a_student(course, name) if answered else nbformat.read(released(course, name), 4)
        )
        nbformat.write(notebook, folder / f"{name}.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-24 10:00:00.000000 UTC")
    nbgrader(course, course_env, "autograde", name, "--force")
    nbgrader(course, course_env, "export", "--to", str(tmp_path / "grades.csv"))
    exported = csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8"))
    rows = {r["student_id"]: r for r in exported if r["assignment"] == name}
    assert float(rows["minsu"]["score"]) == float(rows["minsu"]["max_score"]) == 10.0
    assert float(rows["jiho"]["score"]) == 0.0

    roster = tmp_path / "roster.csv"
    info = node.info
    roster.write_text(
        f"name,host,user,port,key\n김민수,{info['host']},{info['user']},{info['port']},{info['key']}\n",
        encoding="utf-8",
    )
    scoreboard = tmp_path / "scoreboard.csv"
    proc = subprocess.run(
        [
            str(BIN / "grade"),
            "--roster", str(roster),
            "--scoreboard", str(scoreboard),
            "--nbgrader", str(tmp_path / "grades.csv"),
            "--known-hosts", str(node.known_hosts),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = list(csv.DictReader(scoreboard.open(encoding="utf-8-sig")))
    column = f"quiz:{name}"
    possible = next(r for r in table if r["name"] == "(배점)")
    minsu = next(r for r in table if r["name"] == "김민수")
    assert float(possible[column]) == 10.0 and float(minsu[column]) == 10.0
    assert "jiho" in proc.stderr  # the unmatched student is named, not dropped silently
    json.dumps(table)  # plain strings all the way


def test_release_fetch_submit_collect_through_the_exchange(
    course: Path, course_env: dict[str, str], tmp_path: Path
) -> None:
    """The champion's round trip with nbgrader's own file exchange (what JupyterHub courses use):
    release → the trainee fetches, answers and submits → collect → autograde → export, full marks."""
    name = "01_definition"
    course_id = "airflow-single-node"
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's exchange is shared by every user
    trainee_home = tmp_path / "trainee"
    trainee_home.mkdir()
    on_exchange = f"--Exchange.root={exchange}"
    nbgrader(course, course_env, "release_assignment", name, on_exchange, "--force")
    nbgrader(trainee_home, course_env, "fetch_assignment", name, "--course", course_id, on_exchange)
    fetched = trainee_home / name / f"{name}.ipynb"
    assert STUB in fetched.read_text(encoding="utf-8")  # the student version, not the source
    assert not broken_links(fetched.parent, allow_symlinks=False)  # images and pages came along
    nbformat.write(answered_like_a_student(course, name), fetched)
    nbgrader(trainee_home, course_env, "submit", name, "--course", course_id, on_exchange)

    output = nbgrader(course, course_env, "collect", name, on_exchange)
    student = next(p.name for p in (course / "submitted").iterdir() if (p / name / f"{name}.ipynb").exists())
    assert f"Collecting submission: {student} {name}" in output
    nbgrader(course, course_env, "db", "student", "add", student)
    nbgrader(course, course_env, "autograde", name, "--student", student, "--force")
    nbgrader(course, course_env, "export", "--to", str(tmp_path / "grades.csv"))
    rows = [
        r
        for r in csv.DictReader((tmp_path / "grades.csv").open(encoding="utf-8"))
        if r["assignment"] == name and r["student_id"] == student
    ]
    assert len(rows) == 1 and float(rows[0]["score"]) == float(rows[0]["max_score"]) == 10.0
