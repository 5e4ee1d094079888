"""Bad input gets a clear verdict within --timeout, never a traceback, never a password."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import GRADE, PracticeNode, silent_listener


def run_grade(*args: str, timeout: float = 60) -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def assert_clean(stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    for secret in ("Bespin12!", "test123!"):
        assert secret not in stdout + stderr


def test_port_refused(node: PracticeNode, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err, _ = run_grade(
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--key",
        node.info["key"],
        "--known-hosts",
        str(tmp_path / "kh"),
    )
    assert code == 3
    assert "접속 불가" in out and "연결이 거부" in out
    assert_clean(out, err)


def test_unknown_host_name(node: PracticeNode, tmp_path: Path) -> None:
    code, out, err, _ = run_grade(
        "--host",
        "no-such-node.invalid",
        "--key",
        node.info["key"],
        "--format",
        "json",
        "--known-hosts",
        str(tmp_path / "kh"),
    )
    assert code == 3
    assert '"status": "unreachable"' in out and "no-such-node.invalid" in out
    assert_clean(out, err)


def test_wrong_key(node: PracticeNode, tmp_path: Path) -> None:
    key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    args = node.grade_args("--format", "json")
    args[args.index("--key") + 1] = str(key)
    code, out, err, _ = run_grade(*args[1:])
    assert code == 3
    assert '"status": "auth_failed"' in out
    assert_clean(out, err)


def test_wrong_user(node: PracticeNode, tmp_path: Path) -> None:
    args = node.grade_args("--format", "json")
    args[args.index("--user") + 1] = "ubuntu"
    code, out, err, _ = run_grade(*args[1:])
    assert code == 3 and '"status": "auth_failed"' in out and "ubuntu@" in out
    assert_clean(out, err)


def test_missing_key_file(node: PracticeNode, tmp_path: Path) -> None:
    args = node.grade_args()
    args[args.index("--key") + 1] = str(tmp_path / "nope.pem")
    code, out, err, _ = run_grade(*args[1:])
    assert code == 3 and "키 파일이 없습니다" in out
    assert_clean(out, err)


def test_host_key_changed(node: PracticeNode, tmp_path: Path) -> None:
    """First contact is remembered (accept-new); a different key later is refused."""
    known_hosts = tmp_path / "known_hosts"
    args = node.grade_args("--format", "json")
    args[args.index("--known-hosts") + 1] = str(known_hosts)
    code, out, _, _ = run_grade(*args[1:])
    assert code == 0 and '"status": "graded"' in out
    remembered = known_hosts.read_text()
    assert remembered.startswith(f"[127.0.0.1]:{node.info['port']} ssh-ed25519 ")
    # Pretend the node presented another key last time.
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    fake = other.with_suffix(".pub").read_text().split()[1]
    known_hosts.write_text(f"[127.0.0.1]:{node.info['port']} ssh-ed25519 {fake}\n")
    code, out, err, _ = run_grade(*args[1:])
    assert code == 3 and '"status": "host_key_mismatch"' in out
    assert known_hosts.read_text().count("\n") == 1  # never overwritten
    assert_clean(out, err)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never says a word (not an SSH server)."""
    with silent_listener() as port:
        yield port


def test_tcp_but_no_ssh_banner(silent_server: int, tmp_path: Path, node: PracticeNode) -> None:
    code, out, err, took = run_grade(
        "--host", "127.0.0.1", "--port", str(silent_server), "--key", node.info["key"], "--timeout", "3",
        "--format", "json", "--known-hosts", str(tmp_path / "kh"),
    )  # fmt: skip
    assert code == 3 and '"status": "timeout"' in out
    assert took < 8  # bounded by --timeout (plus start-up), not by the server
    assert_clean(out, err)


def test_hanging_command_on_node(node: PracticeNode) -> None:
    """Every command on the node hangs (a `sleep` in the login shell's rc): --timeout still holds."""
    bashrc = Path("/home/ec2-user/.bashrc")
    original = bashrc.read_bytes()
    bashrc.write_bytes(b"sleep 600\n" + original)
    try:
        graded_code, out, err, took = run_grade(*node.grade_args("--timeout", "4", "--format", "json")[1:])
        (result,) = json.loads(out)
        assert graded_code == 3 and result["status"] == "timeout", (result["status"], result.get("message"))
        assert took < 9
        assert_clean(out, err)
    finally:
        bashrc.write_bytes(original)
        subprocess.run(["pkill", "-u", "ec2-user", "-f", "^sleep 600"], check=False)


def test_usage_errors(tmp_path: Path) -> None:
    code, _out, err, _ = run_grade()
    assert code == 2 and "--host" in err
    bad_toml = tmp_path / "course.toml"
    bad_toml.write_text("[champion\nusername = 'x'\n", encoding="utf-8")
    code, _out, err, _ = run_grade("--host", "127.0.0.1", "--config", str(bad_toml))
    assert code == 2 and "TOML" in err and "Traceback" not in err
    bad_points = tmp_path / "points.toml"
    bad_points.write_text('[points]\n"no.such.check" = 5\n', encoding="utf-8")
    code, _out, err, _ = run_grade("--host", "127.0.0.1", "--config", str(bad_points))
    assert code == 2 and "no.such.check" in err
    code, _out, err, _ = run_grade("--from-facts", str(tmp_path / "missing.json"))
    assert code == 2 and "파일이 없습니다" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    code, _out, err, _ = run_grade("--from-facts", str(broken))
    assert code == 2 and "Traceback" not in err


def test_course_settings_change_the_champion(node: PracticeNode, tmp_path: Path) -> None:
    course = tmp_path / "course.toml"
    course.write_text('[champion]\nusername = "kim"\n\n[points]\n"account.champion" = 20\n', encoding="utf-8")
    graded = node.grade("--config", str(course))
    assert graded.not_passed == {"account.champion"}, graded.explain()
    assert graded.check("account.champion")["max_points"] == 20
    assert graded.result["max_score"] == node.max_score + 10
    assert "kim" in " ".join(graded.check("account.champion")["evidence"])


def test_saved_facts_replay_and_hold_no_secret(node: PracticeNode, tmp_path: Path) -> None:
    saved = tmp_path / "facts.json"
    live = node.grade("--save-facts", str(saved))
    text = saved.read_text(encoding="utf-8")
    for secret in ("Bespin12!", "test123!", "fernet_key", "secret_key"):
        assert secret not in text
    code, out, _err, _ = run_grade("--from-facts", str(saved), "--format", "json")
    assert code == 0
    import json

    replay = json.loads(out)[0]
    assert [c["status"] for c in replay["checks"]] == [c["status"] for c in live.result["checks"]]
