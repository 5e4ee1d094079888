"""EC2 discovery against moto's EC2 (and botocore's Stubber for errors moto cannot produce)."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from grader.ec2 import (
    INSTANCE_MEMORY_GIB,
    Ec2Error,
    Ec2Query,
    choose_identity,
    discover,
    instance_advisories,
    parse_tag_filter,
    subnet_is_public,
)
from grader.roster import Roster, Trainee, name_key, read_instance_map
from grader.scoreboard import RESERVED_NAMES

REGION = "ap-northeast-2"
COURSE = ("Course", "airflow-2025-spring")
TRAINEE = ("Role", "trainee")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EC2",
)


def isolate_from_real_aws(monkeypatch: pytest.MonkeyPatch, empty: Path) -> None:
    """No credentials, region or config from the machine running the tests; no instance metadata."""
    for name in AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_real_aws(monkeypatch, tmp_path / "aws-empty")


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def tags(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in pairs]}]


# Name tag (None: none), placement, key pair, instance type; all tagged COURSE and TRAINEE
CLASS = [
    ("김민수", "public", "class-key", "t2.large"),
    ("이영희", "public", "class-key", "t2.micro"),
    ("박지훈", "public", "plain-key", "t3.large"),
    ("최수진", "public", "alt-key", "t2.large"),
    ("정우성", "public", "lost-key", "t2.large"),
    ("강하늘", "private", "class-key", "t2.large"),  # private subnet, no public IP
    ("조은비", "public-no-ip", "class-key", "t2.large"),  # public subnet, public IP turned off
    ("윤서준", "default", "class-key", "t3.xlarge"),  # default VPC, no explicit route table
    ("김민수", "public", "class-key", "t2.large"),  # same name as the first
    (None, "public", "class-key", "t2.large"),  # no Name tag
    ("한지민", "public", None, "t2.large"),  # launched without a key pair
    ("오세훈", "default-isolated", "class-key", "t2.large"),  # public IP, but no igw route
]


KIM, LEE, PARK, CHOI, JUNG, KANG, CHO, YOON, KIM2, NONAME, HAN, OH = range(len(CLASS))
NO_PUBLIC_ADDRESS = (KANG, CHO)


@dataclass
class Classroom:
    client: Any
    ids: list[str]  # CLASS order
    others: dict[str, str]  # stopped, other course, champion -> instance id
    keys: Path
    subnets: dict[str, str]


def _launch(
    client: Any,
    ami: str,
    placement: str,
    key: str | None,
    itype: str,
    subnets: dict[str, str],
    *pairs: tuple[str, str],
) -> str:
    kwargs: dict[str, Any] = {
        "ImageId": ami,
        "MinCount": 1,
        "MaxCount": 1,
        "InstanceType": itype,
        "TagSpecifications": tags(*pairs),
    }
    if key:
        kwargs["KeyName"] = key
    if placement in ("public", "private"):
        kwargs["SubnetId"] = subnets[placement]
    elif placement == "public-no-ip":
        kwargs["NetworkInterfaces"] = [
            {"DeviceIndex": 0, "SubnetId": subnets["public"], "AssociatePublicIpAddress": False}
        ]
    elif placement == "default-isolated":
        kwargs["NetworkInterfaces"] = [
            {"DeviceIndex": 0, "SubnetId": subnets["isolated"], "AssociatePublicIpAddress": True}
        ]
    return client.run_instances(**kwargs)["Instances"][0]["InstanceId"]


def _route_table(
    client: Any, vpc: str, subnet: str, *, igw: str | None = None, nat: str | None = None
) -> None:
    table = client.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    if igw:
        client.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    if nat:
        client.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    client.associate_route_table(RouteTableId=table, SubnetId=subnet)


def build_classroom(tmp_path: Path) -> Classroom:
    """A course VPC (public subnet via igw, private subnet via NAT), the default VPC, 12 trainees + 3 others."""
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("class-key.pem", "class-key", "plain-key", "alt-key.key"):  # bare class-key: a decoy
        (keys / name).write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    client = boto3.client("ec2", region_name=REGION)
    vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = client.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    client.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    _route_table(client, vpc, public, igw=igw)
    private = client.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    eip = client.allocate_address(Domain="vpc")["AllocationId"]
    nat = client.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    _route_table(client, vpc, private, nat=nat)
    # moto's default VPC has no internet gateway; give it one the way AWS does (main route table).
    default_vpc = client.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    default_igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=default_igw, VpcId=default_vpc)
    tables = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [default_vpc]}])[
        "RouteTables"
    ]
    main = next(rt for rt in tables if any(a.get("Main") for a in rt["Associations"]))
    client.create_route(
        RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=default_igw
    )
    isolated = client.create_subnet(VpcId=default_vpc, CidrBlock="172.31.128.0/20")["Subnet"]["SubnetId"]
    _route_table(client, default_vpc, isolated)  # explicit local-only table overrides the main one
    subnets = {"public": public, "private": private, "isolated": isolated}
    for key in ("class-key", "plain-key", "alt-key", "lost-key"):
        client.create_key_pair(KeyName=key)
    ami = "ami-12c6146b"  # moto launches any AMI id; describe_images would cost seconds
    ids = []
    for name, placement, key, itype in CLASS:
        pairs = [COURSE, TRAINEE] + ([("Name", name)] if name else [])
        ids.append(_launch(client, ami, placement, key, itype, subnets, *pairs))
    others = {
        "stopped": _launch(
            client, ami, "public", "class-key", "t2.large", subnets, COURSE, TRAINEE, ("Name", "중지됨")
        ),
        "other_course": _launch(
            client,
            ami,
            "public",
            "class-key",
            "t2.large",
            subnets,
            ("Course", "airflow-2024-fall"),
            TRAINEE,
            ("Name", "다른반"),
        ),
        "champion": _launch(
            client,
            ami,
            "public",
            "class-key",
            "t2.large",
            subnets,
            COURSE,
            ("Role", "champion"),
            ("Name", "강사"),
        ),
    }
    client.stop_instances(InstanceIds=[others["stopped"]])
    return Classroom(client, ids, others, keys, subnets)


def query(**kwargs: Any) -> Ec2Query:
    kwargs.setdefault("tags", [COURSE, TRAINEE])
    return Ec2Query(region=REGION, **kwargs)


@contextmanager
def count_calls(client: Any, operation: str) -> Iterator[list[str]]:
    calls: list[str] = []
    event = f"before-call.ec2.{operation}"

    def count(**_: Any) -> None:
        calls.append(operation)

    client.meta.events.register(event, count)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, count)


def by_id(roster: Roster) -> dict[str, Trainee]:
    return {trainee.ec2["instance_id"]: trainee for trainee in roster.trainees}


def found_ids(roster: Roster) -> set[str]:
    return set(by_id(roster)) | {p.source.removeprefix("ec2:") for p in roster.problems}


def described(client: Any, instance_id: str) -> dict[str, Any]:
    return client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


@pytest.fixture(scope="class")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Classroom]:
    """One moto classroom per test class: the tests only read it, and a moto backend costs seconds."""
    tmp_path = tmp_path_factory.mktemp("classroom")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_from_real_aws(monkeypatch, tmp_path / "aws-empty")
        fake_credentials(monkeypatch)
        with mock_aws():
            yield build_classroom(tmp_path)


class TestClassroom:
    """Discovery against moto's EC2; the mock ends with the class, before the tests that need none."""

    @pytest.fixture(autouse=True)
    def credentials(self, no_real_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
        fake_credentials(monkeypatch)  # for clients the code under test builds itself

    def test_names_sorted_and_paged(self, classroom: Classroom):
        with count_calls(classroom.client, "DescribeInstances") as calls:
            roster = discover(query(), client=classroom.client, page_size=5)
        assert len(calls) == 3  # 12 matching instances, 5 per page
        # By default the instance id keys the row; the Name tag is only shown before it.
        gradeable = [i for i in range(len(CLASS)) if i not in NO_PUBLIC_ADDRESS]
        expected = sorted(
            f"{CLASS[i][0]} ({classroom.ids[i]})" if CLASS[i][0] else classroom.ids[i] for i in gradeable
        )
        assert [tr.name for tr in roster.trainees] == expected
        assert expected[0] == classroom.ids[NONAME]  # "i-..." sorts before Hangul
        kims = [tr for tr in roster.trainees if tr.name.startswith("김민수")]
        assert {tr.ec2["instance_id"] for tr in kims} == {classroom.ids[KIM], classroom.ids[KIM2]}
        assert "김민수" not in {tr.name for tr in roster.trainees}  # nobody gets a bare name from a tag
        for trainee in roster.trainees:
            assert trainee.source == f"ec2:{trainee.ec2['instance_id']}"
            assert trainee.user is None and trainee.port is None
        assert found_ids(roster) == set(classroom.ids)

    def test_name_tag_identity_reports_the_two_kims(self, classroom: Classroom):
        roster = discover(query(identity="name-tag"), client=classroom.client)
        gradeable = [i for i in range(len(CLASS)) if i not in (*NO_PUBLIC_ADDRESS, KIM, KIM2, NONAME)]
        assert [tr.name for tr in roster.trainees] == sorted(
            [CLASS[i][0] for i in gradeable] + [classroom.ids[NONAME]]
        )
        kims = {p.source: p for p in roster.problems if "김민수" in (p.name or "")}
        assert set(kims) == {f"ec2:{classroom.ids[KIM]}", f"ec2:{classroom.ids[KIM2]}"}
        for source, problem in kims.items():
            assert problem.name == f"김민수 ({source.removeprefix('ec2:')})"
            assert "인스턴스 2개" in problem.message.ko and "어느 것도 채점하지 않고" in problem.message.ko
            assert classroom.ids[KIM] in problem.message.ko and classroom.ids[KIM2] in problem.message.ko
        assert found_ids(roster) == set(classroom.ids)

    def test_excludes_stopped_other_course_and_other_role(self, classroom: Classroom):
        found = found_ids(discover(query(), client=classroom.client))
        assert not found & set(classroom.others.values())

    def test_tag_wildcards(self, classroom: Classroom):
        spring = found_ids(discover(query(tags=[("Course", "airflow-2025-*")]), client=classroom.client))
        assert spring == set(classroom.ids) | {classroom.others["champion"]}
        every = found_ids(discover(query(tags=[("Course", "airflow-20??-*")]), client=classroom.client))
        assert every == spring | {classroom.others["other_course"]}
        assert not found_ids(discover(query(tags=[("Course", "airflow-2023-*")]), client=classroom.client))

    def test_public_addresses_and_ec2_facts(self, classroom: Classroom):
        trainees = by_id(discover(query(), client=classroom.client))
        assert len(trainees) == len(CLASS) - len(NO_PUBLIC_ADDRESS)
        for instance_id, trainee in trainees.items():
            inst = described(classroom.client, instance_id)
            assert inst["PublicDnsName"] and trainee.host == inst["PublicDnsName"]
            info = trainee.ec2
            assert info["public_ip"] == inst["PublicIpAddress"]
            assert info["private_ip"] == inst["PrivateIpAddress"]
            assert info["instance_type"] == inst["InstanceType"]
            assert info["subnet_id"] == inst["SubnetId"] and info["vpc_id"] == inst["VpcId"]
            assert info["availability_zone"] == inst["Placement"]["AvailabilityZone"]
            assert info["image_id"] == inst["ImageId"]
            assert info["key_name"] == inst.get("KeyName")
            assert dt.datetime.fromisoformat(info["launch_time"]) == inst["LaunchTime"]
            assert info["launch_time"].endswith("+00:00")
            assert info["platform_details"] == inst.get("PlatformDetails")
            json.dumps(info)  # the report writes it as JSON
        assert trainees[classroom.ids[LEE]].ec2["instance_type"] == "t2.micro"

    def test_no_public_address_is_a_problem(self, classroom: Classroom):
        roster = discover(query(), client=classroom.client)
        problems = {p.source: p for p in roster.problems}
        assert set(problems) == {f"ec2:{classroom.ids[i]}" for i in NO_PUBLIC_ADDRESS}
        for i in NO_PUBLIC_ADDRESS:
            problem = problems[f"ec2:{classroom.ids[i]}"]
            assert problem.line == 0
            assert CLASS[i][0] in problem.message.ko and classroom.ids[i] in problem.message.ko
            assert "퍼블릭" in problem.message.ko and "--ec2-private" in problem.message.ko
            assert "no public IP" in problem.message.en and "--ec2-private" in problem.message.en

    def test_use_private(self, classroom: Classroom):
        roster = discover(query(use_private=True), client=classroom.client)
        assert roster.problems == []
        trainees = by_id(roster)
        assert set(trainees) == set(classroom.ids)
        for instance_id, trainee in trainees.items():
            assert trainee.host == described(classroom.client, instance_id)["PrivateIpAddress"]
        assert trainees[classroom.ids[KANG]].host.startswith("10.0.2.")

    def test_key_files(self, classroom: Classroom):
        trainees = by_id(discover(query(key_dir=classroom.keys), client=classroom.client))

        def of(i: int) -> Trainee:
            return trainees[classroom.ids[i]]

        assert of(KIM).key == str(classroom.keys / "class-key.pem")  # .pem before the bare decoy
        assert of(PARK).key == str(classroom.keys / "plain-key")
        assert of(CHOI).key == str(classroom.keys / "alt-key.key")
        assert of(JUNG).key is None
        assert of(JUNG).ec2["key_name"] == "lost-key" and of(JUNG).ec2["key_file_missing"] is True
        assert of(HAN).key is None and of(HAN).ec2["key_name"] is None
        assert "key_file_missing" not in of(HAN).ec2 and "key_file_missing" not in of(KIM).ec2

        without = by_id(discover(query(), client=classroom.client))
        assert all(tr.key is None and "key_file_missing" not in tr.ec2 for tr in without.values())
        assert without[classroom.ids[PARK]].ec2["key_name"] == "plain-key"

    def test_public_subnet_from_route_tables(self, classroom: Classroom):
        with count_calls(classroom.client, "DescribeRouteTables") as calls:
            trainees = by_id(discover(query(use_private=True), client=classroom.client))
        assert len(calls) == 2  # one per VPC (course VPC, default VPC), however many instances
        public = {i: trainees[classroom.ids[i]].ec2["public_subnet"] for i in range(len(CLASS))}
        assert public[KIM] is True  # explicit table with 0.0.0.0/0 -> igw
        assert public[CHO] is True  # same subnet, even though the instance has no public IP
        assert public[KANG] is False  # 0.0.0.0/0 -> NAT gateway is not public
        assert public[YOON] is True  # no explicit table: the default VPC's main table has the igw route
        assert public[OH] is False  # explicit local-only table wins over the main table

    def test_advisories_from_discovered_instances(self, classroom: Classroom):
        trainees = by_id(discover(query(), client=classroom.client))
        assert instance_advisories(trainees[classroom.ids[KIM]].ec2) == []
        (small,) = instance_advisories(trainees[classroom.ids[LEE]].ec2)
        assert "t2.micro(1 GiB)" in small.ko
        (isolated,) = instance_advisories(trainees[classroom.ids[OH]].ec2)
        assert classroom.subnets["isolated"] in isolated.ko and "프라이빗 서브넷" in isolated.ko

    def test_default_client_from_query(self, classroom: Classroom):
        injected = discover(query(), client=classroom.client)
        built = discover(query())
        assert [tr.name for tr in built.trainees] == [tr.name for tr in injected.trainees]
        assert len(built.trainees) == len(CLASS) - len(NO_PUBLIC_ADDRESS)


# --- Who an instance belongs to (--ec2-identity) ---------------------------------------------------

OWNER = "Owner"
# Name (and Owner) tags that must never key a row: the points row, the header, look-alikes, controls.
# (EC2 answers in XML, which cannot carry most C0 controls; the stubbed tests below send ESC.)
RESERVED_TAGS = ["(배점)", "（배점）", "( 배점 )", "(배\u200b점)", "NAME", "\u3164", "김\u202e수민"]
BIDI_TAG_INDEX = RESERVED_TAGS.index("김\u202e수민")


@dataclass
class IdentityRoom:
    client: Any
    ids: dict[str, str]  # who -> instance id


def build_identity_room() -> IdentityRoom:
    """Small scenarios, each under its own Course tag, in moto's default VPC (public IPs)."""
    client = boto3.client("ec2", region_name=REGION)
    for key in ("bob-key", "mallory-key", "shared-key", "dave-key"):
        client.create_key_pair(KeyName=key)
    ids: dict[str, str] = {}

    def launch(who: str, course: str, key: str, **tag_values: str) -> None:
        pairs = [("Course", course), *tag_values.items()]
        ids[who] = client.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t2.large", KeyName=key,
            TagSpecifications=tags(*pairs),
        )["Instances"][0]["InstanceId"]  # fmt: skip

    launch("mallory", "takeover", "mallory-key", Name="Bob", Owner="Mallory")  # launched first
    launch("bob", "takeover", "bob-key", Name="Bob", Owner="Bob")
    launch("alice1", "dup", "shared-key", Name="alice-1", Owner="Alice")
    launch("alice2", "dup", "shared-key", Name="alice-2", Owner="alice\u200b")  # the same, to the eye
    launch("carol", "dup", "shared-key", Name="carol", Owner="Carol")
    launch("untagged", "dup", "shared-key", Name="who")
    for index, name in enumerate(RESERVED_TAGS):
        launch(f"reserved{index}", "reserved", "shared-key", Name=name, Owner=name)
    launch("m_bob", "map", "bob-key", Name="Mallory")
    launch("m_carol", "map", "shared-key", Name="carol")
    launch("m_stranger", "map", "shared-key", Name="Carol")
    launch("m_dave1", "map", "dave-key", Name="dave")
    launch("m_dave2", "map", "dave-key", Name="dave")
    return IdentityRoom(client, ids)


@pytest.fixture(scope="class")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityRoom]:
    tmp_path = tmp_path_factory.mktemp("identity")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_from_real_aws(monkeypatch, tmp_path / "aws-empty")
        fake_credentials(monkeypatch)
        with mock_aws():
            yield build_identity_room()


def names_of(roster: Roster) -> dict[str, str]:
    """Row name -> instance id, trainees and named problems alike."""
    found = {tr.name: tr.ec2["instance_id"] for tr in roster.trainees}
    found.update({p.name: p.source.removeprefix("ec2:") for p in roster.problems if p.name})
    return found


class TestIdentity:
    """An earlier instance tagged "Bob" must not become Bob; duplicates and reserved names are refused."""

    @pytest.fixture(autouse=True)
    def credentials(self, no_real_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
        fake_credentials(monkeypatch)

    def find(self, room: IdentityRoom, course: str, taken: Roster | None = None, **kwargs: Any) -> Roster:
        return discover(query(tags=[("Course", course)], **kwargs), client=room.client, taken=taken)

    def test_takeover_by_default_both_keep_their_instance_id(self, room: IdentityRoom):
        roster = self.find(room, "takeover")
        assert roster.problems == []
        assert names_of(roster) == {
            f"Bob ({room.ids['mallory']})": room.ids["mallory"],
            f"Bob ({room.ids['bob']})": room.ids["bob"],
        }

    def test_takeover_with_an_owner_tag(self, room: IdentityRoom):
        roster = self.find(room, "takeover", owner_tag=OWNER, identity="owner-tag")
        assert roster.problems == []
        assert names_of(roster) == {"Bob": room.ids["bob"], "Mallory": room.ids["mallory"]}

    def test_takeover_with_the_name_tag_is_reported_not_merged(self, room: IdentityRoom):
        roster = self.find(room, "takeover", identity="name-tag")
        assert roster.trainees == []
        assert names_of(roster) == {
            f"Bob ({room.ids['mallory']})": room.ids["mallory"],
            f"Bob ({room.ids['bob']})": room.ids["bob"],
        }
        for problem in roster.problems:
            assert "인스턴스 2개" in problem.message.ko and "Bob" in problem.message.ko
            assert "점수표의 Bob 행도 바꾸지 않습니다" in problem.message.ko
            assert "--ec2-map" in problem.message.ko and "none is graded" in problem.message.en

    def test_takeover_of_a_roster_csv_name(self, room: IdentityRoom):
        roster_csv = Roster(trainees=[Trainee("bob", "10.0.0.9", source="roster.csv:2")])
        roster = self.find(room, "takeover", taken=roster_csv, owner_tag=OWNER, identity="owner-tag")
        assert [tr.name for tr in roster.trainees] == ["Mallory"]
        (problem,) = roster.problems
        assert problem.name == f"Bob ({room.ids['bob']})"  # its own row, not the roster's bob
        assert "명단 CSV(roster.csv:2)" in problem.message.ko and "덮어쓰지 않도록" in problem.message.ko

    def test_takeover_with_a_map(self, room: IdentityRoom, tmp_path: Path):
        path = tmp_path / "map.csv"
        path.write_text(f"name,instance_id\nBob,{room.ids['bob']}\n", encoding="utf-8")
        roster = self.find(room, "takeover", identity="map", instance_map=read_instance_map(path))
        assert [(tr.name, tr.ec2["instance_id"]) for tr in roster.trainees] == [("Bob", room.ids["bob"])]
        (stranger,) = roster.problems
        assert (
            stranger.name == f"Bob ({room.ids['mallory']})"
            and stranger.source == f"ec2:{room.ids['mallory']}"
        )
        assert "--ec2-map에 없는 인스턴스" in stranger.message.ko and "mallory-key" in stranger.message.ko

    def test_owner_tag_duplicates_and_missing_tag(self, room: IdentityRoom):
        roster = self.find(room, "dup", owner_tag=OWNER, identity="owner-tag")
        assert [tr.name for tr in roster.trainees] == ["Carol"]
        problems = {p.source.removeprefix("ec2:"): p for p in roster.problems}
        assert set(problems) == {room.ids["alice1"], room.ids["alice2"], room.ids["untagged"]}
        assert problems[room.ids["alice1"]].name == f"Alice ({room.ids['alice1']})"
        assert problems[room.ids["alice2"]].name == f"alice ({room.ids['alice2']})"
        for who in ("alice1", "alice2"):
            message = problems[room.ids[who]].message.ko
            assert room.ids["alice1"] in message and room.ids["alice2"] in message
            assert "Owner 태그는 이 연수생의 인스턴스 하나에만 남기세요" in message
        untagged = problems[room.ids["untagged"]]
        assert untagged.name == f"who ({room.ids['untagged']})"
        assert "Owner 태그가 없어" in untagged.message.ko and untagged.host

    @pytest.mark.parametrize("identity", ["name-tag", "owner-tag"])
    def test_reserved_names_are_refused(self, room: IdentityRoom, identity: str):
        roster = self.find(
            room, "reserved", owner_tag=OWNER if identity == "owner-tag" else None, identity=identity
        )
        assert roster.trainees == []
        assert len(roster.problems) == len(RESERVED_TAGS)
        reserved = {name_key(name) for name in RESERVED_NAMES}
        for problem in roster.problems:
            assert problem.name is not None and name_key(problem.name) not in reserved
            assert problem.name.endswith(
                f"({problem.source.removeprefix('ec2:')})"
            ) or problem.name.startswith("i-")
            assert "이름을 쓸 수 없어 이 인스턴스는 채점하지 않습니다" in problem.message.ko
            assert "\u202e" not in problem.message.ko and "\u202e" not in problem.name
        messages = " ".join(p.message.ko for p in roster.problems)
        assert "배점 행" in messages and "머리글" in messages and "제어 문자" in messages
        assert "보이는 글자가 없습니다" in messages

    def test_reserved_labels_are_not_shown_by_default(self, room: IdentityRoom):
        roster = self.find(room, "reserved")
        assert roster.problems == []
        rows = {tr.ec2["instance_id"]: tr.name for tr in roster.trainees}
        for index in range(len(RESERVED_TAGS)):
            instance_id = room.ids[f"reserved{index}"]
            # The direction override goes; the reserved look-alikes leave the bare instance id.
            assert rows[instance_id] == (
                f"김수민 ({instance_id})" if index == BIDI_TAG_INDEX else instance_id
            )

    def test_map_by_instance_id_and_key_pair(self, room: IdentityRoom, tmp_path: Path):
        path = tmp_path / "map.csv"
        path.write_text(
            "name,instance_id,key_name\n"
            f"Bob,{room.ids['m_bob']},\n"
            f"Carol,{room.ids['m_carol']},\n"
            "Dave,,dave-key\n"
            "Erin,i-0000000000000000e,\n"  # no such instance running
            "(배점),,mallory-key\n"
            "Bob,i-zz,\n",  # a bad line for a trainee who is found: no second row for Bob
            encoding="utf-8",
        )
        roster = self.find(room, "map", identity="map", instance_map=read_instance_map(path))
        assert [(tr.name, tr.ec2["instance_id"]) for tr in roster.trainees] == [
            ("Bob", room.ids["m_bob"]),  # its Name tag says Mallory: the map decides
            ("Carol", room.ids["m_carol"]),  # shares a key pair, picked by instance id
        ]
        problems = {p.source: p for p in roster.problems}
        stranger = problems[f"ec2:{room.ids['m_stranger']}"]
        assert (
            stranger.name == f"Carol ({room.ids['m_stranger']})" and "--ec2-map에 없는" in stranger.message.ko
        )
        for who in ("m_dave1", "m_dave2"):
            dave = problems[f"ec2:{room.ids[who]}"]
            assert dave.name == f"Dave ({room.ids[who]})" and "인스턴스 2개" in dave.message.ko
            assert "instance_id를 적거나" in dave.message.ko
        erin = problems["map.csv:5"]
        assert erin.name == "Erin" and erin.line == 5 and "실행 중인 인스턴스가 없어" in erin.message.ko
        reserved = problems["map.csv:6"]
        assert reserved.name is None and "배점 행" in reserved.message.ko
        assert problems["map.csv:7"].name is None and "i-zz" in problems["map.csv:7"].message.ko
        assert "Dave" not in {p.name for p in roster.problems}  # Dave's instances are reported, not him


def test_terminal_escapes_in_tags():
    bob = instance("i-000b", "\x1b[2J\x1b[31mBob", T0, PublicIpAddress="3.3.3.2")
    client, stubber = stubbed([bob])
    with stubber:
        (trainee,) = discover(query(), client=client).trainees
    assert trainee.name == "[2J[31mBob (i-000b)"  # shown without the escape characters
    client, stubber = stubbed([bob])
    with stubber:
        (problem,) = discover(query(identity="name-tag"), client=client).problems
    assert problem.name == "[2J[31mBob (i-000b)" and "\x1b" not in problem.message.ko
    assert "제어 문자" in problem.message.ko and "\\u001b" in problem.message.ko


def test_a_name_holding_another_instance_id_is_refused():
    bob = instance("i-000b", "Bob", T0, PublicIpAddress="3.3.3.2")
    forger = instance("i-000a", "Bob (i-000b)", T0, PublicIpAddress="3.3.3.1")
    client, stubber = stubbed([bob, forger])
    with stubber:
        roster = discover(query(identity="name-tag"), client=client)
    assert [tr.name for tr in roster.trainees] == ["Bob"]
    (problem,) = roster.problems
    assert problem.name == "Bob (i-000b) (i-000a)" and "인스턴스 id가 들어 있어" in problem.message.ko


@pytest.mark.parametrize(
    ("identity", "owner_tag", "map_path", "expected"),
    [
        (None, None, None, "instance-id"),
        (None, "Owner", None, "owner-tag"),
        (None, None, "m.csv", "map"),
        ("name-tag", None, None, "name-tag"),
        ("owner-tag", "aws:cloudformation:stack-name", None, "owner-tag"),
        ("map", None, "m.csv", "map"),
    ],
)
def test_choose_identity(identity: str | None, owner_tag: str | None, map_path: str | None, expected: str):
    assert choose_identity(identity, owner_tag, map_path) == expected


@pytest.mark.parametrize(
    ("identity", "owner_tag", "map_path", "fragment"),
    [
        (None, "Owner", "m.csv", "함께 쓸 수 없습니다"),
        ("owner-tag", None, None, "--ec2-owner-tag 옵션도 필요합니다"),
        ("map", None, None, "--ec2-map 옵션도 필요합니다"),
        ("instance-id", None, "m.csv", "--ec2-map 옵션은 --ec2-identity map에서만"),
        ("name-tag", "Owner", None, "--ec2-owner-tag 옵션은 --ec2-identity owner-tag에서만"),
        (None, " ", None, "비어 있습니다"),
    ],
)
def test_choose_identity_conflicts(
    identity: str | None, owner_tag: str | None, map_path: str | None, fragment: str
):
    with pytest.raises(Ec2Error) as caught:
        choose_identity(identity, owner_tag, map_path)
    assert fragment in caught.value.message.ko


# --- Stubbed responses: shapes moto does not produce ---------------------------------------------


@cache
def fake_session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def stub_client(**kwargs: Any) -> Any:
    return fake_session().client("ec2", **kwargs)


def instance(instance_id: str, name: str | None, launched: dt.datetime, **fields: Any) -> dict[str, Any]:
    inst = {"InstanceId": instance_id, "InstanceType": "t2.large", "LaunchTime": launched, **fields}
    if name:
        inst["Tags"] = [{"Key": "Name", "Value": name}]
    return inst


def stubbed(instances: list[dict[str, Any]]) -> tuple[Any, Stubber]:
    client = stub_client()
    stubber = Stubber(client)
    stubber.add_response("describe_instances", {"Reservations": [{"Instances": instances}]})
    return client, stubber


T0 = dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.UTC)


def test_same_name_tag_twice_is_never_merged():
    later = instance("i-000a", "김민수", T0 + dt.timedelta(minutes=5), PublicIpAddress="3.3.3.1")
    earlier = instance("i-000b", "김민수", T0, PublicIpAddress="3.3.3.2")
    client, stubber = stubbed([later, earlier])
    with stubber:
        roster = discover(query(), client=client)
    assert [(tr.name, tr.host) for tr in roster.trainees] == [
        ("김민수 (i-000a)", "3.3.3.1"),
        ("김민수 (i-000b)", "3.3.3.2"),
    ]
    client, stubber = stubbed([later, earlier])
    with stubber:
        roster = discover(query(identity="name-tag"), client=client)
    assert roster.trainees == []  # the earlier launch no longer wins the name
    assert [(p.name, p.host) for p in roster.problems] == [
        ("김민수 (i-000a)", "3.3.3.1"),
        ("김민수 (i-000b)", "3.3.3.2"),
    ]
    assert all("김민수" in p.message.ko and "Name" in p.message.ko for p in roster.problems)


def test_address_fallbacks():
    # AWS sends "" for a missing DNS name (VPC without DNS hostnames).
    ip_only = instance(
        "i-0001", "가", T0, PublicDnsName="", PublicIpAddress="3.3.3.3", PrivateDnsName="ip-10-0-0-9.internal"
    )
    client, stubber = stubbed([ip_only])
    with stubber:
        (trainee,) = discover(query(), client=client).trainees
    assert trainee.host == "3.3.3.3"
    assert trainee.ec2["public_dns"] is None and trainee.ec2["public_subnet"] is None
    client, stubber = stubbed([ip_only])
    with stubber:
        (trainee,) = discover(query(use_private=True), client=client).trainees
    assert trainee.host == "ip-10-0-0-9.internal"


def test_launch_time_is_utc_iso():
    kst = dt.timezone(dt.timedelta(hours=9))
    client, stubber = stubbed(
        [instance("i-0001", "가", dt.datetime(2025, 3, 4, 9, 0, tzinfo=kst), PublicIpAddress="3.3.3.3")]
    )
    with stubber:
        (trainee,) = discover(query(), client=client).trainees
    assert trainee.ec2["launch_time"] == "2025-03-04T00:00:00+00:00"


def test_blank_name_tag_falls_back_to_instance_id():
    client, stubber = stubbed([instance("i-0blank", "  ", T0, PublicIpAddress="3.3.3.3")])
    with stubber:
        (trainee,) = discover(query(), client=client).trainees
    assert trainee.name == "i-0blank"


def test_route_tables_denied_leaves_public_subnet_unknown():
    inst = instance("i-0001", "가", T0, PublicIpAddress="3.3.3.3", VpcId="vpc-1", SubnetId="subnet-1")
    client, stubber = stubbed([inst])
    stubber.add_client_error(
        "describe_route_tables", service_error_code="UnauthorizedOperation", http_status_code=403
    )
    with stubber:
        roster = discover(query(), client=client)
    stubber.assert_no_pending_responses()
    (trainee,) = roster.trainees
    assert trainee.host == "3.3.3.3" and trainee.ec2["public_subnet"] is None


# --- Whole-run errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "ko", "en"),
    [
        ("UnauthorizedOperation", "ec2:DescribeInstances 권한", "ec2:DescribeInstances"),
        ("AuthFailure", "자격 증명을 거부", "rejected the credentials"),
        ("InvalidClientTokenId", "액세스 키", "access key"),
        ("RequestExpired", "시계", "clock"),
        ("OptInRequired", f"리전 {REGION}", f"Region {REGION}"),
        ("RequestLimitExceeded", "잠시 후", "try again"),
        ("InvalidParameterValue", "InvalidParameterValue", "refused DescribeInstances"),
    ],
)
def test_client_errors(code: str, ko: str, en: str):
    client = stub_client()
    stubber = Stubber(client)
    stubber.add_client_error(
        "describe_instances", service_error_code=code, service_message="denied", http_status_code=403
    )
    with stubber, pytest.raises(Ec2Error) as caught:
        discover(query(), client=client)
    assert ko in caught.value.message.ko and HANGUL.search(caught.value.message.ko)
    assert en in caught.value.message.en
    assert code in caught.value.message.ko
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_error_text_never_echoes_access_keys():
    client = stub_client()
    stubber = Stubber(client)
    message = "Key AKIAIOSFODNN7EXAMPLE is not allowed; secret=wJalrXUtnFEMI/K7MDENG"
    stubber.add_client_error("describe_instances", service_error_code="SomethingOdd", service_message=message)
    with stubber, pytest.raises(Ec2Error) as caught:
        discover(query(), client=client)
    text = caught.value.message
    for rendered in (text.ko, text.en, str(caught.value)):
        assert "AKIAIOSFODNN7EXAMPLE" not in rendered and "wJalrXUtnFEMI" not in rendered
    assert "SomethingOdd" in text.ko


def test_no_credentials():
    with pytest.raises(Ec2Error) as caught:
        discover(query())
    assert (
        "AWS 자격 증명을 찾을 수 없습니다" in caught.value.message.ko
        and "aws configure" in caught.value.message.ko
    )
    assert "No AWS credentials" in caught.value.message.en


def test_no_region(monkeypatch: pytest.MonkeyPatch):
    fake_credentials(monkeypatch)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(Ec2Error) as caught:
        discover(Ec2Query(region="", tags=[COURSE]))
    assert "리전" in caught.value.message.ko and "--region" in caught.value.message.ko


def test_profile_not_found(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(Ec2Error) as caught:
        discover(query(profile="없는프로필"))
    assert "없는프로필" in caught.value.message.ko and "profile" in caught.value.message.en


def test_endpoint_unreachable():
    config = Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1})
    client = stub_client(endpoint_url="http://127.0.0.1:9", config=config)  # port 9: nothing listens
    started = time.monotonic()
    with pytest.raises(Ec2Error) as caught:
        discover(query(), client=client)
    assert time.monotonic() - started < 2
    assert "연결할 수 없습니다" in caught.value.message.ko and "http://127.0.0.1:9" in caught.value.message.ko
    assert REGION in caught.value.message.en


# --- Pure parts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Course=airflow", ("Course", "airflow")),
        ("Course=airflow-2025-*", ("Course", "airflow-2025-*")),
        ("과정=에어플로우=1반", ("과정", "에어플로우=1반")),
        ("tag:Course=a", ("Course", "a")),
        ("Course=*", ("Course", "*")),
    ],
)
def test_parse_tag_filter(text: str, expected: tuple[str, str]):
    assert parse_tag_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [("Key", "'='"), ("=v", "태그 키"), ("", "비어"), ("  ", "비어"), ("Course=", "Course=*")],
)
def test_parse_tag_filter_errors(text: str, hint: str):
    with pytest.raises(Ec2Error) as caught:
        parse_tag_filter(text)
    assert (
        hint in caught.value.message.ko and "Key=Value" in caught.value.message.ko + caught.value.message.en
    )
    assert HANGUL.search(caught.value.message.ko) and not HANGUL.search(
        caught.value.message.en.replace(text, "")
    )


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("t2.micro", "인스턴스 유형 t2.micro(1 GiB)는 가이드의 t2.large(8 GiB)보다 작습니다"),
        ("t3.nano", "t3.nano(0.5 GiB)"),
        ("t4g.medium", "t4g.medium(4 GiB)"),
        ("c5.large", "c5.large(4 GiB)"),
        ("t2.large", None),
        ("c6i.xlarge", None),  # 8 GiB: as much as the guide
        ("m7i.large", None),
        ("x9.huge", None),  # unknown: no guess
        (None, None),
    ],
)
def test_size_advisory(instance_type: str | None, expected: str | None):
    notes = instance_advisories({"instance_type": instance_type, "public_subnet": True})
    if expected is None:
        assert notes == []
    else:
        (note,) = notes
        assert expected in note.ko and "t2.large (8 GiB)" in note.en


def test_memory_table_covers_the_common_types():
    for family in ("t2", "t3", "t3a", "t4g"):
        assert [
            INSTANCE_MEMORY_GIB[f"{family}.{s}"]
            for s in ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge")
        ] == [0.5, 1, 2, 4, 8, 16, 32]
    for family in ("m5", "m6i", "m7i"):
        assert (INSTANCE_MEMORY_GIB[f"{family}.large"], INSTANCE_MEMORY_GIB[f"{family}.xlarge"]) == (8, 16)
    for family in ("c5", "c6i"):
        assert (INSTANCE_MEMORY_GIB[f"{family}.large"], INSTANCE_MEMORY_GIB[f"{family}.xlarge"]) == (4, 8)


@pytest.mark.parametrize(("public", "advised"), [(False, True), (True, False), (None, False)])
def test_private_subnet_advisory(public: bool | None, advised: bool):
    notes = instance_advisories(
        {"instance_type": "t2.large", "public_subnet": public, "subnet_id": "subnet-9"}
    )
    assert bool(notes) is advised
    if advised:
        assert "subnet-9" in notes[0].ko and "igw" in notes[0].ko and "internet gateway" in notes[0].en


def test_missing_key_file_advisory():
    (note,) = instance_advisories({"key_name": "lost-key", "key_file_missing": True})
    assert "lost-key.pem" in note.ko and "--key-dir" in note.en


def route_table(
    routes: list[tuple[str, str, str]],
    *,
    subnet: str | None = None,
    main: bool = False,
    state: str = "associated",
) -> dict[str, Any]:
    assoc: dict[str, Any] = {"Main": main, "AssociationState": {"State": state}}
    if subnet:
        assoc["SubnetId"] = subnet
    return {
        "Associations": [assoc],
        "Routes": [{"DestinationCidrBlock": d, "GatewayId": g, "State": s} for d, g, s in routes],
    }


LOCAL = ("10.0.0.0/16", "local", "active")
TO_IGW = ("0.0.0.0/0", "igw-1", "active")


def test_subnet_is_public_rules():
    main_public = route_table([LOCAL, TO_IGW], main=True)
    assert subnet_is_public([main_public], "subnet-1") is True
    assert subnet_is_public([main_public, route_table([LOCAL], subnet="subnet-1")], "subnet-1") is False
    gone = route_table([LOCAL], subnet="subnet-1", state="disassociated")
    assert subnet_is_public([main_public, gone], "subnet-1") is True
    blackhole = route_table([LOCAL, ("0.0.0.0/0", "igw-1", "blackhole")], subnet="subnet-1")
    assert subnet_is_public([blackhole], "subnet-1") is False
    assert (
        subnet_is_public([route_table([LOCAL, ("10.1.0.0/16", "igw-1", "active")], main=True)], "subnet-1")
        is False
    )
    assert subnet_is_public([], "subnet-1") is None
