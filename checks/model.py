"""What a check is and what it returns. A check is declared once (id, title, guide step,
points) and used alike by `grade`, the notebooks and the scoreboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from grader.facts import Facts
from grader.i18n import Text
from grader.settings import CourseSettings


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"  # passes, with a note
    ERROR = "error"  # could not judge
    NOT_APPLICABLE = "not_applicable"  # e.g. a 3.x-only check on a 2.x node; not counted

    @property
    def passed(self) -> bool:
        return self in (Status.PASS, Status.WARN)


# Statuses (as in results' JSON) that do not count against a node: passed, passed with a note, or n/a.
PASSING_STATUSES = frozenset({Status.PASS.value, Status.WARN.value, Status.NOT_APPLICABLE.value})


@dataclass(frozen=True)
class Hint:
    """How to fix it, pointing to the guide step; `id` keys the troubleshooting page."""

    id: str
    text: Text


@dataclass
class Outcome:
    """What a judge function decides; points are added by the runner."""

    status: Status
    evidence: list[Text] = field(default_factory=list)
    hint: Hint | None = None


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: Text
    guide_step: str  # e.g. "3.2 Redis 세팅"
    judge: Callable[[Facts, CourseSettings], Outcome]
    majors: tuple[int, ...] = (2, 3)  # Airflow major versions the check applies to (others: not applicable)
    not_applicable: Text | None = None  # why, on the other majors ({v}: the node's Airflow version)


@dataclass
class Verdict:
    id: str
    title: Text
    status: Status
    points: int
    max_points: int
    evidence: list[Text]
    hint: Hint | None


@dataclass(frozen=True)
class AdvisorySpec:
    id: str
    judge: Callable[[Facts, CourseSettings], Text | None]


@dataclass
class Advisory:
    id: str
    message: Text
