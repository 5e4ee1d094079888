"""Every size and cost a node announces is capped before it is paid (grader/limits.py), and every
read of a tunnel observes the node's deadline: unit tests over in-memory channels and raw probe
output. (The same attacks from a scripted SSH node: tests/integration/test_hostile_node.py.)"""

from __future__ import annotations

import json
import time

import pytest

from grader import limits, protocols
from grader.observe import choose_environment, observe
from grader.transport import Deadline, NodeChannel


class Replay:
    """A channel that replays fixed bytes, then either closes or (trickle) waits forever."""

    def __init__(self, data: bytes, *, then_block: bool = False) -> None:
        self.data, self.position, self.then_block = data, 0, then_block
        self.timeout: float | None = None

    def sendall(self, data: bytes) -> None:
        pass

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self, size: int) -> bytes:
        if self.position >= len(self.data):
            if self.then_block:
                time.sleep(self.timeout or 0)
                raise TimeoutError("timed out")
            return b""
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk

    def close(self) -> None:
        pass


class Trickle(Replay):
    """One byte per read, each after `every` seconds: never a timeout, never an end."""

    def __init__(self, every: float) -> None:
        super().__init__(b"")
        self.every = every

    def recv(self, size: int) -> bytes:
        time.sleep(self.every)
        return b"x"


def test_a_trickling_service_is_cut_at_the_exchange_budget() -> None:
    channel = NodeChannel(Trickle(0.05), Deadline(30), seconds=0.5, where="127.0.0.1:8080")  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no complete answer"):
        protocols.http_request(channel, "GET", "/health", host_header="localhost")
    assert time.monotonic() - started < 1.5


def test_a_trickling_service_is_cut_at_the_node_deadline() -> None:
    channel = NodeChannel(Trickle(0.05), Deadline(0.4), seconds=60, where="127.0.0.1:6379")  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        protocols.redis_ping(channel)


def test_callers_may_shorten_but_not_lengthen_the_wait() -> None:
    channel = NodeChannel(Replay(b""), Deadline(30), seconds=1, where="x")  # type: ignore[arg-type]
    before = channel.until
    channel.settimeout(3600)
    assert channel.until == before
    channel.settimeout(0.1)
    assert channel.until < before


def test_a_tunnel_reply_is_capped_in_bytes() -> None:
    endless = Replay(b"HTTP/1.1 200 OK\r\n\r\n" + b"a" * (limits.TUNNEL_REPLY_BYTES + 10))
    channel = NodeChannel(endless, Deadline(30), seconds=30, where="x", max_bytes=1000)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError, match="larger than"):
        protocols.http_request(channel, "GET", "/", host_header="h")


def test_redis_bulk_announced_as_100_gb_is_refused_before_reading() -> None:
    reply = b"+PONG\r\n$107374182400\r\n"
    with pytest.raises(ConnectionError, match="107374182400"):
        protocols.redis_ping(Replay(reply, then_block=True))


def test_redis_endless_line_is_refused() -> None:
    with pytest.raises(ConnectionError, match="too long"):
        protocols.redis_ping(Replay(b"+" + b"P" * (limits.REDIS_LINE_BYTES + 10)))


def test_redis_info_fields_that_tie_it_to_a_process() -> None:
    info = b"# Server\r\nredis_version:7.0.15\r\nprocess_id:5529\r\nrun_id:abc\r\ntcp_port:6379\r\nuptime_in_seconds:330\r\n"
    reply = protocols.redis_ping(Replay(b"+PONG\r\n$%d\r\n%s\r\n" % (len(info), info)))
    assert reply.ok and reply.version == "7.0.15"
    assert reply.info["process_id"] == "5529" and reply.info["uptime_in_seconds"] == "330"


def test_http_headers_without_end_are_refused() -> None:
    endless = Replay(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 20_000)
    with pytest.raises(ConnectionError, match="headers larger"):
        protocols.http_request(endless, "GET", "/", host_header="h")


def test_http_body_announced_too_large_is_refused() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n"
    with pytest.raises(ConnectionError, match="announced"):
        protocols.http_request(Replay(head, then_block=True), "GET", "/", host_header="h")


def test_http_reply_ends_at_its_content_length_without_waiting_for_eof() -> None:
    body = b'{"metadatabase": {"status": "healthy"}}'
    reply = Replay(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body), then_block=True)
    started = time.monotonic()
    answer = protocols.http_request(reply, "GET", "/health", host_header="h")
    assert answer.json()["metadatabase"]["status"] == "healthy"
    assert time.monotonic() - started < 0.5  # it did not wait on the open connection


def test_deeply_nested_json_is_refused() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    reply = protocols.HttpReply(200, {}, deep)
    with pytest.raises(ValueError, match="nested"):
        reply.json()


@pytest.mark.parametrize(
    "stored",
    [
        "pbkdf2:sha256:2000000000$salt$00",
        "scrypt:1048576:8:1$salt$00",
        "scrypt:32768:8:64$salt$00",
        "scrypt:32768:1024:1$salt$00",
    ],
)
def test_password_hashes_beyond_werkzeug_are_refused_unpaid(stored: str) -> None:
    assert protocols.hash_cost_refusal(stored)
    started = time.process_time()
    assert protocols.check_password_hash(stored, "secret") is None
    assert time.process_time() - started < 0.5


@pytest.mark.parametrize(
    "stored", ["pbkdf2:sha256:600000$s$00", "pbkdf2:sha256:1000000$s$00", "scrypt:32768:8:1$s$00"]
)
def test_what_werkzeug_writes_is_accepted(stored: str) -> None:
    assert protocols.hash_cost_refusal(stored) is None


def _raw(processes: list[dict]) -> dict:
    return {"processes": processes, "passwd": {"1001": ["ec2-user", "/home/ec2-user"]}, "uid": 1001}


def test_a_process_chain_of_60000_is_capped_and_walked_once() -> None:
    chain = [
        {
            "pid": n,
            "ppid": n - 1,
            "uid": 1001,
            "state": "S",
            "argv": ["airflow", "scheduler"],
            "comm": "airflow",
        }
        for n in range(2, 60_002)
    ]
    facts, _ = observe(_raw(chain))
    assert len(facts.processes) == limits.PROCESSES
    # Nothing readable: the walk over every scheduler's ancestors ends without an environment.
    assert choose_environment(facts.processes, {}, facts.details) == ({}, None)


def test_a_ppid_loop_ends() -> None:
    loop = [
        {"pid": 10, "ppid": 11, "uid": 1001, "state": "S", "argv": ["airflow", "scheduler"]},
        {"pid": 11, "ppid": 10, "uid": 1001, "state": "S", "argv": ["airflow", "scheduler"]},
    ]
    facts, _ = observe(_raw(loop))
    assert choose_environment(facts.processes, {}, facts.details) == ({}, None)


def test_probe_text_fields_are_capped() -> None:
    huge = "a" * (limits.TEXT_FIELD_CHARS * 10)
    facts, _ = observe(_raw([{"pid": 5, "ppid": 1, "uid": 1001, "state": "S", "argv": [huge, huge]}]))
    assert len(facts.processes[0].title) <= limits.TEXT_FIELD_CHARS


def test_json_shape_is_judged_without_counting_brackets_in_strings() -> None:
    from grader.protocols import json_shape_problem

    celery = json.dumps({"processes": [{"comm": "[celeryd: celer"} for _ in range(500)]}).encode()
    assert json_shape_problem(celery, limits.PROBE_JSON_DEPTH, limits.PROBE_JSON_ITEMS) is None
    assert json_shape_problem(json.dumps({"a": [[[[1]]]]}).encode(), 5, 100) is None
    assert json_shape_problem(json.dumps({"a": [[[[1]]]]}).encode(), 4, 100) == "nested too deeply"
    assert (
        json_shape_problem(b"[" * 10_000 + b"]" * 10_000, limits.PROBE_JSON_DEPTH, 10**9)
        == "nested too deeply"
    )
    assert (
        json_shape_problem(b"[" + b"{}," * 500_000 + b"{}]", 32, limits.PROBE_JSON_ITEMS)
        == "has too many values"
    )


def test_the_recorded_real_probe_is_far_inside_the_caps() -> None:
    from pathlib import Path

    from grader.protocols import json_shape_problem

    raw = (
        Path(__file__).resolve().parents[1] / "fixtures" / "probe" / "practice-2.11.2-raw.json"
    ).read_bytes()
    assert json_shape_problem(raw, 8, limits.PROBE_JSON_ITEMS // 20) is None
