"""Unix accounts: one per trainee (group course-trainees) and the instructor, with generated
passwords that only root can read (etc/passwords.csv, mode 600)."""

from __future__ import annotations

import csv
import grp
import io
import os
import pwd
import secrets
import signal
import subprocess
import time
from pathlib import Path

from course_server.errors import CourseServerError
from course_server.layout import TRAINEE_GROUP, Layout, write_private

# No look-alike characters (0/O, 1/l/I): passwords are read off a sheet and typed.
ALPHABET = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_password() -> str:
    """Three groups of four: about 69 bits."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def in_group(name: str, group: str = TRAINEE_GROUP) -> bool:
    try:
        return name in grp.getgrnam(group).gr_mem
    except KeyError:
        return False


def home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def ensure_group(group: str = TRAINEE_GROUP) -> None:
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", "--system", group], check=True)


def _run(cmd: list[str], what: str, stdin: str | None = None) -> None:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CourseServerError(f"{what}에 실패했습니다: {(proc.stderr or proc.stdout).strip()}")


def ensure_account(name: str, *, trainee: bool) -> bool:
    """Create the account if missing (home 0700, ~/.ssh 0700); True when it was created.

    An existing account is taken only if this server made it (trainees: member of course-trainees),
    so a roster id such as `root` or `ec2-user` never hands a trainee someone else's account."""
    if exists(name):
        if trainee and not in_group(name):
            raise CourseServerError(
                f"id {name}은(는) 이 머신에 이미 있는 계정입니다(과정 서버가 만든 계정이 아님). 명단에서 다른 id를 쓰세요."
            )
        created = False
    else:
        groups = ["-G", TRAINEE_GROUP] if trainee else []
        _run(["useradd", "--create-home", "--shell", "/bin/bash", *groups, name], f"계정 {name} 만들기")
        created = True
    user = pwd.getpwnam(name)
    home_dir = Path(user.pw_dir)
    os.chmod(home_dir, 0o700)
    ssh = home_dir / ".ssh"
    if not ssh.exists():
        ssh.mkdir(mode=0o700)
        os.chown(ssh, user.pw_uid, user.pw_gid)
    return created


def read_passwords(layout: Layout) -> dict[str, str]:
    if not layout.passwords.exists():
        return {}
    rows = csv.DictReader(io.StringIO(layout.passwords.read_text(encoding="utf-8")))
    return {row["id"]: row["password"] for row in rows}


def write_passwords(layout: Layout, passwords: dict[str, str], names: dict[str, str]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "password"])
    for user_id in sorted(passwords):
        writer.writerow([user_id, names.get(user_id, ""), passwords[user_id]])
    text = out.getvalue()
    if not layout.passwords.exists() or layout.passwords.read_text(encoding="utf-8") != text:
        write_private(layout.passwords, text)
    os.chmod(layout.passwords, 0o600)


def set_password(name: str, password: str) -> None:
    _run(["chpasswd"], f"{name}의 비밀번호 설정", stdin=f"{name}:{password}\n")


def ensure_password(name: str, passwords: dict[str, str], *, fresh_account: bool) -> bool:
    """A password for a new account (or one missing from the file); an existing one is kept."""
    if name in passwords and not fresh_account:
        return False
    passwords[name] = new_password()
    set_password(name, passwords[name])
    return True


def processes_of(name: str) -> list[int]:
    """Process ids owned by this account (read from /proc)."""
    uid = pwd.getpwnam(name).pw_uid
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


def remove_account(name: str) -> None:
    """End the account's processes (its Jupyter, kernels, terminals), then delete it and its home."""
    if not in_group(name):
        raise CourseServerError(f"{name}은(는) 과정 서버가 만든 연수생 계정이 아닙니다. 지우지 않습니다.")
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(name):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while processes_of(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not processes_of(name):
            break
    _run(["userdel", "--remove", name], f"계정 {name} 지우기")
