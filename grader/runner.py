"""Grading one node, as a pipeline: target -> session -> probe -> facts -> checks -> result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import checks
from checks.model import Advisory, Status, Verdict
from grader.facts import Facts
from grader.gather import gather
from grader.i18n import Text, t
from grader.redact import redact
from grader.settings import CourseSettings
from grader.target import Target
from grader.transport import Deadline, SessionStats, SshSession, TargetError


@dataclass
class TargetResult:
    target: Target
    status: str
    graded_at: str
    message: Text | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)
    facts: Facts | None = None
    seconds: float = 0.0
    stats: SessionStats = field(default_factory=SessionStats)
    secrets: set[str] = field(default_factory=set, repr=False)
    host_key: str = ""  # SHA256 fingerprint: two trainees' rows answered by one machine share it

    @property
    def airflow_version(self) -> str | None:
        return self.facts.airflow.version if self.facts else None

    @property
    def score(self) -> int:
        return sum(v.points for v in self.verdicts)

    @property
    def max_score(self) -> int:
        return sum(v.max_points for v in self.verdicts)

    @property
    def all_passed(self) -> bool:
        return self.status == "graded" and all(
            v.status.passed or v.status is Status.NOT_APPLICABLE for v in self.verdicts
        )

    def clean(self, text: str) -> str:
        """Node text made safe to show: patterns, and every secret this grading knew (URL and
        command-line passwords, the champion's password, the JWT), raw and percent-encoded."""
        return redact(text, self.secrets)

    def to_json(self, lang: str = "ko") -> dict[str, Any]:
        def render(text: Text | None) -> str | None:
            return self.clean(text.render(lang)) if text else None

        return {
            "target": self.target.as_json(),
            "status": self.status,
            "message": render(self.message),
            "airflow_version": self.clean(self.airflow_version) if self.airflow_version else None,
            "checks": [
                {
                    "id": v.id,
                    "title": v.title.render(lang),
                    "status": v.status.value,
                    "points": v.points,
                    "max_points": v.max_points,
                    "evidence": [render(e) for e in v.evidence],
                    "hint": render(v.hint.text) if v.hint else None,
                    "hint_id": v.hint.id if v.hint else None,
                }
                for v in self.verdicts
            ],
            "advisories": [{"id": a.id, "message": render(a.message)} for a in self.advisories],
            "score": self.score,
            "max_score": self.max_score,
            "graded_at": self.graded_at,
            "host_key": self.host_key,
            "seconds": round(self.seconds, 3),
            "ssh": {
                "connections": self.stats.connections,
                "exec_sessions": self.stats.exec_sessions,
                "tunnels": self.stats.tunnels,
            },
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def judge_facts(
    target: Target, facts: Facts, settings: CourseSettings, only: set[str] | None = None
) -> TargetResult:
    """Judge facts gathered earlier (or recorded): the pure half of grading."""
    return TargetResult(
        target=target,
        status="graded",
        graded_at=_now(),
        verdicts=checks.judge(facts, settings, only),
        advisories=checks.advise(facts, settings),
        facts=facts,
    )


def grade_target(
    target: Target,
    settings: CourseSettings,
    *,
    known_hosts: Path,
    timeout: float = 20.0,
    only: set[str] | None = None,
) -> TargetResult:
    """Grade one node within `timeout` seconds. Never raises: a failure is a status."""
    started = time.monotonic()
    deadline = Deadline(timeout)
    stats = SessionStats()
    host_key = ""
    secrets: set[str] = {settings.champion.password}
    try:
        with SshSession.connect(target, known_hosts, deadline) as session:
            stats = session.stats
            host_key = session.host_key
            facts, secrets = gather(session, settings, secrets)
        result = judge_facts(target, facts, settings, only)
    except TargetError as exc:
        result = TargetResult(target, exc.status, _now(), message=exc.message)
    except Exception as exc:  # never a traceback for the champion
        result = TargetResult(
            target,
            "error",
            _now(),
            message=t(
                "예상하지 못한 오류: {e}", "Unexpected error: {e}", e=f"{exc.__class__.__name__}: {exc}"
            ),
        )
    result.secrets = secrets
    result.host_key = host_key
    result.seconds = time.monotonic() - started
    result.stats = stats
    return result


def exit_code(results: list[TargetResult]) -> int:
    """0 every check passed, 1 some check failed, 3 some node could not be graded."""
    if any(r.status != "graded" for r in results):
        return 3
    if all(r.all_passed for r in results):
        return 0
    return 1
