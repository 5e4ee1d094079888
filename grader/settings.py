"""Course settings: the guide's defaults, overridable by a TOML file a champion keeps."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_POINTS = 10


class SettingsError(ValueError):
    """The course settings file cannot be used (message is Korean, for the champion)."""


@dataclass(frozen=True)
class Champion:
    username: str = "trey"
    role: str = "Admin"
    password: str = "test123!"


@dataclass(frozen=True)
class Ports:
    redis: int = 6379
    mysql: int = 3306
    webserver: int = 8080


@dataclass(frozen=True)
class CourseSettings:
    """Everything a grading run needs to know about the course, not about a node."""

    champion: Champion = field(default_factory=Champion)
    ports: Ports = field(default_factory=Ports)
    points: dict[str, int] = field(default_factory=dict)
    min_vcpus: int = 2  # the guide's t2.large
    min_memory_gib: float = 7.5  # 8 GiB nominal; the kernel reports a little less
    scheduler_heartbeat_seconds: int = 60

    def points_for(self, check_id: str) -> int:
        return self.points.get(check_id, DEFAULT_POINTS)


def _build(cls: type, table: object, where: str) -> object:
    if not isinstance(table, dict):
        raise SettingsError(f"[{where}]는 표(table)여야 합니다")
    known = {f.name: f for f in fields(cls)}
    unknown = set(table) - set(known)
    if unknown:
        raise SettingsError(f"[{where}]에 알 수 없는 항목: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in table.items():
        expected = known[name].type
        if expected in ("int", int) and (not isinstance(value, int) or isinstance(value, bool)):
            raise SettingsError(f"[{where}] {name}: 정수여야 합니다")
        if expected in ("str", str) and not isinstance(value, str):
            raise SettingsError(f"[{where}] {name}: 문자열이어야 합니다")
        values[name] = value
    return cls(**values)


def load_settings(path: str | Path | None) -> CourseSettings:
    """Read a course TOML (see docs/course.example.toml); None gives the guide's defaults."""
    if path is None:
        return CourseSettings()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SettingsError(f"설정 파일이 없습니다: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"설정 파일을 읽을 수 없습니다: {path} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"설정 파일의 TOML 문법 오류: {path} ({exc})") from None
    allowed = {"champion", "ports", "points", "grading"}
    unknown = set(data) - allowed
    if unknown:
        raise SettingsError(f"설정 파일에 알 수 없는 항목: {', '.join(sorted(unknown))}")
    champion = _build(Champion, data.get("champion", {}), "champion")
    ports = _build(Ports, data.get("ports", {}), "ports")
    points = data.get("points", {})
    if not isinstance(points, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in points.values()
    ):
        raise SettingsError("[points]의 값은 0 이상의 정수여야 합니다")
    grading = data.get("grading", {})
    if not isinstance(grading, dict):
        raise SettingsError("[grading]는 표(table)여야 합니다")
    extra = {}
    for name in ("min_vcpus", "min_memory_gib", "scheduler_heartbeat_seconds"):
        if name in grading:
            value = grading[name]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise SettingsError(f"[grading] {name}: 숫자여야 합니다")
            extra[name] = value
    unknown = set(grading) - {"min_vcpus", "min_memory_gib", "scheduler_heartbeat_seconds"}
    if unknown:
        raise SettingsError(f"[grading]에 알 수 없는 항목: {', '.join(sorted(unknown))}")
    return CourseSettings(champion=champion, ports=ports, points=dict(points), **extra)  # type: ignore[arg-type]
