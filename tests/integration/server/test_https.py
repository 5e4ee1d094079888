"""HTTPS with the champion's certificate: `up --ssl-cert --ssl-key` serves the hub over TLS with that
certificate, and `up --no-ssl` goes back to loopback HTTP (the other tests' setting)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import urllib.request
from pathlib import Path

from tests.integration.server.conftest import Server, course_server


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=course.test",
         "-addext", "subjectAltName=DNS:course.test,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def test_https_with_the_champions_certificate(server: Server, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = server.settings.port
    try:
        proc = course_server("up", "--ssl-cert", str(cert), "--ssl-key", str(key))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"https://127.0.0.1:{port}" in proc.stdout
        context = ssl.create_default_context(cafile=str(cert))  # trusts exactly this certificate
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/hub/login", context=context, timeout=30) as r:
            assert r.status == 200 and "과정 서버입니다" in r.read().decode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /hub/login HTTP/1.0\r\n\r\n")  # plain HTTP on the TLS port gets no page
            assert b"200 OK" not in raw.recv(4096)
    finally:
        proc = course_server("up", "--no-ssl")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/health", timeout=30) as r:
        assert r.status == 200
