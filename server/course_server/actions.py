"""What the champion's commands do: up, down, status, add, remove, passwords."""

from __future__ import annotations

import grp
import os
from dataclasses import dataclass, field
from pathlib import Path

from course_server import accounts, course, hub, install, roles
from course_server.errors import CourseServerError
from course_server.layout import COURSE_ID, TRAINEE_GROUP, Layout, Settings
from course_server.roster import RosterError, Trainee, parse_roster, write_roster

INSTRUCTOR_GROUP = "course-instructors"


@dataclass
class UpReport:
    url: str
    trainees: int
    changed: list[str] = field(default_factory=list)
    not_in_roster: list[str] = field(default_factory=list)


def stored_trainees(layout: Layout) -> list[Trainee]:
    if not layout.roster.exists():
        return []
    return parse_roster(layout.roster)


def load_roster(layout: Layout, roster: Path | None) -> list[Trainee]:
    previous = {t.name: t.id for t in stored_trainees(layout)}
    if roster is None:
        if not layout.roster.exists():
            raise CourseServerError("명단이 필요합니다: course-server up --roster 명단.csv")
        return stored_trainees(layout)
    return parse_roster(roster, previous)


def check_ids(trainees: list[Trainee], instructor: str) -> None:
    """Before anything changes: no id is the instructor's or an account this server did not make."""
    problems = []
    for t in trainees:
        if t.id == instructor:
            problems.append(f"{t.name}: id {t.id}는 챔피언 계정 이름입니다. 다른 id를 쓰세요")
        elif accounts.exists(t.id) and not accounts.in_group(t.id):
            problems.append(
                f"{t.name}: id {t.id}는 이 머신에 이미 있는 계정입니다(과정 서버가 만든 계정이 아님). 다른 id를 쓰세요"
            )
    if problems:
        raise RosterError(problems)


def require_root() -> None:
    if os.geteuid() != 0:
        raise CourseServerError(
            "root로 실행하세요 (계정을 만들고 JupyterHub를 root로 돌립니다): sudo bash server/course-server ..."
        )


def ensure_instructor(instructor: str) -> bool:
    accounts.ensure_group(INSTRUCTOR_GROUP)
    if accounts.exists(instructor) and not accounts.in_group(instructor, INSTRUCTOR_GROUP):
        raise CourseServerError(
            f"챔피언 계정 {instructor}은(는) 이 머신에 이미 있는 계정입니다. --instructor로 다른 이름을 주세요."
        )
    created = accounts.ensure_account(instructor, trainee=False)
    if created:
        accounts._run(
            ["usermod", "-a", "-G", INSTRUCTOR_GROUP, instructor], f"{instructor}를 {INSTRUCTOR_GROUP}에 넣기"
        )
    return created


def up(layout: Layout, settings: Settings, roster: Path | None) -> UpReport:
    require_root()
    hub.check_listening(settings)
    trainees = load_roster(layout, roster)
    check_ids(trainees, settings.instructor)
    report = UpReport(url=settings.url, trainees=len(trainees))
    report.changed += install.install(layout)
    hub.ensure_private_dirs(layout)
    if hub.ensure_secrets(layout):
        report.changed.append("secrets")
    if settings.save(layout.settings_file):
        report.changed.append("settings")

    accounts.ensure_group()
    passwords = accounts.read_passwords(layout)
    created = ensure_instructor(settings.instructor)
    if accounts.ensure_password(settings.instructor, passwords, fresh_account=created):
        report.changed.append(f"account:{settings.instructor}")
    for t in trainees:
        created = accounts.ensure_account(t.id, trainee=True)
        if accounts.ensure_password(t.id, passwords, fresh_account=created) or created:
            report.changed.append(f"account:{t.id}")
    names = {t.id: t.name for t in trainees} | {settings.instructor: "(챔피언)"}
    kept = {k: v for k, v in passwords.items() if accounts.exists(k)}
    accounts.write_passwords(layout, kept, names)
    if not layout.roster.exists() or parse_roster(layout.roster) != trainees:
        write_roster(layout.roster, trainees)
        os.chmod(layout.roster, 0o600)

    instructor_home = accounts.home(settings.instructor)
    if roles.ensure_role_configs(layout, instructor_home):
        report.changed.append("jupyter-config")
    if course.ensure_exchange(layout):
        report.changed.append("exchange")
    course.ensure_course_dir(layout, settings.instructor)
    if course.ensure_students(layout, settings.instructor, trainees):
        report.changed.append("gradebook-students")
    report.changed += [f"released:{n}" for n in course.ensure_released(layout, settings.instructor)]

    if hub.ensure_config(layout, settings, [t.id for t in trainees]):
        report.changed.append("hub-config")
    if hub.start(layout, settings):
        report.changed.append("hub-started")
    sync_hub_users(layout, settings, trainees)
    ids = {t.id for t in trainees}
    report.not_in_roster = sorted(set(course_accounts()) - ids)
    return report


def course_accounts() -> list[str]:
    try:
        return sorted(grp.getgrnam(TRAINEE_GROUP).gr_mem)
    except KeyError:
        return []


def sync_hub_users(layout: Layout, settings: Settings, trainees: list[Trainee]) -> None:
    """The hub's users are the roster and the instructor: add the missing, forget the others."""
    api = hub.HubAPI(layout, settings)
    wanted = {t.id for t in trainees} | {settings.instructor}
    present = set(api.users())
    for name in sorted(wanted - present):
        api.add_user(name)
    for name in sorted(present - wanted):
        api.delete_user(name)


def down(layout: Layout, settings: Settings) -> list[str]:
    """Stop every user's server, then the hub (and with it the proxy)."""
    require_root()
    stopped: list[str] = []
    if hub.pid(layout) and hub.healthy(settings):
        api = hub.HubAPI(layout, settings)
        stopped = api.stop_all()
        wait_servers_stopped(api)
    hub.stop_hub(layout)
    return stopped


def wait_servers_stopped(api: hub.HubAPI, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(u.get("server") or u.get("pending") for u in api.users().values()):
            return
        time.sleep(0.5)


def add(layout: Layout, settings: Settings, name: str, user_id: str | None, email: str | None) -> Trainee:
    """One more trainee: the kept roster grows by a row and `up` makes it real (no hub restart)."""
    require_root()
    current = stored_trainees(layout)
    if not current and not layout.roster.exists():
        raise CourseServerError("먼저 course-server up --roster 명단.csv로 서버를 세우세요.")
    rows = [*current, Trainee(user_id or "", name, email or "")]
    staged = layout.etc / ".roster-add.csv"
    write_roster(staged, rows)
    try:
        trainees = parse_roster(staged, {t.name: t.id for t in current})
    finally:
        staged.unlink(missing_ok=True)
    write_roster(layout.roster, trainees)
    up(layout, settings, roster=None)
    return trainees[-1]


def remove(layout: Layout, settings: Settings, user_id: str) -> None:
    """Log the trainee out and stop their server, delete the Unix account and home; the gradebook
    keeps their grades (nbgrader's student record is not touched)."""
    require_root()
    current = stored_trainees(layout)
    if user_id not in {t.id for t in current} and not accounts.in_group(user_id):
        raise CourseServerError(f"연수생 {user_id}이(가) 명단에 없습니다 (status로 목록을 보세요)")
    if hub.pid(layout) and hub.healthy(settings):
        hub.HubAPI(layout, settings).delete_user(user_id)
    if accounts.exists(user_id):
        accounts.remove_account(user_id)
    write_roster(layout.roster, [t for t in current if t.id != user_id])
    passwords = accounts.read_passwords(layout)
    passwords.pop(user_id, None)
    accounts.write_passwords(layout, passwords, {t.id: t.name for t in current})
    hub.ensure_config(layout, settings, [t.id for t in current if t.id != user_id])


def reset_password(layout: Layout, user_id: str) -> None:
    require_root()
    if not (accounts.in_group(user_id) or accounts.in_group(user_id, INSTRUCTOR_GROUP)):
        raise CourseServerError(f"{user_id}은(는) 과정 서버의 계정이 아닙니다")
    passwords = accounts.read_passwords(layout)
    passwords[user_id] = accounts.new_password()
    accounts.set_password(user_id, passwords[user_id])
    names = {t.id: t.name for t in stored_trainees(layout)}
    accounts.write_passwords(layout, passwords, names)


@dataclass
class Status:
    running: bool
    healthy: bool
    url: str
    trainees: list[str]
    servers: list[str]
    released: list[str]
    passwords: Path


def status(layout: Layout, settings: Settings) -> Status:
    running = hub.pid(layout) is not None
    healthy = running and hub.healthy(settings)
    servers = []
    if healthy:
        servers = sorted(n for n, u in hub.HubAPI(layout, settings).users().items() if u.get("server"))
    outbound = layout.exchange / COURSE_ID / "outbound"
    released = sorted(p.name for p in outbound.iterdir()) if outbound.is_dir() else []
    trainees = [t.id for t in stored_trainees(layout)] if layout.roster.exists() else []
    return Status(running, healthy, settings.url, trainees, servers, released, layout.passwords)
