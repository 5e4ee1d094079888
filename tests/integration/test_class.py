"""A whole class graded at once: the simulated class of `practice/class` (each node in its own
network, PID and mount namespaces, behind a delayed link), graded with the real `grade` CLI
into a scoreboard, JUnit and HTML. Needs root; `practice/class up` is run (idempotent)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLASS_SCRIPT = ROOT / "practice" / "class"
GRADE = Path(sys.executable).with_name("grade")
HANG_PORT = 2200


def class_info() -> dict:
    proc = subprocess.run(["bash", str(CLASS_SCRIPT), "info"], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def klass() -> Iterator[dict]:
    """The class, up for this module. Taken down after it if this module brought it up: four
    Airflow nodes left running would share the 2 cores with every later test (a loopback
    webserver then answered /health too slowly for the next module's grades)."""
    was_running = any(node["running"] for node in class_info()["nodes"])
    proc = subprocess.run(["bash", str(CLASS_SCRIPT), "up"], capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"practice/class up failed:\n{proc.stdout}\n{proc.stderr}"
    info = class_info()
    yield {node["name"]: node for node in info["nodes"]} | {"_info": info}
    if not was_running:
        subprocess.run(["bash", str(CLASS_SCRIPT), "down"], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def hanging_address(klass: dict) -> Iterator[str]:
    """A host on the class subnet that accepts TCP on HANG_PORT and never says anything."""
    node = klass["unreachable"]
    server = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            node["netns"],
            sys.executable,
            "-c",
            "import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {HANG_PORT})); s.listen(100); print('ready', flush=True); held = []\n"
            "while True: held.append(s.accept()[0])\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    yield node["host"]
    server.kill()
    server.wait()


@pytest.fixture(scope="session")
def wrong_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    key = tmp_path_factory.mktemp("keys") / "someone-else.pem"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return str(key)


def write_roster(path: Path, klass: dict, extra: list[str] = ()) -> Path:
    lines = ["name,host,user,port,key"]
    for name in ("pass", "redis-down", "local-exec", "unreachable", "airflow3"):
        node = klass[name]
        lines.append(f"{name},{node['host']},{node['user']},{node['port']},{node['key']}")
    lines += list(extra)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scoreboard_rows(path: Path) -> dict[str, dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return {r["name"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))}


def grade(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GRADE), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def known_hosts(tmp_path: Path) -> str:
    return str(tmp_path / "known_hosts")


def test_class_is_behind_a_delayed_link(klass: dict) -> None:
    """Every packet to a class node is delayed (~25 ms each way): a TCP connect takes one RTT."""
    samples = []
    for _ in range(5):
        started = time.monotonic()
        with socket.create_connection((klass["pass"]["host"], 22), timeout=5):
            samples.append(time.monotonic() - started)
    assert statistics.median(samples) >= 0.040, samples


def test_nodes_have_their_own_processes(klass: dict, tmp_path: Path, known_hosts: str) -> None:
    """Two nodes' `ps` differ: each sees only its own redis-server, mariadbd and Airflow."""
    pids = {}
    for name in ("pass", "local-exec"):
        node = klass[name]
        facts = tmp_path / f"{name}.json"
        proc = grade(
            "--host",
            node["host"],
            "--key",
            node["key"],
            "--known-hosts",
            known_hosts,
            "--save-facts",
            str(facts),
        )
        assert proc.returncode in (0, 1), proc.stderr
        processes = json.loads(facts.read_text())["processes"]
        commands = [p["title"] for p in processes]
        assert sum("redis-server" in c for c in commands) <= 1
        assert sum(c.startswith("/usr/sbin/mariadbd") for c in commands) == 1
        assert len(processes) < 80, len(processes)
        pids[name] = {p["pid"] for p in processes}
    assert 1 in pids["pass"] and 1 in pids["local-exec"]  # each node has its own PID 1 (tini)


def test_grade_class_into_scoreboard_junit_html(
    klass: dict, hanging_address: str, wrong_key: str, tmp_path: Path, known_hosts: str
) -> None:
    roster = write_roster(
        tmp_path / "roster.csv",
        klass,
        [
            f"wrong-key,{klass['pass']['host']},ec2-user,22,{wrong_key}",
            f"hanging,{hanging_address},ec2-user,{HANG_PORT},{wrong_key}",
            "no-host,,ec2-user,22,",
        ],
    )
    board, junit, html = tmp_path / "sb.csv", tmp_path / "report.xml", tmp_path / "report.html"
    quiz = tmp_path / "grades.csv"  # the CSV `nbgrader export` writes
    quiz.write_text(
        "assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,late_submission_penalty,score,max_score\n"
        "01-정의,,,pass,,,,4.0,0.0,4.0,5.0\n"
        "01-정의,,,ghost,,,,1.0,0.0,1.0,5.0\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    proc = grade(
        "--roster", str(roster), "--scoreboard", str(board), "--junit", str(junit), "--html", str(html),
        "--nbgrader", str(quiz), "--known-hosts", known_hosts, "--timeout", "6",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "roster.csv:9" in proc.stderr  # the bad row, by line
    # The hanging node holds one worker for its own timeout; it does not hold up the class.
    assert elapsed < 6 * 2.5, elapsed

    rows = scoreboard_rows(board)
    assert rows["(배점)"]["max"] == "100" and rows["(배점)"]["airflow.dag_processor"] == "10"
    full = rows["pass"]
    assert (full["status"], full["total"], full["max"], full["failing"]) == ("graded", "100", "100", "")
    assert full["airflow_version"] == "2.11.2" and full["airflow.dag_processor"] == "N/A"
    # Airflow 3 (api-server, dag-processor, FAB, JWT login): all pass, with the 3.x-only check counted
    af3 = rows["airflow3"]
    assert (af3["status"], af3["total"], af3["max"], af3["failing"]) == ("graded", "110", "110", "")
    assert af3["airflow_version"] == "3.3.2" and af3["airflow.dag_processor"] == "10"
    assert rows["redis-down"]["status"] == "graded"
    assert set(rows["redis-down"]["failing"].split()) == {"redis.running", "config.broker"}
    assert rows["redis-down"]["redis.running"] == "0" and rows["redis-down"]["mysql.running"] == "10"
    assert set(rows["local-exec"]["failing"].split()) == {"config.executor", "airflow.worker"}
    assert rows["unreachable"]["status"] == "unreachable"
    assert rows["wrong-key"]["status"] == "auth_failed"
    assert rows["hanging"]["status"] == "timeout"
    assert rows["no-host"]["status"] == "roster_error" and "host" in rows["no-host"]["message"]
    for name in ("unreachable", "wrong-key", "hanging", "no-host"):
        assert (rows[name]["total"], rows[name]["max"]) == ("0", "100")
    assert rows["pass"]["quiz:01-정의"] == "4" and rows["(배점)"]["quiz:01-정의"] == "5"
    assert rows["redis-down"]["quiz:01-정의"] == "" and "ghost" in proc.stderr

    suites = {s.get("name"): s for s in ET.parse(junit).getroot().iter("testsuite")}
    assert set(suites) == set(rows) - {"(배점)"}
    assert suites["pass"].get("failures") == "0" and suites["pass"].get("errors") == "0"
    assert suites["redis-down"].get("failures") == "2"
    assert suites["hanging"].get("errors") == "1"

    page = html.read_text(encoding="utf-8")
    for name in rows:
        if name != "(배점)":
            assert name in page
    history = board.with_name("sb.history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(history) == 8


def test_regrade_one_trainee_keeps_the_others(klass: dict, tmp_path: Path, known_hosts: str) -> None:
    roster = write_roster(tmp_path / "roster.csv", klass)
    board = tmp_path / "sb.csv"
    first = grade("--roster", str(roster), "--scoreboard", str(board), "--known-hosts", known_hosts)
    assert first.returncode == 3, first.stderr
    before = scoreboard_rows(board)
    time.sleep(1.1)  # graded_at has one-second resolution
    again = grade(
        "--roster",
        str(roster),
        "--only",
        "redis-down",
        "--scoreboard",
        str(board),
        "--known-hosts",
        known_hosts,
    )
    assert again.returncode == 1, again.stderr
    after = scoreboard_rows(board)
    assert set(after) == set(before)
    for name in ("pass", "local-exec", "unreachable", "airflow3", "(배점)"):
        assert after[name] == before[name]
    assert after["redis-down"]["graded_at"] > before["redis-down"]["graded_at"]
    history = [json.loads(line) for line in board.with_name("sb.history.jsonl").read_text().splitlines()]
    assert [h["name"] for h in history].count("redis-down") == 2 and len(history) == 6

    unknown = grade("--roster", str(roster), "--only", "nobody", "--scoreboard", str(board))
    assert unknown.returncode == 2 and "nobody" in unknown.stderr


def _start_run(roster: Path, board: Path, known_hosts: str, timeout: str = "60") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(GRADE), "--roster", str(roster), "--scoreboard", str(board), "--known-hosts", known_hosts,
         "--timeout", timeout, "--jobs", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_row(board: Path, name: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if board.exists() and name in scoreboard_rows(board):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never reached {board}")


def pass_and_hanging(tmp_path: Path, klass: dict, hanging_address: str, wrong_key: str) -> Path:
    """A roster of one good node and one that holds its worker until the run's own timeout."""
    node = klass["pass"]
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,host,user,port,key\n"
        f"pass,{node['host']},ec2-user,22,{node['key']}\n"
        f"hanging,{hanging_address},ec2-user,{HANG_PORT},{wrong_key}\n",
        encoding="utf-8",
    )
    return roster


def test_ctrl_c_keeps_what_finished_and_a_second_run_is_locked_out(
    klass: dict, hanging_address: str, wrong_key: str, tmp_path: Path, known_hosts: str
) -> None:
    roster = pass_and_hanging(tmp_path, klass, hanging_address, wrong_key)
    board = tmp_path / "sb.csv"
    run = _start_run(roster, board, known_hosts)
    try:
        _wait_for_row(board, "pass")
        second = grade("--roster", str(roster), "--scoreboard", str(board), "--known-hosts", known_hosts)
        assert second.returncode == 2 and "다른 grade 실행" in second.stderr, second.stderr
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=15)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "Traceback" not in err and "중단" in err
    rows = scoreboard_rows(board)
    assert rows["pass"]["total"] == "100" and "hanging" not in rows
    # The lock went with the run: the next run may write.
    rerun = grade(
        "--roster", str(roster), "--only", "pass", "--scoreboard", str(board), "--known-hosts", known_hosts
    )
    assert rerun.returncode == 0, rerun.stderr


def test_killed_run_leaves_a_whole_scoreboard(
    klass: dict, hanging_address: str, wrong_key: str, tmp_path: Path, known_hosts: str
) -> None:
    roster = pass_and_hanging(tmp_path, klass, hanging_address, wrong_key)
    board = tmp_path / "sb.csv"
    run = _start_run(roster, board, known_hosts)
    try:
        _wait_for_row(board, "pass")
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
    finally:
        run.kill()
    rows = scoreboard_rows(board)  # parses: never half-written
    assert rows["pass"]["total"] == "100"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    rerun = grade(
        "--roster", str(roster), "--only", "pass", "--scoreboard", str(board), "--known-hosts", known_hosts
    )
    assert rerun.returncode == 0, rerun.stderr  # a killed run's lock does not outlive it


# ---- the Airflow 3 node ----------------------------------------------------------------------


def grade_node(node: dict, known_hosts: str) -> dict:
    proc = grade(
        "--host", node["host"], "--key", node["key"], "--known-hosts", known_hosts, "--format", "json"
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return json.loads(proc.stdout)[0]


def failing(result: dict) -> dict[str, str | None]:
    return {
        c["id"]: c["hint_id"]
        for c in result["checks"]
        if c["status"] not in ("pass", "warn", "not_applicable")
    }


def class_node(*args: str) -> None:
    proc = subprocess.run(["bash", str(CLASS_SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_airflow3_node_judged_like_the_guide(klass: dict, known_hosts: str) -> None:
    result = grade_node(klass["airflow3"], known_hosts)
    assert result["airflow_version"] == "3.3.2" and failing(result) == {}
    checks_by_id = {c["id"]: c for c in result["checks"]}
    assert checks_by_id["airflow.dag_processor"]["status"] == "pass"
    assert any("/api/v2/monitor/health" in e for e in checks_by_id["airflow.webserver"]["evidence"])
    assert any("POST /auth/token" in e for e in checks_by_id["account.champion"]["evidence"])
    assert (result["score"], result["max_score"]) == (110, 110)
    # Tied to the node's own processes in its own network and PID namespaces, and to this probe.
    assert any("채점기의 연결" in e for e in checks_by_id["redis.running"]["evidence"])
    assert any("채점기의 연결" in e for e in checks_by_id["mysql.running"]["evidence"])
    assert any(
        "airflow api-server 프로세스가 :8080" in e for e in checks_by_id["airflow.webserver"]["evidence"]
    )


def test_airflow2_screenshots_show_what_they_claim(klass: dict, tmp_path: Path) -> None:
    """scripts/make_images.py --only screenshots: the guide's Airflow 2 UI from the class's `pass` node
    (2.11.2, its example DAGs loaded): the login form, the DAG list logged in, example_bash_operator's graph."""
    script = ROOT / "scripts" / "make_images.py"
    url = f"http://{klass['pass']['host']}:8080"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path), "--only", "screenshots", "--base-url", url],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    names = ("airflow-login.png", "airflow-dag-list.png", "airflow-dag-graph.png")
    pngs = {(tmp_path / name).read_bytes() for name in names}
    assert len(pngs) == 3 and all(p.startswith(b"\x89PNG") and len(p) > 20_000 for p in pngs)
    seen = json.loads((tmp_path / "src-generated" / "screenshots.json").read_text(encoding="utf-8"))
    login, dag_list, graph = (seen[name] for name in names)
    assert login["path"].startswith("/login") and login["login_form"] is True
    assert dag_list["path"] == "/home" and dag_list["login_form"] is False
    assert "example_bash_operator" in dag_list["dag_ids"]
    assert graph["login_form"] is False and graph["dag_id"] == "example_bash_operator"
    assert set(graph["nodes"]) == {
        "runme_0",
        "runme_1",
        "runme_2",
        "also_run_this",
        "this_will_skip",
        "run_after_loop",
        "run_this_last",
    }
    assert {"runme_0-run_after_loop", "run_after_loop-run_this_last"} <= set(graph["edges"])


def test_airflow3_notebook_check_is_the_champion_verdict(
    klass: dict, known_hosts: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2026 trainee's node runs Airflow 3: the notebooks' `%node`/`%check` cells judge it exactly as
    `grade` does, dag-processor step included (it is "not applicable" on the guide's 2.x)."""
    from grader import notebook

    node = klass["airflow3"]
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    said = notebook._node_magic(f"{node['host']} --key {node['key']} --known-hosts {known_hosts}")
    assert said.startswith(f"내 노드: ec2-user@{node['host']}:")
    step = notebook.check("airflow")
    assert step.passed
    assert {v.id: v.status.value for v in step.result.verdicts}["airflow.dag_processor"] == "pass"
    shown = notebook.check("all")
    champion = grade_node(node, known_hosts)
    assert shown.passed and (shown.result.score, shown.result.max_score) == (110, 110)
    assert {v.id: v.status.value for v in shown.result.verdicts} == {
        c["id"]: c["status"] for c in champion["checks"]
    }
    assert "110/110" in shown.headline()


def test_airflow3_dag_processor_stopped(klass: dict, known_hosts: str) -> None:
    class_node("node", "airflow3", "stop", "dag-processor")
    try:
        result = grade_node(klass["airflow3"], known_hosts)
    finally:
        class_node("node", "airflow3", "start", "dag-processor")
    assert failing(result) == {"airflow.dag_processor": "dag-processor-not-running"}


def test_airflow3_champion_missing(klass: dict, known_hosts: str) -> None:
    class_node(
        "exec", "airflow3", "mysql", "--protocol=socket", "-uroot", "airflow", "-e",
        "DELETE ur FROM ab_user_role ur JOIN ab_user u ON u.id = ur.user_id WHERE u.username = 'trey';"
        " DELETE FROM ab_user WHERE username = 'trey';",
    )  # fmt: skip
    try:
        result = grade_node(klass["airflow3"], known_hosts)
    finally:
        class_node("node", "airflow3", "up")  # `airflow users create` puts the champion back
    assert failing(result) == {"account.champion": "champion-missing"}


def test_airflow3_simple_auth_manager(klass: dict, known_hosts: str) -> None:
    """Airflow 3's default auth manager has no users: the guide's champion cannot exist there."""
    home = Path(klass["airflow3"]["key"]).parents[2] / "home" / "airflow"
    cfg = home / "airflow.cfg"
    pristine = Path(klass["airflow3"]["key"]).parents[1] / "airflow.cfg.practice"
    simple = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    subprocess.run(
        [sys.executable, str(ROOT / "practice" / "edit_cfg.py"), str(cfg), f"core.auth_manager={simple}"],
        check=True,
    )
    try:
        class_node("node", "airflow3", "restart", "webserver")
        result = grade_node(klass["airflow3"], known_hosts)
    finally:
        cfg.write_bytes(pristine.read_bytes())
        class_node("node", "airflow3", "restart", "webserver")
    assert failing(result) == {"account.champion": "champion-simple-auth-manager"}
