"""Find a class's nodes on EC2: running instances with the course's tags become a Roster.

`grade --ec2 --region ap-northeast-2 --tag Course=airflow-2025 ...` calls `discover`; the result is
the same `Roster` a CSV gives (trainees + problems), so the rest of the CLI treats both alike.
Only read-only EC2 calls are made: DescribeInstances and DescribeRouteTables.

Who an instance belongs to is the champion's call, never the instance's Name tag alone (a trainee
can set that to anyone's name): by default the instance id keys the scoreboard row, with the Name
tag only shown beside it; or a tag the champion sets (`owner-tag`), or the champion's CSV (`map`).
Two instances claiming one trainee are both reported and neither is graded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from grader.i18n import Text, t
from grader.redact import redact
from grader.roster import (
    InstanceMap,
    Roster,
    RosterProblem,
    Trainee,
    display_label,
    name_key,
    name_problem,
    visible,
)

# The guide's instance type and its memory; smaller types get an advisory.
GUIDE_INSTANCE_TYPE = "t2.large"
GUIDE_MEMORY_GIB = 8.0

_SIZES_T = {"nano": 0.5, "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
# Memory (GiB) of common instance types; unknown types get no advisory.
INSTANCE_MEMORY_GIB: dict[str, float] = {
    **{f"{family}.{size}": gib for family in ("t2", "t3", "t3a", "t4g") for size, gib in _SIZES_T.items()},
    **{
        f"{family}.{size}": gib
        for family in ("m5", "m6i", "m7i")
        for size, gib in (("large", 8), ("xlarge", 16))
    },
    **{f"{family}.{size}": gib for family in ("c5", "c6i") for size, gib in (("large", 4), ("xlarge", 8))},
}

# How a trainee is told apart on EC2 (`--ec2-identity`); see `choose_identity`.
IDENTITIES = ("instance-id", "owner-tag", "map", "name-tag")
IDENTITY_FLAGS = {"owner-tag": "--ec2-owner-tag", "map": "--ec2-map"}

_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b")
_KEY_SUFFIXES = (".pem", "", ".key")


class Ec2Error(Exception):
    """EC2 cannot be asked at all (credentials, region, permissions, network, a bad --tag)."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.ko)
        self.message = message


@dataclass(frozen=True)
class Ec2Query:
    """Which instances form the class and how to reach them."""

    region: str
    tags: list[tuple[str, str]] = field(default_factory=list)  # all must match; '*'/'?' wildcards
    name_tag: str = "Name"  # shown beside the instance id; the trainee's name only if identity="name-tag"
    use_private: bool = False  # connect to the private IP/DNS (grading from inside the VPC)
    key_dir: Path | None = None  # key file = key_dir / "{KeyName}.pem" (or no extension, or .key)
    profile: str | None = None  # AWS profile name
    identity: str = "instance-id"  # one of IDENTITIES
    owner_tag: str | None = None  # identity="owner-tag": a tag the champion sets, trainees cannot change
    instance_map: InstanceMap | None = None  # identity="map": the champion's instance -> trainee CSV


def choose_identity(identity: str | None, owner_tag: str | None, map_path: str | None) -> str:
    """`--ec2-identity` as given, else implied by `--ec2-owner-tag`/`--ec2-map`, else the instance id."""
    if owner_tag is not None and not owner_tag.strip():
        raise Ec2Error(
            t("--ec2-owner-tag에 준 태그 이름이 비어 있습니다", "--ec2-owner-tag has an empty tag name")
        )
    implied = [mode for mode, given in (("owner-tag", owner_tag), ("map", map_path)) if given]
    if identity is None:
        if len(implied) > 1:
            raise Ec2Error(
                t(
                    "--ec2-owner-tag와 --ec2-map은 함께 쓸 수 없습니다: 연수생을 가리는 방법을 하나만 고르세요",
                    "--ec2-owner-tag and --ec2-map cannot be combined: choose one way to tell trainees apart",
                )
            )
        return implied[0] if implied else "instance-id"
    if identity in IDENTITY_FLAGS and identity not in implied:
        raise Ec2Error(
            t(
                "--ec2-identity {i}에는 {f} 옵션도 필요합니다 (예: {e})",
                "--ec2-identity {i} needs {f} (e.g. {e})",
                i=identity,
                f=IDENTITY_FLAGS[identity],
                e="--ec2-owner-tag Owner" if identity == "owner-tag" else "--ec2-map 3기-인스턴스.csv",
            )
        )
    for extra in implied:
        if extra != identity:
            raise Ec2Error(
                t(
                    "{f} 옵션은 --ec2-identity {x}에서만 씁니다 (지금은 {i})",
                    "{f} only goes with --ec2-identity {x} (not {i})",
                    f=IDENTITY_FLAGS[extra],
                    x=extra,
                    i=identity,
                )
            )
    return identity


def parse_tag_filter(text: str) -> tuple[str, str]:
    """`Course=airflow-*` -> ("Course", "airflow-*"); the value may hold EC2 wildcards."""
    key, sep, value = text.partition("=")
    if key.startswith("tag:"):
        key = key[len("tag:") :]
    if not text.strip():
        raise Ec2Error(
            t(
                "--tag 값이 비어 있습니다: Key=Value 꼴로 쓰세요 (예: Course=airflow)",
                "--tag is empty: use Key=Value (e.g. Course=airflow)",
            )
        )
    if not sep:
        raise Ec2Error(
            t(
                "--tag {v}에 '='가 없습니다: Key=Value 꼴로 쓰세요 (예: Course=airflow)",
                "--tag {v} has no '=': use Key=Value (e.g. Course=airflow)",
                v=text,
            )
        )
    if not key.strip():
        raise Ec2Error(
            t(
                "--tag {v}의 태그 키가 비어 있습니다: Key=Value 꼴로 쓰세요",
                "--tag {v} has an empty tag key: use Key=Value",
                v=text,
            )
        )
    if not value:
        raise Ec2Error(
            t(
                "--tag {v}의 값이 비어 있습니다: Key=Value 꼴로 값을 쓰고, 값과 상관없이 태그만 있으면 되면 {k}=* 로 쓰세요",
                "--tag {v} has an empty value: use Key=Value, or {k}=* to match any value of the tag",
                v=text,
                k=key,
            )
        )
    return key, value


def discover(
    query: Ec2Query, *, client: Any = None, page_size: int | None = None, taken: Roster | None = None
) -> Roster:
    """Running instances matching every tag -> trainees; unreachable or unidentified ones -> problems.

    `client` is a boto3 EC2 client (made from `query` when omitted); `page_size` sets
    DescribeInstances' MaxResults (5-1000), mostly so tests can force several pages; `taken`
    is the roster CSV's class: an instance claiming one of its names is reported, not graded.
    """
    try:
        if client is None:
            client = make_client(query)
        instances = list(_running_instances(client, query.tags, page_size))
        return _build_roster(client, query, instances, taken.names() if taken else {})
    except (BotoCoreError, ClientError) as exc:
        raise Ec2Error(explain_aws_error(exc, query.region)) from None


def make_client(query: Ec2Query, **client_kwargs: Any) -> Any:
    """A boto3 EC2 client for the query's profile and region, with short timeouts and few retries."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=query.profile or None, region_name=query.region or None)
    config = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3})
    return session.client("ec2", config=config, **client_kwargs)


def _running_instances(client: Any, tags: Iterable[tuple[str, str]], page_size: int | None) -> Iterator[dict]:
    filters = [{"Name": "instance-state-name", "Values": ["running"]}]
    filters += [{"Name": f"tag:{key}", "Values": [value]} for key, value in tags]
    pagination = {"PageSize": page_size} if page_size else {}
    for page in client.get_paginator("describe_instances").paginate(
        Filters=filters, PaginationConfig=pagination
    ):
        for reservation in page.get("Reservations", []):
            yield from reservation.get("Instances", [])


@dataclass(frozen=True)
class _Claim:
    """Whom the champion's rule says an instance belongs to (`name`), or why it says nobody."""

    inst: dict
    row: str  # the instance's own row name: "Name tag (i-...)" or "i-..."
    name: str | None = None
    problem: Text | None = None

    @property
    def instance_id(self) -> str:
        return self.inst["InstanceId"]


def _build_roster(client: Any, query: Ec2Query, instances: list[dict], taken: dict[str, str]) -> Roster:
    ids = {inst["InstanceId"].casefold() for inst in instances}
    claims = sorted((_claim(inst, query, ids) for inst in instances), key=lambda c: (c.row, c.instance_id))
    groups: dict[str, list[_Claim]] = {}
    for claim in claims:
        if claim.name is not None:
            groups.setdefault(name_key(claim.name), []).append(claim)
    key_dir = query.key_dir.expanduser() if query.key_dir is not None else None
    route_tables: dict[str, list[dict] | None] = {}
    roster = Roster()
    for claim in claims:
        problem = _refusal(claim, groups, taken, query)
        if problem is not None:
            roster.problems.append(problem)
            continue
        assert claim.name is not None
        inst = claim.inst
        host = _address(inst, query.use_private)
        if host is None:
            # Named, so the scoreboard shows the trainee and why nobody could grade them.
            message = _no_address(claim.name, claim.instance_id, query.use_private)
            roster.problems.append(RosterProblem(f"ec2:{claim.instance_id}", 0, message, name=claim.name))
            continue
        info = _ec2_info(inst)
        info["public_subnet"] = _public_subnet(client, inst, route_tables)
        key: str | None = None
        if key_dir is not None and info["key_name"]:
            found = _find_key(key_dir, info["key_name"])
            if found is None:
                info["key_file_missing"] = True
            else:
                key = str(found)
        roster.trainees.append(
            Trainee(name=claim.name, host=host, key=key, source=f"ec2:{claim.instance_id}", ec2=info)
        )
    if query.identity == "map" and query.instance_map is not None:
        roster.problems += _map_leftovers(query.instance_map, groups, taken)
    roster.trainees.sort(key=lambda trainee: trainee.name)
    return roster


def _claim(inst: dict, query: Ec2Query, ids: set[str]) -> _Claim:
    instance_id = inst["InstanceId"]
    label = display_label(_tag(inst, query.name_tag))
    row = f"{label} ({instance_id})" if label else instance_id
    if query.identity == "instance-id":
        return _Claim(inst, row, name=row)
    if query.identity == "map":
        assert query.instance_map is not None
        entry = query.instance_map.owner(instance_id, inst.get("KeyName") or None)
        if entry is None:
            return _Claim(inst, row, problem=_not_in_map(inst))
        return _checked(inst, row, entry.name, t("--ec2-map({w})", "--ec2-map ({w})", w=entry.source), ids)
    tag = query.owner_tag if query.identity == "owner-tag" else query.name_tag
    assert tag
    value = _tag(inst, tag)
    if value is None:
        if query.identity == "name-tag":
            return _Claim(inst, row, name=instance_id)  # no name: the instance id is unique
        return _Claim(inst, row, problem=_no_owner_tag(tag))
    return _checked(inst, row, value, t("{k} 태그", "tag {k}", k=tag), ids)


def _checked(inst: dict, row: str, name: str, origin: Text, ids: set[str]) -> _Claim:
    why = name_problem(name)
    if why is None and any(instance_id in name_key(name) for instance_id in ids):
        why = t(
            "이름 {n}에 인스턴스 id가 들어 있어 다른 인스턴스의 점수표 행과 헷갈립니다",
            "The name {n} contains an instance id and would be confused with another instance's row",
            n=visible(name),
        )
    if why is None:
        return _Claim(inst, row, name=name)
    message = Text(
        f"{origin.ko}의 이름을 쓸 수 없어 이 인스턴스는 채점하지 않습니다: {why.ko}",
        f"The name from {origin.en} cannot be used, so this instance is not graded: {why.en}",
    )
    return _Claim(inst, row, problem=message)


def _refusal(
    claim: _Claim, groups: dict[str, list[_Claim]], taken: dict[str, str], query: Ec2Query
) -> RosterProblem | None:
    """The problem that keeps this instance from being graded, if any."""
    if claim.problem is not None:
        return _instance_problem(claim, claim.problem, claim.row, taken, query)
    assert claim.name is not None
    key = name_key(claim.name)
    group = groups[key]
    label = display_label(claim.name)  # this instance's own row: the claim, cleaned, and its id
    row = f"{label} ({claim.instance_id})" if label else claim.instance_id
    if len(group) > 1:
        return _instance_problem(claim, _duplicate(group, query), row, taken, query)
    if key in taken:
        message = t(
            "명단 CSV({w})의 {n}와(과) 같은 연수생으로 확인됩니다. 명단의 행을 덮어쓰지 않도록 이 인스턴스는 채점하지 않습니다",
            "Claims the same trainee as {n} in the roster CSV ({w}); not graded, so the roster's row is not overwritten",
            w=taken[key],
            n=visible(claim.name),
        )
        return _instance_problem(claim, message, row, taken, query)
    return None


def _instance_problem(
    claim: _Claim, message: Text, row: str, taken: dict[str, str], query: Ec2Query
) -> RosterProblem:
    """A problem shown as its own scoreboard row, never on a row someone else owns."""
    name = row if name_key(row) not in taken else None
    host = _address(claim.inst, query.use_private)
    return RosterProblem(f"ec2:{claim.instance_id}", 0, message, name=name, host=host)


def _duplicate(group: list[_Claim], query: Ec2Query) -> Text:
    # Look-alikes ("Bob", "bob\u200b") are one trainee: name them by the plainest spelling.
    plain = min((claim.name or "" for claim in group), key=lambda name: (visible(name) != name, name))
    each = ", ".join(f"{claim.instance_id} '{visible(claim.name or '')}'" for claim in group)
    claimed = t(
        "인스턴스 {c}개({each})가 모두 같은 연수생 {n}(으)로 확인됩니다. 어느 것이 {n}의 노드인지 정할 수 없어 어느 것도 채점하지 않고, 점수표의 {n} 행도 바꾸지 않습니다.",
        "{c} instances ({each}) all claim the same trainee {n}. Which one is {n}'s node cannot be decided, so none is graded and the scoreboard's {n} row is left as it is.",
        c=len(group),
        each=each,
        n=visible(plain),
    )
    if query.identity == "owner-tag":
        fix = t(
            "{k} 태그는 이 연수생의 인스턴스 하나에만 남기세요",
            "Keep the tag {k} on only one of this trainee's instances",
            k=query.owner_tag,
        )
    elif query.identity == "map":
        fix = t(
            "--ec2-map의 한 줄이 인스턴스 여러 개에 맞습니다(같은 키 페어 등). 채점할 인스턴스의 instance_id를 적거나, 쓰지 않는 인스턴스를 종료하세요",
            "A --ec2-map line matches several instances (e.g. a shared key pair): give the instance_id of the one to grade, or terminate the others",
        )
    else:
        fix = t(
            "{k} 태그는 연수생이 바꿀 수 있어 그대로 믿지 않습니다. 쓰지 않는 인스턴스를 종료하거나, --ec2-map으로 인스턴스마다 연수생을 정하세요",
            "The tag {k} can be set by trainees, so it is not trusted as is: terminate the unused instance or say who owns which instance with --ec2-map",
            k=query.name_tag,
        )
    return Text(f"{claimed.ko} {fix.ko}", f"{claimed.en} {fix.en}")


def _no_owner_tag(tag: str) -> Text:
    return t(
        "{k} 태그가 없어 누구의 노드인지 알 수 없으므로 채점하지 않습니다. 인스턴스에 {k} 태그를 붙이세요",
        "No {k} tag, so whose node this is is unknown and it is not graded; tag the instance with {k}",
        k=tag,
    )


def _not_in_map(inst: dict) -> Text:
    return t(
        "--ec2-map에 없는 인스턴스라 누구의 노드인지 알 수 없어 채점하지 않습니다 (키 페어: {k}). 이 인스턴스의 instance_id나 키 페어 이름(key_name)을 적은 줄을 매핑에 넣으세요",
        "Not in --ec2-map, so whose node this is is unknown and it is not graded (key pair: {k}); add a line with its instance_id or key_name",
        k=inst.get("KeyName") or "-",
    )


def _map_leftovers(
    instance_map: InstanceMap, groups: dict[str, list[_Claim]], taken: dict[str, str]
) -> list[RosterProblem]:
    """The map's bad lines, and its trainees no running instance belongs to.

    A bad line keeps its trainee's name (a scoreboard row saying why) unless that row is
    someone else's to write: the roster CSV's, or an instance's claiming the same trainee."""
    problems = [
        _unnamed(problem)
        if problem.name and ({name_key(problem.name)} & (taken.keys() | groups.keys()))
        else problem
        for problem in instance_map.problems
    ]
    reported = {name_key(p.name) for p in problems if p.name}
    for entry in instance_map.entries:
        key = name_key(entry.name)
        if key in groups or key in reported:
            continue
        reported.add(key)
        message = t(
            "--ec2-map에 있지만, --tag 조건에 맞는 실행 중인 인스턴스가 없어 채점하지 않습니다 (중지·종료되었거나 태그가 다릅니다)",
            "In --ec2-map, but no running instance matching --tag belongs to them (stopped, terminated or tagged differently)",
        )
        name = entry.name if key not in taken else None
        problems.append(RosterProblem(entry.source, entry.line, message, name=name))
    return problems


def _unnamed(problem: RosterProblem) -> RosterProblem:
    return RosterProblem(problem.source, problem.line, problem.message, name=None, host=problem.host)


def _tag(inst: dict, key: str) -> str | None:
    for tag in inst.get("Tags") or []:
        if tag.get("Key") == key:
            value = (tag.get("Value") or "").strip()
            return value or None
    return None


def _address(inst: dict, use_private: bool) -> str | None:
    # AWS reports a missing DNS name as "" rather than leaving the key out.
    if use_private:
        return inst.get("PrivateIpAddress") or inst.get("PrivateDnsName") or None
    return inst.get("PublicDnsName") or inst.get("PublicIpAddress") or None


def _no_address(name: str, instance_id: str, use_private: bool) -> Text:
    label = name if instance_id in name else f"{name}({instance_id})"
    if use_private:
        return t(
            "{n}: 프라이빗 주소가 없어 채점하지 않습니다",
            "{n}: no private address, so it is not graded",
            n=label,
        )
    return t(
        "{n}: 퍼블릭 IP·DNS가 없어 채점하지 않습니다 (프라이빗 서브넷이거나 퍼블릭 IP 자동 할당이 꺼져 있습니다). 같은 VPC 안에서 채점한다면 --ec2-private로 프라이빗 주소에 접속하세요",
        "{n}: no public IP or DNS name, so it is not graded (private subnet, or auto-assign public IP is off). When grading from inside the VPC, use --ec2-private to connect to the private address",
        n=label,
    )


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    return str(value) if value else None


def _ec2_info(inst: dict) -> dict[str, Any]:
    """What EC2 knows about the instance, JSON-serialisable."""
    return {
        "instance_id": inst["InstanceId"],
        "instance_type": inst.get("InstanceType"),
        "key_name": inst.get("KeyName") or None,
        "availability_zone": (inst.get("Placement") or {}).get("AvailabilityZone"),
        "subnet_id": inst.get("SubnetId") or None,
        "vpc_id": inst.get("VpcId") or None,
        "public_ip": inst.get("PublicIpAddress") or None,
        "public_dns": inst.get("PublicDnsName") or None,
        "private_ip": inst.get("PrivateIpAddress") or None,
        "private_dns": inst.get("PrivateDnsName") or None,
        "launch_time": _iso(inst.get("LaunchTime")),
        "platform_details": inst.get("PlatformDetails") or None,
        "image_id": inst.get("ImageId"),
    }


def _find_key(key_dir: Path, key_name: str) -> Path | None:
    if "/" in key_name or "\\" in key_name or key_name in (".", ".."):
        return None
    for suffix in _KEY_SUFFIXES:
        path = key_dir / f"{key_name}{suffix}"
        if path.is_file():
            return path
    return None


def _public_subnet(client: Any, inst: dict, cache: dict[str, list[dict] | None]) -> bool | None:
    """Does the subnet's route table send 0.0.0.0/0 to an internet gateway? None if unknown."""
    vpc_id, subnet_id = inst.get("VpcId"), inst.get("SubnetId")
    if not vpc_id or not subnet_id:
        return None
    if vpc_id not in cache:
        cache[vpc_id] = _route_tables(client, vpc_id)
    tables = cache[vpc_id]
    if tables is None:
        return None
    return subnet_is_public(tables, subnet_id)


def _route_tables(client: Any, vpc_id: str) -> list[dict] | None:
    try:
        paginator = client.get_paginator("describe_route_tables")
        pages = paginator.paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        return [table for page in pages for table in page.get("RouteTables", [])]
    except ClientError:
        return None  # e.g. no ec2:DescribeRouteTables permission: the subnet is just "unknown"


def subnet_is_public(route_tables: list[dict], subnet_id: str) -> bool | None:
    """Route tables of one VPC -> whether `subnet_id` routes 0.0.0.0/0 to an igw (explicit table, else main)."""
    explicit = main = None
    for table in route_tables:
        for assoc in table.get("Associations") or []:
            if (assoc.get("AssociationState") or {}).get("State", "associated") != "associated":
                continue
            if assoc.get("SubnetId") == subnet_id:
                explicit = table
            elif assoc.get("Main"):
                main = table
    table = explicit or main
    if table is None:
        return None
    return any(
        route.get("DestinationCidrBlock") == "0.0.0.0/0"
        and (route.get("GatewayId") or "").startswith("igw-")
        and route.get("State", "active") == "active"
        for route in table.get("Routes") or []
    )


def instance_advisories(ec2: dict[str, Any]) -> list[Text]:
    """Advisories for the champion from what EC2 knows (instance size, subnet, key file)."""
    notes: list[Text] = []
    instance_type = ec2.get("instance_type")
    memory = INSTANCE_MEMORY_GIB.get(instance_type or "")
    if memory is not None and memory < GUIDE_MEMORY_GIB:
        notes.append(
            t(
                "인스턴스 유형 {it}({m} GiB)는 가이드의 {g}({gm} GiB)보다 작습니다: Airflow(webserver·scheduler·worker)와 MySQL, Redis가 메모리 부족으로 느려지거나 멈출 수 있습니다",
                "Instance type {it} ({m} GiB) is smaller than the guide's {g} ({gm} GiB): Airflow (webserver, scheduler, worker), MySQL and Redis may slow down or be killed for lack of memory",
                it=instance_type,
                m=f"{memory:g}",
                g=GUIDE_INSTANCE_TYPE,
                gm=f"{GUIDE_MEMORY_GIB:g}",
            )
        )
    if ec2.get("public_subnet") is False:
        notes.append(
            t(
                "프라이빗 서브넷({s})에 있는 노드입니다: 라우팅 테이블에 인터넷 게이트웨이(igw-)로 가는 0.0.0.0/0 경로가 없어 인터넷에서 접속할 수 없고 패키지도 받을 수 없습니다",
                "The node is in a private subnet ({s}): its route table has no 0.0.0.0/0 route to an internet gateway (igw-), so it is unreachable from the internet and cannot download packages",
                s=ec2.get("subnet_id") or "?",
            )
        )
    if ec2.get("key_file_missing"):
        k = ec2.get("key_name")
        notes.append(
            t(
                "키 페어 {k}의 키 파일을 --key-dir에서 찾지 못했습니다 ({k}.pem, {k}, {k}.key): SSH 인증이 실패하면 키 파일을 넣으세요",
                "No key file for key pair {k} in --key-dir ({k}.pem, {k}, {k}.key): add it if SSH authentication fails",
                k=k,
            )
        )
    return notes


def explain_aws_error(exc: BaseException, region: str | None = None) -> Text:
    """A botocore error -> a bilingual message for the champion; never echoes credentials."""
    region_text = region or "?"
    if isinstance(exc, NoCredentialsError):
        return t(
            "AWS 자격 증명을 찾을 수 없습니다: aws configure를 실행하거나 AWS_PROFILE(또는 --profile)을 설정하세요",
            "No AWS credentials found: run aws configure or set AWS_PROFILE (or --profile)",
        )
    if isinstance(exc, PartialCredentialsError):
        return t(
            "AWS 자격 증명이 일부만 있습니다 ({p}에 {v}이(가) 없습니다): aws configure로 다시 설정하세요",
            "Incomplete AWS credentials ({p} lacks {v}): set them again with aws configure",
            p=exc.kwargs.get("provider", "?"),
            v=exc.kwargs.get("cred_var", "?"),
        )
    if isinstance(exc, ProfileNotFound):
        return t(
            "AWS 프로필 {p}이(가) 없습니다: ~/.aws/config와 ~/.aws/credentials를 확인하세요",
            "AWS profile {p} not found: check ~/.aws/config and ~/.aws/credentials",
            p=exc.kwargs.get("profile", "?"),
        )
    if isinstance(exc, NoRegionError):
        return t(
            "AWS 리전이 정해지지 않았습니다: --region ap-northeast-2처럼 지정하세요",
            "No AWS region: pass one, e.g. --region ap-northeast-2",
        )
    if isinstance(exc, SSOError | TokenRetrievalError):
        return t(
            "AWS SSO 로그인이 만료되었거나 없습니다: aws sso login으로 다시 로그인하세요",
            "The AWS SSO login has expired or is missing: log in again with aws sso login",
        )
    if isinstance(exc, CredentialRetrievalError):
        return t(
            "AWS 자격 증명을 가져오지 못했습니다 ({p}): 프로필 설정을 확인하세요",
            "Could not obtain AWS credentials ({p}): check the profile's settings",
            p=exc.kwargs.get("provider", "?"),
        )
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return t(
            "AWS EC2 엔드포인트에 연결할 수 없습니다 ({u}): 네트워크와 프록시 설정, 리전 이름({r})을 확인하세요",
            "Cannot reach the AWS EC2 endpoint ({u}): check the network, proxy settings and the region name ({r})",
            u=exc.kwargs.get("endpoint_url", "?"),
            r=region_text,
        )
    if isinstance(exc, ClientError):
        return _explain_client_error(exc, region_text)
    return t("AWS 요청이 실패했습니다: {e}", "The AWS request failed: {e}", e=_scrub(str(exc)))


def _explain_client_error(exc: ClientError, region: str) -> Text:
    error = exc.response.get("Error", {})
    code = error.get("Code") or "?"
    operation = exc.operation_name or "?"
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
        return t(
            "EC2를 조회할 권한이 없습니다 ({c}, {o}): 이 IAM 사용자·역할에 ec2:DescribeInstances 권한을 주세요 (ec2:DescribeRouteTables도 있으면 퍼블릭 서브넷 여부를 확인합니다)",
            "Not allowed to query EC2 ({c}, {o}): grant this IAM user/role ec2:DescribeInstances (with ec2:DescribeRouteTables the public subnet is checked too)",
            c=code,
            o=operation,
        )
    if code in (
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
    ):
        return t(
            "AWS가 자격 증명을 거부했습니다 ({c}): 액세스 키가 맞는지, 비활성화되거나 삭제되지 않았는지 확인하세요",
            "AWS rejected the credentials ({c}): check that the access key is correct and still active",
            c=code,
        )
    if code in ("RequestExpired", "ExpiredToken", "ExpiredTokenException"):
        return t(
            "요청 또는 임시 자격 증명이 만료되었습니다 ({c}): 세션 토큰을 새로 받거나(aws sso login 등) 이 컴퓨터의 시계를 맞추세요",
            "The request or temporary credentials expired ({c}): get a fresh session token (e.g. aws sso login) or fix this computer's clock",
            c=code,
        )
    if code == "OptInRequired":
        return t(
            "이 계정에서 리전 {r}이(가) 활성화되어 있지 않습니다 ({c}): 리전 이름을 확인하세요",
            "Region {r} is not enabled for this account ({c}): check the region name",
            r=region,
            c=code,
        )
    if code in ("RequestLimitExceeded", "Throttling", "ThrottlingException"):
        return t(
            "AWS 요청 한도를 넘었습니다 ({c}): 잠시 후 다시 실행하세요",
            "AWS request limit exceeded ({c}): try again in a moment",
            c=code,
        )
    message = _scrub(error.get("Message") or "")
    return t(
        "AWS가 {o} 요청을 거부했습니다 ({c}): {m}",
        "AWS refused {o} ({c}): {m}",
        o=operation,
        c=code,
        m=message,
    )


def _scrub(text: str, limit: int = 300) -> str:
    text = _ACCESS_KEY_ID.sub("***", redact(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"
