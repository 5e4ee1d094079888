"""The trainee's pages (docs/setup.ko.md, docs/glossary.ko.md): they exist, every notebook's first
cell points at the setup page, their links resolve, the glossary's choices hold in the notebooks and
pages that follow it, and no bold in them fails to render (CommonMark closes `**` after a
punctuation mark only when what follows is a space or punctuation, so `**가상 환경(venv)**에` shows
its asterisks)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SOURCE = ROOT / "notebooks" / "source"
SETUP = DOCS / "setup.ko.md"
GLOSSARY = DOCS / "glossary.ko.md"
ASSIGNMENTS = ("01_definition", "02_architecture", "03_single_node", "04_assignment")
# The notebooks and pages written with the glossary's choices (02 is kept by another hand).
FOLLOWING = ("01_definition", "03_single_node", "04_assignment")
PAGES = (SETUP, GLOSSARY, DOCS / "assignment-template.ko.md")
SETUP_LINK = "docs/setup.ko.md"
# Words the glossary rejects, with the one place each may still appear (quoting the 2021 guide).
REJECTED = {
    "종속성": None,
    "아키텍쳐": "가이드",
    "워크플로우": "가이드",
    "메타 DB": None,
    "수강생": None,
    "교육생": None,
    "스케쥴": None,
}
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
HANGUL = "\uac00-\ud7a3"
BOLD_AFTER_PUNCT = re.compile(rf"\*\*[^*\n]+\)\*\*[{HANGUL}]")


def notebook(name: str) -> dict:
    return json.loads((SOURCE / name / f"{name}.ipynb").read_text(encoding="utf-8"))


def markdown_cells(name: str) -> list[str]:
    return ["".join(c["source"]) for c in notebook(name)["cells"] if c["cell_type"] == "markdown"]


def texts() -> list[tuple[str, str]]:
    found = [(name, "\n".join(markdown_cells(name))) for name in FOLLOWING]
    return found + [(page.name, page.read_text(encoding="utf-8")) for page in PAGES]


def test_setup_page_and_glossary_exist() -> None:
    setup = SETUP.read_text(encoding="utf-8")
    glossary = GLOSSARY.read_text(encoding="utf-8")
    assert setup.startswith("# ") and glossary.startswith("# ")
    for needed in (
        "JupyterHub",
        "WSL",
        "constraints-airflow-2.11.2-py3.11.txt",
        "ipykernel install",
        "chmod 600",
    ):
        assert needed in setup, needed
    assert "0.0.0.0/0" in setup and "t3.large" in setup and "troubleshooting.ko.md" in setup
    assert "종속성" in glossary and "아키텍쳐" in glossary  # named as rejected, with the reason


def test_setup_page_installs_as_the_repository_does() -> None:
    """The page's pip line is the one scripts/setup.sh runs (course extra, same constraints file)."""
    script = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    constraints = re.search(r"^CONSTRAINTS=(\S+)$", script, re.MULTILINE)
    assert constraints and (ROOT / constraints[1]).is_file()
    assert f'pip install -e ".[course]" -c {constraints[1]}' in SETUP.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_notebook_points_at_the_setup_page_first(name: str) -> None:
    first = next(c for c in notebook(name)["cells"] if c["cell_type"] == "markdown")
    assert SETUP_LINK in "".join(first["source"]), f"{name}: the first cell links {SETUP_LINK}"


def test_readme_links_the_new_pages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/setup.ko.md)" in readme and "(docs/glossary.ko.md)" in readme


def _anchors(path: Path) -> set[str]:
    anchor = load_script("build_course_docs").anchor
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {anchor(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    for target in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = unquote(target).partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.is_file(), f"{page.name} → {target}"
        if fragment and resolved.suffix == ".md":
            assert fragment in _anchors(resolved), f"{page.name} → {target}: no such heading"


@pytest.mark.parametrize("name", FOLLOWING)
def test_notebook_links_resolve(name: str) -> None:
    folder = SOURCE / name
    for text in markdown_cells(name):
        for target in MARKDOWN_LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            path = unquote(target).partition("#")[0]
            assert (folder / path).resolve().exists(), f"{name} → {target}"


def test_rejected_terms_stay_out() -> None:
    for label, text in texts():
        if label == GLOSSARY.name:
            continue  # the glossary names them to reject them
        for word, quoting in REJECTED.items():
            for line in text.splitlines():
                if word in line:
                    assert quoting and quoting in line, f"{label}: '{word}' ({line.strip()[:80]})"


def test_no_japanese_brackets() -> None:
    for label, text in texts():
        assert not re.search("[「」『』]", text), label


def test_bold_renders() -> None:
    md = MarkdownIt("commonmark").enable("table")
    for label, text in texts():
        assert not BOLD_AFTER_PUNCT.search(text), f"{label}: {BOLD_AFTER_PUNCT.search(text)[0]}"
        rendered = md.render(text)
        rendered = re.sub(r"<(code|pre)>.*?</\1>", "", rendered, flags=re.DOTALL)
        stray = re.search(r".{0,30}\*\*.{0,30}", rendered)
        assert not stray, f"{label}: bold does not render: {stray[0]}"


def test_schedule_story_names_its_time_zone() -> None:
    """Notebook 1's report must be out before 09:00 KST: its cron runs in the DAG's time zone."""
    text = "\n".join(markdown_cells("01_definition"))
    assert 'schedule="0 2 * * *"' in text and 'tz="Asia/Seoul"' in text
    assert "9시(한국 시간) 전" in text
