"""Apply `section.key=value` edits to an airflow.cfg in place, the way a trainee edits it in vim.

An existing `key = ...` line in the section is replaced; otherwise the key is added right
after the section header (the section is created when missing). Comments are kept.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def apply_edit(lines: list[str], section: str, key: str, value: str) -> list[str]:
    header = re.compile(r"^\s*\[([^\]]+)\]\s*$")
    setting = re.compile(rf"^\s*{re.escape(key)}\s*=")
    current = None
    header_index = None
    for index, line in enumerate(lines):
        match = header.match(line)
        if match:
            current = match.group(1).strip()
            if current == section:
                header_index = index
            continue
        if current == section and setting.match(line):
            lines[index] = f"{key} = {value}\n"
            return lines
    if header_index is None:
        lines.extend([f"\n[{section}]\n", f"{key} = {value}\n"])
    else:
        lines.insert(header_index + 1, f"{key} = {value}\n")
    return lines


def main(argv: list[str]) -> None:
    path = Path(argv[0])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for edit in argv[1:]:
        dotted, value = edit.split("=", 1)
        section, key = dotted.split(".", 1)
        lines = apply_edit(lines, section, key, value)
    path.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
