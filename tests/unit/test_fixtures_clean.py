"""Recorded fixtures hold the practice node only: no path of the machine that recorded them (its
checkout, its other processes), so they read the same in any clone."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.json")), ids=lambda p: p.name)
def test_no_path_of_the_recording_machine(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    checkout = str(Path(__file__).resolve().parents[2])
    assert checkout not in text and "/work/" not in text
