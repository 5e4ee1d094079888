"""The grader only reads: grading leaves the node as it found it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.integration.conftest import PracticeNode

# Airflow writes these itself while it runs; everything else under the home must not change.
VOLATILE = ("airflow/logs/", ".cache/")


def home_snapshot(home: Path) -> dict[str, tuple[str, int]]:
    snapshot = {}
    for path in sorted(home.rglob("*")):
        relative = str(path.relative_to(home))
        if relative.startswith(VOLATILE) or "__pycache__" in relative or path.is_dir() or path.is_symlink():
            continue
        if relative.startswith("airflow-venv/"):
            continue  # checked by its own marker below (too large to hash each time)
        if not path.is_file():
            snapshot[relative] = ("special", 0)
            continue
        snapshot[relative] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode)
    return snapshot


def service_pids(node: PracticeNode) -> dict[str, str]:
    run = Path(node.info["run"])
    return {p.name: p.read_text().strip() for p in sorted(run.glob("*.pid"))}


def db_snapshot(node: PracticeNode) -> str:
    # FAB records a login in ab_user (last_login, login_count): that is Airflow noting the
    # champion's login, the one trace a login leaves; every other column must stay the same.
    users = node.sql(
        "SELECT id, username, password, active, first_name, last_name, email, fail_login_count FROM ab_user ORDER BY id"
    )
    roles = node.sql("SELECT user_id, role_id FROM ab_user_role ORDER BY user_id, role_id")
    tables = node.sql(
        "CHECKSUM TABLE ab_role, ab_permission, ab_permission_view, ab_permission_view_role, connection, variable"
    )
    return users + roles + tables


def test_grading_changes_nothing(node: PracticeNode) -> None:
    home = Path(node.info["airflow_home"]).parent
    venv_marker = Path(node.info["venv"]) / ".practice-node-airflow"
    before = (home_snapshot(home), service_pids(node), db_snapshot(node), venv_marker.stat().st_mtime)
    for _ in range(3):
        graded = node.grade()
        assert graded.not_passed == set(), graded.explain()
    after = (home_snapshot(home), service_pids(node), db_snapshot(node), venv_marker.stat().st_mtime)
    assert before[0] == after[0], "files under the trainee's home changed"
    assert before[1] == after[1], "services were restarted"
    assert before[2] == after[2], "the metadata DB changed"
    assert before[3] == after[3]
    # No session or probe of the grader is left behind on the node.
    leftovers = subprocess.run(
        ["pgrep", "-a", "-u", "ec2-user", "-f", r"sshd: ec2-user|python3 -I -S -"],
        capture_output=True,
        text=True,
    ).stdout
    assert leftovers == ""
