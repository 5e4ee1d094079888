"""A class run names the rows of different trainees that one machine answered (the same SSH host
key): the cheapest identity forgery, passing the grader's SSH connection on to a classmate's node,
shows up there."""

from __future__ import annotations

from grader.classrun import shared_machines
from grader.runner import TargetResult
from grader.target import Target


def result(name: str, key: str, status: str = "graded") -> TargetResult:
    out = TargetResult(
        Target(name, f"10.0.0.{len(name)}", f"10.0.0.{len(name)}"), status, "2026-12-02T00:00:00+00:00"
    )
    out.host_key = key
    return out


def test_two_trainees_one_machine_are_named() -> None:
    messages = shared_machines(
        [result("김민수", "SHA256:aaa"), result("이영희", "SHA256:aaa"), result("박지훈", "SHA256:bbb")]
    )
    assert len(messages) == 1
    assert "김민수, 이영희" in messages[0].ko and "박지훈" not in messages[0].ko
    assert "SHA256:aaa" in messages[0].en


def test_distinct_machines_and_ungraded_rows_say_nothing() -> None:
    assert shared_machines([result("a", "SHA256:1"), result("b", "SHA256:2"), result("c", "")]) == []
    assert shared_machines([result("a", "SHA256:1"), result("b", "SHA256:1", status="timeout")]) == []
