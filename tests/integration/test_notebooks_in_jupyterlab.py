"""The student versions as a trainee gets them, in a real JupyterLab and a real browser (Debian's
headless Chromium): served from nbgrader's release folder, every figure loads, every link resolves,
the markdown renders (no literal `**`), and the check cells run against the practice node and show
Korean verdicts, advisories and the step checklist.

Screenshots go to the test's temporary folder (`notebooks-in-jupyterlab*/`), one per notebook and
one of the check cells; the test prints where."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from tests.integration.test_course_notebooks import ASSIGNMENTS, BIN, course, course_env  # noqa: F401
from tests.scripts import load_script

HANGUL = range(0xAC00, 0xD7A4)
RENDER_TIMEOUT = 60.0
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELL_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lab(course: Path, course_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # noqa: F811
    """JupyterLab serving the release folder (what `nbgrader generate_assignment` gave), with every
    cell rendered (no windowing: cells off screen are in the DOM too) and no news pop-up."""
    settings = tmp_path_factory.mktemp("lab-settings")
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    runtime = tmp_path_factory.mktemp("lab-runtime")
    workspaces = tmp_path_factory.mktemp("lab-workspaces")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **course_env,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
    }
    log = (runtime / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--ServerApp.root_dir={course / 'release'}",
            f"--IdentityProvider.token={token}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/api/status", params={"token": token}, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, (runtime / "lab.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start in 60 s"
            time.sleep(0.3)
        yield {"base": base, "token": token, "root": course / "release"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = load_script("make_images").new_driver()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notebooks-in-jupyterlab")
    print(f"\nscreenshots: {folder}")
    return folder


def wait_js(driver: Any, script: str, what: str, timeout: float = RENDER_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout:.0f} s ({driver.current_url})")


def open_notebook(driver: Any, lab: dict, name: str) -> None:
    # A workspace of its own, reset: only this notebook is open (no tabs restored from before).
    driver.get(f"{lab['base']}/lab/workspaces/{name}/tree/{name}/{name}.ipynb?reset&token={lab['token']}")
    wait_js(
        driver,
        "const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Cell');"
        "const md = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell');"
        "const rendered = document.querySelectorAll("
        "  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownCell .jp-RenderedMarkdown');"
        "return cells.length > 3 && md.length === rendered.length;",
        f"{name} rendered",
    )
    wait_js(
        driver,
        "return [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown img')]"
        ".every(i => i.complete);",
        f"{name}: images finished loading",
    )


def page_facts(driver: Any) -> dict[str, Any]:
    """What the open notebook shows: its images, its links (not the ¶ anchors JupyterLab adds to
    headings), the rendered markdown's text and the ids anchors can land on."""
    return driver.execute_script(
        f"""
        const panel = document.querySelector('{PANEL}');
        const md = [...panel.querySelectorAll('.jp-RenderedMarkdown')];
        return {{
          images: md.flatMap(m => [...m.querySelectorAll('img')]).map(i => ({{
              src: i.getAttribute('src'), width: i.naturalWidth, complete: i.complete}})),
          links: md.flatMap(m => [...m.querySelectorAll('a[href]:not(.jp-InternalAnchorLink)')])
              .map(a => ({{href: a.getAttribute('href'), text: a.innerText}})),
          text: md.map(m => m.innerText).join('\\n'),
          ids: [...panel.querySelectorAll('[id]')].map(e => e.id),
        }};"""
    )


def source_images(root: Path, name: str) -> int:
    from tests.course_links import notebook_markdown, targets

    text = notebook_markdown(root / name / f"{name}.ipynb")
    return sum(1 for t in targets(text) if t.split("?")[0].lower().endswith((".png", ".svg", ".jpg")))


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_renders_with_its_figures_and_links(
    lab: dict, browser: Any, shots: Path, name: str
) -> None:
    open_notebook(browser, lab, name)
    seen = page_facts(browser)
    browser.save_screenshot(str(shots / f"{name}.png"))

    assert len(seen["images"]) == source_images(lab["root"], name)
    broken = [i["src"] for i in seen["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"{name}: figures that did not load: {broken}"

    problems = []
    for link in seen["links"]:
        href = link["href"]
        if href.startswith("#"):
            if unquote(href[1:]) not in seen["ids"]:
                problems.append(f"{href} (no such anchor in the notebook)")
        elif href.startswith(lab["base"] + "/files/") or href.startswith("/files/"):
            path = urlsplit(href).path
            reply = requests.get(f"{lab['base']}{path}", params={"token": lab["token"]}, timeout=10)
            if reply.status_code != 200:
                problems.append(f"{href} ({reply.status_code})")
            fragment = urlsplit(href).fragment
            if fragment and path.endswith(".md"):
                from tests.course_links import heading_ids

                if unquote(fragment) not in heading_ids(reply.content.decode("utf-8")):
                    problems.append(f"{href} (no such heading)")
        elif not href.startswith(("https://", "http://")):
            problems.append(f"{href} (not resolved by JupyterLab)")
    assert not problems, f"{name}: " + "; ".join(problems)

    text = seen["text"]
    assert "**" not in text, f"{name}: bold that did not render: " + text[text.index("**") - 40 :][:100]
    assert sum(ch in HANGUL for ch in map(ord, text)) > 500, f"{name}: too little Korean text on the page"


def run_cell(driver: Any, first_line: str) -> str:
    """Run the first code cell whose source starts a line with `first_line` (as a trainee does:
    click into it, Ctrl+Enter) and return its output's text once the prompt shows a number."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    for cell in driver.find_elements(By.CSS_SELECTOR, f"{PANEL} .jp-CodeCell"):
        editor = cell.find_element(By.CSS_SELECTOR, ".cm-content")
        if any(line.startswith(first_line) for line in editor.text.splitlines()):
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
            editor.click()
            ActionChains(driver).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
            deadline = time.monotonic() + CELL_TIMEOUT
            while time.monotonic() < deadline:
                prompt = cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()
                if prompt not in ("", "[ ]:", "[*]:"):
                    break
                time.sleep(0.3)
            else:
                raise AssertionError(f"cell {first_line!r} did not finish in {CELL_TIMEOUT:.0f} s")
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", cell)
            return "\n".join(o.text for o in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))
    raise AssertionError(f"no code cell starts a line with {first_line!r}")


def test_check_cells_show_korean_verdicts_in_the_browser(lab: dict, browser: Any, shots: Path) -> None:
    """The trainee's loop in 03: load the checks, say which node is mine, check Redis, see the steps."""
    open_notebook(browser, lab, "03_single_node")
    assert run_cell(browser, "%load_ext grader.notebook") == ""
    said = run_cell(browser, "%node")
    assert said.startswith("내 노드: ec2-user@127.0.0.1:"), said

    checked = run_cell(browser, "%check redis")
    browser.save_screenshot(str(shots / "03-check-redis.png"))
    assert "모두 통과" in checked and "✅" in checked and "Redis 실행" in checked, checked
    assert "근거" in checked and "권고 사항" in checked  # the table and the advisories, in Korean
    assert "Traceback" not in checked and "Error" not in checked

    steps = run_cell(browser, "%steps")
    browser.save_screenshot(str(shots / "03-steps.png"))
    assert "5단계 모두 끝났습니다" in steps and steps.count("✅") == 5, steps


def test_a_page_link_opens_inside_jupyterlab(lab: dict, browser: Any) -> None:
    """The first cell's link to the setup page opens that page in a JupyterLab tab (a released copy
    carries docs/), not a 404."""
    from selenium.webdriver.common.by import By

    open_notebook(browser, lab, "01_definition")
    link = browser.find_element(By.CSS_SELECTOR, f"{PANEL} .jp-RenderedMarkdown a[href*='setup.ko.md']")
    link.click()
    wait_js(
        browser,
        "return [...document.querySelectorAll('.lm-TabBar-tabLabel')].some(t => t.innerText === 'setup.ko.md')",
        "a tab for docs/setup.ko.md",
    )
