"""Every grading appended to a JSON Lines log, so progress over the course days can be shown."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grader.display import json_text


def history_record(result: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """One line per graded trainee: a summary for progress charts, and the full (redacted) result."""
    target = result["target"]
    return {
        "run_id": run_id,
        "graded_at": result.get("graded_at"),
        "name": target["name"],
        "host": target["host"],
        "status": result["status"],
        "score": result.get("score", 0),
        "max_score": result.get("max_score", 0),
        "airflow_version": result.get("airflow_version"),
        "checks": {c["id"]: c["status"] for c in result.get("checks") or []},
        "result": dict(result),  # already redacted; lets a later report show this trainee in full
    }


def append_history(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Append whole lines with one write each (O_APPEND), so concurrent runs never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")  # a run killed mid-line: start ours on a line of its own
        for record in records:
            # json_text: C1, bidi and invisible characters escaped too, so `tail` shows them inert
            os.write(fd, (json_text(record) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_history(path: Path) -> list[dict[str, Any]]:
    """Records in file order; a torn or foreign line is skipped, not fatal."""
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return records
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "name" in record:
            records.append(record)
    return records
