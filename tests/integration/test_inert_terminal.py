"""Node text reaches a real terminal inert: `grade --from-facts` (no node involved) on recorded facts
full of terminal escapes, C1 controls, bidi overrides and rich markup, run under a pty by util-linux
`script`, so rich styles its output as it would for the champion. The raw bytes may hold the
grader's own styling only (what the same command prints on clean facts); every hostile string is
on screen in its visible-escaped form. The class table and the progress bar are run the same way."""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "facts" / "practice-2.11.2-pass.json"
GRADE = Path(sys.executable).with_name("grade")

# util-linux `script` (Debian's essential bsdutils) gives the command a real pty; without it the
# tests fail, they are not skipped.
SCRIPT = shutil.which("script") or "script"

# Each hostile piece carries a marker word, to find where it ended up.
TITLE = "\x1b]0;PWNTITLE\x07"  # OSC: sets the window title
CLEAR = "\x1b[2J\x1b[H"  # clears the screen, cursor home
FAKE = "\x1b[32m✅ 10/10 FAKEPASS\x1b[0m"  # a green pass line
BOLD = "\x1b[1mBOLDMARK\x1b[0m"  # the very SGR the grader uses itself
C1 = "\x9b2JC1MARK"  # the one-character CSI
RLO = "\u202eRLOMARK"  # right-to-left override
MARKUP = "[/][link=http://x]LINKMARK[/link][conceal]HIDEMARK"
MARKERS = ("PWNTITLE", "FAKEPASS", "BOLDMARK", "C1MARK", "RLOMARK", "LINKMARK", "HIDEMARK")
HOSTILE = TITLE + CLEAR + FAKE + BOLD + C1 + RLO + MARKUP
NAME = "김" + HOSTILE
SGR = re.compile(rb"\x1b\[[0-9;]*m")
ESCAPE = re.compile(rb"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)")
FORBIDDEN = re.compile("[\x80-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def hostile_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The recorded node with node text made hostile wherever a node writes it."""
    facts = copy.deepcopy(facts)
    facts["host"]["user"] += HOSTILE
    facts["host"]["hostname"] += HOSTILE
    for proc in facts["processes"]:
        proc["title"] += " " + HOSTILE
        proc["argv"] = [*proc["argv"], HOSTILE]
    options = facts["airflow"]["options"]
    options["core.executor"]["value"] = "CeleryExecutor" + HOSTILE
    options["celery.broker_url"]["value"] += HOSTILE
    facts["airflow"]["installs"] = [path + HOSTILE for path in facts["airflow"]["installs"]]
    facts["airflow"]["fab_provider"] += HOSTILE
    for service in ("redis", "broker"):
        facts[service]["reply"] = "+PONG" + HOSTILE
        facts[service]["version"] = "7.0.15" + HOSTILE
    facts["mysql"]["server_version"] = "8.0.36" + HOSTILE
    facts["mysql"]["champion"]["roles"] = ["Admin" + HOSTILE]
    facts["web"]["health_status"] = None
    facts["web"]["error"] = HOSTILE
    return facts


def in_pty(argv: list[str], tmp_path: Path) -> bytes:
    """The raw bytes a terminal receives from `argv` (stdout and stderr both go to the pty)."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "250", "LINES": "50"}
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    command = shlex.join(argv)
    done = subprocess.run(
        [SCRIPT, "-qec", command, "/dev/null"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1, 3), done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stdout, done.stdout.decode(errors="replace")
    return done.stdout


def escapes(raw: bytes) -> set[bytes]:
    return set(ESCAPE.findall(raw))


def screen_text(raw: bytes) -> str:
    """What the terminal shows as text: the bytes without the grader's SGR, decoded."""
    return SGR.sub(b"", raw).decode("utf-8").replace("\r\n", "\n")


def assert_inert_on_screen(raw: bytes, allowed: set[bytes], *, where: str) -> str:
    """Only the grader's own escapes, no C1/bidi, every marker present and shown escaped."""
    assert escapes(raw) <= allowed, f"{where}: escapes not the grader's own: {escapes(raw) - allowed}"
    for bad in (b"\x1b]", b"\x1b[2J", b"\x1b[H", b"\x1b[32m", b"\x1b[1mBOLDMARK"):
        assert bad not in raw, f"{where}: {bad!r} reached the terminal"
    text = screen_text(raw)
    found = FORBIDDEN.search(text)
    assert found is None, f"{where}: raw {found[0]!r} reached the terminal"
    for marker in MARKERS:
        assert marker in text, f"{where}: {marker} not on screen"
    return text


@pytest.fixture(scope="module")
def facts_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("facts")
    clean = json.loads(FIXTURE.read_text(encoding="utf-8"))
    hostile = folder / "hostile.json"
    hostile.write_text(json.dumps(hostile_facts(clean), ensure_ascii=False), encoding="utf-8")
    return FIXTURE, hostile


def test_grade_table_in_a_real_terminal(facts_files: tuple[Path, Path], tmp_path: Path) -> None:
    clean, hostile = facts_files
    baseline = in_pty([str(GRADE), "--from-facts", str(clean), "--name", "김민수"], tmp_path)
    own = escapes(baseline)
    assert own and own <= {b"\x1b[1m", b"\x1b[0m"}, own  # a plain table: bold, reset
    raw = in_pty([str(GRADE), "--from-facts", str(hostile), "--name", NAME], tmp_path)
    text = assert_inert_on_screen(raw, own, where="grade")
    head = text.split("\n", 1)[0]
    assert head.startswith("김\\x1b]0;PWNTITLE\\x07\\x1b[2J\\x1b[H\\x1b[32m✅ 10/10 FAKEPASS\\x1b[0m")
    assert "\\x1b[1mBOLDMARK\\x1b[0m\\x9b2JC1MARK\\u202eRLOMARK[/][link=http://x]LINKMARK" in head
    assert raw.startswith(b"\x1b[1m\xea\xb9\x80\\x1b]0;PWNTITLE")  # bold is the grader's, around text
    assert "[conceal]HIDEMARK" in text


def test_grade_json_in_a_real_terminal(facts_files: tuple[Path, Path], tmp_path: Path) -> None:
    _, hostile = facts_files
    raw = in_pty([str(GRADE), "--from-facts", str(hostile), "--name", NAME, "--format", "json"], tmp_path)
    assert b"\x1b" not in raw and not FORBIDDEN.search(raw.decode("utf-8"))
    results = json.loads(raw.decode("utf-8").replace("\r\n", "\n"))
    assert results[0]["target"]["name"] == NAME  # the data itself is intact, only written escaped
    shown = json.dumps(results, ensure_ascii=False)
    for marker in MARKERS:
        assert marker in shown


def test_class_table_and_progress_in_a_real_terminal(facts_files: tuple[Path, Path], tmp_path: Path) -> None:
    """The class table (`grade --roster`'s output) and the progress bar on the hostile results."""
    _, hostile = facts_files
    raw = in_pty([str(GRADE), "--from-facts", str(hostile), "--name", NAME, "--format", "json"], tmp_path)
    results = json.loads(raw.decode("utf-8").replace("\r\n", "\n"))
    ungraded = copy.deepcopy(results[0])
    ungraded.update(status="unreachable", message=HOSTILE, checks=[], score=0, max_score=0)
    ungraded["target"]["name"] = "=" + NAME
    clean = copy.deepcopy(results[0])
    clean["target"].update(name="김민수", host="10.0.0.1")
    clean_file, hostile_file = tmp_path / "clean.json", tmp_path / "hostile.json"
    clean_file.write_text(json.dumps([clean], ensure_ascii=False), encoding="utf-8")
    hostile_file.write_text(json.dumps([results[0], ungraded], ensure_ascii=False), encoding="utf-8")
    table = (
        "import json, sys; from grader.cli_class import write_class_table; "
        "write_class_table(json.load(open(sys.argv[1], encoding='utf-8')), sys.stdout, 'ko')"
    )
    own = escapes(in_pty([sys.executable, "-c", table, str(clean_file)], tmp_path))
    raw = in_pty([sys.executable, "-c", table, str(hostile_file)], tmp_path)
    assert_inert_on_screen(raw, own, where="class table")

    progress = (
        "import sys; from grader.batch import ProgressReporter; from grader.runner import TargetResult; "
        "from grader.target import Target; names = sys.argv[1:]; "
        "reporter = ProgressReporter(len(names), 'ko'); "
        "[reporter.advance(TargetResult(Target(n, n, 'h'), 'unreachable', 'now')) for n in names]; "
        "reporter.close()"
    )
    own = escapes(in_pty([sys.executable, "-c", progress, "김민수", "이영희"], tmp_path))
    raw = in_pty([sys.executable, "-c", progress, NAME, "=" + NAME], tmp_path)
    assert escapes(raw) <= own, escapes(raw) - own
    assert b"\x1b]" not in raw and b"\x1b[2J" not in raw  # rich's own bar is green: no b"\x1b[32m" check
    assert b"\x1b[32m\xe2\x9c\x85 10/10 FAKEPASS" not in raw and b"\x1b[1mBOLDMARK" not in raw
    text = screen_text(raw)
    assert not FORBIDDEN.search(text)
    assert "김\\x1b]0;PWNTITLE\\x07\\x1b[2J\\x1b[H\\x1b[32m✅ 10/10 FAKEPASS" in text  # as written, escaped
