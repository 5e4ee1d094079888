"""Roster CSV parsing: encodings Excel writes, Korean names, bad rows reported by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.roster import RosterError, read_roster


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
