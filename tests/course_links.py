"""Local links and images in the course's markdown, and whether they resolve inside one assignment
folder: what a trainee's released copy must carry (nbgrader copies the assignment folder and nothing
beside it)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_PARSER = MarkdownIt("commonmark")


def targets(markdown: str, *, images_only: bool = False) -> list[str]:
    """Every link href and image src of a CommonMark text, in order (HTML `<img src>` after them);
    only the images with `images_only`."""
    found: list[str] = []

    def walk(tokens: list) -> None:
        for token in tokens:
            if token.type == "link_open" and not images_only:
                found.append(str(token.attrs.get("href", "")))
            elif token.type == "image":
                found.append(str(token.attrs.get("src", "")))
            if token.children:
                walk(token.children)

    walk(_PARSER.parse(markdown))
    return found + HTML_IMAGE.findall(markdown)


def is_local(target: str) -> bool:
    return bool(target) and not target.startswith("#") and not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)


def heading_ids(markdown: str) -> set[str]:
    """Anchors a markdown page offers: its headings as JupyterLab and GitHub make ids of them
    (spaces to '-'; GitHub also lowercases and drops punctuation), plus explicit `<a id>`s."""
    ids: set[str] = set(re.findall(r"<a\s+(?:id|name)=[\"']([^\"']+)[\"']", markdown))
    tokens = _PARSER.parse(markdown)
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = tokens[i + 1].content.strip()
            ids.add(text.replace(" ", "-"))
            ids.add(re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-"))
    return ids


def notebook_markdown(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return "\n\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c.get("cell_type") == "markdown"
    )


def broken_links(folder: Path, *, allow_symlinks: bool) -> list[str]:
    """Problems with the local links of every notebook and markdown page in an assignment folder:
    a target outside the folder, missing, a symlink where a released copy needs a file, or an anchor
    the target page does not have."""
    problems: list[str] = []
    pages = [*folder.glob("*.ipynb"), *folder.rglob("*.md")]
    for page in pages:
        text = notebook_markdown(page) if page.suffix == ".ipynb" else page.read_text(encoding="utf-8")
        for target in filter(is_local, targets(text)):
            path_part, _, anchor = target.partition("#")
            where = f"{page.relative_to(folder)}: {target}"
            resolved = Path(os.path.normpath(page.parent / unquote(path_part)))
            if not resolved.is_relative_to(folder):
                problems.append(f"{where} (outside the assignment folder)")
            elif not resolved.is_file():
                problems.append(f"{where} (missing)")
            elif resolved.is_symlink() and not allow_symlinks:
                problems.append(f"{where} (a symlink, not a file)")
            elif (
                anchor
                and resolved.suffix == ".md"
                and unquote(anchor) not in heading_ids(resolved.read_text(encoding="utf-8"))
            ):
                problems.append(f"{where} (no such heading)")
    return problems
