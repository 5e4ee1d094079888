"""Quiz scores from the notebooks: merge the CSV `nbgrader export` writes into the scoreboard."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import Text, t
from grader.scoreboard import QUIZ_PREFIX, Scoreboard

# The columns of nbgrader's default CSV exporter (one row per student and assignment).
NBGRADER_COLUMNS = ("assignment", "student_id", "score", "max_score")


class NbgraderError(Exception):
    def __init__(self, message: Text) -> None:
        super().__init__(message.ko)
        self.message = message


@dataclass
class MergeReport:
    merged: int = 0
    unmatched: list[str] = field(default_factory=list)  # nbgrader students with no scoreboard row
    assignments: list[str] = field(default_factory=list)


def _key(text: str) -> str:
    """Compare names as people type them: NFC, case-folded, without spaces."""
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


def _candidates(row: dict[str, str]) -> list[str]:
    first = (row.get("first_name") or "").strip()
    last = (row.get("last_name") or "").strip()
    names = [row.get("student_id") or "", f"{last}{first}", f"{first} {last}", f"{last} {first}"]
    email = (row.get("email") or "").strip()
    if "@" in email:
        names.append(email.split("@", 1)[0])
    return [_key(n) for n in names if n.strip()]


def _number(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return ""
    return f"{number:g}"


def merge_nbgrader(board: Scoreboard, path: Path) -> MergeReport:
    """Add `quiz:<assignment>` columns (score, and max on the points row), matching by id or name."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise NbgraderError(
            t("nbgrader 성적 파일이 없습니다: {p}", "nbgrader grades file not found: {p}", p=str(path))
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NbgraderError(
            t(
                "nbgrader 성적 파일을 읽을 수 없습니다: {p} ({e})",
                "Cannot read the nbgrader grades file: {p} ({e})",
                p=str(path),
                e=exc.__class__.__name__,
            )
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in NBGRADER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise NbgraderError(
            t(
                "{p}는 `nbgrader export`의 CSV가 아닙니다 (없는 열: {c})",
                "{p} is not a CSV from `nbgrader export` (missing columns: {c})",
                p=str(path),
                c=", ".join(missing),
            )
        )
    by_key: dict[str, str] = {}
    for name in board.rows:
        by_key.setdefault(_key(name), name)
    report = MergeReport()
    unmatched: set[str] = set()
    for row in reader:
        assignment = (row.get("assignment") or "").strip()
        if not assignment:
            continue
        column = QUIZ_PREFIX + assignment
        if assignment not in report.assignments:
            report.assignments.append(assignment)
        name = next((by_key[k] for k in _candidates(row) if k in by_key), None)
        max_score = _number(row.get("max_score") or "")
        if name is None:
            unmatched.add(row.get("student_id") or "?")
            board.set_quiz("", column, "", max_score)
            continue
        board.set_quiz(name, column, _number(row.get("score") or ""), max_score)
        report.merged += 1
    report.unmatched = sorted(unmatched)
    return report
