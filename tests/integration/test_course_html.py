"""The course as HTML (scripts/build_course_docs.py --html): every page and image a page points at
exists, nothing is fetched from the internet, and Chromium draws the Korean text with a Korean font
(not tofu boxes), asked through the DevTools protocol which platform font rendered it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "html"
    load_script("build_course_docs").build_html(out)
    return out


def test_every_page_and_local_link_exists(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    names = {p.relative_to(site).as_posix() for p in pages}
    assert {"index.html", "notebooks/03_single_node.html", "docs/troubleshooting.ko.html"} <= names
    assert len(pages) == 11
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'<script[^>]+src="https?://', text), page  # opens offline
        for target in re.findall(r'(?:href|src)="([^"#][^"]*)"', text):
            parts = urlsplit(target)
            if parts.scheme or target.startswith("data:"):
                continue
            resolved = (page.parent / unquote(parts.path)).resolve()
            assert resolved.exists(), f"{page.relative_to(site)} → {target}"


def test_answers_and_tests_stay_out(site: Path) -> None:
    for page in (site / "notebooks").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, page.name
        assert "여기에 답을 쓰세요" in text, page.name


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1200,1600",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def platform_fonts(driver, selector: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Which installed fonts Chromium used for the text of the first element matching selector."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})
    found = driver.execute_cdp_cmd(
        "DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector}
    )
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": found["nodeId"]})["fonts"]
    return {f["familyName"]: f["glyphCount"] for f in fonts}


@pytest.mark.parametrize(
    ("page", "selector", "korean"),
    [
        ("notebooks/03_single_node.html", "h1", "구성"),
        ("docs/course.ko.html", "h1", "읽기용 교재"),
        ("index.html", "p", "실습 과정"),
    ],
)
def test_korean_is_drawn_with_a_korean_font(
    browser, site: Path, tmp_path: Path, page: str, selector: str, korean: str
) -> None:  # type: ignore[no-untyped-def]
    browser.get((site / page).as_uri())
    assert korean in browser.find_element("css selector", selector).text
    fonts = platform_fonts(browser, selector)
    cjk = {name: count for name, count in fonts.items() if "CJK" in name or "KR" in name}
    assert cjk and sum(cjk.values()) >= len(korean), fonts
    assert browser.save_screenshot(str(tmp_path / "page.png"))
