"""End-of-life advisories say what is true on the day the node was graded (Airflow 2.x ended
2026-04-22, MySQL 8.0 in April 2026; MySQL 8.4 LTS runs to 2032)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from checks.advisories import eol_airflow, eol_mysql
from grader.facts import Facts
from grader.settings import CourseSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "facts"
SETTINGS = CourseSettings()


@pytest.fixture
def facts() -> Facts:
    return copy.deepcopy(Facts.load(FIXTURES / "practice-2.11.2-pass.json"))


def test_airflow_2_after_its_end_of_life(facts: Facts) -> None:
    facts.collected_at = "2026-12-02T10:00:00+00:00"
    message = eol_airflow(facts, SETTINGS)
    assert message and "2026-04-22" in message.ko and "완전히 끝났습니다" in message.ko


def test_airflow_2_before_its_end_of_life(facts: Facts) -> None:
    facts.collected_at = "2026-01-10T10:00:00+00:00"
    message = eol_airflow(facts, SETTINGS)
    assert message and "끝납니다" in message.ko


@pytest.mark.parametrize(
    ("version", "day", "flagged"),
    [
        ("8.0.44", "2026-12-02", True),
        ("8.0.44", "2026-03-01", False),
        ("8.4.7", "2026-12-02", False),
        ("5.7.44", "2026-12-02", True),
        ("5.5.5-10.11.19-MariaDB", "2026-12-02", False),  # MariaDB has its own advisory
    ],
)
def test_mysql_end_of_life(facts: Facts, version: str, day: str, flagged: bool) -> None:
    assert facts.mysql is not None
    facts.mysql.server_version = version
    facts.collected_at = f"{day}T10:00:00+00:00"
    message = eol_mysql(facts, SETTINGS)
    assert bool(message) is flagged
    if message:
        assert "8.4 LTS" in message.ko
