"""The champion's command on the real machine: a second `up` changes nothing, bad rosters are
refused in Korean before anything changes, plain HTTP stays on loopback, and a trainee removed
while logged in loses the session, the server and the account."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from course_server import accounts

from tests.integration.server.conftest import Server, course_server, hub_api, start_server


def test_a_second_up_changes_nothing(server: Server) -> None:
    before = server.layout.passwords.read_bytes()
    proc = course_server("up")
    assert proc.returncode == 0, proc.stderr
    assert "바뀐 것: 없음 (이미 모두 맞습니다)" in proc.stdout
    assert server.layout.passwords.read_bytes() == before  # no password was reissued
    assert str(server.layout.passwords) in proc.stdout
    for password in server.passwords.values():
        assert password not in proc.stdout + proc.stderr


def test_status(server: Server) -> None:
    proc = course_server("status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "JupyterHub: 실행 중" in proc.stdout
    assert "01_definition, 02_architecture, 03_single_node, 04_assignment" in proc.stdout


def test_bad_rosters_are_refused_in_korean_and_nothing_changes(server: Server, tmp_path: Path) -> None:
    kept = server.layout.roster.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,id,email\n김민수,kim,\n이지호,김지호,\n박서연,kim,\n최유진,,유진@회사.kr\n,x1,\n정하늘,root,\n",
        encoding="utf-8",
    )
    proc = course_server("up", "--roster", str(bad))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "명단을 쓸 수 없습니다 (아무것도 바꾸지 않았습니다)" in proc.stderr
    assert "3번째 줄(이지호): id는 영문 소문자·숫자·-·_만 쓸 수 있습니다" in proc.stderr
    assert "4번째 줄(박서연): id kim가 2번째 줄(김민수)과 겹칩니다" in proc.stderr
    assert "5번째 줄(최유진): 이메일 앞부분으로 id를 만들 수 없습니다" in proc.stderr
    assert "6번째 줄: 이름(name)이 비어 있습니다" in proc.stderr
    assert server.layout.roster.read_bytes() == kept


def test_an_id_that_is_an_existing_account_is_refused(server: Server, tmp_path: Path) -> None:
    roster = tmp_path / "root.csv"
    roster.write_text("name,id\n정하늘,root\n김민수,kim\n", encoding="utf-8")
    proc = course_server("up", "--roster", str(roster))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "id root는 이 머신에 이미 있는 계정입니다" in proc.stderr


def test_plain_http_only_on_loopback(server: Server) -> None:
    settings = server.layout.settings_file.read_bytes()
    proc = course_server("up", "--ip", "0.0.0.0")
    assert proc.returncode == 1 and "암호화하지 않은 HTTP로 열지 않습니다" in proc.stderr
    assert "--allow-http" in proc.stderr
    assert server.layout.settings_file.read_bytes() == settings


def login(server: Server, user: str, password: str) -> urllib.request.OpenerDirector:
    """A browser's login with cookies: the form's _xsrf, then the POST."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{server.url}/hub/login", timeout=30).read().decode()
    xsrf = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page)
    form = {"username": user, "password": password, **({"_xsrf": xsrf[1]} if xsrf else {})}
    try:
        opener.open(f"{server.url}/hub/login", data=urllib.parse.urlencode(form).encode(), timeout=120)
    except urllib.error.HTTPError as exc:
        assert exc.code == 403, exc.code  # a refused login: the form again, with its message
    return opener


def hub_home_status(opener: urllib.request.OpenerDirector, server: Server) -> str:
    """Where /hub/home lands: 'home' for a logged-in user, else 'login'."""
    try:
        reply = opener.open(f"{server.url}/hub/home", timeout=30)
    except urllib.error.HTTPError as exc:
        return f"http {exc.code}"
    return "login" if "/hub/login" in reply.geturl() else "home"


def test_a_trainee_removed_while_logged_in(server: Server) -> None:
    proc = course_server("add", "--name", "한가람", "--id", "leaver")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "연수생을 더했습니다: 한가람 (id leaver)" in proc.stdout
    password = {
        line.split(",")[0]: line.split(",")[-1]
        for line in server.layout.passwords.read_text(encoding="utf-8").splitlines()
    }["leaver"]
    session = login(server, "leaver", password)
    assert hub_home_status(session, server) == "home"
    hub_api(server, "POST", "/users/leaver/server")
    server_pids = accounts.processes_of("leaver")
    assert server_pids, "the trainee's Jupyter runs as the trainee"

    proc = course_server("remove", "leaver")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not accounts.exists("leaver") and not Path("/home/leaver").exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in server_pids)
    assert hub_home_status(session, server) == "login"  # the old cookie no longer logs in
    assert "leaver" not in server.layout.roster.read_text(encoding="utf-8")
    assert "leaver" not in server.layout.passwords.read_text(encoding="utf-8")
    again = login(server, "leaver", password)
    assert hub_home_status(again, server) == "login"


def test_the_course_kernel_has_the_grader_and_airflow_3(server: Server) -> None:
    """What a trainee's notebook imports: the check cells' grader (and its SSH stack), Airflow 3.3.2."""
    proc = server.as_user(
        "kim", "python", "-c", "import grader.notebook, paramiko, airflow; print(airflow.__version__)"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "3.3.2"


def test_down_stops_everything_and_up_brings_it_back(server: Server) -> None:
    start_server(server, "t001")
    proc = course_server("down")
    assert proc.returncode == 0 and "JupyterHub를 껐습니다" in proc.stdout, proc.stdout + proc.stderr
    assert not accounts.processes_of("t001"), "the trainee's Jupyter is stopped with the hub"
    assert course_server("status").returncode == 1  # off: status says so with its exit code
    proc = course_server("up")
    assert proc.returncode == 0 and "hub-started" in proc.stdout, proc.stdout + proc.stderr
    assert course_server("status").returncode == 0
