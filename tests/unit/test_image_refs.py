"""Image references in the course's markdown (README.md, docs/, images/README.md and the markdown cells of
notebooks/source/) point at files under images/, and images/ holds only what scripts/make_images.py makes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from tests.course_links import notebook_markdown, targets
from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "images"


def image_refs(text: str) -> list[str]:
    """Targets of markdown `![..](target)` and HTML `<img src="target">`, as CommonMark reads them."""
    return targets(text, images_only=True)


def markdown_sources(root: Path = ROOT) -> Iterator[tuple[Path, str]]:
    """(file, markdown text) of every place the course shows images."""
    for path in [root / "README.md", root / "images" / "README.md", *sorted((root / "docs").rglob("*.md"))]:
        if path.is_file():
            yield path, path.read_text(encoding="utf-8")
    for path in sorted((root / "notebooks" / "source").rglob("*.ipynb")):
        if ".ipynb_checkpoints" not in path.parts:
            yield path, notebook_markdown(path)


def all_refs(root: Path = ROOT) -> list[tuple[Path, str]]:
    return [(path, ref) for path, text in markdown_sources(root) for ref in image_refs(text)]


def test_scanner_finds_markdown_and_html_images_in_markdown_and_notebooks(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        '본문 ![구조](../images/architecture.png "제목") 와 <img alt="x" src="../images/control-flow.png" '
        'style="zoom:22%;" /> 그리고 [링크](../images/not-an-image-ref.png)',
        encoding="utf-8",
    )
    nb_dir = tmp_path / "notebooks" / "source" / "01_definition"
    nb_dir.mkdir(parents=True)
    notebook = {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": ["# 제목\n", "![흐름](images/x.png)"],
            },
            {"cell_type": "code", "metadata": {}, "source": ["# ![not](markdown.png)"], "outputs": []},
        ]
    }
    (nb_dir / "n.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    found = {(path.name, ref) for path, ref in all_refs(tmp_path)}
    assert found == {
        ("a.md", "../images/architecture.png"),
        ("a.md", "../images/control-flow.png"),
        ("n.ipynb", "images/x.png"),
    }


def test_every_image_reference_is_a_file_under_images() -> None:
    refs = all_refs()
    assert refs, "no image references found at all (images/README.md shows every image)"
    problems = []
    for path, ref in refs:
        target = (path.parent / unquote(ref.split("#", 1)[0].split("?", 1)[0])).resolve()
        where = f"{path.relative_to(ROOT)}: {ref}"
        if "://" in ref or ref.startswith("data:"):
            problems.append(f"{where} (not a local file: the course uses only its own images/)")
        elif not target.is_relative_to(IMAGES):
            problems.append(f"{where} (outside images/)")
        elif not target.is_file():
            problems.append(f"{where} (missing)")
    assert not problems, "\n".join(problems)


def test_images_holds_exactly_what_make_images_makes() -> None:
    outputs = set(load_script("make_images").OUTPUTS)
    pngs = {path.name for path in IMAGES.glob("*.png")}
    assert pngs - outputs == set(), "PNGs in images/ that scripts/make_images.py does not make"
    assert outputs - pngs == set(), "run `.venv/bin/python scripts/make_images.py` to make the missing ones"
