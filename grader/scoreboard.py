"""The class scoreboard: one CSV row per trainee that a champion opens in Excel.

UTF-8 with a BOM (so Excel shows Korean), a first "points possible" row, rows keyed by
trainee name so that re-grading some trainees keeps everyone else's row, formula-like
cells neutralised, written atomically, and locked so two runs cannot interleave.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import filelock

import checks
from grader.display import inert
from grader.fileio import atomic_write_bytes
from grader.i18n import Text, t

NAME = "name"
POINTS_ROW_NAME = "(배점)"
# Names no trainee may have: the points row's label, and the header's own cell in the name column.
# Column names like "total" or "max" are not here: a row's name never shares a cell with them,
# and a trainee may well be called Max. grader.roster compares names after normalising them.
RESERVED_NAMES = frozenset({POINTS_ROW_NAME, NAME})
LEADING_COLUMNS = ("name", "host", "status")
TRAILING_COLUMNS = ("total", "max", "percent", "airflow_version", "graded_at", "failing", "message")
QUIZ_PREFIX = "quiz:"
# OWASP's list of characters that make a spreadsheet treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ScoreboardError(Exception):
    def __init__(self, message: Text) -> None:
        super().__init__(message.ko)
        self.message = message


def neutralise(value: str) -> str:
    """Prefix formula-like text with an apostrophe so Excel shows it instead of running it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unneutralise(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


@dataclass
class Scoreboard:
    """Rows keyed by trainee name; columns kept in a stable, readable order."""

    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    possible: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)  # quiz and unknown columns, in file order

    def check_columns(self) -> list[str]:
        known = list(checks.CHECK_IDS)
        seen = set(known)
        for row in (self.possible, *self.rows.values()):
            for column in row:
                if "." in column and column not in seen and not column.startswith(QUIZ_PREFIX):
                    known.append(column)  # a check id from an older/newer grader: keep it
                    seen.add(column)
        return known

    def columns(self) -> list[str]:
        fixed = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
        check_columns = self.check_columns()
        extras = [c for c in self.extra_columns if c not in fixed and c not in check_columns]
        return [*LEADING_COLUMNS, *check_columns, *extras, *TRAILING_COLUMNS]

    def update(self, row: Mapping[str, str]) -> None:
        name = row[NAME]
        current = self.rows.get(name, {})
        # Quiz columns come from nbgrader, not from grading: a re-grade keeps them.
        kept = {k: v for k, v in current.items() if k.startswith(QUIZ_PREFIX)}
        self.rows[name] = {**kept, **row}

    def set_quiz(self, name: str, column: str, score: str, max_score: str) -> None:
        if column not in self.extra_columns:
            self.extra_columns.append(column)
        self.possible[column] = max_score
        if name in self.rows:
            self.rows[name][column] = score

    def to_csv_bytes(self) -> bytes:
        columns = self.columns()
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerow([_cell(self.possible.get(c, "")) if c != NAME else POINTS_ROW_NAME for c in columns])
        for name in sorted(self.rows):
            row = self.rows[name]
            writer.writerow([_cell(row.get(c, "")) for c in columns])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(value: object) -> str:
    """A cell as written: control, bidi and invisible characters made visible (the display gate),
    then formula-like text neutralised."""
    return neutralise(inert(value))


def result_row(result: Mapping[str, object], possible_max: int | None = None) -> dict[str, str]:
    """A scoreboard row from `TargetResult.to_json()`: points per check, totals, status.

    A node that could not be graded scores 0 of `possible_max`, so Excel sums stay honest."""
    target = result["target"]
    assert isinstance(target, Mapping)
    row: dict[str, str] = {
        # The key as its cell will read back: a name with a control character keeps one row.
        "name": inert(target["name"]),
        "host": str(target["host"]),
        "status": str(result["status"]),
        "airflow_version": str(result.get("airflow_version") or ""),
        "graded_at": str(result.get("graded_at") or ""),
        "message": str(result.get("message") or ""),
    }
    failing: list[str] = []
    score = 0
    max_score = 0
    for check in result.get("checks") or []:  # type: ignore[union-attr]
        assert isinstance(check, Mapping)
        if check["status"] == "not_applicable":
            row[str(check["id"])] = "N/A"  # not "-": a leading minus would be neutralised as a formula
            continue
        row[str(check["id"])] = str(check["points"])
        score += int(check["points"])
        max_score += int(check["max_points"])
        if check["status"] in ("fail", "error"):
            failing.append(str(check["id"]))
    if result["status"] == "graded":
        row["total"] = str(score)
        row["max"] = str(max_score)
        row["percent"] = f"{100 * score / max_score:.1f}" if max_score else ""
    else:
        row["total"] = "0"
        row["max"] = str(possible_max) if possible_max is not None else ""
        row["percent"] = "0.0"
    row["failing"] = " ".join(failing)
    return row


def possible_row(settings_points: Mapping[str, int], common: Iterable[str] | None = None) -> dict[str, str]:
    """Maximum points per check for the "points possible" row; its total counts the `common` checks
    (those every node is judged on: a 3.x-only check adds to a 3.x node's own max only)."""
    row = {check_id: str(points) for check_id, points in settings_points.items()}
    counted = settings_points if common is None else {c: settings_points[c] for c in common}
    row["max"] = str(sum(counted.values()))
    row["total"] = row["max"]
    return row


def parse_scoreboard(data: bytes, where: str) -> Scoreboard:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScoreboardError(
            t(
                "기존 점수표 {p}를 UTF-8로 읽을 수 없습니다. Excel에서 다른 형식으로 저장했다면 'CSV UTF-8'로 다시 저장하세요",
                "The existing scoreboard {p} is not UTF-8; save it again as 'CSV UTF-8' in Excel",
                p=where,
            )
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    board = Scoreboard()
    header: list[str] | None = None
    for cells in reader:
        if not any(cells):
            continue
        if header is None:
            header = [c.strip() for c in cells]
            if NAME not in header:
                raise ScoreboardError(
                    t(
                        "{p}는 grade의 점수표가 아닙니다 (name 열이 없음). 다른 파일 이름을 쓰세요",
                        "{p} is not a grade scoreboard (no name column); use another file name",
                        p=where,
                    )
                )
            continue
        row = {c: unneutralise(v) for c, v in zip(header, cells, strict=False) if c}
        name = row.get(NAME, "")
        if name == POINTS_ROW_NAME:
            board.possible = row
        elif name:
            board.rows[name] = row
    if header is not None:
        fixed = {*LEADING_COLUMNS, *TRAILING_COLUMNS}
        board.extra_columns = [
            c for c in header if c and c not in fixed and (c.startswith(QUIZ_PREFIX) or "." not in c)
        ]
    return board


class ScoreboardFile:
    """A scoreboard on disk, locked from `open()` to `close()` (one grading run at a time)."""

    def __init__(self, path: Path, lock_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.lock = filelock.FileLock(str(self.path) + ".lock", timeout=lock_timeout)
        self.board = Scoreboard()

    def open(self) -> Scoreboard:
        try:
            self.lock.acquire()
        except filelock.Timeout:
            raise ScoreboardError(
                t(
                    "다른 grade 실행이 점수표 {p}를 쓰고 있습니다. 그 실행이 끝난 뒤 다시 하세요 (잠금 파일: {p}.lock)",
                    "Another grade run is writing the scoreboard {p}; try again when it has finished (lock: {p}.lock)",
                    p=str(self.path),
                )
            ) from None
        except OSError as exc:
            raise ScoreboardError(
                t(
                    "점수표 {p}의 잠금 파일을 만들 수 없습니다: {e}",
                    "Cannot create the lock file for {p}: {e}",
                    p=str(self.path),
                    e=exc.strerror or str(exc),
                )
            ) from None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            self.lock.release()
            raise ScoreboardError(
                t(
                    "점수표 {p}를 읽을 수 없습니다: {e}",
                    "Cannot read {p}: {e}",
                    p=str(self.path),
                    e=exc.strerror,
                )
            ) from None
        try:
            self.board = parse_scoreboard(data, str(self.path)) if data else Scoreboard()
        except ScoreboardError:
            self.lock.release()
            raise
        return self.board

    def save(self) -> None:
        try:
            atomic_write_bytes(self.path, self.board.to_csv_bytes())
        except OSError as exc:
            raise ScoreboardError(
                t(
                    "점수표 {p}를 쓸 수 없습니다: {e} (Excel에서 열려 있다면 닫고 다시 하세요)",
                    "Cannot write {p}: {e} (close it in Excel and try again)",
                    p=str(self.path),
                    e=exc.strerror or str(exc),
                )
            ) from None

    def close(self) -> None:
        if self.lock.is_locked:
            self.lock.release()
