"""`grade --roster/--ec2` end to end in-process, for what needs no node: usage errors, EC2
discovery (moto) into scoreboard rows for nodes that cannot be reached, and clear messages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from grader import cli

REGION = "ap-northeast-2"


def rows(path: Path) -> dict[str, dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return {r["name"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--roster", "r.csv", "--host", "h"], "하나가 필요합니다"),
        (["--host", "h", "--scoreboard", "s.csv"], "--scoreboard는 --roster"),
        (["--roster", "r.csv", "--jobs", "0"], "--jobs"),
        (["--roster", "missing.csv"], "명단 파일이 없습니다"),
        (["--ec2", "--region", REGION], "--tag"),
        (["--ec2", "--region", REGION, "--tag", "Course"], "Key=Value"),
        (["--roster", "r.csv", "--only", "redis", "--scoreboard", "s.csv"], "항목 id를 빼세요"),
        (["--roster", "r.csv", "--only", "nobody"], "명단에 없는 이름: nobody"),
        (["--roster", "r.csv", "--nbgrader", "r.csv"], "--nbgrader는 --scoreboard와"),
        (["--roster", "r.csv", "--nbgrader", "r.csv", "--scoreboard", "s.csv"], "nbgrader export"),
        (["--roster", "r.csv", "--ec2-map", "r.csv"], "--ec2와 함께 씁니다"),
        (["--roster", "r.csv", "--ec2-identity", "name-tag"], "--ec2와 함께 씁니다"),
        (
            ["--ec2", "--region", REGION, "--tag", "C=x", "--ec2-identity", "map"],
            "--ec2-map 옵션도 필요합니다",
        ),
        (
            ["--ec2", "--region", REGION, "--tag", "C=x", "--ec2-owner-tag", "O", "--ec2-map", "r.csv"],
            "함께 쓸 수",
        ),
        (
            ["--ec2", "--region", REGION, "--tag", "C=x", "--ec2-map", "none.csv"],
            "인스턴스 매핑 파일이 없습니다",
        ),
        (["--ec2", "--region", REGION, "--tag", "C=x", "--ec2-map", "r.csv"], "instance_id 또는 key_name"),
    ],
)
def test_usage_errors_are_one_clear_line(
    argv: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("name,host\n김민수,127.0.0.1\n", encoding="utf-8")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)


def launcher(ec2: Any, subnet: str | None = None) -> Callable[..., str]:
    def launch(name: str, course: str = "airflow-3기", **extra: str) -> str:
        kwargs: dict[str, Any] = {"SubnetId": subnet} if subnet else {}
        tag_list = [{"Key": k, "Value": v} for k, v in {"Name": name, "Course": course, **extra}.items()]
        return ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t2.micro", KeyName="class-key",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}], **kwargs,
        )["Instances"][0]["InstanceId"]  # fmt: skip

    return launch


def test_ec2_class_into_scoreboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Found on EC2, graded (the fake addresses answer nothing), every instance has a row of its own."""
    aws_env(tmp_path, monkeypatch)
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "class-key.pem").write_text("not a real key\n")
    board = tmp_path / "board.csv"
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
        ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
        private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.2.0/24")["Subnet"]["SubnetId"]
        ec2.create_key_pair(KeyName="class-key")
        kim = launcher(ec2, public)("김민수")
        lee = launcher(ec2, public)("이영희")
        park = launcher(ec2, private)("박철수")  # no public address
        launcher(ec2, public)("다른반", course="airflow-2기")
        code = cli.main(
            ["--ec2", "--region", REGION, "--tag", "Course=airflow-3*", "--key-dir", str(keys),
             "--scoreboard", str(board), "--timeout", "2", "--known-hosts", str(tmp_path / "kh")]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "Traceback" not in captured.err
    found = rows(board)
    assert set(found) == {"(배점)", f"김민수 ({kim})", f"이영희 ({lee})", f"박철수 ({park})"}
    assert found[f"박철수 ({park})"]["status"] == "roster_error"
    assert "--ec2-private" in found[f"박철수 ({park})"]["message"]
    for name in (f"김민수 ({kim})", f"이영희 ({lee})"):
        # A fake public IP nobody answers, or the (fake) key cannot be used: never a pass, always a status.
        assert found[name]["status"] in {"unreachable", "timeout", "error", "auth_failed"}
        assert found[name]["total"] == "0" and found[name]["max"] == "100"


def test_ec2_name_tags_cannot_take_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Even trusting Name tags: a second "Bob" and a "(배점)" look-alike leave the existing rows alone."""
    aws_env(tmp_path, monkeypatch)
    board = tmp_path / "board.csv"
    board.write_text(
        "name,host,status,total,max\n(배점),,,100,100\nBob,10.0.0.9,graded,90,100\n", "utf-8-sig"
    )
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ec2.create_key_pair(KeyName="class-key")
        launch = launcher(ec2)
        bobs = [launch("Bob"), launch("bob\u200b")]
        points = [launch("(배점)"), launch("（배점）"), launch("( 배점 )")]
        argv = ["--ec2", "--region", REGION, "--tag", "Course=airflow-3기", "--ec2-identity", "name-tag",
                "--scoreboard", str(board), "--known-hosts", str(tmp_path / "kh")]  # fmt: skip
        code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 3 and "Traceback" not in captured.err
    found = rows(board)
    assert found["(배점)"]["max"] == "100" and found["(배점)"]["status"] == ""  # still the points row
    bob = {k: v for k, v in found["Bob"].items() if v}
    assert bob == {"name": "Bob", "host": "10.0.0.9", "status": "graded", "total": "90", "max": "100"}
    assert set(found) == {"(배점)", "Bob", f"Bob ({bobs[0]})", f"bob ({bobs[1]})", *points}
    for name in (f"Bob ({bobs[0]})", f"bob ({bobs[1]})"):
        assert found[name]["status"] == "roster_error"
        assert (
            "인스턴스 2개" in found[name]["message"]
            and "점수표의 Bob 행도 바꾸지 않습니다" in found[name]["message"]
        )
    for instance_id in points:
        assert found[instance_id]["status"] == "roster_error" and "배점 행" in found[instance_id]["message"]
    assert "인스턴스 2개" in captured.err  # also said on the terminal


def test_ec2_only_by_instance_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    aws_env(tmp_path, monkeypatch)
    board = tmp_path / "board.csv"
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.2.0/24")["Subnet"]["SubnetId"]
        ec2.create_key_pair(KeyName="class-key")
        kim, lee = launcher(ec2, private)("김민수"), launcher(ec2, private)("이영희")
        argv = ["--ec2", "--region", REGION, "--tag", "Course=airflow-3기", "--only", lee,
                "--scoreboard", str(board), "--known-hosts", str(tmp_path / "kh")]  # fmt: skip
        code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 3 and "Traceback" not in captured.err
    assert set(rows(board)) == {"(배점)", f"이영희 ({lee})"} and kim not in rows(board)


def test_identity_choices_match_grader_ec2(capsys: pytest.CaptureFixture) -> None:
    from grader.ec2 import IDENTITIES

    assert cli.EC2_IDENTITIES == IDENTITIES
    with pytest.raises(SystemExit):
        cli.main(["--ec2", "--ec2-identity", "owner"])
    assert "instance-id" in capsys.readouterr().err
