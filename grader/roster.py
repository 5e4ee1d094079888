"""A class to grade: trainees read from a roster CSV (or found on EC2, see grader.ec2).

Also what makes a trainee's name usable as a scoreboard key (`name_key`, `name_problem`) and the
champion's instance map for EC2 (`read_instance_map`: instance id or key pair name -> trainee).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.i18n import Text, t
from grader.scoreboard import POINTS_ROW_NAME, RESERVED_NAMES

REQUIRED_COLUMNS = ("name", "host")
OPTIONAL_COLUMNS = ("user", "port", "key")
ROSTER_NOUN = Text("명단", "roster")
MAP_NOUN = Text("인스턴스 매핑", "instance map")
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")

# Characters that show nothing yet are letters or marks to Unicode: Hangul fillers, the braille
# blank, the combining grapheme joiner, Khmer's and Mongolian's invisible vowels and separators.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_invisible(ch: str) -> bool:
    if ch in _INVISIBLE or "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return True  # also variation selectors
    return unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def name_key(name: str) -> str:
    """What two names are compared by: NFKC, no whitespace or invisible characters, case-folded.

    `(배점)`, `（배점）`, `( 배점 )` and `(배\u200b점)` all give the same key."""
    text = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in text if not _is_invisible(ch)).casefold()


_RESERVED_KEYS = {name_key(name): name for name in RESERVED_NAMES}


def visible(name: str) -> str:
    """The name with invisible and control characters spelled out (\\u200b), for messages."""
    return "".join(
        f"\\u{ord(ch):04x}" if (ch != " " and _is_invisible(ch)) or not ch.isprintable() else ch
        for ch in name
    )


def name_problem(name: str) -> Text | None:
    """Why `name` cannot key a scoreboard row (empty, control characters, reserved), or None."""
    shown = visible(name)
    if not name.strip():
        return t("이름이 비어 있습니다", "The name is empty")
    key = name_key(name)
    if not key:
        return t(
            "이름 '{n}'에 보이는 글자가 없습니다 (공백이나 보이지 않는 문자뿐입니다)",
            "The name '{n}' has no visible characters (only spaces or invisible characters)",
            n=shown,
        )
    reserved = _RESERVED_KEYS.get(key)
    if reserved is not None:
        points = reserved == POINTS_ROW_NAME
        same = Text(
            f"점수표의 배점 행 이름 '{reserved}'" if points else f"점수표 머리글의 '{reserved}'",
            f"the scoreboard's points row label '{reserved}'"
            if points
            else f"the scoreboard header's '{reserved}'",
        )
        return Text(
            f"이름 '{shown}'은(는) {same.ko}과 같아서 쓸 수 없습니다 (대소문자, 공백, 보이지 않는 문자, 전각 문자 차이는 무시하고 비교합니다)",
            f"The name '{shown}' is {same.en} (case, spaces, invisible and full-width characters are ignored when comparing)",
        )
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        return t(
            "이름 '{n}'에 제어 문자(줄바꿈, 터미널 제어 문자, 글자 방향을 바꾸는 문자 등)가 있어 쓸 수 없습니다",
            "The name '{n}' contains control characters (line breaks, terminal or text-direction controls)",
            n=shown,
        )
    return None


def display_label(text: str | None, limit: int = 40) -> str | None:
    """Text a trainee controls (a Name tag), made safe to show beside an instance id.

    Invisible and control characters go, whitespace runs become one space, long text is cut;
    None when nothing visible, or only a reserved name, is left."""
    if not text:
        return None
    kept = "".join(" " if ch.isspace() else "" if _is_invisible(ch) else ch for ch in text)
    label = " ".join(kept.split())
    if len(label) > limit:
        label = label[: limit - 1] + "…"
    return label if label and name_problem(label) is None else None


def selection_names(name: str | None, source: str) -> set[str]:
    """What `--only` may call a trainee or problem: its name, and the instance id for EC2."""
    names = {name} if name else set()
    if source.startswith("ec2:"):
        names.add(source.removeprefix("ec2:"))
    return names


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

    def names(self) -> dict[str, str]:
        """name_key -> where that name is used (trainees and named problems)."""
        used = {name_key(p.name): p.source for p in self.problems if p.name}
        used.update({name_key(trainee.name): trainee.source for trainee in self.trainees})
        return used


class RosterError(ValueError):
    """The roster as a whole is unusable (missing file, no header, missing columns)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.ko)
        self.message = message


def _nouned(ko: str, en: str, noun: Text, **params: object) -> Text:
    """A message about a CSV file: {w} is its noun ("명단", "roster"), {W} the English capitalised."""
    big = noun.en[:1].upper() + noun.en[1:]
    return Text(ko.format(w=noun.ko, **params), en.format(w=noun.en, W=big, **params))


def _decode(raw: bytes, path: Path, noun: Text) -> str:
    # utf-8-sig strips the BOM Excel writes; CP949 is what Korean Excel saves as "CSV" by default.
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RosterError(
        _nouned(
            "{w} 파일을 읽을 수 없습니다 (UTF-8도 CP949도 아닙니다): {p}",
            "Cannot decode the {w} (neither UTF-8 nor CP949): {p}",
            noun,
            p=str(path),
        )
    )


def _csv_rows(path: Path, noun: Text) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped cells) of a CSV file Excel may have written; blank and # lines skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(
            _nouned("{w} 파일이 없습니다: {p}", "{W} file not found: {p}", noun, p=str(path))
        ) from None
    except OSError as exc:
        raise RosterError(
            _nouned(
                "{w} 파일을 열 수 없습니다: {p} ({e})",
                "Cannot open the {w}: {p} ({e})",
                noun,
                p=str(path),
                e=exc.strerror,
            )
        ) from None
    text = _decode(raw, path, noun)
    sample = "\n".join(line for line in text.splitlines()[:50] if not line.lstrip().startswith("#"))
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    for row in reader:
        cells = [c.strip() for c in row]
        if any(cells) and not cells[0].startswith("#"):
            yield reader.line_num, cells


def read_roster(path: Path, key_dir: Path | None = None) -> Roster:
    """Parse a roster CSV: `name,host` required, `user,port,key` optional; bad rows are reported.

    A relative key path is taken relative to `key_dir`, by default the roster's own folder."""
    key_dir = key_dir or path.resolve().parent
    roster = Roster()
    header: list[str] | None = None
    seen_names: dict[str, int] = {}
    for line, cells in _csv_rows(path, ROSTER_NOUN):
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
            usable = name_problem(values.get("name") or "") is None
            duplicate = name_key(values.get("name") or "") in seen_names
            roster.problems.append(
                RosterProblem(
                    where,
                    line,
                    problem,
                    name=values["name"] if usable and not duplicate else None,
                    host=values.get("host") or None,
                )
            )
            continue
        port = values.get("port") or ""
        key = values.get("key") or None
        if key and key_dir is not None and not Path(key).expanduser().is_absolute():
            key = str(key_dir / key)
        seen_names[name_key(values["name"])] = line
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
        return _too_wide(width, header_width)
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            return t("{c} 값이 비어 있습니다", "{c} is empty", c=column)
    name = values["name"]
    unusable = name_problem(name)
    if unusable is not None:
        return unusable
    host = values["host"]
    if any(ch.isspace() for ch in host) or host.startswith("-") or "/" in host:
        return t("host 값이 주소가 아닙니다: {h}", "host is not an address: {h}", h=host)
    port = values.get("port") or ""
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return t(
            "port 값이 1~65535 사이의 숫자가 아닙니다: {v}", "port is not a number in 1-65535: {v}", v=port
        )
    if name_key(name) in seen:
        return t(
            "이름 {n}이(가) {l}번째 줄과 겹칩니다 (점수표의 행은 이름으로 구분하며, 대소문자·공백·보이지 않는 문자만 다른 이름도 같은 이름으로 봅니다)",
            "Name {n} repeats line {l} (scoreboard rows are keyed by name; names differing only in case, spaces or invisible characters count as the same)",
            n=visible(name),
            l=seen[name_key(name)],
        )
    return None


def _too_wide(width: int, header_width: int) -> Text:
    return t(
        "열이 머리글보다 많습니다 ({n}개, 머리글 {h}개): 값에 쉼표가 있으면 큰따옴표로 감싸세요",
        "More cells than header columns ({n} vs {h}); quote values that contain commas",
        n=width,
        h=header_width,
    )


@dataclass(frozen=True)
class MapEntry:
    """One line of the champion's instance map: this instance (or key pair) is this trainee's."""

    name: str
    instance_id: str | None
    key_name: str | None
    source: str  # "map.csv:3"
    line: int = 0


@dataclass
class InstanceMap:
    """`--ec2-map`: who each EC2 instance belongs to, as the champion says (not the instance's tags)."""

    entries: list[MapEntry] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)

    def owner(self, instance_id: str, key_name: str | None) -> MapEntry | None:
        """The line for this instance: its instance id first, else its key pair name."""
        for entry in self.entries:
            if entry.instance_id == instance_id and entry.key_name in (None, key_name):
                return entry
        for entry in self.entries:
            if entry.instance_id is None and key_name and entry.key_name == key_name:
                return entry
        return None


MAP_COLUMNS = ("name", "instance_id", "key_name")


def _map_column(cell: str) -> str:
    """`InstanceId`, `instance-id`, `Instance ID` -> `instance_id` (likewise key_name)."""
    squashed = re.sub(r"[\s_-]+", "", cell.lower())
    return {"instanceid": "instance_id", "keyname": "key_name"}.get(squashed, cell.lower())


def read_instance_map(path: Path) -> InstanceMap:
    """Parse `--ec2-map`: `name` and `instance_id` and/or `key_name` columns; bad lines are reported."""
    found = InstanceMap()
    header: list[str] | None = None
    seen: dict[tuple[str, str], int] = {}  # ("instance_id", "i-...") -> line
    for line, cells in _csv_rows(path, MAP_NOUN):
        if header is None:
            header = [_map_column(c) for c in cells]
            if "name" not in header or not {"instance_id", "key_name"} & set(header):
                raise RosterError(
                    t(
                        "인스턴스 매핑 {p} 첫 줄에는 name 열과, instance_id 또는 key_name 열이 있어야 합니다",
                        "Instance map {p}: the header needs a name column and an instance_id or key_name column",
                        p=str(path),
                    )
                )
            continue
        values = dict(zip(header, cells, strict=False))
        where = f"{path.name}:{line}"
        instance_id = values.get("instance_id") or None
        key_name = values.get("key_name") or None
        problem = _map_problem(values, len(cells), len(header), seen)
        if problem is not None:
            # A line naming a trainee shows on the scoreboard, unless it repeats another line's instance.
            repeated = ("instance_id", instance_id) in seen or ("key_name", key_name) in seen
            usable = name_problem(values.get("name") or "") is None and not repeated
            found.problems.append(
                RosterProblem(where, line, problem, name=values["name"] if usable else None)
            )
            continue
        for column, value in (("instance_id", instance_id), ("key_name", key_name)):
            if value and not (column == "key_name" and instance_id):
                seen[(column, value)] = line
        found.entries.append(MapEntry(values["name"], instance_id, key_name, where, line))
    if header is None:
        raise RosterError(
            t("인스턴스 매핑이 비어 있습니다: {p}", "The instance map is empty: {p}", p=str(path))
        )
    return found


def _map_problem(
    values: dict[str, str], width: int, header_width: int, seen: dict[tuple[str, str], int]
) -> Text | None:
    if width > header_width:
        return _too_wide(width, header_width)
    if not values.get("name"):
        return t("name 값이 비어 있습니다", "name is empty")
    unusable = name_problem(values["name"])
    if unusable is not None:
        return unusable
    instance_id = values.get("instance_id") or ""
    key_name = values.get("key_name") or ""
    if not instance_id and not key_name:
        return t(
            "instance_id와 key_name이 모두 비어 있습니다: 어느 인스턴스인지 하나는 적으세요",
            "instance_id and key_name are both empty: give one of them",
        )
    if instance_id and not INSTANCE_ID.fullmatch(instance_id):
        return t(
            "instance_id 값이 인스턴스 id(i-로 시작하는 16진수)가 아닙니다: {v}",
            "instance_id is not an instance id (i- and hex digits): {v}",
            v=visible(instance_id),
        )
    column, value = ("instance_id", instance_id) if instance_id else ("key_name", key_name)
    if (column, value) in seen:
        return t(
            "{c} {v}이(가) {l}번째 줄과 겹칩니다: 한 인스턴스는 한 연수생의 것이어야 합니다",
            "{c} {v} repeats line {l}: an instance belongs to one trainee",
            c=column,
            v=visible(value),
            l=seen[(column, value)],
        )
    return None
