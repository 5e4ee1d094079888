"""A value Airflow itself cannot read fails its check with the reason, from the recorded practice
probe with one line of its airflow.cfg changed as trainees change it."""

from __future__ import annotations

import checks
from checks.model import Status
from grader.observe import observe
from grader.settings import CourseSettings
from tests.hostile_node import cfg_with, load_probe

SETTINGS = CourseSettings()


def judged(raw: dict) -> dict:
    facts, _ = observe(raw)
    return {v.id: v for v in checks.judge(facts, SETTINGS, {"config"})}


def test_the_recorded_cfg_reads_cleanly() -> None:
    facts, _ = observe(load_probe())
    assert not [name for name, option in facts.airflow.options.items() if option.error]


def test_a_url_encoded_password_with_a_lone_percent_is_unreadable() -> None:
    raw = cfg_with(
        load_probe(), "airflow:Bespin12!@127.0.0.1:3306/airflow", "airflow:Bespin%2112@127.0.0.1:3306/airflow"
    )
    verdict = judged(raw)["config.metadata_db"]
    assert verdict.status is Status.FAIL
    assert verdict.hint and verdict.hint.id == "cfg-value-unreadable" and "%%" in verdict.hint.text.ko
    assert "Interpolation" in verdict.evidence[0].ko
    assert "Bespin" not in " ".join(e.ko for e in verdict.evidence)


def test_a_doubled_percent_is_read_as_one() -> None:
    raw = cfg_with(
        load_probe(),
        "airflow:Bespin12!@127.0.0.1:3306/airflow",
        "airflow:Bespin%%2112@127.0.0.1:3306/airflow",
    )
    facts, resolved = observe(raw)
    conn = resolved.value("database", "sql_alchemy_conn")
    assert conn == "mysql+pymysql://airflow:Bespin%2112@127.0.0.1:3306/airflow"
    assert facts.airflow.options["database.sql_alchemy_conn"].error is None
