"""Every hint id the checks can give has its entry in docs/troubleshooting.ko.md (the HTML report
and the notebooks link there), and the page has no entry for a hint that no longer exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.ko.md"


def hint_ids_in_code() -> set[str]:
    found = set()
    for path in (ROOT / "checks").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_hint = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Hint"
            if is_hint and node.args and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def entries_on_page() -> list[str]:
    return re.findall(r"^### ([a-z0-9-]+)\s*$", PAGE.read_text(encoding="utf-8"), re.M)


def test_every_hint_has_one_entry_and_no_stale_ones() -> None:
    code = hint_ids_in_code()
    page = entries_on_page()
    assert len(code) >= 30  # the AST walk really found the hints
    assert len(page) == len(set(page)), "an entry appears twice"
    assert code - set(page) == set(), "hints without a troubleshooting entry"
    assert set(page) - code == set(), "entries for hints no check gives"


def test_links_inside_the_page_resolve() -> None:
    text = PAGE.read_text(encoding="utf-8")
    targets = set(re.findall(r"\]\(#([a-z0-9-]+)\)", text))
    assert targets and targets <= set(entries_on_page())
