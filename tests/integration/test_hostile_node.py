"""The real `grade` CLI against a scripted hostile node (tests/hostile_node.py): each attack a
trainee's node can make on the grader, with its bound asserted (wall time within `--timeout` plus
a small margin, the grader's CPU and peak memory under stated caps) and the forged node losing
points. The figures themselves are printed by `scripts/benchmark.py --hostile`."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile_node import (
    HUGE_BULK,
    Scenario,
    forward_to,
    hostile_node,
    http_reply,
    load_probe,
    mysql_fake,
    nested_json,
    practice_scenario,
    probe_with,
    process_chain,
    read_nonce,
    redis_fake,
    run_measured,
    silent,
    trickle,
    with_nonce,
)
from tests.integration.conftest import GRADE

TIMEOUT = 10.0  # the node's --timeout in these tests
MARGIN = 3.0  # the grader's own start-up and work around one node's deadline
CPU_CAP = 3.0  # seconds of grader CPU (user + system) for one hostile node
RSS_CAP_MB = 300  # peak resident memory of the grader process


@dataclass
class Run:
    code: int
    result: dict
    wall: float
    cpu: float
    peak_mb: float
    stdout: str
    stderr: str

    @property
    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.result.get("checks", [])}

    def check(self, check_id: str) -> dict:
        return next(c for c in self.result["checks"] if c["id"] == check_id)

    def evidence(self, check_id: str) -> str:
        return " | ".join(self.check(check_id)["evidence"])


def measured_grade(node_args: list[str], *extra: str, timeout: float = TIMEOUT) -> Run:
    """`grade --format json` as a child process, with its own wall time, CPU and peak memory."""
    command = [str(GRADE), *node_args, "--format", "json", "--timeout", str(timeout), *extra]
    done = run_measured(command, timeout + 60)
    try:
        result = json.loads(done.stdout)[0]
    except (json.JSONDecodeError, IndexError):
        raise AssertionError(
            f"no JSON result (exit {done.code}, {done.wall:.1f}s):\n{done.stdout}\n{done.stderr}"
        ) from None
    return Run(done.code, result, done.wall, done.cpu, done.peak_mb, done.stdout, done.stderr)


def assert_bounded(run: Run, timeout: float = TIMEOUT) -> None:
    assert run.wall < timeout + MARGIN, f"{run.wall:.1f}s for --timeout {timeout}"
    assert run.cpu < CPU_CAP, f"grader CPU {run.cpu:.2f}s"
    assert run.peak_mb < RSS_CAP_MB, f"peak RSS {run.peak_mb:.0f} MB"
    assert "Traceback" not in run.stderr


def grade_scenario(scenario: Scenario, *extra: str, timeout: float = TIMEOUT) -> Run:
    with hostile_node(scenario) as node:
        return measured_grade(node.grade_args(), *extra, timeout=timeout)


# ---- one deadline per node ---------------------------------------------------------------------


def test_a_webserver_trickling_a_byte_every_two_seconds() -> None:
    scenario = practice_scenario()
    scenario.services[8080] = trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n" + b"X" * 200, 2.0)
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.result["status"] == "graded"
    assert run.statuses["airflow.webserver"] in ("fail", "error")
    assert "초" in run.evidence("airflow.webserver")  # says how long it waited


def test_a_redis_trickling_its_reply() -> None:
    scenario = practice_scenario()
    scenario.services[6379] = trickle(b"+PONG\r\n$4000\r\n" + b"x" * 4000, 1.0)
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.statuses["redis.running"] == "fail"


def test_a_probe_that_trickles_is_a_timeout() -> None:
    def probe(channel) -> None:  # type: ignore[no-untyped-def]
        nonce = read_nonce(channel)
        reply = with_nonce(json.dumps(load_probe()).encode(), nonce)
        trickle(reply, 0.5)(channel)

    run = grade_scenario(Scenario(probe=probe))
    assert_bounded(run)
    assert run.result["status"] == "timeout"
    assert "제한 시간" in run.result["message"]


def test_a_node_that_never_answers_the_probe() -> None:
    def probe(channel) -> None:  # type: ignore[no-untyped-def]
        read_nonce(channel)
        while not channel.closed:  # reads the probe, then hangs (until the grader hangs up)
            time.sleep(0.2)

    run = grade_scenario(Scenario(probe=probe))
    assert_bounded(run)
    assert run.result["status"] == "timeout"


def test_a_node_whose_probe_says_nothing() -> None:
    run = grade_scenario(Scenario(probe=silent()))
    assert run.result["status"] == "error" and "JSON" in run.result["message"]


# ---- what a node announces is capped before it is paid --------------------------------------


def test_a_redis_bulk_announced_as_100_gb() -> None:
    scenario = practice_scenario()
    scenario.services[6379] = redis_fake(info=HUGE_BULK, then=trickle(b"x" * 1000, 1.0))
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.wall < 5, "refused at once, not read"
    assert run.statuses["redis.running"] == "fail"
    assert "107374182400" in run.evidence("redis.running")


def test_a_champion_hash_of_two_billion_pbkdf2_rounds() -> None:
    scenario = practice_scenario()
    scenario.services[3306] = mysql_fake(champion=[(1, "pbkdf2:sha256:2000000000$salt$00", "Admin")])
    scenario.services[8080] = http_reply(503, b"")  # no login: the stored hash would be checked
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.cpu < 1.5, "the hash was refused, not computed"
    champion = run.check("account.champion")
    assert champion["status"] == "fail" and champion["hint_id"] == "champion-hash-refused"


def test_a_chain_of_60000_airflow_scheduler_processes() -> None:
    raw = load_probe()
    scenario = practice_scenario()
    scenario.probe = probe_with(raw, processes=raw["processes"] + process_chain(60_000))
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.result["status"] == "error"  # over the probe output cap: a verdict, not a parse
    assert "너무" in run.result["message"]


def test_a_chain_under_the_output_cap_is_capped_in_processes() -> None:
    raw = load_probe()
    scenario = practice_scenario()
    scenario.probe = probe_with(raw, processes=process_chain(30_000) + raw["processes"])
    run = grade_scenario(scenario)
    assert_bounded(run)
    assert run.result["status"] == "graded"


def test_deeply_nested_probe_json() -> None:
    run = grade_scenario(Scenario(probe=nested_json(200_000, load_probe())))
    assert_bounded(run)
    assert run.result["status"] == "error" and "중첩" in run.result["message"]


def test_probe_json_of_the_wrong_shape() -> None:
    scenario = practice_scenario()
    scenario.probe = probe_with(load_probe(), processes="not a list", details={"a": 1})
    run = grade_scenario(scenario)
    assert run.result["status"] == "error" and "형식" in run.result["message"]
    assert "Traceback" not in run.stderr


# ---- a forged node loses points -------------------------------------------------------------------


def test_a_recorded_probe_without_the_nonce_is_refused() -> None:
    scenario = practice_scenario()
    scenario.echo_nonce = False
    run = grade_scenario(scenario)
    assert run.result["status"] == "error" and run.result["score"] == 0
    assert "이번 점검의 것이 아닙니다" in run.result["message"]


def test_a_replayed_node_with_fake_services_loses_the_services() -> None:
    """The recorded practice node replayed (the nonce echoed) with scripted Redis/MySQL/HTTP."""
    run = grade_scenario(practice_scenario())
    assert run.result["score"] < run.result["max_score"]
    assert run.statuses["redis.running"] == "fail"
    assert run.statuses["mysql.running"] == "fail"


def test_a_replayed_probe_forwarding_to_a_working_node_scores_nothing(practice_node) -> None:  # type: ignore[no-untyped-def]
    """A port forward to a classmate's working node (here: the real practice node's Redis and
    MySQL) behind a replayed probe: the live servers see the grader's connection on a port the
    replayed socket table does not have, so every check is void."""
    scenario = practice_scenario()
    scenario.services[6379] = forward_to("127.0.0.1", 6379)
    scenario.services[3306] = forward_to("127.0.0.1", 3306)
    run = grade_scenario(scenario)
    assert run.result["score"] == 0, run.result
    assert {c["hint_id"] for c in run.result["checks"] if c["status"] == "fail"} == {"probe-not-live"}


def test_a_replayed_probe_with_an_empty_socket_table_scores_nothing() -> None:
    scenario = practice_scenario()
    scenario.probe = probe_with(load_probe(), net=[])
    scenario.services[6379] = forward_to("127.0.0.1", 6379)
    run = grade_scenario(scenario)
    assert run.result["score"] == 0, run.result


def test_services_that_open_only_after_the_probe_score_nothing() -> None:
    """A node that starts its fakes (or a forward) when the probe arrives: the grader found the ports
    closed just before, yet the replayed probe says they listen."""
    scenario = practice_scenario()
    scenario.services_after_probe = True
    run = grade_scenario(scenario)
    assert run.result["score"] == 0, run.result
    assert "닫혀 있었는데" in run.evidence("config.executor")


# ---- the class goes on ------------------------------------------------------------------------------


def test_a_class_with_hostile_nodes_ends_at_the_slowest_deadline(practice_node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trickling_web = practice_scenario()
    trickling_web.services[8080] = trickle(b"HTTP/1.1 200 OK\r\n" + b"X" * 100, 2.0)
    huge = practice_scenario()
    huge.services[6379] = redis_fake(info=HUGE_BULK, then=silent())
    timeout = 8.0
    with (
        hostile_node(trickling_web) as a,
        hostile_node(Scenario(probe=silent())) as b,
        hostile_node(huge) as c,
    ):
        roster = tmp_path / "roster.csv"
        info = practice_node.info
        rows = ["name,host,port,user,key"]
        rows += [f"{n},{x.host},{x.port},{x.user},{x.key}" for n, x in (("가", a), ("나", b), ("다", c))]
        rows.append(f"연습,{info['host']},{info['port']},{info['user']},{info['key']}")
        roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
        known_hosts = tmp_path / "known_hosts"
        board = tmp_path / "board.csv"
        started = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        command = [str(GRADE), "--roster", str(roster), "--scoreboard", str(board)]
        command += ["--known-hosts", str(known_hosts), "--timeout", str(timeout)]
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout + 60,
        )
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert "Traceback" not in proc.stderr
    assert wall < timeout + MARGIN + 2, f"class of 4 took {wall:.1f}s with --timeout {timeout}"
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 4 * CPU_CAP
    text = board.read_text(encoding="utf-8-sig")
    for name in ("가", "나", "다", "연습"):
        assert f"\n{name}," in text or text.startswith(f"{name},"), text


@pytest.fixture(scope="module")
def practice_node(node):  # type: ignore[no-untyped-def]
    """The real practice node must be up (its Redis and MySQL are the 'working node' forwarded to)."""
    return node


# ---- node text over the real SSH path reaches a real terminal inert --------------------------------


def test_node_text_from_a_hostile_node_is_inert_in_a_terminal(tmp_path: Path) -> None:
    from tests.integration.test_inert_terminal import FORBIDDEN, HOSTILE, escapes, in_pty

    raw = load_probe()
    for proc in raw["processes"]:
        proc["argv"] = [*proc["argv"], HOSTILE]
    raw["hostname"] += HOSTILE
    scenario = practice_scenario()
    scenario.probe = raw
    scenario.services[6379] = redis_fake(ping=("-ERR " + HOSTILE + "\r\n").encode())
    scenario.services[8080] = http_reply(200, ("{" + json.dumps(HOSTILE) + ": 1}").encode())
    with hostile_node(scenario) as node:
        shown = in_pty(
            [str(GRADE), *node.grade_args(), "--timeout", str(TIMEOUT), "--name", "김" + HOSTILE], tmp_path
        )
    assert escapes(shown) <= {b"\x1b[1m", b"\x1b[0m"}, escapes(shown)
    text = shown.decode("utf-8")
    assert not FORBIDDEN.search(text)
    assert "PWNTITLE" in text and "\\x1b]0;PWNTITLE" in text  # the Redis error and the name, shown escaped


# ---- no secret in any output file ---------------------------------------------------------------------


def test_no_secret_reaches_any_output_of_a_real_run(tmp_path: Path) -> None:
    """Passwords where trainees put them (a DB URL with an unencoded `/`, `?password=`, `mysql -p`,
    `redis-cli -a`, MYSQL_PWD, `--conn-password`), graded by the real CLI alone and as a class:
    JSON, table, saved facts, scoreboard, history, HTML and JUnit hold none of them."""
    db, query, cli, rcli, env, conn = (
        "db/Pw?x#1",
        "qry-Secret-7",
        "cliPw-3",
        "rcliPw-4",
        "envPw-5",
        "connPw-6",
    )
    raw = load_probe()
    for entry in raw["files"]:
        entry["lines"] = [
            [
                n,
                text.replace(
                    "airflow:Bespin12!@127.0.0.1:3306/airflow", f"airflow:{db}@127.0.0.1:3306/airflow"
                ),
            ]
            for n, text in entry["lines"]
        ]
        entry["lines"] = [
            [n, text.replace("redis://localhost:6379/0", f"redis://localhost:6379/0?password={query}")]
            for n, text in entry["lines"]
        ]
    raw["processes"] += [
        {"pid": 90001, "ppid": 1, "uid": 1001, "state": "S", "elapsed": 5.0, "comm": "mysql",
         "argv": ["mysql", "-uroot", f"-p{cli}"]},
        {"pid": 90002, "ppid": 1, "uid": 1001, "state": "S", "elapsed": 5.0, "comm": "redis-cli",
         "argv": ["redis-cli", "-a", rcli, "ping"]},
        {"pid": 90003, "ppid": 1, "uid": 1001, "state": "S", "elapsed": 5.0, "comm": "bash",
         "argv": ["bash", "-c", f"MYSQL_PWD={env} mysql -e 'select 1'"]},
        {"pid": 90004, "ppid": 1, "uid": 1001, "state": "S", "elapsed": 5.0, "comm": "airflow",
         "argv": ["airflow", "connections", "add", "x", "--conn-password", conn]},
    ]  # fmt: skip
    scenario = practice_scenario()
    scenario.probe = raw
    scenario.services[6379] = redis_fake(ping=f"-ERR wrong pass {db} {cli}\r\n".encode())
    with hostile_node(scenario) as node:
        single = measured_grade(node.grade_args(), "--save-facts", str(tmp_path / "facts.json"))
        table = subprocess.run(
            [str(GRADE), *node.grade_args(), "--timeout", str(TIMEOUT)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        roster = tmp_path / "roster.csv"
        roster.write_text(
            f"name,host,port,user,key\n김민수,{node.host},{node.port},{node.user},{node.key}\n",
            encoding="utf-8",
        )
        outputs = ["--scoreboard", "board.csv", "--html", "report.html", "--junit", "junit.xml"]
        outputs += ["--known-hosts", str(node.known_hosts), "--timeout", str(TIMEOUT)]
        klass = subprocess.run(
            [str(GRADE), "--roster", str(roster), *outputs],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert single.result["status"] == "graded"
    texts = {"json": single.stdout, "stderr": single.stderr + table.stderr + klass.stderr}
    texts |= {"table": table.stdout, "class": klass.stdout}
    texts |= {
        f.name: f.read_text(encoding="utf-8-sig")
        for f in tmp_path.iterdir()
        if f.is_file() and f.name != "roster.csv"
    }
    assert {"facts.json", "board.csv", "report.html", "junit.xml"} <= set(texts)
    assert any(name.endswith(".jsonl") for name in texts), sorted(texts)
    for secret in (db, query, cli, rcli, env, conn, "Pw?x"):
        leaked = [name for name, text in texts.items() if secret in text]
        assert not leaked, f"{secret!r} in {leaked}"


def test_no_key_at_all_is_said_in_korean(tmp_path: Path) -> None:
    """No --key, no ssh-agent, no ~/.ssh keys: paramiko's English "No authentication methods
    available" becomes a Korean line that says what to give."""
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"} | {"HOME": str(tmp_path)}
    with hostile_node(practice_scenario()) as node:
        args = node.grade_args()
        args = [a for i, a in enumerate(args) if a != "--key" and (i == 0 or args[i - 1] != "--key")]
        done = subprocess.run(
            [str(GRADE), *args, "--format", "json"], capture_output=True, text=True, env=env, timeout=60
        )
    result = json.loads(done.stdout)[0]
    assert result["status"] == "auth_failed"
    assert "쓸 SSH 키가 없습니다" in result["message"] and "--key" in result["message"]
