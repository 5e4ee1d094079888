"""A trainee's day on the course server in a real browser (Debian's headless Chromium), then the
champion's grading: log in (a wrong password first), fetch 03_single_node from the assignment list,
answer a question, point `%node` at the practice node, `%check redis`, submit; the instructor
collects, autogrades and exports as the instructor's Unix account; `grade --nbgrader` puts the quiz
score on the trainee's scoreboard row. Screenshots are kept in the test's temporary folder."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import PracticeNode
from tests.integration.server.conftest import INSTRUCTOR, Server
from tests.scripts import load_script

TRAINEE, NAME = "kim", "김민수"
ASSIGNMENT = "03_single_node"
GRADE = Path(sys.executable).with_name("grade")
FAILURE_SHOT = Path("/tmp/course-server-browser-failure.png")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """Headless Debian Chromium, in Korean, as scripts/make_images.py drives it."""
    browser = load_script("make_images").new_driver()
    yield browser
    browser.quit()


def wait(driver: Any, condition: Any, what: str, timeout: float = 120) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.3).until(condition)
    except TimeoutException:
        driver.save_screenshot(str(FAILURE_SHOT))
        raise AssertionError(
            f"timed out waiting for {what}; page: {driver.current_url}, screenshot {FAILURE_SHOT}"
        ) from None


def by_xpath(driver: Any, xpath: str, what: str, timeout: float = 120) -> Any:
    from selenium.webdriver.common.by import By

    return wait(driver, lambda d: (d.find_elements(By.XPATH, xpath) or [None])[0], what, timeout)


def log_in(driver: Any, server: Server, user: str, password: str) -> str:
    """Fill the hub's login form; returns the error shown, if any."""
    from selenium.webdriver.common.by import By

    driver.get(f"{server.url}/hub/login")
    wait(driver, lambda d: d.find_elements(By.ID, "username_input"), "the login form")
    driver.find_element(By.ID, "username_input").clear()
    driver.find_element(By.ID, "username_input").send_keys(user)
    driver.find_element(By.ID, "password_input").send_keys(password)
    driver.find_element(By.ID, "login_submit").click()
    time.sleep(0.5)
    errors = driver.find_elements(By.CSS_SELECTOR, "p.login_error")
    return " ".join(e.text for e in errors).strip()


def cell(driver: Any, index: int) -> Any:
    from selenium.webdriver.common.by import By

    cells = wait(
        driver,
        lambda d: (
            (found := d.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell"))
            and len(found) > index
            and found
        ),
        f"cell {index}",
    )
    element = cells[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return element


def replace_and_run(driver: Any, index: int, text: str | None, expect: str, timeout: float = 120) -> str:
    """Select a cell, optionally replace its source (typed), run it with Shift+Enter, wait for `expect`."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    target = cell(driver, index)
    if text is None:  # select the cell (command mode) by its prompt
        target.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
    else:
        target.find_element(By.CSS_SELECTOR, ".cm-content").click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        ActionChains(driver).send_keys(Keys.DELETE).perform()
        ActionChains(driver).send_keys(text).perform()
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

    def done(d: Any) -> str | None:
        out = cell(d, index).find_elements(By.CSS_SELECTOR, ".jp-OutputArea")
        prompt = cell(d, index).find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text
        shown = " ".join(o.text for o in out)
        return (
            shown or "(no output)"
            if expect in shown or (not expect and "*" not in prompt and prompt.strip("[]: "))
            else None
        )

    return wait(driver, done, f"cell {index} to show {expect!r}", timeout)


def cell_indexes(notebook: Path) -> dict[str, int]:
    """Where the cells the trainee uses are in the fetched notebook (found by content, not position)."""
    import nbformat

    found: dict[str, int] = {}
    for index, c in enumerate(nbformat.read(notebook, as_version=4).cells):
        grade_id = c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        lines = [x.strip() for x in c.source.splitlines()]
        for key in ("%load_ext", "%node", "%check redis"):
            if c.cell_type == "code" and any(x.startswith(key) for x in lines):
                found.setdefault(key, index)
        if grade_id:
            found.setdefault(grade_id, index)
    return found


@pytest.fixture(scope="module")
def trainee_key(server: Server, node: PracticeNode) -> Path:
    """The trainee's EC2 key in their home, as if uploaded (0600, the trainee's)."""
    key = Path(f"/home/{TRAINEE}/practice.pem")
    shutil.copyfile(node.info["key"], key)
    shutil.chown(key, TRAINEE, TRAINEE)
    key.chmod(0o600)
    return key


def test_a_trainee_day_and_the_champions_grading(
    server: Server,
    node: PracticeNode,
    trainee_key: Path,
    driver: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from selenium.webdriver.common.by import By

    shots = tmp_path_factory.mktemp("screenshots")
    # A fresh start: no earlier fetch or submission of this assignment by the trainee.
    subprocess.run(["rm", "-rf", f"/home/{TRAINEE}/{ASSIGNMENT}"], check=True)
    for old in (server.exchange_course / "inbound").glob(f"{TRAINEE}+{ASSIGNMENT}+*"):
        shutil.rmtree(old)

    # 1. Wrong passwords: the same words whether or not the account exists.
    wrong_known = log_in(driver, server, TRAINEE, "not-my-password")
    driver.save_screenshot(str(shots / "1-wrong-password.png"))
    wrong_unknown = log_in(driver, server, "nobody-here", "not-my-password")
    assert wrong_known and wrong_known == wrong_unknown, (wrong_known, wrong_unknown)
    assert "exist" not in wrong_known.lower() and TRAINEE not in wrong_known

    # 2. The right password: JupyterLab in Korean, trainee tools only.
    log_in(driver, server, TRAINEE, server.passwords[TRAINEE])
    menu = by_xpath(
        driver,
        "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Nbgrader']",
        "JupyterLab's menu",
        180,
    )
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel")]
    assert "파일" in labels and "커널" in labels, labels  # the Korean language pack is selected
    menu.click()
    items = [
        e.text for e in wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel"), "menu")
    ]
    assert "Assignment List" in items and not any("Formgrader" in i or "Create" in i for i in items), items
    by_xpath(
        driver, "//li[contains(@class,'lm-Menu-item')][.//div[text()='Assignment List']]", "Assignment List"
    ).click()

    # 3. Fetch through the assignment list, open the notebook.
    fetch = f"//span[text()='{ASSIGNMENT}']/ancestor::div[contains(@class,'list_item')][1]//button[normalize-space()='Fetch']"
    by_xpath(driver, fetch, "the Fetch button").click()
    link = by_xpath(
        driver,
        f"//a[contains(@class,'assignment-notebooks-link') and contains(.,'{ASSIGNMENT}')]",
        "the fetched assignment",
    )
    driver.save_screenshot(str(shots / "2-assignment-list.png"))
    assert Path(f"/home/{TRAINEE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb").exists()
    link.click()
    by_xpath(
        driver,
        f"//div[contains(@class,'assignment-notebooks')]//a[contains(.,'{ASSIGNMENT}.ipynb') or contains(.,'{ASSIGNMENT}')][not(contains(@class,'assignment-notebooks-link'))]",
        "the notebook link",
    ).click()
    cell(driver, 3)

    # 4. Answer q31, point %node at the practice node, check Redis: Korean ✅ lines.
    at = cell_indexes(Path(f"/home/{TRAINEE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))
    replace_and_run(driver, at["%load_ext"], None, "")
    info = node.info
    line = f"%node {info['host']} --port {info['port']} --user {info['user']} --key ~/practice.pem"
    said = replace_and_run(driver, at["%node"], line, "내 노드:")
    assert f"내 노드: {info['user']}@{info['host']}:{info['port']}" in said, said
    replace_and_run(driver, at["q31-answer"], 'scheduler_home = "B"', "")
    checked = replace_and_run(driver, at["%check redis"], None, "redis.running", timeout=180)
    driver.save_screenshot(str(shots / "3-check-redis.png"))
    assert "✅" in checked and "Redis 실행" in checked, checked
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    notebook = Path(f"/home/{TRAINEE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    wait(driver, lambda d: 'scheduler_home = \\"B\\"' in notebook.read_text(encoding="utf-8"), "the save")

    # 5. Submit from the assignment list.
    by_xpath(
        driver,
        "//div[contains(@class,'lm-TabBar-tabLabel') and (text()='Assignments')]",
        "the Assignments tab",
    ).click()
    submit = f"//a[contains(@class,'assignment-notebooks-link') and contains(.,'{ASSIGNMENT}')]/ancestor::div[contains(@class,'list_item')][1]//button[normalize-space()='Submit']"
    by_xpath(driver, submit, "the Submit button").click()
    by_xpath(
        driver,
        f"//div[@id='submitted_assignments_list']//*[contains(text(),'{ASSIGNMENT}')]",
        "the submitted row",
    )
    driver.save_screenshot(str(shots / "4-submitted.png"))
    print(f"screenshots: {shots}")

    # 6. The instructor (their own Unix account, nbgrader's CLI): collect, autograde, export.
    course = str(server.course)
    for step in (
        ("collect", ASSIGNMENT, "--update"),
        ("autograde", ASSIGNMENT, "--student", TRAINEE, "--force"),
        ("export", "--to", f"{course}/grades.csv"),
    ):
        proc = server.as_user(INSTRUCTOR, "nbgrader", *step, cwd=course, role="instructor", timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    grades = tmp_path_factory.mktemp("grades") / "grades.csv"
    shutil.copyfile(f"{course}/grades.csv", grades)
    row = next(
        r
        for r in csv.DictReader(grades.open(encoding="utf-8"))
        if r["student_id"] == TRAINEE and r["assignment"] == ASSIGNMENT
    )
    assert float(row["score"]) == 1.0 and float(row["max_score"]) == 10.0, (
        row
    )  # q31 right, the rest unanswered

    # 7. The champion's scoreboard: the same roster, the quiz column on the trainee's row.
    scoreboard = grades.with_name("scoreboard.csv")
    proc = subprocess.run(
        [str(GRADE), "--roster", str(server.roster), "--scoreboard", str(scoreboard), "--nbgrader", str(grades),
         "--known-hosts", str(node.known_hosts), "--only", NAME],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    table = list(csv.DictReader(scoreboard.open(encoding="utf-8-sig")))
    mine = next(r for r in table if r["name"] == NAME)
    possible = next(r for r in table if r["name"] == "(배점)")
    assert mine[f"quiz:{ASSIGNMENT}"] == "1" and possible[f"quiz:{ASSIGNMENT}"] == "10", mine
