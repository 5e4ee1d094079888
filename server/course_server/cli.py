"""`course-server up|down|status|add|remove|passwords`: the champion's command (Korean messages)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course_server import actions
from course_server.errors import CourseServerError
from course_server.layout import Layout, Settings
from course_server.roster import RosterError

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="course-server",
        description="과정 서버: 연수생 명단으로 JupyterHub와 nbgrader를 이 머신 한 대에 세웁니다 (root로 실행).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="명령")
    up = sub.add_parser(
        "up", help="설치하고 계정을 만들고 과제를 나눠 주고 JupyterHub를 띄웁니다 (다시 실행해도 안전)"
    )
    up.add_argument(
        "--roster", type=Path, help="명단 CSV (name 열, 그리고 id 또는 email 열). 처음 한 번은 꼭 필요합니다"
    )
    up.add_argument("--ip", help="받을 주소 (기본 127.0.0.1)")
    up.add_argument("--port", type=int, help="받을 포트 (기본 8000)")
    up.add_argument("--hub-port", type=int, help="JupyterHub 내부 API 포트, 127.0.0.1에서만 (기본 8081)")
    up.add_argument("--proxy-api-port", type=int, help="프록시 관리 API 포트, 127.0.0.1에서만 (기본 8001)")
    up.add_argument("--ssl-cert", help="HTTPS 인증서 파일 (PEM, 중간 인증서 포함)")
    up.add_argument("--ssl-key", help="HTTPS 개인 키 파일 (PEM)")
    up.add_argument("--no-ssl", action="store_true", help="저장된 인증서 설정을 지우고 HTTP로 돌아갑니다")
    up.add_argument(
        "--allow-http",
        action="store_true",
        help="127.0.0.1이 아닌 주소에서도 HTTP로 엽니다 (앞의 ALB가 HTTPS를 맡을 때)",
    )
    up.add_argument("--instructor", help="챔피언의 JupyterHub 계정 이름 (기본 champion, 처음에만)")
    up.add_argument("--idle-timeout", type=int, help="쓰지 않는 연수생 서버를 끄기까지의 초 (기본 3600)")
    sub.add_parser("down", help="모든 연수생 서버와 JupyterHub를 끕니다 (계정과 파일은 남습니다)")
    sub.add_parser("status", help="JupyterHub 상태, 연수생 수, 켜진 서버, 나눠 준 과제")
    add = sub.add_parser("add", help="연수생 한 명을 더합니다 (JupyterHub를 다시 시작하지 않습니다)")
    add.add_argument("--name", required=True, help="이름 (예: 김민수)")
    add.add_argument("--id", help="영문 id (없으면 --email의 앞부분, 그것도 없으면 t001 같은 번호)")
    add.add_argument("--email", help="이메일")
    remove = sub.add_parser(
        "remove", help="연수생 한 명을 뺍니다: 로그아웃, 서버 종료, 계정과 홈 삭제 (성적은 남음)"
    )
    remove.add_argument("id", help="연수생 id")
    pw = sub.add_parser("passwords", help="비밀번호 파일의 위치를 알려 줍니다 (root만 읽을 수 있음)")
    pw.add_argument("--reset", metavar="ID", help="이 계정의 비밀번호를 새로 만듭니다")
    return p


def settings_from(args: argparse.Namespace, layout: Layout) -> Settings:
    settings = Settings.load(layout.settings_file)
    for name in (
        "ip",
        "port",
        "hub_port",
        "proxy_api_port",
        "ssl_cert",
        "ssl_key",
        "instructor",
        "idle_timeout",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "no_ssl", False):
        settings.ssl_cert = settings.ssl_key = ""
    if getattr(args, "allow_http", False):
        settings.allow_http = True
    if settings.ssl_cert:
        settings.ssl_cert = str(Path(settings.ssl_cert).resolve())
        settings.ssl_key = str(Path(settings.ssl_key).resolve()) if settings.ssl_key else ""
    return settings


def run(args: argparse.Namespace) -> int:
    layout = Layout()
    settings = settings_from(args, layout)
    if args.command == "up":
        report = actions.up(layout, settings, args.roster)
        print(
            f"과정 서버가 떠 있습니다: {report.url} (연수생 {report.trainees}명, 챔피언 계정 {settings.instructor})"
        )
        print("바뀐 것: " + (", ".join(report.changed) if report.changed else "없음 (이미 모두 맞습니다)"))
        print(f"비밀번호 파일 (root만 읽음): {layout.passwords}")
        if report.not_in_roster:
            print(
                "명단에 없는 연수생 계정 (로그인할 수 없음, 지우려면 remove): "
                + ", ".join(report.not_in_roster)
            )
    elif args.command == "down":
        stopped = actions.down(layout, settings)
        print(f"JupyterHub를 껐습니다 (끈 연수생 서버 {len(stopped)}개). 계정과 파일은 그대로입니다.")
    elif args.command == "status":
        s = actions.status(layout, settings)
        state = "실행 중" if s.healthy else ("실행 중이지만 응답 없음" if s.running else "꺼져 있음")
        print(f"JupyterHub: {state} ({s.url})")
        print(f"연수생: {len(s.trainees)}명, 켜진 서버: {len(s.servers)}개 {' '.join(s.servers)}".rstrip())
        print(f"나눠 준 과제: {', '.join(s.released) or '없음'}")
        print(f"비밀번호 파일: {s.passwords}")
        return 0 if s.healthy else 1
    elif args.command == "add":
        trainee = actions.add(layout, settings, args.name, args.id, args.email)
        print(
            f"연수생을 더했습니다: {trainee.name} (id {trainee.id}). 비밀번호는 {layout.passwords}에 있습니다."
        )
    elif args.command == "remove":
        actions.remove(layout, settings, args.id)
        print(
            f"연수생 {args.id}을(를) 뺐습니다: 로그아웃, 서버 종료, 계정과 홈 삭제. nbgrader 성적은 남아 있습니다."
        )
    elif args.command == "passwords":
        if args.reset:
            actions.reset_password(layout, args.reset)
            print(f"{args.reset}의 비밀번호를 새로 만들었습니다.")
        print(f"비밀번호 파일 (root만 읽음): {layout.passwords}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except RosterError as exc:
        print("명단을 쓸 수 없습니다 (아무것도 바꾸지 않았습니다):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_USAGE
    except CourseServerError as exc:
        print(f"오류: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `status | head -1`: the reader has what it wanted
        return 0
    except OSError as exc:  # a missing system tool, a full disk: say which, without a traceback
        print(f"오류: {exc.filename or ''} {exc.strerror or exc}".strip(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("중단했습니다. 다시 up을 실행하면 이어서 합니다.", file=sys.stderr)
        return 130
