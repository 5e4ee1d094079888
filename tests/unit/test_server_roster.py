"""The course server's roster: ids from the id column, the e-mail or generated, bad rows in Korean."""

from __future__ import annotations

from pathlib import Path

import pytest
from course_server.roster import RosterError, Trainee, parse_roster, write_roster


def roster(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode("utf-8-sig"))  # Excel's 'CSV UTF-8' writes a BOM
    return path


def test_ids_from_the_column_the_email_or_generated(tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        "name,ID,email,host\n김민수,Kim,,10.0.0.1\n이지호,,Jiho.Lee+aws@corp.kr,\n박서연,,,\n최유진,,,\n",
    )
    assert parse_roster(path) == [
        Trainee("kim", "김민수"),
        Trainee("jiho-lee-aws", "이지호", "Jiho.Lee+aws@corp.kr"),
        Trainee("t001", "박서연"),
        Trainee("t002", "최유진"),
    ]


def test_a_generated_id_stays_with_its_name_when_rows_move(tmp_path: Path) -> None:
    path = roster(tmp_path, "name\n최유진\n박서연\n한가람\n")
    kept = parse_roster(path, previous={"박서연": "t001", "최유진": "t002"})
    assert [(t.name, t.id) for t in kept] == [("최유진", "t002"), ("박서연", "t001"), ("한가람", "t003")]


def test_generated_ids_skip_ids_given_in_the_column(tmp_path: Path) -> None:
    path = roster(tmp_path, "name,id\n김민수,t001\n박서연,\n")
    assert [t.id for t in parse_roster(path)] == ["t001", "t002"]


def test_every_bad_row_is_named_in_korean(tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        "name,id,email\n김민수,kim,\n이지호,김지호,\n박서연,KIM,\n최유진,,유진@회사.kr\n,x1,\n"
        "한가람,,\n한가람,,\n정하늘,1abc,\n",
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(path)
    problems = caught.value.problems
    assert problems == [
        "3번째 줄(이지호): id는 영문 소문자·숫자·-·_만 쓸 수 있습니다: '김지호'",
        "5번째 줄(최유진): 이메일 앞부분으로 id를 만들 수 없습니다(유진@회사.kr). id 열에 영문 id를 적어 주세요",
        "6번째 줄: 이름(name)이 비어 있습니다",
        "9번째 줄(정하늘): id는 영문 소문자로 시작하고 영문 소문자·숫자·-·_로 32자까지입니다: '1abc'",
        "4번째 줄(박서연): id kim가 2번째 줄(김민수)과 겹칩니다",
        "7번째 줄(한가람): id 없는 같은 이름이 여러 줄입니다. id 열로 구분해 주세요",
        "8번째 줄(한가람): id 없는 같은 이름이 여러 줄입니다. id 열로 구분해 주세요",
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "비어 있습니다"),
        ("이름,id\n김민수,kim\n", "name 열이 없습니다"),
    ],
)
def test_unusable_files(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(RosterError, match=says):
        parse_roster(roster(tmp_path, text))


def test_not_utf8_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "cp949.csv"
    path.write_bytes("name\n김민수\n".encode("cp949"))
    with pytest.raises(RosterError, match="CSV UTF-8"):
        parse_roster(path)
    with pytest.raises(RosterError, match="명단 파일이 없습니다"):
        parse_roster(tmp_path / "none.csv")


def test_names_split_so_that_the_scoreboard_merge_finds_them() -> None:
    # grade --nbgrader matches last+first and "first last" against the scoreboard's name.
    for name in ("김민수", "남궁민수", "김 민수", "John Smith"):
        first, last = Trainee("x", name).first_last
        assert name.replace(" ", "") in (last + first, (first + last).replace(" ", "")), name
    assert Trainee("x", "남궁민수").first_last == ("민수", "남궁")


def test_the_kept_roster_reads_back_the_same(tmp_path: Path) -> None:
    trainees = [Trainee("kim", "김민수", "kim@corp.kr"), Trainee("t001", "박, 서연")]
    write_roster(tmp_path / "kept.csv", trainees)
    assert parse_roster(tmp_path / "kept.csv") == trainees
