"""Course settings: the guide's defaults, a champion's TOML, and clear Korean errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.settings import DEFAULT_POINTS, CourseSettings, SettingsError, load_settings

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def write(tmp_path: Path, text: str, name: str = "course.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults():
    settings = load_settings(None)
    assert settings == CourseSettings()
    assert settings.champion.username == "trey"
    assert settings.champion.role == "Admin"
    assert settings.champion.password == "test123!"
    assert (settings.ports.redis, settings.ports.mysql, settings.ports.webserver) == (6379, 3306, 8080)
    assert settings.points_for("redis.running") == DEFAULT_POINTS == 10
    assert settings.min_vcpus == 2


def test_empty_file_gives_defaults(tmp_path: Path):
    assert load_settings(write(tmp_path, "")) == CourseSettings()


def test_toml_overrides(tmp_path: Path):
    path = write(
        tmp_path,
        """
[champion]
username = "neo"
password = "Matrix1!"

[ports]
webserver = 8081

[points]
"account.champion" = 30
"redis.running" = 0

[grading]
min_memory_gib = 3.5
scheduler_heartbeat_seconds = 120
""",
    )
    settings = load_settings(str(path))
    assert settings.champion.username == "neo"
    assert settings.champion.password == "Matrix1!"
    assert settings.champion.role == "Admin"  # not overridden
    assert settings.ports.webserver == 8081
    assert settings.ports.redis == 6379
    assert settings.points_for("account.champion") == 30
    assert settings.points_for("redis.running") == 0
    assert settings.points_for("config.executor") == DEFAULT_POINTS
    assert settings.min_memory_gib == 3.5
    assert settings.scheduler_heartbeat_seconds == 120


def test_utf8_bom_accepted(tmp_path: Path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + '[champion]\nusername = "김챔피언"\n'.encode())
    assert load_settings(path).champion.username == "김챔피언"


def _error(path: Path | str) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    error = info.value
    assert HANGUL.search(str(error)), str(error)
    # raised `from None`: the champion sees one clear line, no chained traceback
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None
    assert "Traceback" not in str(error)
    return error


def test_malformed_toml(tmp_path: Path):
    error = _error(write(tmp_path, '[champion]\nusername = "trey\n'))
    assert "TOML" in str(error)
    assert "course.toml" in str(error)


def test_missing_file(tmp_path: Path):
    error = _error(tmp_path / "nope.toml")
    assert "nope.toml" in str(error)


def test_not_utf8(tmp_path: Path):
    path = tmp_path / "latin.toml"
    path.write_bytes('[champion]\nusername = "caf\xe9"\n'.encode("latin-1"))
    _error(path)


def test_unknown_section(tmp_path: Path):
    error = _error(write(tmp_path, "[champoin]\nusername = 'x'\n"))
    assert "champoin" in str(error)


def test_unknown_key_in_section(tmp_path: Path):
    error = _error(write(tmp_path, "[champion]\nusrname = 'x'\n"))
    assert "usrname" in str(error)


def test_unknown_grading_key(tmp_path: Path):
    error = _error(write(tmp_path, "[grading]\nmin_cpus = 4\n"))
    assert "min_cpus" in str(error)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[champion]\nusername = 5\n", "username"),
        ("[ports]\nredis = '6379'\n", "redis"),
        ("[ports]\nmysql = 3306.0\n", "mysql"),
        ("[ports]\nwebserver = true\n", "webserver"),
        ("[points]\n'redis.running' = 'ten'\n", "points"),
        ("[points]\n'redis.running' = -1\n", "points"),
        ("[points]\n'redis.running' = true\n", "points"),
        ("[grading]\nmin_vcpus = 'two'\n", "min_vcpus"),
        ("[grading]\nmin_vcpus = false\n", "min_vcpus"),
        ("champion = 'trey'\n", "champion"),
        ("grading = 3\n", "grading"),
        ("points = 5\n", "points"),
    ],
)
def test_wrong_type(tmp_path: Path, text: str, needle: str):
    error = _error(write(tmp_path, text))
    assert needle in str(error)
