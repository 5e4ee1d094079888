"""A class run: grade many trainees, keep the scoreboard and history current as results arrive,
then write the reports. Used by `grade --roster/--ec2`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import checks
from checks.model import Advisory
from grader.batch import BatchOptions, BatchOutcome, ProgressReporter, grade_class
from grader.display import inert
from grader.history import append_history, history_record, read_history
from grader.i18n import Text, t
from grader.roster import RosterProblem, Trainee
from grader.runner import TargetResult
from grader.scoreboard import ScoreboardFile, possible_row, result_row
from grader.settings import CourseSettings

SAVE_EVERY_SECONDS = 1.0


@dataclass
class ClassOutputs:
    scoreboard: Path | None = None
    history: Path | None = None
    junit: Path | None = None
    html: Path | None = None
    nbgrader: Path | None = None
    title: str = ""


@dataclass
class ClassRun:
    outcome: BatchOutcome
    results: list[dict[str, Any]] = field(default_factory=list)  # this run's, as JSON, roster order
    report_results: list[dict[str, Any]] = field(default_factory=list)  # + earlier rows of the class
    messages: list[Text] = field(default_factory=list)


def problem_result(problem: RosterProblem, graded_at: str, lang: str) -> dict[str, Any] | None:
    """A roster row that could not be graded still gets a scoreboard row, if it has a name."""
    if not problem.name:
        return None
    return {
        "target": {"name": problem.name, "host": problem.host or "", "port": None, "user": None},
        "status": "roster_error",
        "message": f"{problem.source}: {problem.message.render(lang)}",
        "airflow_version": None,
        "checks": [],
        "advisories": [],
        "score": 0,
        "max_score": 0,
        "graded_at": graded_at,
        "seconds": 0.0,
    }


def run_class(
    trainees: Sequence[Trainee],
    problems: Sequence[RosterProblem],
    settings: CourseSettings,
    options: BatchOptions,
    outputs: ClassOutputs,
    *,
    lang: str = "ko",
    progress: bool = True,
    extra_advisories: Callable[[Trainee], list[Advisory]] | None = None,
) -> ClassRun:
    """Grade the class; the scoreboard (locked for the whole run) is saved as results arrive."""
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    board_file = ScoreboardFile(outputs.scoreboard) if outputs.scoreboard else None
    board = board_file.open() if board_file else None  # raises ScoreboardError if locked
    by_name = {trainee.name: trainee for trainee in trainees}
    try:
        possible_max = sum(settings.points_for(c) for c in checks.COMMON_CHECK_IDS)
        if board is not None:
            board.possible.update(
                possible_row({c: settings.points_for(c) for c in checks.CHECK_IDS}, checks.COMMON_CHECK_IDS)
            )
        now = datetime.now(UTC).isoformat(timespec="seconds")
        problem_rows = [r for p in problems if (r := problem_result(p, now, lang)) is not None]
        pending_history: list[dict[str, Any]] = []
        for row in problem_rows:
            if board is not None:
                board.update(result_row(row, possible_max))
            pending_history.append(history_record(row, run_id))
        last_save = 0.0

        def flush(force: bool = False) -> None:
            nonlocal last_save, pending_history
            if outputs.history and pending_history:
                append_history(outputs.history, pending_history)
                pending_history = []
            if board_file is not None and (force or time.monotonic() - last_save >= SAVE_EVERY_SECONDS):
                board_file.save()
                last_save = time.monotonic()

        reporter = ProgressReporter(len(trainees), lang) if progress else None

        def on_result(result: TargetResult) -> None:
            trainee = by_name.get(result.target.name)
            if extra_advisories is not None and trainee is not None:
                result.advisories.extend(extra_advisories(trainee))
            as_json = result.to_json(lang)
            if board is not None:
                board.update(result_row(as_json, possible_max))
            pending_history.append(history_record(as_json, run_id))
            flush()
            if reporter is not None:
                reporter.advance(result)

        try:
            outcome = grade_class(trainees, settings, options, on_result)
        finally:
            if reporter is not None:
                reporter.close()
        run = ClassRun(outcome)
        flush(force=True)  # the grading is safe on disk before anything else can go wrong
        run.messages += shared_machines(outcome.results)
        if outputs.nbgrader and board is not None:
            from grader.nbgrader_merge import merge_nbgrader

            merged = merge_nbgrader(board, outputs.nbgrader)
            run.messages.append(
                t(
                    "nbgrader 점수 {n}건을 합쳤습니다 ({a})",
                    "Merged {n} nbgrader scores ({a})",
                    n=merged.merged,
                    a=", ".join(merged.assignments) or "-",
                )
            )
            if merged.unmatched:
                run.messages.append(
                    t(
                        "점수표에 없는 nbgrader 학생: {s}",
                        "nbgrader students not on the scoreboard: {s}",
                        s=", ".join(merged.unmatched),
                    )
                )
        flush(force=True)
    finally:
        if board_file is not None:
            board_file.close()
    order = {trainee.name: index for index, trainee in enumerate(trainees)}
    graded = sorted(outcome.results, key=lambda r: order.get(r.target.name, len(order)))
    run.results = [r.to_json(lang) for r in graded] + problem_rows
    run.report_results = _class_view(run.results, outputs.history, board.rows if board else {})
    return run


def shared_machines(results: Sequence[TargetResult]) -> list[Text]:
    """Rows of different trainees answered by one machine (the same SSH host key): one node may be
    passing the grader's SSH connection on to another's (e.g. a port forward to a classmate)."""
    names: dict[str, list[str]] = {}
    for result in results:
        if result.host_key and result.status == "graded":
            names.setdefault(result.host_key, []).append(result.target.name)
    return [
        t(
            "서로 다른 연수생의 노드가 같은 머신으로 답했습니다(같은 SSH 호스트 키 {key}): {names}. 한 노드가 "
            "채점기의 SSH 접속을 다른 노드로 넘기고 있을 수 있으니 두 인스턴스를 확인하세요.",
            "Different trainees' nodes answered as one machine (same SSH host key {key}): {names}. One node "
            "may be passing the grader's SSH connection on to another; check both instances.",
            key=key[:23],
            names=", ".join(sorted(group)),
        )
        for key, group in names.items()
        if len(set(group)) > 1
    ]


def _class_view(
    results: list[dict[str, Any]], history: Path | None, scoreboard_rows: dict[str, Any]
) -> list[dict[str, Any]]:
    """This run's results plus, for the rest of the scoreboard, each trainee's latest result.

    The scoreboard keys names as their cells read (`inert`); history and results hold them as given."""
    seen = {inert(r["target"]["name"]) for r in results}
    earlier: dict[str, dict[str, Any]] = {}
    if history is not None:
        for record in read_history(history):
            name = inert(record.get("name"))
            if name in scoreboard_rows and name not in seen and isinstance(record.get("result"), dict):
                earlier[name] = record["result"]
    return results + [earlier[name] for name in sorted(earlier)]
