"""A class to grade: trainees read from a roster CSV (or found on EC2, see grader.ec2)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.i18n import Text, t

REQUIRED_COLUMNS = ("name", "host")
OPTIONAL_COLUMNS = ("user", "port", "key")


@dataclass(frozen=True)
class Trainee:
    """One trainee's node as the class list names it; empty fields fall back to flags/settings."""

    name: str
    host: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    source: str = ""  # where this row came from: "roster.csv:12" or "ec2:i-0abc..."
    # What EC2 knows about the instance (instance_id, instance_type, public subnet, ...), if found there.
    ec2: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RosterProblem:
    """A row that could not be used; the rest of the class is still graded."""

    source: str
    line: int
    message: Text
    name: str | None = None  # when the row names a trainee, the scoreboard gets a row saying why
    host: str | None = None


@dataclass
class Roster:
    trainees: list[Trainee] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)


class RosterError(ValueError):
    """The roster as a whole is unusable (missing file, no header, missing columns)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.ko)
        self.message = message


def _decode(raw: bytes, path: Path) -> str:
    # utf-8-sig strips the BOM Excel writes; CP949 is what Korean Excel saves as "CSV" by default.
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterError(
        t(
            "명단을 읽을 수 없습니다 (UTF-8도 CP949도 아닙니다): {p}",
            "Cannot decode the roster (neither UTF-8 nor CP949): {p}",
            p=str(path),
        )
    )


def read_roster(path: Path, key_dir: Path | None = None) -> Roster:
    """Parse a roster CSV: `name,host` required, `user,port,key` optional; bad rows are reported.

    A relative key path is taken relative to `key_dir`, by default the roster's own folder."""
    key_dir = key_dir or path.resolve().parent
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(t("명단 파일이 없습니다: {p}", "Roster file not found: {p}", p=str(path))) from None
    except OSError as exc:
        raise RosterError(
            t(
                "명단 파일을 열 수 없습니다: {p} ({e})",
                "Cannot open the roster: {p} ({e})",
                p=str(path),
                e=exc.strerror,
            )
        ) from None
    text = _decode(raw, path)
    sample = "\n".join(line for line in text.splitlines()[:50] if not line.lstrip().startswith("#"))
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    roster = Roster()
    header: list[str] | None = None
    seen_names: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = [c.lower() for c in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise RosterError(
                    t(
                        "명단 {p} 첫 줄에 {c} 열이 없습니다 (필수: name,host / 선택: user,port,key)",
                        "Roster {p}: the header lacks {c} (required: name,host; optional: user,port,key)",
                        p=str(path),
                        c=", ".join(missing),
                    )
                )
            continue
        values = dict(zip(header, cells, strict=False))
        where = f"{path.name}:{line}"
        problem = _row_problem(values, len(cells), len(header), seen_names, line)
        if problem is not None:
            duplicate = values.get("name") in seen_names
            roster.problems.append(
                RosterProblem(
                    where,
                    line,
                    problem,
                    name=None if duplicate else (values.get("name") or None),
                    host=values.get("host") or None,
                )
            )
            continue
        port = values.get("port") or ""
        key = values.get("key") or None
        if key and key_dir is not None and not Path(key).expanduser().is_absolute():
            key = str(key_dir / key)
        seen_names[values["name"]] = line
        roster.trainees.append(
            Trainee(
                name=values["name"],
                host=values["host"],
                user=values.get("user") or None,
                port=int(port) if port else None,
                key=str(Path(key).expanduser()) if key else None,
                source=where,
            )
        )
    if header is None:
        raise RosterError(t("명단이 비어 있습니다: {p}", "The roster is empty: {p}", p=str(path)))
    return roster


def _row_problem(
    values: dict[str, str], width: int, header_width: int, seen: dict[str, int], line: int
) -> Text | None:
    if width > header_width:
        return t(
            "열이 머리글보다 많습니다 ({n}개, 머리글 {h}개): 값에 쉼표가 있으면 큰따옴표로 감싸세요",
            "More cells than header columns ({n} vs {h}); quote values that contain commas",
            n=width,
            h=header_width,
        )
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            return t("{c} 값이 비어 있습니다", "{c} is empty", c=column)
    host = values["host"]
    if any(ch.isspace() for ch in host) or host.startswith("-") or "/" in host:
        return t("host 값이 주소가 아닙니다: {h}", "host is not an address: {h}", h=host)
    port = values.get("port") or ""
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return t(
            "port 값이 1~65535 사이의 숫자가 아닙니다: {v}", "port is not a number in 1-65535: {v}", v=port
        )
    name = values["name"]
    if name in seen:
        return t(
            "이름 {n}이(가) {l}번째 줄과 겹칩니다 (점수표의 행은 이름으로 구분합니다)",
            "Name {n} repeats line {l} (scoreboard rows are keyed by name)",
            n=name,
            l=seen[name],
        )
    return None
