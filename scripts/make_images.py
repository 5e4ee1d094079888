#!/usr/bin/env python3
"""Regenerate every course image in images/ with one command.

    .venv/bin/python scripts/make_images.py [--out DIR] [--only diagrams|screenshots|airflow3 ...]
                                            [--base-url URL] [--airflow3-url URL]
                                            [--user NAME] [--password PASSWORD]

Diagrams (Graphviz `dot`, font "Noto Sans CJK KR"):
  architecture.png, architecture-airflow3.png, workflow-platforms.png  from the hand-written images/src/*.dot
  control-flow.png, pipeline-s3-glue-emr-redshift.png  from real Airflow DAG objects; their DOT
      source is written to <out>/src-generated/*.dot
Screenshots of Airflow 2's web UI, the guide's (headless Debian Chromium driven by selenium, one login),
from the `pass` node of `practice/class up` (2.11.2):
  airflow-login.png, airflow-dag-list.png, airflow-dag-graph.png; what each page showed is written to
  <out>/src-generated/screenshots.json.
Screenshot of Airflow 3's web UI, in Korean (the loopback practice node, 3.3.2 by default):
  airflow3-home.png, the home page with its health badges (recorded in screenshots.json too).

Exit codes: 0 done, 1 a step failed, 2 a webserver cannot be reached.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
SRC_DIR = REPO_ROOT / "images" / "src"
DEFAULT_OUT = REPO_ROOT / "images"
GENERATED_DIR = "src-generated"
SEEN_FILE = "screenshots.json"

DIAGRAMS = (
    "architecture.png",
    "architecture-airflow3.png",
    "workflow-platforms.png",
    "control-flow.png",
    "pipeline-s3-glue-emr-redshift.png",
)
SCREENSHOTS = ("airflow-login.png", "airflow-dag-list.png", "airflow-dag-graph.png")
SCREENSHOTS3 = ("airflow3-home.png",)
OUTPUTS = DIAGRAMS + SCREENSHOTS + SCREENSHOTS3
GROUPS = ("diagrams", "screenshots", "airflow3")
AIRFLOW3_URL = "http://127.0.0.1:8080"  # the loopback practice node (Airflow 3.3.2 by default)
AIRFLOW2_URL = "http://10.77.0.11:8080"  # the `pass` node of practice/class (Airflow 2.11.2, the guide)

FONT = "Noto Sans CJK KR"
MONO_FONT = "Noto Sans Mono CJK KR"
DIAGRAM_WIDTH_PX = 1400
# Width per diagram: the tall architecture and the four-box control flow narrower, so text keeps a similar size.
DIAGRAM_WIDTHS = {
    "architecture": 1200,
    "architecture-airflow3": 1200,
    "workflow-platforms": 1400,
    "control-flow": 1200,
    "pipeline-s3-glue-emr-redshift": 1400,
}
PAD_INCHES = 0.3

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
VIEWPORT = (1400, 900)
MAX_SCREENSHOT_HEIGHT = 1400
PAGE_TIMEOUT = 30.0
GRAPH_DAG_ID = "example_bash_operator"

# The guide's 8-step pipeline (section 2.2): task_id and what the step does (drawn under the id).
PIPELINE_STEPS = (
    ("s3_key_sensor", "S3에 개체가 생길 때까지 감지"),
    ("glue_crawler", "Glue 크롤러 호출"),
    ("glue_job", "Glue 작업 호출"),
    ("create_emr_cluster", "EMR 클러스터 생성"),
    ("add_emr_step", "EMR 클러스터에 step 추가"),
    ("emr_step_sensor", "EMR step 완료 감지"),
    ("terminate_emr_cluster", "EMR 클러스터 종료"),
    ("copy_s3_to_redshift", "S3 데이터를 Redshift에 복사"),
)
PIPELINE_ROW = 4  # tasks per row: the chain is drawn as a snake of two rows


class ImageError(Exception):
    """A step failed; the message is Korean and shown as one line."""


class Unreachable(ImageError):
    """The practice node's webserver did not answer."""


# ---- Graphviz ---------------------------------------------------------------------------------------
def render_dot(source: str, png: Path, width_px: int = DIAGRAM_WIDTH_PX) -> tuple[int, int]:
    """Render DOT text to a PNG about width_px wide (dpi chosen from the laid-out size); returns its size."""
    plain = _dot(source, "-Tplain").decode()
    width_in = plain.split("\n", 1)[0].split()[2]  # "graph <scale> <width> <height>" in inches
    dpi = width_px / (float(width_in) + 2 * PAD_INCHES)
    png.write_bytes(_dot(source, "-Tpng", f"-Gdpi={dpi:.2f}"))
    return png_size(png)


def _dot(source: str, *args: str) -> bytes:
    proc = subprocess.run(
        ["dot", f"-Gpad={PAD_INCHES}", *args], input=source.encode(), capture_output=True, check=False
    )
    warnings_text = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0 or "Warning" in warnings_text or "Error" in warnings_text:
        raise ImageError(f"Graphviz dot 실패: {warnings_text or proc.returncode}")
    return proc.stdout


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ImageError(f"PNG가 아닙니다: {path}")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


# ---- Airflow DAG objects ----------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_airflow() -> Iterator[tuple[Any, Any]]:
    """(DAG, EmptyOperator) of the installed Airflow 2 or 3, imported with AIRFLOW_HOME in a temp dir
    (nothing written to ~/airflow), a throw-away SQLite URL and its warnings and logs silenced."""
    with tempfile.TemporaryDirectory(prefix="make-images-airflow-") as home:
        os.environ["AIRFLOW_HOME"] = home
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Airflow adds its own "default" filters unless Python was given -W options.
            sys.warnoptions.append("ignore")
            try:
                try:
                    from airflow.providers.standard.operators.empty import EmptyOperator
                    from airflow.sdk import DAG
                except ImportError:
                    from airflow import DAG
                    from airflow.operators.empty import EmptyOperator
            finally:
                sys.warnoptions.remove("ignore")
            yield DAG, EmptyOperator


def build_control_flow_dag(dag_cls: Any, empty: Any) -> Any:
    """The guide's control-flow example (section 2.3) as a real DAG."""
    with dag_cls(dag_id="control_flow", schedule=None, start_date=datetime(2024, 1, 1), catchup=False) as dag:
        first_task = empty(task_id="first_task")
        second_task = empty(task_id="second_task")
        third_task = empty(task_id="third_task")
        fourth_task = empty(task_id="fourth_task")
        first_task >> [second_task, third_task]
        third_task << fourth_task
    return dag


def build_pipeline_dag(dag_cls: Any, empty: Any) -> Any:
    """The guide's S3 → Glue → EMR → Redshift pipeline (section 2.2) as a chain of EmptyOperators."""
    with dag_cls(
        dag_id="s3_glue_emr_redshift", schedule=None, start_date=datetime(2024, 1, 1), catchup=False
    ) as dag:
        tasks = [empty(task_id=task_id, doc=doc) for task_id, doc in PIPELINE_STEPS]
        for upstream, downstream in itertools.pairwise(tasks):
            upstream >> downstream
    return dag


def dag_edges(dag: Any) -> list[tuple[str, str]]:
    """(upstream, downstream) task ids, read from each task's downstream_task_ids."""
    return [(task.task_id, down) for task in dag.tasks for down in sorted(task.downstream_task_ids)]


def topological_order(dag: Any) -> list[str]:
    """Task ids, each after all its upstreams (ties in the DAG's own task order)."""
    indegree = {task.task_id: 0 for task in dag.tasks}
    for _, down in dag_edges(dag):
        indegree[down] += 1
    order: list[str] = []
    ready = [task_id for task_id, n in indegree.items() if n == 0]
    while ready:
        task_id = ready.pop(0)
        order.append(task_id)
        for down in sorted(dag.get_task(task_id).downstream_task_ids):
            indegree[down] -= 1
            if indegree[down] == 0:
                ready.append(down)
    return order


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dot_color(color: str) -> str:
    """A CSS colour as Graphviz takes it: "#rgb" expanded to "#rrggbb"."""
    if len(color) == 4 and color.startswith("#"):
        return "#" + "".join(c * 2 for c in color[1:])
    return color


def course_digraph(name: str, label: str, layout: dict[str, str], node: dict[str, str]) -> Any:
    """A Digraph in the course's drawing style (title top left, CJK font, white, grey edges); `layout`
    and `node` are what one diagram sets on top of it."""
    import graphviz

    graph = graphviz.Digraph(name)
    graph.attr(
        "graph",
        label=label,
        labelloc="t",
        labeljust="l",
        **layout,
        fontname=FONT,
        fontsize="14",
        bgcolor="white",
    )
    graph.attr("node", fontname=FONT, fontsize="15", **node)
    graph.attr("edge", color="#4d4d4d", penwidth="1.6", arrowsize="0.9")
    return graph


def control_flow_graph(dag: Any) -> Any:
    """Left-to-right graph of the DAG: one box per task (Airflow's colour for its operator), one edge
    per downstream dependency."""
    code = ("first_task >> [second_task, third_task]", "third_task << fourth_task")
    code_rows = "".join(
        f'<tr><td align="left"><font face="{MONO_FONT}">{_html(c)}</font></td></tr>' for c in code
    )
    title = (
        f'<table border="0" cellspacing="0" cellpadding="2"><tr><td align="left"><font point-size="20">'
        f'<b>Control Flow 예시</b></font>  <font color="#555555">DAG <i>{_html(dag.dag_id)}</i>의 '
        f"Task와 종속성</font></td></tr>{code_rows}<tr><td> </td></tr></table>"
    )
    graph = course_digraph(
        dag.dag_id,
        f"<{title}>",
        layout={"rankdir": "LR", "nodesep": "0.5", "ranksep": "2.6"},
        node={
            "shape": "box",
            "style": "rounded,filled",
            "penwidth": "1.6",
            "margin": "0.25,0.12",
            "color": "#6b7b8c",
        },
    )
    for task in dag.tasks:
        kind = type(task).__name__
        label = f'<<b>{_html(task.task_id)}</b><br/><font point-size="11" color="#666666">{kind}</font>>'
        graph.node(
            task.task_id,
            label=label,
            fillcolor=dot_color(task.ui_color),
            fontcolor=dot_color(task.ui_fgcolor),
        )
    for upstream, downstream in dag_edges(dag):
        graph.edge(upstream, downstream)
    return graph


def is_sensor(task_id: str) -> bool:
    """The course's naming rule: a sensor task's id ends in `_sensor`."""
    return task_id.endswith("_sensor")


SENSOR_STYLE = {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#fff4dc", "color": "#b9831a"}
OPERATOR_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f1fb", "color": "#3b6ea5"}


def pipeline_graph(dag: Any, per_row: int = PIPELINE_ROW) -> Any:
    """The chain drawn as a snake of rows (left to right, then right to left), sensors drawn dashed
    and amber, operators blue; step numbers in topological order; a legend under the title."""
    order = topological_order(dag)
    if any(len(dag.get_task(t).downstream_task_ids) > 1 for t in order):
        raise ImageError(f"{dag.dag_id}: 한 줄로 이어진 DAG(chain)만 그릴 수 있습니다")
    row_of = {task_id: i // per_row for i, task_id in enumerate(order)}
    legend = (
        f'<td bgcolor="{OPERATOR_STYLE["fillcolor"]}" color="{OPERATOR_STYLE["color"]}" border="1" style="rounded">'
        " Operator: 작업을 실행 </td>"
        f'<td bgcolor="{SENSOR_STYLE["fillcolor"]}" color="{SENSOR_STYLE["color"]}" border="1" style="rounded,dashed">'
        " Sensor: 외부 이벤트를 기다리고 감지 (task_id가 _sensor로 끝남) </td>"
    )
    title = (
        '<<table border="0" cellspacing="0" cellpadding="3">'
        '<tr><td align="left"><font point-size="20"><b>S3 → Glue → EMR → Redshift 파이프라인</b></font>  '
        f'<font color="#555555">DAG <i>{_html(dag.dag_id)}</i>: Task {len(order)}개, 번호는 실행 순서</font></td></tr>'
        '<tr><td align="left"><table border="0" cellspacing="6" cellpadding="5">'
        f"<tr><td><b>범례</b></td>{legend}</tr></table></td></tr><tr><td> </td></tr></table>>"
    )
    graph = course_digraph(
        dag.dag_id,
        title,
        layout={"rankdir": "TB", "nodesep": "0.7", "ranksep": "0.6", "newrank": "true"},
        node={"penwidth": "1.6", "margin": "0.22,0.12", "width": "2.6"},
    )
    for number, task_id in enumerate(order, start=1):
        task = dag.get_task(task_id)
        doc = getattr(task, "doc", None) or ""
        label = (
            f'<<font point-size="12" color="#666666">{number}단계</font><br/><b>{_html(task_id)}</b>'
            f'<br/><font point-size="13">{_html(doc)}</font>>'
        )
        graph.node(task_id, label=label, **(SENSOR_STYLE if is_sensor(task_id) else OPERATOR_STYLE))
    for row in range(max(row_of.values()) + 1):
        with graph.subgraph() as same:
            same.attr(rank="same")
            for task_id in order[row * per_row : (row + 1) * per_row]:
                same.node(task_id)
    for upstream, downstream in dag_edges(dag):
        if row_of[upstream] == row_of[downstream] and row_of[upstream] % 2 == 1:
            # right-to-left row: declared reversed so dot puts the downstream task on the left
            graph.edge(downstream, upstream, dir="back")
        else:
            graph.edge(upstream, downstream)
    return graph


def make_diagrams(out: Path) -> list[tuple[str, tuple[int, int]]]:
    """Draw the five diagrams into out; the DAG-based ones also leave their DOT in out/src-generated."""
    made = []
    for name in ("architecture", "architecture-airflow3", "workflow-platforms"):
        source = (SRC_DIR / f"{name}.dot").read_text(encoding="utf-8")
        made.append((f"{name}.png", render_dot(source, out / f"{name}.png", DIAGRAM_WIDTHS[name])))
    generated = out / GENERATED_DIR
    generated.mkdir(parents=True, exist_ok=True)
    with quiet_airflow() as (dag_cls, empty):
        graphs = {
            "control-flow": control_flow_graph(build_control_flow_dag(dag_cls, empty)),
            "pipeline-s3-glue-emr-redshift": pipeline_graph(build_pipeline_dag(dag_cls, empty)),
        }
    for name, graph in graphs.items():
        source = graph.source
        (generated / f"{name}.dot").write_text(source, encoding="utf-8")
        made.append((f"{name}.png", render_dot(source, out / f"{name}.png", DIAGRAM_WIDTHS[name])))
    return made


# ---- Screenshots ------------------------------------------------------------------------------------
def check_reachable(
    base_url: str, path: str = "/login/", what: str = "연습 노드의 webserver", fix: str = ""
) -> None:
    """Raise Unreachable unless base_url + path answers over HTTP."""
    url = base_url.rstrip("/") + path
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read(1)
    except urllib.error.HTTPError:
        return  # it answered
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(
            f"{what}({base_url})에 접속할 수 없습니다: {reason}. {fix or '노드가 떠 있는지 확인하세요.'}"
        ) from None


def new_driver() -> Any:
    """Headless Debian Chromium through /usr/bin/chromedriver (selenium-manager never runs)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        "--lang=ko-KR",
        "--hide-scrollbars",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ko-KR,ko"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    set_viewport(driver, *VIEWPORT)
    return driver


def set_viewport(driver: Any, width: int, height: int) -> None:
    """Size the window so the page itself (not the window) is width x height."""
    driver.set_window_size(width, height)
    inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner_w, 2 * height - inner_h)


def wait_for(driver: Any, condition: Any, what: str, timeout: float = PAGE_TIMEOUT) -> Any:
    """WebDriverWait for condition; a timeout becomes a Korean ImageError naming what was awaited."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        raise ImageError(f"{timeout:.0f}초 안에 {what} (현재 주소: {driver.current_url})") from None


def page_ready(driver: Any) -> bool:
    """Document loaded and its web fonts ready."""
    return driver.execute_script(
        "return document.readyState === 'complete' && document.fonts.status === 'loaded'"
    )


def has_login_form(driver: Any) -> bool:
    return bool(driver.execute_script("return !!document.querySelector('form[name=login] #username')"))


def seen(driver: Any, **details: Any) -> dict[str, Any]:
    """What the page on screen shows, for screenshots.json: its path, title, whether it is a login form."""
    parts = urlsplit(driver.current_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return {"path": path, "title": driver.title, "login_form": has_login_form(driver), **details}


def shoot_login(driver: Any, base_url: str, png: Path) -> dict[str, Any]:
    """The sign-in page with its form still empty."""
    driver.get(base_url.rstrip("/") + "/login/")
    wait_for(driver, lambda d: page_ready(d) and has_login_form(d), "로그인 화면이 뜨지 않았습니다")
    driver.save_screenshot(str(png))
    return seen(driver)


def log_in(driver: Any, user: str, password: str) -> None:
    """Fill the login form already on screen and submit it once (the webserver rate-limits logins)."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[name=login] [type=submit]").click()
    wait_for(
        driver,
        lambda d: (
            "/login" not in urlsplit(d.current_url).path
            or d.execute_script("return !!document.querySelector('.alert-danger, .alert-warning')")
            or "Too Many Requests" in d.title
        ),
        "로그인 결과가 오지 않았습니다",
    )
    if "/login" in urlsplit(driver.current_url).path or "Too Many Requests" in driver.title:
        limited = "Too Many Requests" in driver.title or "Too Many Requests" in driver.page_source
        hint = " 로그인 시도가 너무 잦습니다(분당 횟수 제한). 1분 뒤 다시 실행하세요." if limited else ""
        raise ImageError(f"{user} 사용자로 로그인하지 못했습니다.{hint}")


DAG_LIST_JS = """
const ids = Array.from(document.querySelectorAll('input.switch-input[data-dag-id]')).map(e => e.dataset.dagId);
const drawn = document.querySelectorAll('svg[id^="task-instance-"] circle').length;
const busy = Array.from(document.querySelectorAll('.refresh-loading')).some(e => getComputedStyle(e).display !== 'none');
return {ids: ids, drawn: drawn, busy: busy};
"""


def shoot_dag_list(driver: Any, base_url: str, png: Path) -> dict[str, Any]:
    """The DAG list (/home, where the login lands) once its rows and run/task status circles are drawn and
    its auto-refresh is not loading."""
    if urlsplit(driver.current_url).path != "/home":
        driver.get(base_url.rstrip("/") + "/home")

    def listed(d: Any) -> dict[str, Any] | None:
        if not page_ready(d):
            return None
        state = d.execute_script(DAG_LIST_JS)
        return state if state["ids"] and state["drawn"] > 0 and not state["busy"] else None

    state = wait_for(driver, listed, "DAG 목록이 그려지지 않았습니다")
    driver.save_screenshot(str(png))
    return seen(driver, dag_ids=state["ids"])


GRAPH_JS = """
const host = document.querySelector('#root');
const root = host && host.shadowRoot;
if (!root) return null;
const nodes = Array.from(root.querySelectorAll('[data-testid^="rf__node-"]'))
  .map(e => e.dataset.testid.slice('rf__node-'.length));
const edges = Array.from(root.querySelectorAll('[data-testid^="rf__edge-"]'))
  .filter(e => { const p = e.querySelector('path[d]'); return p && p.getAttribute('d').length > 0; })
  .map(e => e.dataset.testid.slice('rf__edge-'.length));
const viewport = root.querySelector('.react-flow__viewport');
return {nodes: nodes, edges: edges, transform: viewport ? viewport.style.transform : null,
        height: document.documentElement.scrollHeight};
"""


def shoot_dag_graph(driver: Any, base_url: str, dag_id: str, png: Path) -> dict[str, Any]:
    """The whole page of dag_id's graph tab once every task and edge is drawn and the React Flow view has
    stopped moving."""
    driver.get(f"{base_url.rstrip('/')}/dags/{dag_id}/grid?tab=graph")

    def drawn(d: Any) -> dict[str, Any] | None:
        state = d.execute_script(GRAPH_JS) if page_ready(d) else None
        return state if state and state["nodes"] and state["edges"] else None

    last: list[str | None] = []

    def settled(d: Any) -> dict[str, Any] | None:
        state = drawn(d)
        last.append(state["transform"] if state else None)
        return state if state and len(last) >= 4 and len(set(last[-4:])) == 1 else None

    state = wait_for(driver, settled, f"{dag_id}의 그래프가 그려지지 않았습니다")
    save_full_page(driver, png, state["height"])
    return seen(driver, dag_id=dag_id, nodes=sorted(state["nodes"]), edges=sorted(state["edges"]))


def save_full_page(driver: Any, png: Path, height: int) -> None:
    """Screenshot of the whole page, also below the window (the graph tab is a little taller than it),
    without resizing the window (that would lay the page out again)."""
    height = min(max(height, VIEWPORT[1]), MAX_SCREENSHOT_HEIGHT)
    clip = {"x": 0, "y": 0, "width": VIEWPORT[0], "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    png.write_bytes(base64.b64decode(shot["data"]))


def make_screenshots(out: Path, base_url: str, user: str, password: str) -> list[tuple[str, tuple[int, int]]]:
    """Three screenshots of the practice node with one login; what each showed goes to screenshots.json."""
    from selenium.common.exceptions import WebDriverException

    shots: dict[str, dict[str, Any]] = {}
    try:
        driver = new_driver()
    except WebDriverException as exc:
        raise ImageError(f"Chromium을 시작하지 못했습니다: {exc.msg or exc}") from None
    try:
        shots["airflow-login.png"] = shoot_login(driver, base_url, out / "airflow-login.png")
        log_in(driver, user, password)
        shots["airflow-dag-list.png"] = shoot_dag_list(driver, base_url, out / "airflow-dag-list.png")
        shots["airflow-dag-graph.png"] = shoot_dag_graph(
            driver, base_url, GRAPH_DAG_ID, out / "airflow-dag-graph.png"
        )
    except WebDriverException as exc:
        raise ImageError(f"브라우저 조작 실패: {(exc.msg or str(exc)).splitlines()[0]}") from None
    finally:
        driver.quit()
    dag_list = shots["airflow-dag-list.png"]
    if dag_list["login_form"] or GRAPH_DAG_ID not in dag_list["dag_ids"]:
        raise ImageError(f"로그인 후 DAG 목록에 {GRAPH_DAG_ID}가 없습니다")
    record_seen(out, shots)
    return [(name, png_size(out / name)) for name in shots]


def record_seen(out: Path, shots: dict[str, dict[str, Any]]) -> None:
    """Update screenshots.json with what these screenshots showed (entries of other runs are kept)."""
    path = out / GENERATED_DIR / SEEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    recorded.update(shots)
    ordered = {name: recorded[name] for name in OUTPUTS if name in recorded}
    path.write_text(json.dumps(ordered, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---- Airflow 3 (its React UI speaks Korean when the browser asks for it) ------------------------------
HOME3_JS = """
const main = document.querySelector('[data-testid="main-content"]');
if (!main) return null;
const badges = Array.from(main.querySelectorAll('[data-testid="state-badge"]'))
  .map(e => e.textContent.trim()).filter(t => !/^[0-9]+$/.test(t));
return {cards: main.querySelectorAll('[data-testid="stats-card"]').length, badges: badges,
        text: main.innerText.length, lang: document.documentElement.lang};
"""
HEALTH3_JS = """
const done = arguments[arguments.length - 1];
fetch('/api/v2/monitor/health').then(r => r.json()).then(done, e => done({error: String(e)}));
"""
HEALTH3_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def shoot_airflow3_home(driver: Any, base_url: str, user: str, password: str, png: Path) -> dict[str, Any]:
    """Log in through the FAB form, then the home page once its stats cards and health badges are drawn
    and stopped changing. The health the page showed is fetched by the same browser and recorded."""
    driver.get(base_url.rstrip("/") + "/")
    wait_for(driver, lambda d: page_ready(d) and has_login_form(d), "Airflow 3 로그인 화면이 뜨지 않았습니다")
    log_in(driver, user, password)
    last: list[str] = []

    def settled(d: Any) -> dict[str, Any] | None:
        state = d.execute_script(HOME3_JS) if page_ready(d) else None
        ready = state and state["cards"] >= 3 and len(state["badges"]) >= len(HEALTH3_COMPONENTS)
        last.append(json.dumps(state, sort_keys=True) if ready else "")
        return state if ready and len(last) >= 5 and len(set(last[-5:])) == 1 else None

    state = wait_for(driver, settled, "Airflow 3 홈 화면이 그려지지 않았습니다")
    driver.save_screenshot(str(png))
    health = driver.execute_async_script(HEALTH3_JS)
    statuses = {
        name: (health.get(name) or {}).get("status")
        for name in HEALTH3_COMPONENTS
        if isinstance(health, dict)
    }
    return seen(driver, lang=state["lang"], badges=state["badges"], health=statuses)


def make_airflow3_screenshots(
    out: Path, base_url: str, user: str, password: str
) -> list[tuple[str, tuple[int, int]]]:
    from selenium.common.exceptions import WebDriverException

    try:
        driver = new_driver()
    except WebDriverException as exc:
        raise ImageError(f"Chromium을 시작하지 못했습니다: {exc.msg or exc}") from None
    try:
        shots = {
            "airflow3-home.png": shoot_airflow3_home(
                driver, base_url, user, password, out / "airflow3-home.png"
            )
        }
    except WebDriverException as exc:
        raise ImageError(f"브라우저 조작 실패: {(exc.msg or str(exc)).splitlines()[0]}") from None
    finally:
        driver.quit()
    home = shots["airflow3-home.png"]
    if home["login_form"] or home["lang"] != "ko":
        raise ImageError(f"Airflow 3 홈 화면이 한국어로 뜨지 않았습니다 (lang={home['lang']!r})")
    record_seen(out, shots)
    return [(name, png_size(out / name)) for name in shots]


# ---- CLI --------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="과정 이미지(images/)를 모두 다시 만듭니다.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="출력 폴더 (기본: images/)")
    parser.add_argument(
        "--only",
        choices=GROUPS,
        action="append",
        help="이 종류만 만들기 (여러 번 줄 수 있음): diagrams, screenshots(Airflow 2), airflow3(Airflow 3 화면)",
    )
    parser.add_argument(
        "--base-url",
        default=AIRFLOW2_URL,
        help=f"Airflow 2 노드의 webserver 주소 (기본: 모의 반 pass 노드 {AIRFLOW2_URL})",
    )
    parser.add_argument(
        "--airflow3-url",
        default=AIRFLOW3_URL,
        help=f"Airflow 3 노드의 api-server 주소 (기본: 연습 노드 {AIRFLOW3_URL})",
    )
    parser.add_argument("--user", default="trey", help="webserver 로그인 사용자")
    parser.add_argument("--password", default="test123!", help="webserver 로그인 비밀번호")
    args = parser.parse_args(argv)

    started = time.monotonic()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    made: list[tuple[str, tuple[int, int]]] = []
    groups = set(args.only or GROUPS)
    try:
        # Before anything is drawn: fail fast.
        if "airflow3" in groups:
            check_reachable(
                args.airflow3_url,
                "/api/v2/monitor/health",
                "Airflow 3 노드의 api-server",
                "먼저 `practice/node up`으로 연습 노드(Airflow 3.3.2)를 띄우세요.",
            )
        if "screenshots" in groups:
            check_reachable(
                args.base_url,
                what="Airflow 2 노드의 webserver",
                fix="먼저 `practice/class up`으로 모의 반(pass 노드가 Airflow 2.11.2)을 띄우거나, "
                "--only diagrams --only airflow3로 나머지만 만드세요.",
            )
        if "diagrams" in groups:
            made += make_diagrams(out)
        if "screenshots" in groups:
            made += make_screenshots(out, args.base_url, args.user, args.password)
        if "airflow3" in groups:
            made += make_airflow3_screenshots(out, args.airflow3_url, args.user, args.password)
    except Unreachable as exc:
        print(f"make_images: {exc}", file=sys.stderr)
        return 2
    except ImageError as exc:
        print(f"make_images: {exc}", file=sys.stderr)
        return 1
    for name, (width, height) in made:
        print(f"만듦: {out / name} ({width}×{height})")
    print(f"이미지 {len(made)}개를 {time.monotonic() - started:.1f}초에 만들었습니다.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
