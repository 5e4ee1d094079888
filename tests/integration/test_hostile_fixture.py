"""Self-tests of the hostile node fixture (tests/hostile_node.py) with a plain paramiko client:
the fixture must do what it says before grader tests lean on it."""

from __future__ import annotations

import json
import socket
import threading
import time

import paramiko
import pymysql
import pytest

from tests.hostile_node import (
    HUGE_BULK,
    Scenario,
    forward_to,
    hostile_node,
    http_endless_headers,
    http_reply,
    http_routes,
    load_probe,
    mysql_fake,
    mysql_static,
    nested_json,
    probe_with,
    process_chain,
    read_nonce,
    redis_fake,
    silent,
    trickle,
    with_nonce,
)


def run(
    client: paramiko.SSHClient, command: str = "python3 -", stdin: bytes = b""
) -> tuple[bytes, bytes, int]:
    channel = client.get_transport().open_session()  # type: ignore[union-attr]
    channel.exec_command(command)
    channel.sendall(stdin)
    channel.shutdown_write()
    out = channel.makefile("rb").read()
    err = channel.makefile_stderr("rb").read()
    return out, err, channel.recv_exit_status()


def tunnel(client: paramiko.SSHClient, port: int, host: str = "127.0.0.1") -> paramiko.Channel:
    channel = client.get_transport().open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=5)  # type: ignore[union-attr]
    channel.settimeout(5)
    return channel


def recv_all(channel: paramiko.Channel) -> bytes:
    data = b""
    while chunk := channel.recv(65536):
        data += chunk
    return data


def test_exec_returns_the_scripted_reply_and_logs_it() -> None:
    scenario = Scenario(probe=b'{"hello": 1}', stderr=b"warning\n", exit_status=3)
    with hostile_node(scenario) as node, node.connect() as client:
        assert run(client, "python3 -I -S -", b"print(1)\n") == (b'{"hello": 1}', b"warning\n", 3)
    assert [(e.command, e.stdin) for e in node.execs] == [("python3 -I -S -", b"print(1)\n")]


def test_a_recorded_probe_is_replayed_as_json() -> None:
    raw = load_probe()
    assert raw["nonce"] == "@GRADER_NONCE@" and any("redis-server" in p["comm"] for p in raw["processes"])
    hostile = probe_with(raw, processes=raw["processes"] + process_chain(3))
    with hostile_node(Scenario(probe=hostile)) as node, node.connect() as client:
        out, _, status = run(client, stdin=b'import os\nNONCE = "0123abcd"\n')
    assert json.loads(out)["nonce"] == "0123abcd" and node.execs[0].nonce == "0123abcd"
    chain = json.loads(out)["processes"][-3:]
    assert status == 0 and [p["ppid"] for p in chain] == [1, 100000, 100001]
    assert chain[0]["argv"] == ["airflow scheduler"]


def test_the_nonce_is_echoed_only_when_asked() -> None:
    script = b'NONCE = "feed"\n'
    with hostile_node(Scenario(probe=b'{"nonce": "@GRADER_NONCE@"}')) as node, node.connect() as client:
        assert run(client, stdin=script)[0] == b'{"nonce": "feed"}'
    with hostile_node(Scenario(probe=load_probe(), echo_nonce=False)) as node, node.connect() as client:
        assert json.loads(run(client, stdin=script)[0])["nonce"] == "@GRADER_NONCE@"


def test_a_probe_handler_can_echo_the_nonce_slowly() -> None:
    def slow_but_valid(channel: paramiko.Channel) -> None:
        trickle(with_nonce(b'{"nonce": "@GRADER_NONCE@"}', read_nonce(channel)), 0.01)(channel)

    with hostile_node(Scenario(probe=slow_but_valid)) as node, node.connect() as client:
        assert run(client, stdin=b'NONCE = "feed"\n') == (b'{"nonce": "feed"}', b"", 0)


def test_nested_json_is_deep() -> None:
    deep = nested_json(50_000, load_probe())
    assert deep.count(b"[") > 50_000
    with pytest.raises(RecursionError):
        json.loads(deep)


def test_wrong_key_and_wrong_user_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = paramiko.ECDSAKey.generate()
    with hostile_node(Scenario()) as node:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        with pytest.raises(paramiko.AuthenticationException):
            client.connect(
                node.host,
                port=node.port,
                username=node.user,
                pkey=other,
                allow_agent=False,
                look_for_keys=False,
            )
        client.close()
        with pytest.raises(paramiko.AuthenticationException):
            client.connect(
                node.host, port=node.port, username="ubuntu", key_filename=str(node.key),
                allow_agent=False, look_for_keys=False,
            )  # fmt: skip
        client.close()


def test_the_graders_transport_negotiates_aes_gcm() -> None:
    from grader.transport import _Transport

    with hostile_node(Scenario(probe=b"{}")) as node:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(
            node.host, port=node.port, username=node.user, key_filename=str(node.key),
            allow_agent=False, look_for_keys=False, transport_factory=_Transport,
        )  # fmt: skip
        with client:
            transport = client.get_transport()
            assert transport is not None and transport.remote_version == "SSH-2.0-OpenSSH_8.7"
            assert transport.remote_cipher == "aes128-gcm@openssh.com"
            assert run(client)[0] == b"{}"


def test_tunnels_reach_their_handlers_and_are_logged() -> None:
    scenario = Scenario(
        services={
            6379: redis_fake(info={"process_id": 4242}),
            ("10.0.0.9", 6379): redis_fake(ping=b"-NOAUTH Authentication required.\r\n"),
            8080: http_routes({"/health": http_reply(200, b'{"ok": true}')}),
        }
    )
    with hostile_node(scenario) as node, node.connect() as client:
        redis = tunnel(client, 6379)
        redis.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        time.sleep(0.3)
        reply = redis.recv(65536)
        assert reply.startswith(b"+PONG\r\n$") and b"process_id:4242\r\n" in reply
        other = tunnel(client, 6379, "10.0.0.9")
        other.sendall(b"PING\r\n")
        assert other.recv(100) == b"-NOAUTH Authentication required.\r\n"
        web = tunnel(client, 8080)
        web.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = recv_all(web)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'\r\n\r\n{"ok": true}')
        missing = tunnel(client, 8080)
        missing.sendall(b"GET /nope HTTP/1.1\r\n\r\n")
        assert recv_all(missing).startswith(b"HTTP/1.1 404 ")
        with pytest.raises(paramiko.ChannelException) as refused:
            tunnel(client, 3306)
        assert refused.value.code == paramiko.OPEN_FAILED_CONNECT_FAILED
    assert node.tunnels == [
        ("127.0.0.1", 6379),
        ("10.0.0.9", 6379),
        ("127.0.0.1", 8080),
        ("127.0.0.1", 8080),
        ("127.0.0.1", 3306),
    ]
    assert node.errors == []


def test_forwarding_off_is_prohibited() -> None:
    with (
        hostile_node(Scenario(services={6379: silent()}, forwarding=False)) as node,
        node.connect() as client,
    ):
        with pytest.raises(paramiko.ChannelException) as refused:
            tunnel(client, 6379)
        assert refused.value.code == paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


def test_redis_huge_bulk_then_trickle() -> None:
    scenario = Scenario(services={6379: redis_fake(info=HUGE_BULK, then=trickle(b"abc", 0.1))})
    with hostile_node(scenario) as node, node.connect() as client:
        redis = tunnel(client, 6379)
        redis.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        assert recv_all(redis) == b"+PONG\r\n" + HUGE_BULK + b"abc"


def test_mysql_fake_serves_the_graders_pymysql_session() -> None:
    """The handshake, login and result sets are valid enough for PyMySQL (what the grader uses)."""
    scenario = Scenario(
        services={
            3306: mysql_fake(
                tables=("alembic_version", "ab_user", "job"),
                champion=[(1, "pbkdf2:x$s$h", "Admin"), (1, "pbkdf2:x$s$h", "Op")],
            ),
            3307: mysql_fake(login_error="Access denied for user 'airflow'@'localhost'"),
            3308: mysql_static(b"8.0.36"),
        }
    )
    with hostile_node(scenario) as node, node.connect() as client:
        conn = pymysql.connections.Connection(
            user="airflow", password="x", database="airflow", defer_connect=True, read_timeout=5,
            autocommit=None, ssl_disabled=True, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS,
        )  # fmt: skip
        conn.connect(sock=tunnel(client, 3306))
        assert conn.server_version == "10.11.14-MariaDB-0+deb12u2"
        with conn.cursor() as cursor:
            cursor.execute(
                "SET SESSION TRANSACTION READ ONLY; START TRANSACTION READ ONLY; SELECT table_name FROM information_schema.tables"
            )
            cursor.nextset()
            cursor.nextset()
            assert [r[0] for r in cursor.fetchall()] == ["alembic_version", "ab_user", "job"]
            cursor.execute("SELECT state, 1 FROM job; SELECT u.active FROM ab_user u; ROLLBACK")
            assert cursor.fetchone() == ("running", 1.5)
            cursor.nextset()
            assert cursor.fetchall() == ((1, "pbkdf2:x$s$h", "Admin"), (1, "pbkdf2:x$s$h", "Op"))
        conn.close()

        denied = pymysql.connections.Connection(
            user="airflow", password="x", defer_connect=True, ssl_disabled=True
        )
        with pytest.raises(pymysql.MySQLError) as refused:
            denied.connect(sock=tunnel(client, 3307))
        assert refused.value.args[0] == 1045 and denied.server_version == "10.11.14-MariaDB-0+deb12u2"

        hung = pymysql.connections.Connection(
            user="a", password="x", defer_connect=True, ssl_disabled=True, read_timeout=1
        )
        with pytest.raises(pymysql.MySQLError):  # logged in, then the server never answers SET NAMES
            hung.connect(sock=tunnel(client, 3308))
        assert hung.server_version == "8.0.36"
    assert node.errors == []


def test_endless_headers_keep_coming() -> None:
    with hostile_node(Scenario(services={8080: http_endless_headers()})) as node, node.connect() as client:
        web = tunnel(client, 8080)
        web.sendall(b"GET / HTTP/1.1\r\n\r\n")
        data = b""
        while len(data) < 1 << 20:
            data += web.recv(65536)
        assert data.startswith(b"HTTP/1.1 200 OK\r\nX-Hostile: ") and b"\r\n\r\n" not in data


def test_forward_to_relays_a_real_service() -> None:
    """A tunnel forwarded to a real TCP service (here a tiny echo server on this machine)."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data.upper())

    threading.Thread(target=echo, daemon=True).start()
    scenario = Scenario(services={6379: forward_to("127.0.0.1", server.getsockname()[1])})
    with server, hostile_node(scenario) as node, node.connect() as client:
        relay = tunnel(client, 6379)
        relay.sendall(b"ping")
        assert relay.recv(100) == b"PING"
        relay.sendall(b"more")
        relay.shutdown_write()
        assert recv_all(relay) == b"MORE"


def test_forward_to_the_practice_nodes_redis() -> None:
    """A classmate's working Redis behind the tunnel (the practice node's, read-only PING)."""
    with (
        hostile_node(Scenario(services={6379: forward_to("127.0.0.1", 6379)})) as node,
        node.connect() as client,
    ):
        redis = tunnel(client, 6379)
        redis.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert redis.recv(100) == b"+PONG\r\n"


def test_teardown_is_quick_with_blocked_handlers() -> None:
    """A silent service, a trickling one and a never-ending probe are all blocked at exit."""
    scenario = Scenario(
        probe=trickle(b"x", 5.0, forever=True), services={6379: silent(), 8080: trickle(b"H" * 100, 5.0)}
    )
    with hostile_node(scenario) as node:
        client = node.connect()
        quiet, slow = tunnel(client, 6379), tunnel(client, 8080)
        session = client.get_transport().open_session()  # type: ignore[union-attr]
        session.exec_command("python3 -")
        assert slow.recv(1) == b"H" and session.recv(1) == b"x"
        quiet.sendall(b"*1\r\n$4\r\nPING\r\n")
        started = time.monotonic()
    assert time.monotonic() - started < 2
    transport = client.get_transport()
    while transport.is_active() or any(
        t.name.startswith("hostile-") and t.is_alive() for t in threading.enumerate()
    ):  # type: ignore[union-attr]
        assert time.monotonic() - started < 2, "the node's threads or connection outlived it"
        time.sleep(0.05)
    client.close()


def test_a_banner_handler_runs_before_ssh() -> None:
    with hostile_node(Scenario(banner=b"Welcome to a hostile node\r\n")) as node, node.connect() as client:
        assert run(client)[0] == b"{}"
    with (
        hostile_node(Scenario(banner=silent_socket)) as node,
        socket.create_connection((node.host, node.port), timeout=1) as raw,
        pytest.raises(TimeoutError),
    ):
        raw.recv(10)


def silent_socket(sock: socket.socket) -> None:
    """A banner handler that never sends: TCP connects, SSH never starts."""
    while sock.fileno() != -1:
        time.sleep(0.05)
