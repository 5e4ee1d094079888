"""The scoreboard CSV: Excel-friendly, keyed by name, formula-safe, atomic and locked."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import checks
from grader.history import append_history, history_record, read_history
from grader.nbgrader_merge import NbgraderError, merge_nbgrader
from grader.scoreboard import (
    POINTS_ROW_NAME,
    Scoreboard,
    ScoreboardError,
    ScoreboardFile,
    neutralise,
    parse_scoreboard,
    possible_row,
    result_row,
    unneutralise,
)


def result(
    name: str, failing: set[str] = frozenset(), status: str = "graded", host: str = "10.0.0.1"
) -> dict:
    rows = []
    if status == "graded":
        for check_id in checks.CHECK_IDS:
            if check_id == "airflow.dag_processor":  # a 2.x node: shown, not counted
                rows.append({"id": check_id, "status": "not_applicable", "points": 0, "max_points": 0})
                continue
            state = "fail" if check_id in failing else "pass"
            rows.append(
                {"id": check_id, "status": state, "points": 0 if state == "fail" else 10, "max_points": 10}
            )
    score = sum(c["points"] for c in rows)
    return {
        "target": {"name": name, "host": host, "port": 22, "user": "ec2-user"},
        "status": status,
        "message": None if status == "graded" else "연결이 거부되었습니다",
        "airflow_version": "2.11.2" if status == "graded" else None,
        "checks": rows,
        "advisories": [],
        "score": score,
        "max_score": sum(c["max_points"] for c in rows),
        "graded_at": "2026-11-24T10:00:00+00:00",
        "seconds": 0.5,
    }


def rows_of(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to show Korean"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def board_with(*results: dict) -> Scoreboard:
    board = Scoreboard()
    board.possible.update(possible_row({c: 10 for c in checks.CHECK_IDS}, checks.COMMON_CHECK_IDS))
    for r in results:
        board.update(result_row(r, possible_max=100))
    return board


def test_layout_points_row_and_totals() -> None:
    data = board_with(result("김민수", {"redis.running", "config.broker"}), result("이영희")).to_csv_bytes()
    rows = rows_of(data)
    header = list(rows[0].keys())
    assert header[:3] == ["name", "host", "status"]
    assert header[3 : 3 + len(checks.CHECK_IDS)] == list(checks.CHECK_IDS)
    assert header[-7:] == ["total", "max", "percent", "airflow_version", "graded_at", "failing", "message"]
    possible, kim, lee = rows
    assert (
        possible["name"] == POINTS_ROW_NAME and possible["max"] == "100" and possible["redis.running"] == "10"
    )
    assert (kim["name"], kim["redis.running"], kim["mysql.running"], kim["total"], kim["percent"]) == (
        "김민수",
        "0",
        "10",
        "80",
        "80.0",
    )
    assert kim["failing"] == "redis.running config.broker"
    assert lee["total"] == "100" and lee["failing"] == ""
    assert b"\r\n" in data  # Excel's line ends


def test_unreachable_row_scores_zero_of_max() -> None:
    row = rows_of(board_with(result("박", status="unreachable")).to_csv_bytes())[1]
    assert (row["status"], row["total"], row["max"], row["redis.running"]) == ("unreachable", "0", "100", "")
    assert row["message"] == "연결이 거부되었습니다"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", '=HYPERLINK("http://x")'])
def test_formula_cells_neutralised_and_round_trip(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert unneutralise(neutralise(value)) == value
    board = board_with(result(value, host=value))
    data = board.to_csv_bytes()
    raw_rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert raw_rows[2][0] == "'" + value and raw_rows[2][1] == "'" + value
    again = parse_scoreboard(data, "x.csv")
    assert list(again.rows) == [value] and again.rows[value]["host"] == value


def test_plain_text_untouched() -> None:
    assert neutralise("김민수") == "김민수" and unneutralise("'quoted") == "'quoted"


def test_regrade_updates_one_row_keeps_others_and_quiz_columns() -> None:
    board = board_with(result("a", {"redis.running"}), result("b"))
    board.set_quiz("a", "quiz:01-정의", "4", "5")
    parsed = parse_scoreboard(board.to_csv_bytes(), "x.csv")
    parsed.update(result_row(result("a"), 100))
    rows = {r["name"]: r for r in rows_of(parsed.to_csv_bytes())}
    assert rows["a"]["total"] == "100" and rows["a"]["quiz:01-정의"] == "4"
    assert rows["b"] == {**rows["b"], "total": "100"}
    assert rows[POINTS_ROW_NAME]["quiz:01-정의"] == "5"


def test_unknown_columns_and_old_check_ids_survive() -> None:
    text = "\ufeffname,host,status,old.check,비고,total\r\n(배점),,,10,,10\r\nx,h,graded,7,메모,7\r\n"
    board = parse_scoreboard(text.encode(), "x.csv")
    board.update(result_row(result("y"), 100))
    rows = {r["name"]: r for r in rows_of(board.to_csv_bytes())}
    assert rows["x"]["old.check"] == "7" and rows["x"]["비고"] == "메모"
    assert rows["y"]["redis.running"] == "10"


def test_foreign_or_non_utf8_file_refused() -> None:
    with pytest.raises(ScoreboardError, match="name"):
        parse_scoreboard(b"a,b\n1,2\n", "x.csv")
    with pytest.raises(ScoreboardError, match="UTF-8"):
        parse_scoreboard("name\n김\n".encode("cp949"), "x.csv")


def test_save_is_atomic_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sb.csv"
    board_file = ScoreboardFile(path)
    board_file.open().update(result_row(result("a"), 100))
    board_file.save()
    before = path.read_bytes()
    board_file.board.update(result_row(result("b"), 100))

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ScoreboardError, match="No space left"):
        board_file.save()
    board_file.close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sb.csv", "sb.csv.lock"]  # no temp file left


def test_second_run_is_locked_out(tmp_path: Path) -> None:
    path = tmp_path / "sb.csv"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time, filelock
                lock = filelock.FileLock({str(path) + ".lock"!r}); lock.acquire()
                print("held", flush=True); time.sleep(30)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ScoreboardError, match="다른 grade 실행"):
            ScoreboardFile(path, lock_timeout=0.2).open()
    finally:
        holder.kill()
        holder.wait()
    board_file = ScoreboardFile(path, lock_timeout=0.2)
    board_file.open()  # free again once the other run is gone
    board_file.close()


NBGRADER_CSV = (
    "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
    "late_submission_penalty,score,max_score\n"
    "01-정의,,2026-11-20 10:00:00,kim01,김,민수,kim@example.com,4.0,0.0,4.0,5.0\n"
    "01-정의,,2026-11-20 10:00:00,s2,이,영희,,5.0,0.0,5.0,5.0\n"
    "02-아키텍쳐,,,lee.yh,,,lee.yh@example.com,7.5,0.0,7.5,10.0\n"
    "01-정의,,,ghost,유령,,,1.0,0.0,1.0,5.0\n"
)


def test_nbgrader_merge_matches_by_id_korean_name_and_email(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text(NBGRADER_CSV, encoding="utf-8")
    board = board_with(result("kim01"), result("이영희"), result("lee.yh"))
    report = merge_nbgrader(board, path)
    assert report.merged == 3 and report.unmatched == ["ghost"]
    assert report.assignments == ["01-정의", "02-아키텍쳐"]
    rows = {r["name"]: r for r in rows_of(board.to_csv_bytes())}
    assert rows["kim01"]["quiz:01-정의"] == "4"
    assert rows["이영희"]["quiz:01-정의"] == "5"
    assert rows["lee.yh"]["quiz:02-아키텍쳐"] == "7.5" and rows["lee.yh"]["quiz:01-정의"] == ""
    assert rows[POINTS_ROW_NAME]["quiz:02-아키텍쳐"] == "10"


def test_nbgrader_wrong_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("name,host\na,b\n", encoding="utf-8")
    with pytest.raises(NbgraderError, match="nbgrader export"):
        merge_nbgrader(Scoreboard(), path)
    with pytest.raises(NbgraderError, match="없습니다"):
        merge_nbgrader(Scoreboard(), tmp_path / "missing.csv")


def test_history_appends_and_skips_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "h" / "history.jsonl"
    append_history(path, [history_record(result("a", {"redis.running"}), "run1")])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"name": "torn"')  # a run killed mid-line
    append_history(path, [history_record(result("a"), "run2")])
    records = read_history(path)
    assert [(r["run_id"], r["score"]) for r in records] == [("run1", 90), ("run2", 100)]
    assert records[0]["checks"]["redis.running"] == "fail"
    assert records[-1]["result"]["target"]["name"] == "a"


def test_reserved_names_are_the_rows_the_scoreboard_writes_itself() -> None:
    """The points row's label and the header's name cell: grader.roster refuses them as trainee names."""
    from grader.roster import name_problem
    from grader.scoreboard import NAME, RESERVED_NAMES

    rows = list(csv.reader(io.StringIO(board_with(result("김민수")).to_csv_bytes().decode("utf-8-sig"))))
    header, points = rows[0], rows[1]
    assert {header[0], points[0]} == RESERVED_NAMES == {NAME, POINTS_ROW_NAME}
    for name in RESERVED_NAMES:
        assert name_problem(name) is not None
    # Why it matters: a trainee row called "(배점)" would be read back as the points row.
    board = parse_scoreboard(board_with(result("김민수")).to_csv_bytes(), "x.csv")
    assert POINTS_ROW_NAME not in board.rows and board.possible["max"] == "100"
