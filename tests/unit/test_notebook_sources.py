"""The course's nbgrader source notebooks as stored: no outputs, sound nbgrader metadata, one per
guide section, each with autograded tests that hide their real checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "notebooks" / "source"
ASSIGNMENTS = ("01_definition", "02_architecture", "03_single_node", "04_assignment")
NOTEBOOKS = [SOURCE / name / f"{name}.ipynb" for name in ASSIGNMENTS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_one_source_notebook_per_guide_section() -> None:
    found = sorted(p.relative_to(SOURCE).as_posix() for p in SOURCE.glob("*/*.ipynb"))
    assert found == [f"{name}/{name}.ipynb" for name in ASSIGNMENTS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ASSIGNMENTS)
def test_stored_without_outputs(path: Path) -> None:
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ASSIGNMENTS)
def test_nbgrader_metadata_is_sound(path: Path) -> None:
    nb = load(path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    ids = [nbgrader_meta(c)["grade_id"] for c in nb["cells"] if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade_id must be unique in a notebook"
    tests = [c for c in nb["cells"] if nbgrader_meta(c).get("grade") and c["cell_type"] == "code"]
    assert tests, "every notebook has autograded tests"
    for cell in tests:
        meta = nbgrader_meta(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0, meta["grade_id"]
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell["cell_type"] == "code":
            source = "".join(cell["source"])
            assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, meta["grade_id"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ASSIGNMENTS)
def test_every_autograded_answer_is_judged_by_hidden_tests(path: Path) -> None:
    """A test cell that only checks the answer's type would give points for any guess."""
    nb = load(path)
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell["cell_type"] == "code" and meta["grade_id"] != "final-check":
            source = "".join(cell["source"])
            assert "### BEGIN HIDDEN TESTS" in source and "### END HIDDEN TESTS" in source, meta["grade_id"]


@pytest.mark.parametrize("path", NOTEBOOKS[2:], ids=ASSIGNMENTS[2:])
def test_node_notebooks_check_with_the_grader(path: Path) -> None:
    """Sections 3 and 4 check the trainee's node with the grader's own magics, nothing re-implemented."""
    sources = ["".join(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "code"]
    assert any(s.strip() == "%load_ext grader.notebook" for s in sources)
    assert any("%node " in s for s in sources)
    assert any(s.strip() == "%check all" or 'check("all")' in s for s in sources)


def test_single_node_notebook_checks_each_step() -> None:
    cells = load(NOTEBOOKS[2])["cells"]
    checks = [
        "".join(c["source"]).strip() for c in cells if "".join(c["source"]).strip().startswith("%check")
    ]
    assert checks == [
        "%check redis",
        "%check mysql",
        "%check config",
        "%check account",
        "%check airflow",
        "%check all",
    ]


def test_reading_version_is_made_from_the_current_notebooks() -> None:
    module = load_script("build_course_docs")
    expected = module.reading_version()
    assert (ROOT / "docs" / "course.ko.md").read_text(encoding="utf-8") == expected, (
        "docs/course.ko.md is stale: run .venv/bin/python scripts/build_course_docs.py"
    )
    assert "BEGIN SOLUTION" not in expected and "HIDDEN TESTS" not in expected


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_links_and_images_stay_inside_the_assignment_folder(name: str) -> None:
    """A released copy is the assignment folder alone: every image and link of the notebook (and of
    the pages in its docs/) resolves inside it. The folder holds links into images/ and docs/, which
    nbgrader copies as files."""
    from tests.course_links import broken_links

    folder = SOURCE / name
    assert not broken_links(folder, allow_symlinks=True)
    for link in [*folder.glob("images/*"), *folder.glob("docs/*")]:
        assert link.is_symlink(), f"{link.relative_to(ROOT)}: keep one copy in images/ or docs/"
        assert link.resolve().parent in {ROOT / "images", ROOT / "docs"}


def test_broken_links_are_found(tmp_path: Path) -> None:
    from tests.course_links import broken_links

    folder = tmp_path / "01_x"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "t.ko.md").write_text("# 문제 해결\n\n### redis-down\n", encoding="utf-8")
    (tmp_path / "outside.png").write_bytes(b"x")
    (folder / "images").mkdir()
    (folder / "images" / "a.png").symlink_to(tmp_path / "outside.png")
    cell = (
        "![a](images/a.png) ![b](../outside.png) [t](docs/t.ko.md#redis-down) [u](docs/t.ko.md#nope)"
        " [v](docs/missing.md) [w](https://example.com) [x](#top)"
    )
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": cell}]}
    (folder / "01_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert broken_links(folder, allow_symlinks=True) == [
        "01_x.ipynb: ../outside.png (outside the assignment folder)",
        "01_x.ipynb: docs/t.ko.md#nope (no such heading)",
        "01_x.ipynb: docs/missing.md (missing)",
    ]
    assert "01_x.ipynb: images/a.png (a symlink, not a file)" in broken_links(folder, allow_symlinks=False)
