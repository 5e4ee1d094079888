"""Check cells (`%node`, `%check`): step names, rendering of the same verdicts `grade` gives."""

from __future__ import annotations

from pathlib import Path

import pytest

import checks
from grader import notebook
from grader.facts import Facts
from grader.i18n import t
from grader.runner import TargetResult, judge_facts
from grader.settings import CourseSettings
from grader.target import Target

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "practice-2.11.2-pass.json"


def view(facts: Facts, only: set[str] | None = None) -> notebook.CheckView:
    target = Target(name="내 노드", host="h", hostname="h")
    return notebook.CheckView(judge_facts(target, facts, CourseSettings(), only))


def test_steps_cover_every_check_and_names_are_checked() -> None:
    assert notebook.selected([]) == set(checks.CHECK_IDS)
    assert notebook.selected(["redis"]) == {"redis.running"}
    assert notebook.selected(["config", "account.champion"]) == {
        "config.executor",
        "config.metadata_db",
        "config.broker",
        "config.result_backend",
        "account.champion",
    }
    covered = set().union(*(ids for step, ids in notebook.STEPS.items() if step != "all"))
    assert covered == set(checks.CHECK_IDS)
    with pytest.raises(notebook.NotebookError, match="알 수 없는 점검 이름: redsi"):
        notebook.selected(["redsi"])


def test_view_of_a_passing_node_in_text_and_html() -> None:
    facts = Facts.load(FIXTURE)
    shown = view(facts, {"redis.running", "mysql.running"})
    assert shown.passed
    text = str(shown)
    assert "모두 통과" in text and "✅ Redis 실행 [redis.running]" in text
    assert "⚠️ MySQL 실행 [mysql.running]" in text and "→ 가이드 3.3" in text  # warn shows its note
    page = shown._repr_html_()
    assert "<table" in page and "redis.running" in page and "airflow.worker" not in page
    assert "text-align:left" in page and "word-break:keep-all" in page  # readable at a notebook's width
    # 권고 사항, as `grade` shows them (the text promises them).
    assert "권고 사항" in text and "[db.mariadb]" in text and "[eol.airflow]" in text
    assert "권고 사항" in page and "eol.airflow" in page
    assert "해결 방법" in page  # the warning's note has a column
    clean = view(facts, {"redis.running"})._repr_html_()
    assert "해결 방법" not in clean  # nothing to fix: no empty column
    assert '<code style="white-space:nowrap">redis.running</code>' in clean


def test_view_of_a_failing_check_shows_the_hint_and_escapes() -> None:
    facts = Facts.load(FIXTURE)
    facts.processes = [p for p in facts.processes if "redis-server" not in p.title]
    facts.redis.reachable, facts.redis.error = False, "<b>refused</b>"
    shown = view(facts, {"redis.running"})
    assert not shown.passed
    assert "❌ Redis 실행" in str(shown) and "sudo service redis start" in str(shown)
    assert "<b>refused</b>" not in shown._repr_html_()


def test_view_of_an_unreachable_node() -> None:
    result = TargetResult(
        Target(name="내 노드", host="h", hostname="h"),
        "unreachable",
        "now",
        message=t("연결 거부", "refused"),
    )
    shown = notebook.CheckView(result)
    assert not shown.passed and str(shown).startswith("❓ 내 노드: 접속 불가. 연결 거부")
    assert "<table>" not in shown._repr_html_()


def test_check_before_node_and_bad_node_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    monkeypatch.delenv(notebook.NODE_ENV, raising=False)
    with pytest.raises(notebook.NotebookError, match="%node"):
        notebook.check("redis")
    with pytest.raises(notebook.NotebookError, match="사용법"):
        notebook._node_magic("")
    key = tmp_path / "me.pem"
    key.write_text("not a real key")
    key.chmod(0o600)
    said = notebook._node_magic(f"10.0.0.5 --key {key} --user ubuntu --port 2222")
    assert said == f"내 노드: ubuntu@10.0.0.5:2222 (키 {key})"
    assert notebook.SESSION.target is not None and notebook.SESSION.target.port == 2222


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "주소가 없습니다"),
        ("--key a.pem", "주소가 없습니다"),
        ("h --port twenty", "--port는 1~65535"),
        ("h --bogus 1", "알 수 없는 옵션: --bogus"),
        ("h g", "주소가 두 개입니다"),
        ("h --key", "--key 뒤에 값이 없습니다"),
        ('h --key "unclosed', "따옴표가 닫히지 않았습니다"),
        ("h --key /no/such/key.pem", "키 파일이 없습니다: /no/such/key.pem"),
        ("h --key C:\\Users\\kim\\.ssh\\class.pem", "Windows의 경로는 쓸 수 없습니다"),
    ],
)
def test_a_wrong_node_line_is_korean_and_forgets_the_previous_node(
    line: str, says: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    monkeypatch.delenv(notebook.NODE_ENV, raising=False)
    key = tmp_path / "ok.pem"
    key.write_text("x")
    notebook._node_magic(f"10.0.0.5 --key {key}")
    with pytest.raises(notebook.NotebookError, match=says) as caught:
        notebook._node_magic(line)
    assert "usage" not in str(caught.value).lower() and "error" not in str(caught.value).lower()
    assert notebook.SESSION.target is None  # %check now asks for a node instead of grading the old one
    with pytest.raises(notebook.NotebookError, match="먼저 %node"):
        notebook.check("redis")


def test_key_paths_with_spaces_quotes_and_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    monkeypatch.delenv(notebook.NODE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "my keys").mkdir()
    key = tmp_path / "my keys" / "class.pem"
    key.write_text("x")
    notebook._node_magic('h --key "~/my keys/class.pem"')
    assert notebook.SESSION.target is not None and notebook.SESSION.target.key == str(key)
    notebook._node_magic("h --key='~/my keys/class.pem'")
    assert notebook.SESSION.target is not None and notebook.SESSION.target.key == str(key)


def test_a_windows_key_path_is_found_under_wsl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On WSL the Windows drive is mounted at /mnt/c: the trainee's `C:\\...` path is found there."""
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    monkeypatch.delenv(notebook.NODE_ENV, raising=False)
    real_path = notebook.Path

    def mounted(*parts: object) -> Path:
        first = str(parts[0]) if parts else ""
        return real_path(str(tmp_path) + first, *parts[1:]) if first == "/mnt" else real_path(*parts)

    monkeypatch.setattr(notebook, "Path", mounted)
    (tmp_path / "mnt" / "c" / "Users" / "kim").mkdir(parents=True)
    (tmp_path / "mnt" / "c" / "Users" / "kim" / "class.pem").write_text("x")
    notebook._node_magic("h --key C:\\Users\\kim\\class.pem")
    assert notebook.SESSION.target is not None
    assert notebook.SESSION.target.key == str(tmp_path / "mnt" / "c" / "Users" / "kim" / "class.pem")


def test_node_preset_by_environment_replaces_the_cell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())
    key = tmp_path / "practice"
    key.write_text("x")
    monkeypatch.setenv(notebook.NODE_ENV, f"127.0.0.1 --port 2222 --key {key}")
    said = notebook._node_magic("ec2-3-35-0-1.ap-northeast-2.compute.amazonaws.com --key ~/.ssh/me.pem")
    assert said.startswith(f"내 노드: ec2-user@127.0.0.1:2222 (키 {key})")
    assert notebook.NODE_ENV in said
    assert notebook.SESSION.target is not None and notebook.SESSION.target.hostname == "127.0.0.1"


def test_check_cells_do_not_ssh_while_nbgrader_autogrades(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    registered = {}

    class Shell:
        def register_magic_function(self, function, kind, name):  # type: ignore[no-untyped-def]
            registered[name] = function

    notebook.load_ipython_extension(Shell())
    monkeypatch.setattr(notebook, "check", lambda *words: pytest.fail("autograde must not grade the node"))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert registered["check"]("all") is None
    assert "자동 채점 중에는" in capsys.readouterr().out
    assert registered["steps"]("") is None
    assert "자동 채점 중에는" in capsys.readouterr().out


def progress_of(facts: Facts) -> notebook.ProgressView:
    target = Target(name="내 노드", host="h", hostname="h")
    return notebook.ProgressView(judge_facts(target, facts, CourseSettings(), None))


def test_progress_lists_the_steps_in_order_and_points_at_the_next_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    covered = set().union(*(notebook.STEPS[word] for word, _ in notebook.PROGRESS))
    assert covered == set(checks.CHECK_IDS)  # every check belongs to a step of the checklist
    done = progress_of(Facts.load(FIXTURE))
    assert done.done() == len(notebook.PROGRESS) and done.next_step() is None
    assert "5단계 모두 끝났습니다" in str(done) and str(done).count("✅") == 5

    facts = Facts.load(FIXTURE)
    facts.processes = [p for p in facts.processes if "mysqld" not in p.title and "mariadbd" not in p.title]
    facts.mysql.reachable, facts.mysql.error = False, "refused"
    monkeypatch.chdir(tmp_path)
    shown = progress_of(facts)
    lines = str(shown).splitlines()
    assert lines[0] == "내 노드: 5단계 중 4단계 끝남"
    assert lines[1] == "✅ 3.2 Redis (%check redis)"
    assert lines[2] == "👉 3.3 MySQL (%check mysql)"
    assert shown.next_step() is not None and shown.next_step().word == "mysql"
    assert "❌ MySQL 실행" in lines[3] and "→" in lines[3]
    assert "자세히" not in str(shown)  # no troubleshooting page beside this notebook: no dead link

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "troubleshooting.ko.md").write_text("# 문제 해결\n", encoding="utf-8")
    page = progress_of(facts)._repr_html_()
    assert 'href="docs/troubleshooting.ko.md#mysql-not-running"' in page
    check_page = view(facts, {"mysql.running"})._repr_html_()
    assert 'href="docs/troubleshooting.ko.md#mysql-not-running"' in check_page


def test_progress_of_an_unreachable_node_is_one_line() -> None:
    result = TargetResult(Target(name="내 노드", host="h", hostname="h"), "unreachable", "now")
    shown = notebook.ProgressView(result)
    assert str(shown).startswith("❓ 내 노드: 접속 불가") and "\n" not in str(shown)
    assert "<ul" not in shown._repr_html_()


def test_node_finds_the_one_uploaded_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A trainee uploads the EC2 key once (into ~ or ~/.ssh): `%node <address>` finds it; two keys are
    ambiguous and said so in Korean; no key leaves ssh-agent; a key others can read gets a note."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(notebook.NODE_ENV, raising=False)
    monkeypatch.setattr(notebook, "SESSION", notebook.NodeSession())

    assert "키 없음" in notebook._node_magic("10.0.0.5")
    key = home / ".ssh" / "class.pem"
    key.write_text("x")
    key.chmod(0o600)
    said = notebook._node_magic("10.0.0.5")
    assert f"(키 {key}, 홈에서 찾음)" in said and "chmod" not in said
    assert notebook.SESSION.target is not None and notebook.SESSION.target.key == str(key)

    key.chmod(0o644)
    assert f"`chmod 600 {key}`" in notebook._node_magic("10.0.0.5")

    (home / "other.pem").write_text("y")
    with pytest.raises(
        notebook.NotebookError, match=r"키 파일이 여러 개입니다\(~/.ssh/class.pem, ~/other.pem\)"
    ):
        notebook._node_magic("10.0.0.5")
    assert notebook.SESSION.target is None
    explicit = notebook._node_magic(f"10.0.0.5 --key {home / 'other.pem'}")
    assert "홈에서 찾음" not in explicit and "other.pem" in explicit
