"""Check cells for the course notebooks: `%node` says which node is yours, `%check` grades it.

    %load_ext grader.notebook
    %node ec2-13-124-0-1.ap-northeast-2.compute.amazonaws.com --key ~/.ssh/class.pem
    %check redis            # one step of the guide (or a check id, or `all`)
    %steps                  # the guide's steps as a checklist: which are done, what to do next

When the environment variable AIRFLOW_COURSE_NODE holds a `%node` argument line, `%node` uses
it instead of the cell's (CI points the notebooks at the practice node this way).

The checks are the very ones `grade` runs (same gathering, same judging, same hints), so a
trainee sees in the notebook exactly the verdict the champion will see. Without IPython the
same functions work from plain Python: `use_node(...)`, `check("redis")`.
"""

from __future__ import annotations

import html
import os
import platform
import re
import shlex
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import checks
from checks.model import Status
from grader.display import inert
from grader.report import ICONS, TARGET_STATUS_TEXT
from grader.runner import TargetResult, grade_target
from grader.settings import CourseSettings, load_settings
from grader.target import Target, resolve_target
from grader.transport import default_known_hosts

# What a guide step checks: `%check redis` after 3.2, `%check all` for 과제.
STEPS: dict[str, tuple[str, ...]] = {
    "redis": ("redis.running",),
    "mysql": ("mysql.running",),
    "airflow": ("airflow.webserver", "airflow.scheduler", "airflow.dag_processor", "airflow.worker"),
    "config": ("config.executor", "config.metadata_db", "config.broker", "config.result_backend"),
    "account": ("account.champion",),
    "all": checks.CHECK_IDS,
}


# The guide's steps in the order a trainee does them, for `%steps`: (STEPS key, label).
PROGRESS: tuple[tuple[str, str], ...] = (
    ("redis", "3.2 Redis"),
    ("mysql", "3.3 MySQL"),
    ("config", "3.4 airflow.cfg"),
    ("account", "3.4 챔피언 계정"),
    ("airflow", "3.4 Airflow 서비스 기동"),
)
# Where a hint is explained, relative to the notebook's folder (a released copy carries docs/).
TROUBLESHOOTING = Path("docs") / "troubleshooting.ko.md"


def troubleshooting_link(hint_id: str) -> str | None:
    """`docs/troubleshooting.ko.md#<id>` when the page is beside the running notebook."""
    if not re.fullmatch(r"[a-z0-9-]+", hint_id) or not TROUBLESHOOTING.is_file():
        return None
    return f"{TROUBLESHOOTING.as_posix()}#{hint_id}"


class NotebookError(ValueError):
    """A check cell used the wrong way: said in Korean, never a traceback."""


@dataclass
class NodeSession:
    target: Target | None = None
    settings: CourseSettings = field(default_factory=CourseSettings)
    known_hosts: Path = field(default_factory=default_known_hosts)
    timeout: float = 20.0


SESSION = NodeSession()


def use_node(
    host: str,
    *,
    key: str | None = None,
    user: str | None = None,
    port: int | None = None,
    name: str | None = None,
    config: str | None = None,
    known_hosts: str | None = None,
) -> Target:
    """Remember the trainee's node for the following `check()` calls."""
    SESSION.target = resolve_target(host, name=name, port=port, user=user, key=key)
    if config:
        SESSION.settings = load_settings(config)
    if known_hosts:
        SESSION.known_hosts = Path(known_hosts).expanduser()
    return SESSION.target


def selected(words: list[str]) -> set[str]:
    """`redis`, `config`, `all` or check ids -> the check ids to run."""
    if not words:
        words = ["all"]
    chosen: set[str] = set()
    for word in words:
        if word in STEPS:
            chosen.update(STEPS[word])
        elif word in checks.CHECK_IDS:
            chosen.add(word)
        else:
            known = ", ".join([*STEPS, *checks.CHECK_IDS])
            raise NotebookError(f"알 수 없는 점검 이름: {word} (쓸 수 있는 것: {known})")
    return chosen


def check(*words: str) -> CheckView:
    """Grade the remembered node on these steps/checks and return a view for the notebook."""
    if SESSION.target is None:
        raise NotebookError("먼저 %node <주소> --key <키 파일>로 내 노드를 알려 주세요")
    only = selected(list(words))
    result = grade_target(
        SESSION.target, SESSION.settings, known_hosts=SESSION.known_hosts, timeout=SESSION.timeout, only=only
    )
    return CheckView(result)


def progress() -> ProgressView:
    """Grade the remembered node on every check and return the guide's steps as a checklist."""
    return ProgressView(check("all").result)


@dataclass
class CheckView:
    """✅/❌ per check with its evidence and, when not passed, the hint: HTML in Jupyter, text elsewhere."""

    result: TargetResult

    @property
    def passed(self) -> bool:
        return self.result.all_passed

    def rows(self) -> list[tuple[str, str, str, list[str], str | None]]:
        """(icon, id, title, evidence, hint) per check, every text already through the display gate."""
        out = []
        for v in self.result.verdicts:
            hint = self.result.clean(v.hint.text.ko) if v.hint and v.status is not Status.PASS else None
            evidence = [inert(self.result.clean(e.ko)) for e in v.evidence]
            out.append(
                (ICONS[v.status].strip(), v.id, inert(v.title.ko), evidence, inert(hint) if hint else None)
            )
        return out

    def hint_links(self) -> dict[str, str]:
        """Check id -> the troubleshooting entry of its hint, for checks not passed cleanly."""
        links = {}
        for v in self.result.verdicts:
            if v.hint and v.status is not Status.PASS and (link := troubleshooting_link(v.hint.id)):
                links[v.id] = link
        return links

    def headline(self) -> str:
        """One line about the node; its name, version and message made inert."""
        r = self.result
        name = inert(r.target.name)
        if r.status != "graded":
            status = TARGET_STATUS_TEXT["ko"].get(r.status, r.status)
            message = inert(r.clean(r.message.ko)) if r.message else ""
            return f"❓ {name}: {status}. {message}".strip()
        verdict = "모두 통과" if r.all_passed else "통과하지 못한 항목이 있습니다"
        version = inert(r.clean(r.airflow_version) if r.airflow_version else "?")
        return f"{name} (Airflow {version}): {verdict} — {r.score}/{r.max_score}점"

    def advisories(self) -> list[str]:
        """권고 사항 (not scored), as `grade` shows them, through the display gate."""
        return [inert(self.result.clean(a.message.ko)) + f" [{a.id}]" for a in self.result.advisories]

    def __str__(self) -> str:
        lines = [self.headline()]
        for icon, check_id, title, evidence, hint in self.rows():
            lines.append(f"{icon} {title} [{check_id}]")
            lines += [f"    · {e}" for e in evidence]
            if hint:
                lines.append(f"    → {hint}")
        if self.advisories():
            lines.append("권고 사항 (점수에 넣지 않음):")
            lines += [f"  ⚠ {a}" for a in self.advisories()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        e = html.escape  # on text that `rows` and `headline` made inert
        cell = 'style="text-align:left; vertical-align:top; word-break:keep-all; overflow-wrap:anywhere"'
        head = 'style="text-align:left; white-space:nowrap"'
        check_id_style = 'style="white-space:nowrap"'  # `redis.running` is never cut mid-word
        parts = [f"<p><b>{e(self.headline())}</b></p>"]
        if self.result.status == "graded":
            rows = self.rows()
            with_hints = any(hint for *_, hint in rows)  # no empty 해결 방법 column when all passed
            parts.append(
                f'<table style="width:100%; table-layout:auto"><thead><tr><th {head}></th><th {head}>항목</th>'
                f"<th {head}>근거</th>"
                + (f"<th {head}>해결 방법</th>" if with_hints else "")
                + "</tr></thead><tbody>"
            )
            links = self.hint_links()
            for icon, check_id, title, evidence, hint in rows:
                more = f' <a href="{e(links[check_id])}">자세히</a>' if hint and check_id in links else ""
                parts.append(
                    f"<tr><td {cell}>{e(icon)}</td>"
                    f"<td {cell}>{e(title)}<br><code {check_id_style}>{e(check_id)}</code></td>"
                    f"<td {cell}>{'<br>'.join(e(x) for x in evidence)}</td>"
                    + (f"<td {cell}>{e(hint or '')}{more}</td>" if with_hints else "")
                    + "</tr>"
                )
            parts.append("</tbody></table>")
        if self.advisories():
            items = "".join(f"<li>{e(a)}</li>" for a in self.advisories())
            parts.append(
                f'<p style="text-align:left"><b>권고 사항</b> (점수에 넣지 않음)</p><ul>{items}</ul>'
            )
        return "".join(parts)


@dataclass
class StepState:
    label: str
    word: str  # the `%check` word of the step
    status: Status  # PASS when every check of the step passed (or does not apply), else the worst
    failing: list[tuple[str, str | None, str | None]]  # (check title, hint, troubleshooting link)


@dataclass
class ProgressView:
    """The guide's steps as a checklist from one grading: done, not yet, what to do next."""

    result: TargetResult

    @cached_property
    def steps(self) -> list[StepState]:
        by_id = {v.id: v for v in self.result.verdicts}
        links = CheckView(self.result).hint_links()
        states = []
        for word, label in PROGRESS:
            verdicts = [by_id[c] for c in STEPS[word] if c in by_id]
            failing = [v for v in verdicts if not (v.status.passed or v.status is Status.NOT_APPLICABLE)]
            if not failing:
                status = Status.PASS
            elif any(v.status is Status.FAIL for v in failing):
                status = Status.FAIL
            else:
                status = Status.ERROR
            rows = [
                (
                    inert(v.title.ko),
                    inert(self.result.clean(v.hint.text.ko)) if v.hint else None,
                    links.get(v.id),
                )
                for v in failing
            ]
            states.append(StepState(label, word, status, rows))
        return states

    def done(self) -> int:
        return sum(s.status is Status.PASS for s in self.steps)

    def next_step(self) -> StepState | None:
        return next((s for s in self.steps if s.status is not Status.PASS), None)

    def headline(self) -> str:
        r = self.result
        if r.status != "graded":
            return CheckView(r).headline()
        total = len(PROGRESS)
        if self.done() == total:
            return f"{inert(r.target.name)}: {total}단계 모두 끝났습니다 🎉 과제 노트북에서 %check all로 최종 점검하세요"
        return f"{inert(r.target.name)}: {total}단계 중 {self.done()}단계 끝남"

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.result.status != "graded":
            return lines[0]
        upcoming = self.next_step()
        for step in self.steps:
            mark = "✅" if step.status is Status.PASS else ("👉" if step is upcoming else "⬜")
            lines.append(f"{mark} {step.label} (%check {step.word})")
            if step is upcoming:
                for title, hint, link in step.failing:
                    lines.append(f"    {ICONS[step.status].strip()} {title}" + (f" → {hint}" if hint else ""))
                    if link:
                        lines.append(f"      자세히: {link}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        e = html.escape  # on text already made inert
        left = 'style="text-align:left; list-style:none; padding-left:0"'
        parts = [f'<p style="text-align:left"><b>{e(self.headline())}</b></p>']
        if self.result.status != "graded":
            return parts[0]
        upcoming = self.next_step()
        items = []
        for step in self.steps:
            mark = "✅" if step.status is Status.PASS else ("👉" if step is upcoming else "⬜")
            item = f"{mark} {e(step.label)} <code>%check {e(step.word)}</code>"
            if step is upcoming:
                details = "".join(
                    f"<li>{e(ICONS[step.status].strip())} {e(title)}"
                    + (f" → {e(hint)}" if hint else "")
                    + (f' <a href="{e(link)}">자세히</a>' if link else "")
                    + "</li>"
                    for title, hint, link in step.failing
                )
                item += f'<ul style="text-align:left">{details}</ul>'
            items.append(f"<li>{item}</li>")
        parts.append(f"<ul {left}>{''.join(items)}</ul>")
        return "".join(parts)


# ---- IPython ------------------------------------------------------------------------------------


# A whole `%node` argument line that replaces the cell's own (CI runs the notebooks against the
# practice node this way; a JupyterHub can preset each trainee's node the same way).
NODE_ENV = "AIRFLOW_COURSE_NODE"


NODE_USAGE = (
    "%node 사용법: %node <내 노드의 주소> --key <키 파일> [--user ec2-user] [--port 22] "
    "(예: %node ec2-13-124-0-1.ap-northeast-2.compute.amazonaws.com --key ~/.ssh/class.pem)"
)
NODE_OPTIONS = ("--key", "--user", "--port", "--name", "--config", "--known-hosts")


def node_words(line: str) -> list[str]:
    """The words of a `%node` line: quotes group words, backslashes stay (Windows paths)."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""  # `C:\Users\kim\.ssh\class.pem` keeps its backslashes
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote
        raise NotebookError(f"따옴표가 닫히지 않았습니다. {NODE_USAGE}") from None


def parse_node_line(line: str) -> dict[str, str | None]:
    """`%node` arguments, checked with Korean messages (never argparse's English)."""
    words = node_words(line)
    if not words:
        raise NotebookError(f"내 노드의 주소가 없습니다. {NODE_USAGE}")
    found: dict[str, str | None] = {"host": None, **{o[2:].replace("-", "_"): None for o in NODE_OPTIONS}}
    index = 0
    while index < len(words):
        word = words[index]
        name, equals, value = word.partition("=")
        if name in NODE_OPTIONS:
            if not equals:
                index += 1
                if index >= len(words):
                    raise NotebookError(f"{name} 뒤에 값이 없습니다. {NODE_USAGE}")
                value = words[index]
            found[name[2:].replace("-", "_")] = value
        elif word.startswith("-"):
            raise NotebookError(f"알 수 없는 옵션: {word}. {NODE_USAGE}")
        elif found["host"] is None:
            found["host"] = word
        else:
            raise NotebookError(f"주소가 두 개입니다({found['host']}, {word}). {NODE_USAGE}")
        index += 1
    if found["host"] is None:
        raise NotebookError(f"내 노드의 주소가 없습니다. {NODE_USAGE}")
    if found["port"] is not None and not (found["port"].isdigit() and 0 < int(found["port"]) < 65536):
        raise NotebookError(f"--port는 1~65535의 숫자여야 합니다: {found['port']}")
    return found


_WINDOWS_PATH = re.compile(r"^(?P<drive>[A-Za-z]):[\\/](?P<rest>.*)$")


def key_path(given: str) -> str:
    """The key file as this machine sees it: `~` expanded; a Windows path mapped into WSL when the
    notebook runs there (`C:\\Users\\kim\\.ssh\\a.pem` -> `/mnt/c/Users/kim/.ssh/a.pem`). Raises a
    Korean NotebookError when there is no readable file (before any connection is tried)."""
    path = os.path.expanduser(given)
    windows = _WINDOWS_PATH.match(path)
    if windows:
        mounted = Path("/mnt") / windows["drive"].lower() / windows["rest"].replace("\\", "/")
        if mounted.exists():
            path = str(mounted)
        else:
            raise NotebookError(
                f"키 파일이 없습니다: {given}. 이 노트북은 Windows가 아니라 {platform.node() or '다른 컴퓨터'}에서 "
                "실행 중이므로 Windows의 경로는 쓸 수 없습니다. 키 파일을 Jupyter의 파일 브라우저로 이 서버의 홈에 "
                "올리고(예: ~/.ssh/class.pem) 그 경로를 쓰세요."
            )
    candidate = Path(path)
    if not candidate.exists():
        raise NotebookError(
            f"키 파일이 없습니다: {given}. EC2 키 페어를 만들 때 내려받은 .pem 파일의 경로를 쓰세요 "
            "(예: --key ~/.ssh/class.pem)."
        )
    if not candidate.is_file():
        raise NotebookError(f"키 파일이 아니라 폴더입니다: {given}")
    if not os.access(candidate, os.R_OK):
        raise NotebookError(f"키 파일을 읽을 수 없습니다(권한): {given}. `chmod 600 {path}`로 고치세요.")
    return str(candidate)


KEY_PLACES = ("~/.ssh", "~")  # where a trainee uploads the EC2 key (the course server's home too)


def found_key() -> str | None:
    """The one `.pem` in ~/.ssh or ~ when `%node` has no --key: the key a trainee uploaded once.
    Several are ambiguous (a Korean error names them); none leaves ssh-agent and ~/.ssh/config."""
    try:
        keys = sorted(
            {p for place in KEY_PLACES for p in Path(place).expanduser().glob("*.pem") if p.is_file()}
        )
    except (OSError, RuntimeError):  # no home directory to look in
        return None
    if len(keys) > 1:
        names = ", ".join(str(k).replace(str(Path.home()), "~", 1) for k in keys[:5])
        raise NotebookError(f"키 파일이 여러 개입니다({names}). --key로 내 노드의 키를 고르세요.")
    return key_path(str(keys[0])) if keys else None


def key_warning(path: str) -> str:
    """A note when others can read the key (ssh itself refuses such a key)."""
    try:
        mode = os.stat(path).st_mode & 0o077
    except OSError:
        return ""
    return f" ⚠️ 다른 사용자도 읽을 수 있는 키입니다: `chmod 600 {path}`로 고치세요." if mode else ""


def _node_magic(line: str) -> str:
    preset = os.environ.get(NODE_ENV, "").strip()
    if preset:
        line = preset
    SESSION.target = None  # an empty or wrong %node forgets the previous node: no silent reuse
    args = parse_node_line(line)
    port = int(args["port"]) if args["port"] else None
    key = key_path(args["key"]) if args["key"] else found_key()
    target = use_node(
        args["host"] or "",
        key=key,
        user=args["user"],
        port=port,
        name=args["name"],
        config=args["config"],
        known_hosts=args["known_hosts"],
    )
    how = "" if args["key"] or not key else ", 홈에서 찾음"
    said = inert(f"내 노드: {target.user}@{target.hostname}:{target.port}") + (
        inert(f" (키 {target.key}{how})") + inert(key_warning(target.key))
        if target.key
        else inert(" (키 없음: ssh-agent나 ~/.ssh/config의 키를 씁니다)")
    )
    return f"{said} — 환경 변수 {NODE_ENV}에 정해진 노드입니다" if preset else said


def _autograding() -> bool:
    """nbgrader autograde is running the notebook: the champion's `grade` scores the node, and the
    grading machine must not SSH to trainees' instances (maybe stopped by then) with their key paths."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return False
    print("ℹ️ 자동 채점 중에는 노드를 점검하지 않습니다 (노드 점수는 챔피언의 grade가 매깁니다)")
    return True


def load_ipython_extension(ipython) -> None:  # type: ignore[no-untyped-def]
    """`%load_ext grader.notebook`: registers `%node`, `%check` and `%steps`."""

    def node(line: str) -> None:
        try:
            print(_node_magic(line))
        except NotebookError as exc:
            print(f"❌ {exc}")

    def check_magic(line: str):  # type: ignore[no-untyped-def]
        if _autograding():
            return None
        try:
            return check(*shlex.split(line))
        except NotebookError as exc:
            print(f"❌ {exc}")
            return None

    def steps_magic(line: str):  # type: ignore[no-untyped-def]
        if _autograding():
            return None
        if line.strip():
            print(f"❌ %steps에는 인자가 없습니다: {line.strip()}")
            return None
        try:
            return progress()
        except NotebookError as exc:
            print(f"❌ {exc}")
            return None

    ipython.register_magic_function(node, "line", "node")
    ipython.register_magic_function(check_magic, "line", "check")
    ipython.register_magic_function(steps_magic, "line", "steps")
