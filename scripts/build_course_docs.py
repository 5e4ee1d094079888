"""The course for people who prefer a page: a reading version and an HTML site, both from the notebooks.

    .venv/bin/python scripts/build_course_docs.py            # write docs/course.ko.md
    .venv/bin/python scripts/build_course_docs.py --check    # exit 1 when docs/course.ko.md is stale
    .venv/bin/python scripts/build_course_docs.py --html out/site   # notebooks + docs as HTML, no Jupyter

Both show what a trainee sees: explanations, commands and check cells; answers and tests stay out
(an answer cell shows the student stub instead).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "source"
DOCS = ROOT / "docs"
IMAGES = ROOT / "images"
READING = DOCS / "course.ko.md"
ASSIGNMENTS = ("01_definition", "02_architecture", "03_single_node", "04_assignment")
STUB = "# 여기에 답을 쓰세요"
# The docs pages of the site, in the order of its index.
DOC_PAGES = (
    ("course.ko.md", "교재 읽기용 (노트북 전체를 한 페이지로)"),
    ("setup.ko.md", "연수생 준비 (실행 환경, EC2 키, 보안 그룹, 비용, 정리)"),
    ("glossary.ko.md", "용어집"),
    ("assignment-template.ko.md", "과제 1 문서 템플릿"),
    ("troubleshooting.ko.md", "문제 해결 (채점 결과의 해결 방법)"),
    ("grader.ko.md", "챔피언 안내: 채점기와 nbgrader 운영"),
)
FONT_CSS = (
    "body, .jp-Notebook, .jp-RenderedHTMLCommon { font-family: 'Noto Sans CJK KR', 'Noto Sans KR',"
    " 'Apple SD Gothic Neo', 'Malgun Gothic', sans-serif; }"
)


@dataclass(frozen=True)
class Section:
    name: str  # the nbgrader assignment, e.g. 03_single_node
    title: str
    cells: list[nbformat.NotebookNode]  # what a trainee reads, answers left out


def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def reader_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Markdown and code a trainee reads; answer cells become the stub, test cells are left out."""
    cells = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue  # an autograded test
        if meta.get("solution"):
            stub = STUB if cell.cell_type == "code" else "여기에 답을 쓰세요"
            cells.append(
                nbformat.v4.new_code_cell(stub)
                if cell.cell_type == "code"
                else nbformat.v4.new_markdown_cell(stub)
            )
            continue
        if cell.cell_type in ("markdown", "code"):
            copy = nbformat.from_dict(dict(cell))
            if copy.cell_type == "code":
                copy.outputs, copy.execution_count = [], None
            cells.append(copy)
    return cells


def first_heading(nb: nbformat.NotebookNode) -> str | None:
    """The notebook's `# title` line: its name in the table of contents and the page title."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


def sections() -> list[Section]:
    found = []
    for name in ASSIGNMENTS:
        nb = nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)
        found.append(Section(name, first_heading(nb) or nb.metadata.get("title", name), reader_cells(nb)))
    return found


_ASSET_LINK = re.compile(r"(\]\(<?|src=[\"'])(images|docs)/")


def _relink(text: str, images: str, docs: str) -> str:
    """Links written for notebooks/source/<name>/ (its `images/` and `docs/` folders, which hold
    links into the repository's images/ and docs/) rewritten for where the text now lives."""
    return _ASSET_LINK.sub(lambda m: m.group(1) + (images if m.group(2) == "images" else docs), text)


def reading_version() -> str:
    """docs/course.ko.md: every notebook's text in order, as one Markdown page."""
    parts = [
        "# Airflow Single Node 과정: 읽기용 교재",
        "",
        "> 이 페이지는 `notebooks/source/`의 노트북에서 `scripts/build_course_docs.py`로 만든 것입니다. 직접 고치지 말고"
        " 노트북을 고친 뒤 다시 만드세요. 문제의 답과 확인 셀(`%check`)은 노트북에서 실행합니다.",
        "",
    ]
    parts += [f"- [{s.title}](#{anchor(s.title)})" for s in sections()]
    for section in sections():
        parts += ["", "---", ""]
        for cell in section.cells:
            text = _relink(cell.source.strip("\n"), "../images/", "")
            if cell.cell_type == "markdown":
                parts += [text, ""]
            else:
                parts += ["```python", text, "```", ""]
    return "\n".join(parts).rstrip("\n") + "\n"


def anchor(title: str) -> str:
    """GitHub-style heading anchor."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


# ---- HTML ---------------------------------------------------------------------------------------


def _html_exporter():  # type: ignore[no-untyped-def]
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def _page(nb: nbformat.NotebookNode, title: str) -> str:
    nb.metadata["title"] = title
    body, _ = _html_exporter().from_notebook_node(nb)
    # Offline: nothing from a CDN (require.js, MathJax, mermaid; the course needs none of them).
    body = re.sub(r'<script src="https?://[^"]*"></script>', "", body)
    body = re.sub(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", "", body, flags=re.DOTALL)
    body = re.sub(
        r'<script type="module">\s*document\.addEventListener.*?</script>', "", body, flags=re.DOTALL
    )
    body = body.replace('<html lang="en">', '<html lang="ko">')
    return body.replace("</head>", f"<style>{FONT_CSS}</style>\n</head>", 1)


def _doc_links(text: str) -> str:
    """Links between docs (`x.ko.md#anchor`) point at the HTML pages."""
    return re.sub(
        r"\(((?:\.\./docs/)?[\w.\-]+)\.md(#[^)]*)?\)",
        lambda m: f"({m.group(1)}.html{m.group(2) or ''})",
        text,
    )


def build_html(out: Path) -> list[Path]:
    """The site: index.html, one page per notebook and per doc, and the images they show."""
    if out.exists():
        shutil.rmtree(out)
    (out / "notebooks").mkdir(parents=True)
    (out / "docs").mkdir()
    shutil.copytree(IMAGES, out / "images", ignore=shutil.ignore_patterns("src", "*.md"))
    written = []
    items = []
    for section in sections():
        cells = []
        for cell in section.cells:
            copy = nbformat.from_dict(dict(cell))
            copy.source = _doc_links(_relink(copy.source, "../images/", "../docs/"))
            cells.append(copy)
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        path = out / "notebooks" / f"{section.name}.html"
        path.write_text(_page(nb, section.title), encoding="utf-8")
        written.append(path)
        items.append((f"notebooks/{section.name}.html", section.title))
    for extra in DOCS.iterdir():  # what the docs link to besides each other (course.example.toml)
        if extra.is_file() and extra.suffix != ".md":
            shutil.copy2(extra, out / "docs" / extra.name)
    docs_items = []
    for filename, title in DOC_PAGES:
        text = (DOCS / filename).read_text(encoding="utf-8")
        text = _doc_links(text.replace("](../images/", "](../images/"))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
        path = out / "docs" / filename.replace(".md", ".html")
        path.write_text(_page(nb, title), encoding="utf-8")
        written.append(path)
        docs_items.append((f"docs/{path.name}", title))
    index = out / "index.html"
    index.write_text(_index(items, docs_items), encoding="utf-8")
    written.append(index)
    return written


def _index(notebooks: list[tuple[str, str]], docs: list[tuple[str, str]]) -> str:
    e = html.escape

    def listing(rows: list[tuple[str, str]]) -> str:
        return "\n".join(f'<li><a href="{e(href)}">{e(title)}</a></li>' for href, title in rows)

    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>Airflow Single Node 과정</title>
<style>{FONT_CSS} body {{ max-width: 48rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.7; color: #1f2933; }}
h1 {{ font-size: 1.8rem; }} li {{ margin: .4rem 0; }} a {{ color: #0b5cad; }}</style></head>
<body>
<h1>Airflow Single Node 과정</h1>
<p>AWS EC2 한 대에 Apache Airflow(CeleryExecutor, Redis, MySQL)를 구성하는 실습 과정입니다.
Jupyter 없이 읽을 수 있도록 노트북과 문서를 HTML로 옮겼습니다. 문제를 풀고 내 노드를 점검하려면 노트북을 여세요.</p>
<h2>노트북</h2>
<ul>
{listing(notebooks)}
</ul>
<h2>문서</h2>
<ul>
{listing(docs)}
</ul>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="읽기용 교재(docs/course.ko.md)와 HTML 사이트를 노트북에서 만듭니다"
    )
    parser.add_argument("--check", action="store_true", help="docs/course.ko.md가 노트북과 같은지만 봅니다")
    parser.add_argument("--html", type=Path, metavar="DIR", help="노트북과 문서를 HTML로 만들 폴더")
    args = parser.parse_args(argv)
    text = reading_version()
    if args.check:
        if not READING.exists() or READING.read_text(encoding="utf-8") != text:
            print(
                "docs/course.ko.md가 노트북과 다릅니다: python scripts/build_course_docs.py로 다시 만드세요"
            )
            return 1
        print("docs/course.ko.md: 노트북과 같습니다")
        return 0
    READING.write_text(text, encoding="utf-8")
    print(f"씀: {READING.relative_to(ROOT)}")
    if args.html:
        pages = build_html(args.html)
        print(f"HTML {len(pages)}쪽: {args.html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
