"""The software of the course server: the hub's venv, the trainees' venv (course kernel) and the
proxy from npm. Each part carries a stamp of what it was built from, so a second run only reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from course_server.errors import CourseServerError, log
from course_server.layout import REPO, SERVER, Layout, write_if_changed

CONSTRAINTS = REPO / "practice" / "constraints-airflow-3.3.2-py3.11.txt"
GRADER_SOURCES = ("pyproject.toml", "README.md", "grader", "checks")
MIN_NODE = 20
# JupyterLab in Korean for everyone on this server (a trainee may still switch in Settings → Language).
# No "Jupyter news?" pop-up: the server reaches no news feed, and a trainee has nothing to decide there.
LAB_OVERRIDES = (
    "{\n"
    '  "@jupyterlab/translation-extension:plugin": {"locale": "ko_KR"},\n'
    '  "@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}\n'
    "}\n"
)


def digest(*paths: Path) -> str:
    """A short hash of files and folders (their relative names and bytes), for stamps."""
    h = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            h.update(str(file.relative_to(path.parent)).encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def run(cmd: list[str], what: str, **kwargs: object) -> None:
    """Run a step; on failure show the tail of its output with a Korean line, never a traceback."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = "\n".join(
            line for line in (proc.stdout + proc.stderr).splitlines() if "Location 'file:" not in line
        )
        raise CourseServerError(f"{what}에 실패했습니다 (종료 코드 {proc.returncode}):\n{tail[-3000:]}")


def base_python() -> str:
    """The interpreter the venvs are made from: readable by every trainee (never under /root)."""
    chosen = os.environ.get("COURSE_SERVER_PYTHON") or sys.executable
    real = Path(chosen).resolve()
    if str(real).startswith("/root/"):
        raise CourseServerError(
            f"{chosen}은(는) /root 아래에 있어 연수생 계정이 실행할 수 없습니다. "
            "시스템 파이썬으로 실행하세요 (예: COURSE_SERVER_PYTHON=/usr/bin/python3.11)."
        )
    return str(chosen)


def _stamp_ok(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == value


def ensure_venv(venv: Path, requirements: Path, *, constraints: Path | None, what: str) -> bool:
    """Create/refresh one venv from a pinned requirements file; True when it changed."""
    python = base_python()
    parts = [requirements, *([constraints] if constraints else [])]
    value = f"{digest(*parts)}-{Path(python).resolve()}"
    stamp = venv / ".course-server-stamp"
    if (venv / "bin" / "python").exists() and _stamp_ok(stamp, value):
        return False
    log(f"{what} 설치: {venv} (처음에는 몇 분 걸립니다)")
    if not (venv / "bin" / "python").exists():
        run([python, "-m", "venv", str(venv)], f"{what} 가상 환경 만들기")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    args = ["-r", str(requirements)] + (["-c", str(constraints)] if constraints else [])
    run([*pip, *args], f"{what} 패키지 설치")
    stamp.write_text(value + "\n")
    return True


def ensure_grader(layout: Layout) -> bool:
    """The grader (`%node`, `%check`) in the trainees' venv, from this repository's sources."""
    value = digest(*(REPO / p for p in GRADER_SOURCES if p != "README.md"))  # README: metadata only
    stamp = layout.user_venv / ".grader-stamp"
    if _stamp_ok(stamp, value):
        return False
    log("채점기(grader) 설치: 연수생 커널의 %node, %check")
    with tempfile.TemporaryDirectory() as tmp:  # build outside the shared work tree
        for part in GRADER_SOURCES:
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, Path(tmp) / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, Path(tmp) / part)
        pip = [
            str(layout.user_venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
        ]
        run([*pip, tmp, "-c", str(CONSTRAINTS)], "채점기 설치")  # and its dependencies (paramiko, ...)
    stamp.write_text(value + "\n")
    return True


def ensure_lab_defaults(layout: Layout) -> bool:
    """JupyterLab's Korean language pack selected by default (a sys-prefix settings override)."""
    overrides = layout.user_venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    return write_if_changed(overrides, LAB_OVERRIDES)


def node_major() -> int:
    node = shutil.which("node")
    if not node:
        return 0
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return 0


def ensure_proxy(layout: Layout) -> bool:
    """configurable-http-proxy from npm, exactly as server/proxy/package-lock.json pins it."""
    source = SERVER / "proxy"
    value = digest(source / "package.json", source / "package-lock.json")
    stamp = layout.proxy / ".course-server-stamp"
    if layout.proxy_command.exists() and _stamp_ok(stamp, value):
        return False
    if node_major() < MIN_NODE or not shutil.which("npm"):
        raise CourseServerError(
            f"configurable-http-proxy에는 Node.js {MIN_NODE} 이상과 npm이 필요합니다. "
            "설치하세요 (Debian: apt-get install nodejs npm, Amazon Linux 2023: dnf install nodejs20 nodejs20-npm)."
        )
    log(f"configurable-http-proxy 설치 (npm): {layout.proxy}")
    layout.proxy.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(source / name, layout.proxy / name)
    run(
        ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
        "configurable-http-proxy 설치",
        cwd=layout.proxy,
    )
    stamp.write_text(value + "\n")
    return True


def install(layout: Layout) -> list[str]:
    """Every software part; returns the names of what changed (empty on a second run)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o755)
    changed = []
    if ensure_venv(layout.hub_venv, SERVER / "requirements-hub.txt", constraints=None, what="JupyterHub"):
        changed.append("hub-venv")
    if ensure_venv(
        layout.user_venv,
        SERVER / "requirements-user.txt",
        constraints=CONSTRAINTS,
        what="연수생 Jupyter와 과정 커널",
    ):
        changed.append("user-venv")
    if ensure_grader(layout):
        changed.append("grader")
    if ensure_lab_defaults(layout):
        changed.append("lab-settings")
    if ensure_proxy(layout):
        changed.append("proxy")
    return changed
