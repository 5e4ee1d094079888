"""The class HTML report in a real browser (Debian's headless Chromium): it loads offline, the Korean
headings and the trainees' names are in the DOM, a hostile name stays text, and the page is drawn."""

from __future__ import annotations

import html
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.reports.html import write_html
from tests.unit.test_reports import XSS, sample_class

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(autouse=True, scope="module")
def _chromium_installed() -> None:
    # scripts/setup.sh installs it; without it this test fails (it is never skipped).
    assert CHROMIUM.exists(), (
        "Debian's chromium is not installed: run scripts/setup.sh (apt-get install chromium)"
    )


KOREAN_HEADINGS = ("반 요약", "항목별 통과율", "일별 반 평균 점수", "연수생별 결과")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a throw-away profile; its first start can be slow."""
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )


def read_png(path: Path) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw pixels) of an 8-bit RGB/RGBA PNG, decoded with zlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(channels, stride):
                row[i] = (row[i] + row[i - channels]) & 0xFF
        elif kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = row[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out[y * stride : (y + 1) * stride] = row
        prev = row
    return width, height, channels, bytes(out)


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.row_names: list[str] = []
        self._in_row_name = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_row_name = tag == "th" and ("scope", "row") in attrs
        if self._in_row_name:
            self.row_names.append("")

    def handle_endtag(self, tag):
        if tag == "th":
            self._in_row_name = False

    def handle_data(self, data):
        if self._in_row_name:
            self.row_names[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list[dict]]:
    results = sample_class("ko")
    history = [
        {"graded_at": f"2026-11-{day:02d}T0{i % 9}:00:00+00:00", "name": r["target"]["name"], **score}
        for day, factor in ((20, 0.5), (21, 0.7), (24, 1.0))
        for i, r in enumerate(results)
        if r["max_score"]
        for score in [{"score": round(r["score"] * factor), "max_score": r["max_score"]}]
    ]
    path = tmp_path_factory.mktemp("report") / "class.html"
    write_html(
        results, path, title="Airflow 7기 채점 결과", generated_at="2026-11-24 14:50 KST", history=history
    )
    return path, results


def test_dom_has_korean_headings_and_escaped_names(report, tmp_path):
    path, results = report
    done = chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for heading in KOREAN_HEADINGS:
        assert heading in dom, heading
    assert html.escape(XSS, quote=False) in dom  # the name is text, serialised escaped
    parsed = Dom()
    parsed.feed(dom)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert "<script" not in dom.lower()
    assert sorted(parsed.row_names) == sorted(r["target"]["name"] for r in results)
    assert parsed.tags.count("details") == len(results)


def test_screenshot_is_drawn(report, tmp_path):
    path, _ = report
    if shutil.which("fc-list"):
        korean_fonts = subprocess.run(
            ["fc-list", ":lang=ko", "family"], capture_output=True, text=True, timeout=30, check=False
        )
        assert korean_fonts.stdout.strip(), (
            "no Korean font: Hangul would be tofu (apt-get install fonts-noto-cjk)"
        )
    png = tmp_path / "class.png"
    done = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", path.as_uri())
    assert png.exists() and png.stat().st_size > 10_000, done.stderr[-2000:]
    width, height, channels, pixels = read_png(png)
    assert (width, height) == (1280, 2000)
    step = channels * 7  # every 7th pixel is plenty
    colours = {pixels[i : i + 3] for i in range(0, len(pixels) - 3, step)}
    non_white = sum(1 for i in range(0, len(pixels) - 3, step) if pixels[i : i + 3] != b"\xff\xff\xff")
    share = non_white / (len(pixels) // step)
    assert len(colours) > 50, "the page looks blank"
    assert 0.02 < share < 0.9, share
    # the pass-rate bars are drawn, in green
    assert any(g > r + 60 and g > b + 60 for r, g, b in colours), "no green pass-rate bar"
