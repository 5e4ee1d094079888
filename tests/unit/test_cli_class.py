"""`grade --roster/--ec2` end to end in-process, for what needs no node: usage errors, EC2
discovery (moto) into scoreboard rows for nodes that cannot be reached, and clear messages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

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


def test_ec2_class_into_scoreboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Found on EC2, graded (the fake addresses answer nothing), every trainee has a row."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
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

        def launch(name: str, subnet: str, course: str = "airflow-3기") -> None:
            ec2.run_instances(
                ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t2.micro", KeyName="class-key",
                SubnetId=subnet,
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": "Name", "Value": name}, {"Key": "Course", "Value": course}]}],
            )  # fmt: skip

        launch("김민수", public)
        launch("이영희", public)
        launch("박철수", private)  # no public address
        launch("다른반", public, course="airflow-2기")
        code = cli.main(
            ["--ec2", "--region", REGION, "--tag", "Course=airflow-3*", "--key-dir", str(keys),
             "--scoreboard", str(board), "--timeout", "2", "--known-hosts", str(tmp_path / "kh")]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "Traceback" not in captured.err
    found = rows(board)
    assert set(found) == {"(배점)", "김민수", "이영희", "박철수"}
    assert found["박철수"]["status"] == "roster_error" and "--ec2-private" in found["박철수"]["message"]
    for name in ("김민수", "이영희"):
        # A fake public IP nobody answers, or the (fake) key cannot be used: never a pass, always a status.
        assert found[name]["status"] in {"unreachable", "timeout", "error", "auth_failed"}
        assert found[name]["total"] == "0" and found[name]["max"] == "100"
