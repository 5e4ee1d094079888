"""The class roster: each trainee's Korean name and the ASCII id that keys the Unix account, the
hub account, nbgrader's student id and the scoreboard match."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

# A Unix user name every tool here accepts: lower-case, starts with a letter, at most 32 bytes.
ID_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
GENERATED = re.compile(r"t(\d{3,})")
# Korean surnames of two syllables: the rest of the name is the given name.
TWO_SYLLABLE_SURNAMES = ("남궁", "선우", "제갈", "황보", "독고", "사공", "서문", "동방", "어금", "망절")


class RosterError(ValueError):
    """The roster cannot be used; `problems` are Korean lines, one per bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Trainee:
    id: str
    name: str
    email: str = ""

    @property
    def first_last(self) -> tuple[str, str]:
        """(first, last) for nbgrader so that last+first or `first last` gives back the name."""
        words = self.name.split()
        if len(words) > 1:
            return " ".join(words[:-1]), words[-1]
        surname = next(
            (s for s in TWO_SYLLABLE_SURNAMES if self.name.startswith(s) and len(self.name) > 2), ""
        )
        cut = len(surname) or 1
        return self.name[cut:], self.name[:cut]


def id_from_email(email: str) -> str:
    """`Minsu.Kim+aws@corp.com` -> `minsu-kim-aws`: lower case, `.` and `+` become `-`."""
    local = email.split("@", 1)[0].strip().lower()
    return re.sub(r"[.+]", "-", local)


def id_problem(value: str) -> str | None:
    if not value.isascii():
        return f"id는 영문 소문자·숫자·-·_만 쓸 수 있습니다: {value!r}"
    if not ID_PATTERN.fullmatch(value):
        return f"id는 영문 소문자로 시작하고 영문 소문자·숫자·-·_로 32자까지입니다: {value!r}"
    return None


def parse_roster(path: Path, previous: dict[str, str] | None = None) -> list[Trainee]:
    """Read `name[,id][,email]` (other columns, such as grade's host and key, are ignored).

    A row without id takes its e-mail's local part, else a generated `t001`, `t002`, ...; a name
    that had a generated id before (`previous`: name -> id) keeps it. Raises RosterError listing
    every bad row (no name, no usable id, a repeated id, namesakes without ids)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RosterError([f"명단 파일이 없습니다: {path}"]) from None
    except UnicodeDecodeError:
        raise RosterError(
            [f"명단 {path}이(가) UTF-8이 아닙니다. Excel에서 'CSV UTF-8'로 다시 저장하세요."]
        ) from None
    except OSError as exc:
        raise RosterError([f"명단 파일을 읽을 수 없습니다: {path} ({exc.strerror})"]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [row for row in reader]
    if not rows:
        raise RosterError(
            [f"명단 {path}이(가) 비어 있습니다. 첫 줄에 name 열(그리고 id나 email 열)을 두세요."]
        )
    header = [cell.strip().lower() for cell in rows[0]]
    if "name" not in header:
        raise RosterError(
            [f"명단 {path}의 첫 줄에 name 열이 없습니다 (지금: {', '.join(header) or '빈 줄'})"]
        )
    problems: list[str] = []
    entries: list[tuple[int, str, str, str]] = []  # (line, name, id or "", email)
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {column: (row[i].strip() if i < len(row) else "") for i, column in enumerate(header)}
        name, given, email = values.get("name", ""), values.get("id", "").lower(), values.get("email", "")
        if not name:
            problems.append(f"{line}번째 줄: 이름(name)이 비어 있습니다")
            continue
        if given:
            problem = id_problem(given)
            if problem:
                problems.append(f"{line}번째 줄({name}): {problem}")
                continue
        elif email:
            given = id_from_email(email)
            problem = id_problem(given)
            if problem:
                problems.append(
                    f"{line}번째 줄({name}): 이메일 앞부분으로 id를 만들 수 없습니다({email}). id 열에 영문 id를 적어 주세요"
                )
                continue
        entries.append((line, name, given, email))
    seen: dict[str, tuple[int, str]] = {}
    for line, name, given, _ in entries:
        if given and given in seen:
            first_line, first_name = seen[given]
            problems.append(
                f"{line}번째 줄({name}): id {given}가 {first_line}번째 줄({first_name})과 겹칩니다"
            )
        elif given:
            seen[given] = (line, name)
    unnamed = [(line, name) for line, name, given, _ in entries if not given]
    names = [name for _, name in unnamed]
    for line, name in unnamed:
        if names.count(name) > 1:
            problems.append(
                f"{line}번째 줄({name}): id 없는 같은 이름이 여러 줄입니다. id 열로 구분해 주세요"
            )
    if problems:
        raise RosterError(problems)
    return _assign_generated(entries, previous or {})


def _assign_generated(entries: list[tuple[int, str, str, str]], previous: dict[str, str]) -> list[Trainee]:
    taken = {given for _, _, given, _ in entries if given}
    numbers = [int(m[1]) for m in map(GENERATED.fullmatch, [*taken, *previous.values()]) if m]
    next_number = max(numbers, default=0) + 1
    trainees = []
    for _, name, given, email in entries:
        if not given:
            kept = previous.get(name)
            if kept and kept not in taken:
                given = kept
            else:
                given = f"t{next_number:03d}"
                next_number += 1
            taken.add(given)
        trainees.append(Trainee(given, name, email))
    return trainees


def write_roster(path: Path, trainees: list[Trainee]) -> None:
    """The roster the server keeps (name,id,email), so that a later `up` and `add` see the same ids."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "id", "email"])
    for trainee in trainees:
        writer.writerow([trainee.name, trainee.id, trainee.email])
    path.write_text(out.getvalue(), encoding="utf-8")
