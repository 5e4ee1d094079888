"""Grading a whole class: bounded parallelism, one connection per node, progress, Ctrl-C.

Each node is graded by `grade_target` within its own timeout, so one bad node (unreachable,
wrong key, hanging) only ever holds one worker for at most that long. Workers are daemon
threads: after Ctrl-C the run stops taking nodes, cuts the open connections and returns what
finished, without waiting for anything.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from grader.display import inert, inert_console
from grader.i18n import t
from grader.roster import Trainee
from grader.runner import TargetResult, grade_target
from grader.settings import CourseSettings
from grader.target import resolve_target
from grader.transport import LIVE_SOCKETS

DEFAULT_JOBS = 32


@dataclass
class BatchOptions:
    known_hosts: Path
    jobs: int = DEFAULT_JOBS
    timeout: float = 20.0
    only: set[str] | None = None
    user: str | None = None
    port: int | None = None
    key: str | None = None
    ssh_config: str | None = None


@dataclass
class BatchOutcome:
    results: list[TargetResult] = field(default_factory=list)  # in completion order
    interrupted: bool = False
    not_graded: list[Trainee] = field(default_factory=list)  # left when interrupted
    seconds: float = 0.0


def target_for(trainee: Trainee, options: BatchOptions):  # -> Target
    """A trainee's row, with empty fields filled from the flags (then ssh_config, then defaults)."""
    return resolve_target(
        trainee.host,
        name=trainee.name,
        port=trainee.port or options.port,
        user=trainee.user or options.user,
        key=trainee.key or options.key,
        ssh_config_path=options.ssh_config,
    )


def grade_class(
    trainees: Sequence[Trainee],
    settings: CourseSettings,
    options: BatchOptions,
    on_result: Callable[[TargetResult], None] | None = None,
) -> BatchOutcome:
    """Grade every trainee with at most `options.jobs` nodes at once; Ctrl-C keeps what finished."""
    started = time.monotonic()
    LIVE_SOCKETS.reset()
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(trainees)):
        todo.put(index)
    done: queue.SimpleQueue[tuple[int, TargetResult]] = queue.SimpleQueue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            trainee = trainees[index]
            target = target_for(trainee, options)
            result = grade_target(
                target, settings, known_hosts=options.known_hosts, timeout=options.timeout, only=options.only
            )
            if not stop.is_set():
                done.put((index, result))

    workers = [
        threading.Thread(target=worker, name=f"grade-{n}", daemon=True)
        for n in range(max(1, min(options.jobs, len(trainees))))
    ]
    for thread in workers:
        thread.start()
    outcome = BatchOutcome()
    finished: set[int] = set()
    try:
        while len(finished) < len(trainees):
            try:
                index, result = done.get(timeout=0.2)
            except queue.Empty:
                if not any(thread.is_alive() for thread in workers) and done.empty():
                    break
                continue
            finished.add(index)
            outcome.results.append(result)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        stop.set()
        LIVE_SOCKETS.abort_all()
        outcome.interrupted = True
        outcome.not_graded = [trainees[i] for i in range(len(trainees)) if i not in finished]
    outcome.seconds = time.monotonic() - started
    return outcome


class ProgressReporter:
    """A rich progress bar (count, ETA) on a terminal; one plain line per node otherwise."""

    def __init__(self, total: int, lang: str = "ko", out: TextIO | None = None) -> None:
        self.total = total
        self.lang = lang
        self.out = out or sys.stderr
        self.count = 0
        self._progress = None
        self._task = None
        if self.out.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            label = t("채점", "Grading").render(lang)
            # Text columns without markup: the last trainee's name comes from a roster or an EC2 tag.
            self._progress = Progress(
                TextColumn(label, style="bold", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[last]}", markup=False),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=inert_console(file=self.out),
                transient=False,
            )
            self._task = self._progress.add_task(label, total=total, last="")
            self._progress.start()

    def advance(self, result: TargetResult) -> None:
        self.count += 1
        line = self.describe(result)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, last=line)  # type: ignore[arg-type]
        else:
            print(f"[{self.count}/{self.total}] {line}", file=self.out, flush=True)

    def describe(self, result: TargetResult) -> str:
        """`김민수 90/100 (1.2s)`, the name made inert (it comes from a roster or an EC2 tag)."""
        name = inert(result.target.name, 80)  # one progress line
        if result.status == "graded":
            return f"{name} {result.score}/{result.max_score} ({result.seconds:.1f}s)"
        from grader.report import TARGET_STATUS_TEXT

        status = TARGET_STATUS_TEXT[self.lang].get(result.status, result.status)
        return f"{name} {status} ({result.seconds:.1f}s)"

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
