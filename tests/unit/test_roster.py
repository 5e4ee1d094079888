"""Roster CSV parsing: encodings Excel writes, Korean names, bad rows reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.i18n import t
from grader.roster import (
    Roster,
    RosterError,
    RosterProblem,
    Trainee,
    display_label,
    name_key,
    name_problem,
    read_instance_map,
    read_roster,
    selection_names,
    visible,
)
from grader.scoreboard import RESERVED_NAMES


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_bom_korean_names_and_optional_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,host,user,port,key\n김민수,ec2-3-1-2-3.compute.amazonaws.com,,,keys/kim.pem\n이영희,10.0.0.5,ubuntu,2222,\n",
        "utf-8-sig",
    )
    roster = read_roster(path)
    assert roster.problems == []
    kim, lee = roster.trainees
    assert (kim.name, kim.host, kim.user, kim.port) == (
        "김민수",
        "ec2-3-1-2-3.compute.amazonaws.com",
        None,
        None,
    )
    assert kim.key == str(tmp_path / "keys" / "kim.pem")  # relative to the roster's folder by default
    assert (lee.name, lee.user, lee.port, lee.key) == ("이영희", "ubuntu", 2222, None)
    assert kim.source == "roster.csv:2" and lee.source == "roster.csv:3"


def test_cp949_from_korean_excel(tmp_path: Path) -> None:
    roster = read_roster(write(tmp_path, "name,host\n박철수,10.0.0.7\n", "cp949"))
    assert [t.name for t in roster.trainees] == ["박철수"]


def test_semicolon_and_header_case_and_blank_and_comment_lines(tmp_path: Path) -> None:
    text = "# 3기 명단\nName;Host\n\n정수진;10.0.0.8\n# 결석\n"
    roster = read_roster(write(tmp_path, text))
    assert [(t.name, t.host, t.source) for t in roster.trainees] == [("정수진", "10.0.0.8", "roster.csv:4")]


def test_bad_rows_reported_with_line_numbers_rest_kept(tmp_path: Path) -> None:
    text = (
        "name,host,port\n"
        "ok1,10.0.0.1,\n"
        "nohost,,\n"
        ",10.0.0.3,\n"
        "badport,10.0.0.4,ssh\n"
        "bighost,10.0.0.5,70000\n"
        "spaced,bad host,\n"
        "ok1,10.0.0.9,\n"
        "toomany,10.0.0.6,22,extra\n"
        "ok2,10.0.0.2,22\n"
    )
    roster = read_roster(write(tmp_path, text), key_dir=tmp_path)
    assert [t.name for t in roster.trainees] == ["ok1", "ok2"]
    by_line = {p.line: p for p in roster.problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9]
    assert "host" in by_line[3].message.ko and by_line[3].name == "nohost"
    assert by_line[4].name is None  # no name: nothing to put on the scoreboard
    assert "port" in by_line[5].message.ko and "ssh" in by_line[5].message.ko
    assert "70000" in by_line[6].message.ko
    assert "bad host" in by_line[7].message.ko
    assert "2" in by_line[8].message.ko and by_line[8].name is None  # duplicate of line 2
    assert "머리글" in by_line[9].message.ko
    assert all(p.source.startswith("roster.csv:") for p in roster.problems)


def test_quoted_value_with_comma(tmp_path: Path) -> None:
    roster = read_roster(write(tmp_path, 'name,host\n"Kim, Minsu",10.0.0.1\n'))
    assert roster.trainees[0].name == "Kim, Minsu"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "비어"),
        ("\n\n", "비어"),
        ("student,address\n김,1.2.3.4\n", "name, host"),
        ("name\n김\n", "host"),
    ],
)
def test_unusable_roster_is_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(RosterError) as caught:
        read_roster(write(tmp_path, text))
    assert fragment in caught.value.message.ko


def test_missing_file_and_undecodable(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="없습니다"):
        read_roster(tmp_path / "nope.csv")
    path = tmp_path / "bin.csv"
    path.write_bytes(b"name,host\n\xff\xfe\xfa,1\n")
    with pytest.raises(RosterError, match="UTF-8"):
        read_roster(path)


def test_absolute_and_home_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    roster = read_roster(
        write(tmp_path, "name,host,key\na,h1,/k/a.pem\nb,h2,~/b.pem\n"), key_dir=Path("/keys")
    )
    assert [t.key for t in roster.trainees] == ["/k/a.pem", str(tmp_path / "home" / "b.pem")]


# --- Names that cannot key a scoreboard row ---------------------------------------------------

POINTS_LOOK_ALIKES = [
    "(배점)",
    "（배점）",  # full-width parentheses
    "( 배점 )",
    " (배점)\t",
    "(배\u200b점)",  # zero-width space
    "(배\u3164점)",  # Hangul filler
    "\ufeff(배점)",  # BOM
    "(\u1107\u1162\u110c\u1165\u11b7)",  # the same syllables as conjoining jamo
    "(배점)\ufe0f",  # variation selector
    "NAME",
    "Name",
]


@pytest.mark.parametrize("name", POINTS_LOOK_ALIKES)
def test_reserved_names_and_look_alikes_are_refused(name: str) -> None:
    assert name_key(name) in {name_key(r) for r in RESERVED_NAMES}
    problem = name_problem(name)
    assert problem is not None and "점수표" in problem.ko and "scoreboard" in problem.en


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "비어"),
        ("   ", "비어"),
        ("\u200b\u200b", "보이는 글자가 없습니다"),
        ("\u3164", "보이는 글자가 없습니다"),
        ("\x1b[2J", "제어 문자"),
        ("\x07\x1b", "보이는 글자가 없습니다"),
        ("김민수\n이영희", "제어 문자"),
        ("\u202e수민김", "제어 문자"),  # right-to-left override: shows as another name
    ],
)
def test_empty_invisible_and_control_names_are_refused(name: str, fragment: str) -> None:
    problem = name_problem(name)
    assert problem is not None and fragment in problem.ko
    assert "\x1b" not in problem.ko and "\u202e" not in problem.ko  # spelled out, not sent to the terminal


@pytest.mark.parametrize("name", ["김민수", "Max", "total", "배점", "(배점) 김민수", "Kim, Minsu", "O'Brien"])
def test_ordinary_names_are_fine(name: str) -> None:
    assert name_problem(name) is None


def test_visible_spells_out_invisible_characters() -> None:
    assert visible("(배\u200b점)") == "(배\\u200b점)"
    assert visible("김 민수") == "김 민수"


def test_display_label() -> None:
    assert display_label("  김민수\u200b  노드 ") == "김민수 노드"
    assert display_label("\x1b[31mBob\x1b[0m") == "[31mBob[0m"  # no escape character left
    assert display_label("(배점)") is None and display_label("\u3164") is None and display_label(None) is None
    assert display_label("가" * 100, limit=10) == "가" * 9 + "…"


def test_roster_refuses_reserved_and_look_alike_duplicate_names(tmp_path: Path) -> None:
    text = (
        "name,host\n"
        "김민수,10.0.0.1\n"
        "(배점),10.0.0.2\n"
        "（배점）,10.0.0.3\n"
        "\u200b,10.0.0.4\n"
        "김민수\u200b,10.0.0.5\n"
        " NAME ,10.0.0.6\n"
        "이영희,10.0.0.7\n"
    )
    roster = read_roster(write(tmp_path, text))
    assert [t.name for t in roster.trainees] == ["김민수", "이영희"]
    by_line = {p.line: p for p in roster.problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7]
    assert all(p.name is None for p in roster.problems)  # none of them gets a scoreboard row
    assert "배점 행" in by_line[3].message.ko and "배점 행" in by_line[4].message.ko
    assert "보이는 글자가 없습니다" in by_line[5].message.ko
    assert "2번째 줄과 겹칩니다" in by_line[6].message.ko and "\\u200b" in by_line[6].message.ko
    assert "머리글" in by_line[7].message.ko


def test_roster_names_by_key() -> None:
    roster = Roster(
        trainees=[Trainee("김민수", "h", source="r.csv:2")],
        problems=[
            RosterProblem("r.csv:3", 3, t("x", "x"), name="Bob"),
            RosterProblem("r.csv:4", 4, t("y", "y")),
        ],
    )
    assert roster.names() == {"김민수": "r.csv:2", "bob": "r.csv:3"}


def test_selection_names() -> None:
    assert selection_names("김민수 (i-0abc)", "ec2:i-0abc") == {"김민수 (i-0abc)", "i-0abc"}
    assert selection_names("김민수", "roster.csv:2") == {"김민수"}
    assert selection_names(None, "ec2:i-0abc") == {"i-0abc"}


# --- The champion's instance map (--ec2-map) -----------------------------------------------------

ID1, ID2, ID3 = "i-0123456789abcdef0", "i-0fedcba9876543210", "i-01234567"


def test_instance_map(tmp_path: Path) -> None:
    text = (
        "Name,Instance ID,KeyName\n"
        f"김민수,{ID1},\n"
        "이영희,,lee-key\n"
        f"박지훈,{ID2},park-key\n"
        f"김민수,{ID3},\n"  # a second instance of the same trainee (relaunched): allowed
    )
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8-sig")
    found = read_instance_map(path)
    assert found.problems == []
    assert [(e.name, e.instance_id, e.key_name, e.source, e.line) for e in found.entries] == [
        ("김민수", ID1, None, "map.csv:2", 2),
        ("이영희", None, "lee-key", "map.csv:3", 3),
        ("박지훈", ID2, "park-key", "map.csv:4", 4),
        ("김민수", ID3, None, "map.csv:5", 5),
    ]
    assert found.owner(ID1, "lee-key").name == "김민수"  # the instance id wins over the key pair
    assert found.owner("i-0000000000000000a", "lee-key").name == "이영희"
    assert found.owner(ID2, "park-key").name == "박지훈"
    assert found.owner(ID2, "other-key") is None  # both given: both must match
    assert found.owner("i-0000000000000000a", None) is None


def test_instance_map_bad_lines(tmp_path: Path) -> None:
    text = (
        "name,instance_id,key_name\n"
        f"김민수,{ID1},\n"
        f"이영희,{ID1},\n"  # the same instance again
        "박지훈,i-xyz,\n"
        "최수진,,\n"
        "(배점),,class-key\n"
        ",,x-key\n"
        "정우성,,jung-key\n"
        "강하늘,,jung-key\n"  # the same key pair again
        "a,b,c,d\n"
    )
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    found = read_instance_map(path)
    assert [e.name for e in found.entries] == ["김민수", "정우성"]
    by_line = {p.line: p for p in found.problems}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 9, 10]
    assert "2번째 줄과 겹칩니다" in by_line[3].message.ko and by_line[3].name is None
    assert "i-xyz" in by_line[4].message.ko and by_line[4].name == "박지훈"
    assert "모두 비어" in by_line[5].message.ko and by_line[5].name == "최수진"
    assert "배점 행" in by_line[6].message.ko and by_line[6].name is None
    assert "name 값이 비어" in by_line[7].message.ko
    assert "8번째 줄과 겹칩니다" in by_line[9].message.ko and by_line[9].name is None
    assert "머리글" in by_line[10].message.ko
    assert all(p.source == f"map.csv:{p.line}" for p in found.problems)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "비어"),
        ("name,host\n김,1.2.3.4\n", "instance_id 또는 key_name"),
        ("instance_id\ni-01234567\n", "name"),
    ],
)
def test_unusable_instance_map(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        read_instance_map(path)
    assert fragment in caught.value.message.ko and "매핑" in caught.value.message.ko
    with pytest.raises(RosterError) as missing:
        read_instance_map(tmp_path / "none.csv")
    assert missing.value.message.ko.startswith("인스턴스 매핑 파일이 없습니다")
    assert missing.value.message.en.startswith("Instance map file not found")
