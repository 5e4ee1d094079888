"""The nbgrader course: the instructor's course directory (answers and hidden tests, gradebook),
the shared exchange, the class in the gradebook, and the student versions released."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from course_server.errors import CourseServerError, log
from course_server.layout import COURSE_ID, REPO, Layout
from course_server.roles import course_dir
from course_server.roster import Trainee

ASSIGNMENTS = ("01_definition", "02_architecture", "03_single_node", "04_assignment")
NOTEBOOKS = REPO / "notebooks"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def as_instructor(
    layout: Layout, instructor: str, *args: str, cwd: Path | None = None, timeout: float = 900
) -> str:
    """Run a command as the instructor's Unix user, with the instructor's Jupyter config."""
    user = pwd.getpwnam(instructor)
    env = {
        "HOME": user.pw_dir,
        "USER": instructor,
        "PATH": f"{layout.user_venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONWARNINGS": "ignore",
        "JUPYTER_CONFIG_PATH": str(layout.jupyter / "instructor"),
    }
    proc = subprocess.run(
        [RUNUSER, "-u", instructor, "--", *args],
        cwd=cwd or user.pw_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise CourseServerError(
            f"{instructor} 계정으로 `{' '.join(args[:3])}` 실행에 실패했습니다:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return proc.stdout + proc.stderr


def ensure_exchange(layout: Layout) -> bool:
    """nbgrader's exchange root: everyone writes (0777, nbgrader requires it), sticky like /tmp so no
    trainee can rename or replace the instructor's course folder in it."""
    changed = not layout.exchange.exists()
    layout.exchange.mkdir(parents=True, exist_ok=True)
    for parent in layout.exchange.parents:
        if parent == Path("/") or parent.stat().st_mode & 0o005 == 0o005:
            break
        os.chmod(parent, parent.stat().st_mode | 0o755)
    if layout.exchange.stat().st_uid != 0 or (layout.exchange.stat().st_mode & 0o7777) != 0o1777:
        os.chown(layout.exchange, 0, 0)
        os.chmod(layout.exchange, 0o1777)
        changed = True
    return changed


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def ensure_course_dir(layout: Layout, instructor: str) -> Path:
    """Copy notebooks/ (links resolved into files) into the instructor's home, owned and readable by
    the instructor alone; only files that differ are copied."""
    user = pwd.getpwnam(instructor)
    root = course_dir(Path(user.pw_dir))
    staged = root.parent / ".course-staging"
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(
        NOTEBOOKS / "source",
        staged / "source",
        symlinks=False,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    shutil.copy2(NOTEBOOKS / "nbgrader_config.py", staged / "nbgrader_config.py")
    root.mkdir(mode=0o700, exist_ok=True)
    for path in sorted(staged.rglob("*")):
        target = root / path.relative_to(staged)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif not target.exists() or target.read_bytes() != path.read_bytes():
            shutil.copyfile(path, target)
    shutil.rmtree(staged)
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    return root


def ensure_students(layout: Layout, instructor: str, trainees: list[Trainee]) -> bool:
    """The class in nbgrader's gradebook (id, first/last name, e-mail), imported when it changed."""
    root = course_dir(Path(pwd.getpwnam(instructor).pw_dir))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "first_name", "last_name", "email"])
    for trainee in trainees:
        first, last = trainee.first_last
        writer.writerow([trainee.id, first, last, trainee.email])
    text = out.getvalue()
    listing = root / ".students.csv"
    if listing.exists() and listing.read_text(encoding="utf-8") == text and (root / "gradebook.db").exists():
        return False
    user = pwd.getpwnam(instructor)
    listing.write_text(text, encoding="utf-8")
    os.chown(listing, user.pw_uid, user.pw_gid)
    os.chmod(listing, 0o600)
    as_instructor(layout, instructor, "nbgrader", "db", "student", "import", str(listing), cwd=root)
    return True


def ensure_released(layout: Layout, instructor: str) -> list[str]:
    """generate_assignment + release_assignment for each assignment whose source changed or whose
    release is missing from the exchange; returns the names released now."""
    root = course_dir(Path(pwd.getpwnam(instructor).pw_dir))
    released = []
    for name in ASSIGNMENTS:
        stamp = root / f".released-{name}"
        value = _tree_digest(root / "source" / name)
        outbound = layout.exchange / COURSE_ID / "outbound" / name
        if outbound.is_dir() and stamp.exists() and stamp.read_text().strip() == value:
            continue
        log(f"학생용 사본 만들고 나눠 주기: {name}")
        as_instructor(layout, instructor, "nbgrader", "generate_assignment", name, "--force", cwd=root)
        as_instructor(layout, instructor, "nbgrader", "release_assignment", name, "--force", cwd=root)
        as_instructor(layout, instructor, "sh", "-c", f"echo {value} > {stamp}", cwd=root)
        released.append(name)
    return released
