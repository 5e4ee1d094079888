"""Protocol parsers over an in-memory channel: Redis RESP, the MySQL handshake, HTTP/1.1,
and Werkzeug password hashes (what FAB stores in ab_user)."""

from __future__ import annotations

import hashlib

import pytest

from grader import protocols
from grader.protocols import (
    _dechunk,
    check_password_hash,
    csrf_token,
    http_request,
    mysql_greeting,
    redis_ping,
    session_cookie,
)


class FakeChannel:
    """A socket-like channel replaying fixed bytes, a few at a time (to exercise buffering)."""

    def __init__(self, reply: bytes, step: int = 5) -> None:
        self.reply = reply
        self.position = 0
        self.step = step
        self.sent = b""
        self.closed = False

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def recv(self, size: int) -> bytes:
        chunk = self.reply[self.position : self.position + min(size, self.step)]
        self.position += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


# ---- password hashes -----------------------------------------------------------------------------


def scrypt_hash(password: str, salt: str = "Xy9salt0") -> str:
    n, r, p = 32768, 8, 1
    digest = hashlib.scrypt(
        password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p, dklen=64
    )
    return f"scrypt:{n}:{r}:{p}${salt}${digest.hex()}"


def pbkdf2_hash(password: str, salt: str = "AbCdEf12", rounds: int = 1000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds)
    return f"pbkdf2:sha256:{rounds}${salt}${digest.hex()}"


def test_scrypt_hash():
    stored = scrypt_hash("test123!")
    assert check_password_hash(stored, "test123!") is True
    assert check_password_hash(stored, "test123") is False
    assert check_password_hash(stored, "Test123!") is False


def test_pbkdf2_hash():
    stored = pbkdf2_hash("test123!")
    assert check_password_hash(stored, "test123!") is True
    assert check_password_hash(stored, "wrong") is False


def test_pbkdf2_sha512_hash():
    digest = hashlib.pbkdf2_hmac("sha512", b"test123!", b"salty", 2000).hex()
    stored = f"pbkdf2:sha512:2000$salty${digest}"
    assert check_password_hash(stored, "test123!") is True
    assert check_password_hash(stored, "test123?") is False


def test_salt_matters():
    stored = pbkdf2_hash("test123!", salt="one")
    method, _, digest = stored.split("$")
    assert check_password_hash(f"{method}$two${digest}", "test123!") is False


@pytest.mark.parametrize(
    "stored",
    [
        "md5$salt$0123abcd",
        "sha256$salt$0123abcd",
        "plaintext-password",
        "",
        "bcrypt:12$salt$abc",
    ],
)
def test_unknown_hash_format(stored):
    assert check_password_hash(stored, "test123!") is None


def test_malformed_scrypt_parameters_give_none():
    assert check_password_hash("scrypt:abc:8:1$salt$00", "x") is None


# ---- HTML / HTTP helpers ---------------------------------------------------------------------------


def test_csrf_token_name_first():
    html = b'<form><input id="csrf_token" name="csrf_token" type="hidden" value="IjA1Yz.abc-DEF_1"></form>'
    assert csrf_token(html) == "IjA1Yz.abc-DEF_1"


def test_csrf_token_value_first():
    html = b'<input type="hidden" value="tok123" id="csrf_token" name="csrf_token"/>'
    assert csrf_token(html) == "tok123"


def test_csrf_token_absent():
    assert csrf_token(b'<input name="username" value="trey">') is None
    assert csrf_token(b"") is None


def test_dechunk():
    assert _dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"
    assert _dechunk(b"4;ext=1\r\nWiki\r\nA\r\n0123456789\r\n0\r\n\r\n") == b"Wiki0123456789"
    assert _dechunk(b"0\r\n\r\n") == b""


def test_dechunk_keeps_crlf_inside_data():
    assert _dechunk(b"6\r\na\r\nb\r\n\r\n0\r\n\r\n") == b"a\r\nb\r\n"


def test_session_cookie():
    headers = {"set-cookie": "session=abc.def; HttpOnly; Path=/, other=1"}
    assert session_cookie(headers) == "session=abc.def"
    assert session_cookie({}) is None


def test_basic_auth_header():
    assert protocols.basic_auth("trey", "test123!") == {"Authorization": "Basic dHJleTp0ZXN0MTIzIQ=="}


# ---- Redis -----------------------------------------------------------------------------------------


def _bulk(text: str) -> bytes:
    data = text.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


INFO = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n"


def test_redis_pong_with_info():
    client = "id=7 addr=127.0.0.1:40412 laddr=127.0.0.1:6379 fd=8 name= age=0"
    channel = FakeChannel(b"+PONG\r\n" + _bulk(INFO) + _bulk(client))
    reply = redis_ping(channel)
    assert reply.ok is True
    assert reply.reply == "+PONG"
    assert reply.version == "7.0.15"
    assert reply.auth_used is False
    assert reply.client_port == 40412  # our connection's port, as Redis sees it
    assert channel.sent == (
        b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n"
    )


def test_redis_without_client_info_gives_no_client_port():
    reply = redis_ping(FakeChannel(b"+PONG\r\n" + _bulk(INFO) + b"-ERR unknown subcommand 'INFO'\r\n"))
    assert reply.ok is True and reply.client_port is None


def test_redis_noauth():
    channel = FakeChannel(b"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n")
    reply = redis_ping(channel)
    assert reply.ok is False
    assert reply.reply.startswith("-NOAUTH")
    assert reply.version is None


def test_redis_auth_ok():
    channel = FakeChannel(b"+OK\r\n+PONG\r\n" + _bulk(INFO))
    reply = redis_ping(channel, password="s3cret")
    assert reply.ok is True
    assert reply.auth_used is True
    assert reply.version == "7.0.15"
    assert channel.sent.startswith(b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*1\r\n$4\r\nPING\r\n")


def test_redis_auth_with_username():
    channel = FakeChannel(b"+OK\r\n+PONG\r\n" + _bulk(INFO))
    redis_ping(channel, password="pw", username="default")
    assert channel.sent.startswith(b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$2\r\npw\r\n")


def test_redis_wrong_password():
    channel = FakeChannel(
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        b"-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"
    )
    reply = redis_ping(channel, password="bad")
    assert reply.ok is False
    assert reply.auth_used is True
    assert reply.reply.startswith("-WRONGPASS")


def test_redis_closed_connection():
    with pytest.raises(ConnectionError):
        redis_ping(FakeChannel(b""))


def test_not_redis_at_all():
    # an HTTP server on the port: answers, but not +PONG
    channel = FakeChannel(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    reply = redis_ping(channel)
    assert reply.ok is False
    assert reply.version is None


# ---- MySQL -----------------------------------------------------------------------------------------


def _packet(payload: bytes, sequence: int = 0) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence]) + payload


def _handshake(version: str) -> bytes:
    payload = (
        bytes([10])
        + version.encode()
        + b"\0"
        + (42).to_bytes(4, "little")  # connection id
        + b"abcdefgh\0"  # auth plugin data part 1 + filler
        + b"\xff\xf7\x08\x02\x00\xff\x81\x15"
        + b"\0" * 10
        + b"ijklmnopqrst\0mysql_native_password\0"
    )
    return _packet(payload)


@pytest.mark.parametrize("version", ["8.0.36", "5.5.5-10.11.19-MariaDB-0+deb12u1"])
def test_mysql_greeting(version):
    greeting = mysql_greeting(FakeChannel(_handshake(version), step=3))
    assert greeting.protocol == 10
    assert greeting.server_version == version


def test_mysql_err_packet():
    message = b"Host '10.0.0.5' is not allowed to connect to this MariaDB server"
    channel = FakeChannel(_packet(b"\xff" + (1130).to_bytes(2, "little") + message))
    with pytest.raises(ConnectionError, match="is not allowed to connect"):
        mysql_greeting(channel)


def test_mysql_greeting_from_another_service():
    with pytest.raises(ConnectionError, match="not a MySQL handshake"):
        mysql_greeting(FakeChannel(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))


def test_mysql_greeting_closed():
    with pytest.raises(ConnectionError):
        mysql_greeting(FakeChannel(b""))


# ---- HTTP ------------------------------------------------------------------------------------------


def test_http_content_length():
    body = b'{"metadatabase": {"status": "healthy"}}'
    reply_bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Set-Cookie: a=1\r\nSet-Cookie: session=xyz; HttpOnly\r\n\r\n" % len(body)
    ) + body
    channel = FakeChannel(reply_bytes + b"TRAILING", step=7)
    reply = http_request(channel, "GET", "/health", host_header="localhost:8080")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.body == body
    assert reply.json() == {"metadatabase": {"status": "healthy"}}
    assert reply.headers["set-cookie"] == "a=1, session=xyz; HttpOnly"
    assert session_cookie(reply.headers) == "session=xyz"
    assert channel.closed
    assert channel.sent.startswith(b"GET /health HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n")
    assert channel.sent.endswith(b"\r\n\r\n")


def test_http_chunked():
    reply_bytes = (
        b"HTTP/1.1 401 UNAUTHORIZED\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b'9\r\n{"detail"\r\nB\r\n: "denied"}\r\n0\r\n\r\n'
    )
    reply = http_request(FakeChannel(reply_bytes, step=4), "GET", "/api/v1/users/trey", host_header="h")
    assert reply.status == 401
    assert reply.body == b'{"detail": "denied"}'
    assert reply.json() == {"detail": "denied"}


def test_http_post_sends_body_and_length():
    channel = FakeChannel(b"HTTP/1.1 302 FOUND\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n")
    body = protocols.form_body({"username": "trey", "password": "test123!"})
    reply = http_request(
        channel,
        "POST",
        "/login/",
        host_header="localhost:8080",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=body,
    )
    assert reply.status == 302
    assert reply.headers["location"] == "/home"
    assert reply.body == b""
    head, _, sent_body = channel.sent.partition(b"\r\n\r\n")
    assert sent_body == b"username=trey&password=test123%21"
    assert b"Content-Length: %d" % len(body) in head
    assert b"Content-Type: application/x-www-form-urlencoded" in head


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty HTTP response"),
        (b"HTTP/1.1 200 OK\r\nContent-Len", "incomplete HTTP response"),
        (b"+PONG\r\n\r\n", "not an HTTP response"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP response"),
    ],
)
def test_http_not_a_reply(raw, message):
    channel = FakeChannel(raw)
    with pytest.raises(ConnectionError, match=message):
        http_request(channel, "GET", "/", host_header="h")
    assert channel.closed
