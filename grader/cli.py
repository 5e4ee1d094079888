"""`grade`: judge a trainee's Airflow node over SSH and report in Korean (or English)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import checks
from grader.batch import DEFAULT_JOBS
from grader.facts import Facts
from grader.i18n import LANGS
from grader.report import write_json, write_table
from grader.runner import TargetResult, exit_code, grade_target, judge_facts
from grader.settings import CourseSettings, SettingsError, load_settings
from grader.target import Target, resolve_target
from grader.transport import default_known_hosts

USAGE_ERROR = 2
EC2_IDENTITIES = ("instance-id", "owner-tag", "map", "name-tag")  # grader.ec2.IDENTITIES, without boto


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grade",
        description="연수생의 Airflow Single Node(EC2)를 SSH로 점검해 과제를 채점합니다. 노드는 읽기만 하고 바꾸지 않습니다.",
        epilog="종료 코드: 0 모두 통과, 1 실패 항목 있음, 3 채점할 수 없는 노드 있음, 2 사용법 오류",
    )
    where = parser.add_argument_group("대상 노드")
    where.add_argument("--host", help="노드 주소 (퍼블릭 DNS/IP 또는 ~/.ssh/config의 Host 별칭)")
    where.add_argument("--port", type=int, help="SSH 포트 (기본 22)")
    where.add_argument("--user", help="SSH 사용자 (기본 ec2-user)")
    where.add_argument("--key", help="SSH 개인 키(.pem) 경로 (없으면 ssh-agent와 ~/.ssh/config)")
    where.add_argument("--name", help="보고서에 쓸 연수생 이름 (기본: 호스트)")
    options = parser.add_argument_group("채점")
    options.add_argument(
        "--config", help="과정 설정 TOML (챔피언 계정, 점수, 포트; docs/course.example.toml)"
    )
    options.add_argument(
        "--format", choices=("table", "json"), default="table", help="출력 형식 (기본 table)"
    )
    options.add_argument("--lang", choices=LANGS, default="ko", help="출력 언어 (기본 ko)")
    options.add_argument("--timeout", type=float, default=20.0, help="노드 하나의 제한 시간, 초 (기본 20)")
    options.add_argument(
        "--only", help="이 항목 또는 연수생만 채점 (쉼표로 구분: redis.running,config 또는 명단의 이름)"
    )
    options.add_argument(
        "--known-hosts", help="grader 전용 known_hosts 파일 (기본 ~/.local/state/airflow-grader/known_hosts)"
    )
    options.add_argument("--ssh-config", help="ssh_config 파일 (기본 ~/.ssh/config)")
    klass = parser.add_argument_group("반 전체 채점")
    klass.add_argument(
        "--roster", metavar="CSV", help="명단 CSV (열: name,host 필수 / user,port,key 선택, UTF-8)"
    )
    klass.add_argument("--ec2", action="store_true", help="EC2에서 실행 중인 인스턴스를 찾아 채점 (boto3)")
    klass.add_argument("--region", help="EC2 리전 (예: ap-northeast-2)")
    klass.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="EC2 태그 조건 (여러 번 가능, * 사용 가능)",
    )
    klass.add_argument(
        "--ec2-identity",
        choices=EC2_IDENTITIES,
        help="EC2 인스턴스가 어느 연수생의 것인지 가리는 방법. instance-id: 인스턴스 id(이름 태그는 옆에 보여 주기만 함), "
        "owner-tag: --ec2-owner-tag의 태그 값, map: --ec2-map CSV, name-tag: --name-tag 값(연수생이 바꿀 수 있으니 믿을 수 있는 반에서만). "
        "기본: --ec2-map이 있으면 map, --ec2-owner-tag가 있으면 owner-tag, 둘 다 없으면 instance-id",
    )
    klass.add_argument(
        "--ec2-owner-tag",
        metavar="TAG",
        help="연수생 이름을 담은 태그. 챔피언이 붙이고 연수생은 바꾸지 못하게 IAM으로 막은 태그여야 합니다 (예: Owner)",
    )
    klass.add_argument(
        "--ec2-map",
        metavar="CSV",
        help="인스턴스와 연수생을 잇는 CSV (열: name, 그리고 instance_id 또는 key_name)",
    )
    klass.add_argument(
        "--name-tag",
        default="Name",
        help="점수표에 인스턴스 id와 함께 보여 줄 이름 태그 (기본 Name). --ec2-identity name-tag일 때만 연수생을 가립니다",
    )
    klass.add_argument("--ec2-private", action="store_true", help="프라이빗 IP로 접속 (VPN/배스천 안에서)")
    klass.add_argument("--key-dir", help="키 페어 이름.pem 파일이 있는 폴더 (EC2의 키 페어 이름으로 찾음)")
    klass.add_argument("--profile", help="AWS 프로필 이름")
    klass.add_argument(
        "--jobs", type=int, default=DEFAULT_JOBS, help=f"동시에 채점할 노드 수 (기본 {DEFAULT_JOBS})"
    )
    klass.add_argument("--scoreboard", metavar="CSV", help="점수표 CSV (있으면 채점한 연수생의 행만 갱신)")
    klass.add_argument("--history", metavar="JSONL", help="채점 기록 (기본: 점수표 옆 <이름>.history.jsonl)")
    klass.add_argument("--junit", metavar="XML", help="JUnit XML 보고서 (CI 대시보드용)")
    klass.add_argument("--html", metavar="HTML", help="한 파일짜리 HTML 보고서 (반 요약, 항목별 통과율)")
    klass.add_argument("--nbgrader", metavar="CSV", help="`nbgrader export` CSV를 점수표의 퀴즈 열로 합침")
    facts = parser.add_argument_group("기록된 사실")
    facts.add_argument("--save-facts", metavar="FILE", help="수집한 사실을 JSON으로 저장 (비밀번호 없음)")
    facts.add_argument("--from-facts", metavar="FILE", help="노드에 접속하지 않고 저장된 사실을 채점")
    return parser


def _fail_usage(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"grade: 오류: {message}", file=sys.stderr)
    return USAGE_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    class_mode = bool(args.roster or args.ec2)
    if sum(map(bool, (args.host, args.from_facts, class_mode))) != 1:
        return _fail_usage(parser, "--host, --roster/--ec2, --from-facts 중 하나가 필요합니다")
    if args.timeout <= 0:
        return _fail_usage(parser, "--timeout은 0보다 커야 합니다")
    if args.jobs < 1:
        return _fail_usage(parser, "--jobs는 1 이상이어야 합니다")
    if not class_mode:
        for flag in ("scoreboard", "junit", "html", "nbgrader", "history"):
            if getattr(args, flag):
                return _fail_usage(parser, f"--{flag}는 --roster 또는 --ec2와 함께 씁니다")
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        return _fail_usage(parser, str(exc))
    unknown = set(settings.points) - set(checks.CHECK_IDS)
    if unknown:
        return _fail_usage(parser, f"설정의 [points]에 없는 항목 id: {', '.join(sorted(unknown))}")
    tokens = {x.strip() for x in args.only.split(",") if x.strip()} if args.only else set()
    valid = set(checks.CHECK_IDS) | {c.split(".")[0] for c in checks.CHECK_IDS}
    only = (tokens & valid) or None
    names = tokens - valid
    if names and not class_mode:
        return _fail_usage(parser, f"알 수 없는 항목: {', '.join(sorted(names))}")
    if class_mode:
        if only and args.scoreboard:
            return _fail_usage(
                parser, "점수표에는 모든 항목을 채점한 결과만 기록합니다. --only에서 항목 id를 빼세요"
            )
        from grader.cli_class import run_class_cli

        return run_class_cli(args, settings, names, only, parser)

    if args.from_facts:
        result = _from_facts(args, settings, only)
        if result is None:
            return USAGE_ERROR
    else:
        target = resolve_target(
            args.host,
            name=args.name,
            port=args.port,
            user=args.user,
            key=args.key,
            ssh_config_path=args.ssh_config,
        )
        known_hosts = Path(args.known_hosts) if args.known_hosts else default_known_hosts()
        result = grade_target(target, settings, known_hosts=known_hosts, timeout=args.timeout, only=only)
        if args.save_facts and result.facts is not None:
            result.facts.save(Path(args.save_facts), result.secrets)
    results = [result]
    try:
        if args.format == "json":
            write_json(results, lang=args.lang)
        else:
            write_table(results, lang=args.lang)
    except BrokenPipeError:
        pass
    return exit_code(results)


def _from_facts(
    args: argparse.Namespace, settings: CourseSettings, only: set[str] | None
) -> TargetResult | None:
    path = Path(args.from_facts)
    try:
        facts = Facts.load(path)
    except FileNotFoundError:
        print(f"grade: 오류: 파일이 없습니다: {path}", file=sys.stderr)
        return None
    except (OSError, ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
        print(
            f"grade: 오류: 사실 파일을 읽을 수 없습니다: {path} ({exc.__class__.__name__})", file=sys.stderr
        )
        return None
    name = args.name or facts.host.hostname or path.stem
    target = Target(
        name=name, host=args.host or facts.host.hostname, hostname=args.host or "", user=facts.host.user
    )
    return judge_facts(target, facts, settings, only)


if __name__ == "__main__":
    sys.exit(main())
