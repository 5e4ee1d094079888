"""The notebooks' check cells against the real practice node: same verdicts as `grade`."""

from __future__ import annotations

import pytest

from grader import notebook
from tests.integration.conftest import PracticeNode


@pytest.fixture
def session(node: PracticeNode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    said = notebook._node_magic(
        f"{node.info['host']} --port {node.info['port']} --user {node.info['user']} --key {node.info['key']}"
        f" --known-hosts {node.known_hosts}"
    )
    assert said.startswith("내 노드: ec2-user@127.0.0.1:")


def test_step_check_runs_only_that_step(session: None) -> None:
    shown = notebook.check("redis")
    assert shown.passed and [v.id for v in shown.result.verdicts] == ["redis.running"]


def test_all_is_the_champion_verdict(session: None, node: PracticeNode) -> None:
    shown = notebook.check("all")
    graded = node.grade()
    assert shown.passed and graded.code == 0
    assert {v.id: v.status.value for v in shown.result.verdicts} == graded.statuses
    assert (shown.result.score, shown.result.max_score) == (
        graded.result["score"],
        graded.result["max_score"],
    )


def test_a_broken_step_shows_the_guide_hint(session: None, node: PracticeNode) -> None:
    with node.stopped("redis"):
        shown = notebook.check("redis")
    assert not shown.passed
    assert "sudo service redis start" in str(shown)
