"""The course server's settings and hub configuration, without starting anything."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from course_server import hub, roles
from course_server.errors import CourseServerError
from course_server.layout import Layout, Settings, write_if_changed, write_private

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "localhost", "127.0.0.53"])
def test_plain_http_is_fine_on_loopback(ip: str) -> None:
    hub.check_listening(Settings(ip=ip))


def test_plain_http_elsewhere_needs_a_certificate_or_the_champions_word(tmp_path: Path) -> None:
    with pytest.raises(CourseServerError, match="--allow-http"):
        hub.check_listening(Settings(ip="0.0.0.0"))
    hub.check_listening(Settings(ip="0.0.0.0", allow_http=True))
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    hub.check_listening(Settings(ip="0.0.0.0", ssl_cert=str(cert), ssl_key=str(key)))
    with pytest.raises(CourseServerError, match="함께 필요합니다"):
        hub.check_listening(Settings(ip="0.0.0.0", ssl_cert=str(cert)))
    with pytest.raises(CourseServerError, match="인증서 파일이 없습니다"):
        hub.check_listening(Settings(ip="0.0.0.0", ssl_cert=str(tmp_path / "no"), ssl_key=str(key)))


def test_urls() -> None:
    assert Settings().url == "http://127.0.0.1:8000"
    assert Settings(ip="0.0.0.0", port=443, ssl_cert="c").local_url == "https://127.0.0.1:443"
    assert Settings(ip="::").local_url == "http://[::1]:8000"


def test_settings_round_trip_and_private(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = Settings(ip="10.0.0.5", port=8443, instructor="trey")
    assert settings.save(path) is True
    assert settings.save(path) is False  # unchanged: not rewritten
    assert path.stat().st_mode & 0o777 == 0o600
    assert Settings.load(path) == settings


def test_private_and_changed_writes(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    write_private(secret, "s\n")
    assert secret.stat().st_mode & 0o777 == 0o600
    plain = tmp_path / "a" / "b.txt"
    assert write_if_changed(plain, "x") is True
    assert write_if_changed(plain, "x") is False
    assert write_if_changed(plain, "x", 0o600) is True  # a mode change is a change


def hub_config(tmp_path: Path, settings: Settings, trainees: list[str]) -> dict:
    """Load server/jupyterhub_config.py the way JupyterHub does (get_config), from a fake etc/."""
    from traitlets.config import Config

    layout = Layout(root=tmp_path)
    layout.etc.mkdir()
    for name in hub.SECRETS:
        (layout.etc / name).write_text(f"{name}-value\n")
    hub.ensure_config(layout, settings, trainees)
    config = Config()
    runpy.run_path(str(layout.hub_config), init_globals={"get_config": lambda: config})
    return config


def test_hub_config_reads_its_settings(tmp_path: Path) -> None:
    c = hub_config(tmp_path, Settings(port=8443, idle_timeout=1800), ["kim", "t001"])
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8443/"
    assert c.Authenticator.allowed_users == {"kim", "t001", "champion"}
    assert c.Authenticator.admin_users == {"champion"}
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.ConfigurableHTTPProxy.auth_token == "proxy_token-value"
    assert c.JupyterHub.cookie_secret_file == str(tmp_path / "etc" / "cookie_secret")
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert "--timeout=1800" in culler["command"]
    assert c.Spawner.cmd[:3] == ["/bin/sh", "-c", 'umask 077; exec "$0" "$@"']
    assert json.loads((tmp_path / "etc" / "hub_settings.json").read_text())["trainees"] == ["kim", "t001"]


def test_role_configs(tmp_path: Path) -> None:
    layout = Layout(root=tmp_path, exchange=Path("/srv/x"))
    assert roles.ensure_role_configs(layout, Path("/home/trey")) is True
    assert roles.ensure_role_configs(layout, Path("/home/trey")) is False
    page = json.loads((layout.jupyter / "trainee" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert "formgrader" not in (layout.jupyter / "instructor" / "nbgrader_config.py").read_text()
    assert (
        "c.CourseDirectory.root = '/home/trey/course'"
        in (layout.jupyter / "instructor" / "nbgrader_config.py").read_text()
    )
    assert "CourseDirectory.root" not in (layout.jupyter / "trainee" / "nbgrader_config.py").read_text()
