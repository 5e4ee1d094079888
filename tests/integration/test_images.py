"""scripts/make_images.py end to end: the five diagrams (Graphviz, two from real Airflow DAG objects) and
the Airflow 3 home page of the real practice node (3.3.2, headless Chromium, logged in through the FAB
form, in Korean), written to a temporary folder. Needs the practice node's api-server on 127.0.0.1:8080;
without it these tests fail. The guide's Airflow 2 screenshots are made in tests/integration/test_class.py,
where the class's `pass` node (2.11.2) is up."""

from __future__ import annotations

import itertools
import json
import re
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_images.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EDGE = re.compile(r'^\s*"?(\w+)"?\s*->\s*"?(\w+)"?\s*(\[.*\])?\s*$', re.MULTILINE)


MAKE_IMAGES = load_script("make_images")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the signature, the IHDR's CRC and the IEND end."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name}: not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, f"{path.name}: first chunk is not IHDR"
    body = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(kind + body) == crc, f"{path.name}: IHDR CRC mismatch"
    assert data[-8:-4] == b"IEND", f"{path.name}: truncated (no IEND chunk at the end)"
    width, height = struct.unpack(">II", body[:8])
    return width, height


def dot_edges(dot: str) -> set[tuple[str, str]]:
    """(upstream, downstream) of every edge in a DOT text; an edge drawn with dir=back counts reversed."""
    edges = set()
    for tail, head, attrs in EDGE.findall(dot):
        edges.add((head, tail) if "dir=back" in (attrs or "") else (tail, head))
    return edges


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One run of the diagrams and the practice node's Airflow 3 home page into a temporary folder.
    The Airflow 2 screenshots need the class's pass node: tests/integration/test_class.py makes them."""
    out = tmp_path_factory.mktemp("images")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--only", "diagrams", "--only", "airflow3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    return out, proc


def test_the_one_command_succeeds(made: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, proc = made
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in MAKE_IMAGES.DIAGRAMS + MAKE_IMAGES.SCREENSHOTS3:
        assert f"{out / name} (" in proc.stdout, proc.stdout


def test_every_output_is_a_png_of_sane_size(made: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = made
    assert {p.name for p in out.glob("*.png")} == set(MAKE_IMAGES.DIAGRAMS + MAKE_IMAGES.SCREENSHOTS3)
    for name in MAKE_IMAGES.DIAGRAMS:
        width, height = png_size(out / name)
        assert 1150 <= width <= 1650, (name, width)
        assert 250 <= height <= 1800, (name, height)
    width, height = png_size(out / "airflow3-home.png")
    assert width == 1400 and 900 <= height <= 1400, (width, height)


def test_airflow3_screenshot_is_the_korean_home_page(
    made: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The 3.x UI, logged in through the FAB form, drawn in Korean, and the health it showed is what the
    grader judges (scheduler and dag-processor healthy)."""
    out, _ = made
    seen = json.loads((out / "src-generated" / "screenshots.json").read_text(encoding="utf-8"))
    assert set(seen) == {"airflow3-home.png"}
    home = seen["airflow3-home.png"]
    assert home["path"] == "/" and home["login_form"] is False and home["lang"] == "ko"
    assert {"메타데이터베이스", "스케줄러", "Dag 프로세서"} <= set(home["badges"])
    assert home["health"]["scheduler"] == home["health"]["dag_processor"] == "healthy"


def test_control_flow_is_drawn_from_the_dag(made: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = made
    dot = (out / "src-generated" / "control-flow.dot").read_text(encoding="utf-8")
    assert "rankdir=LR" in dot
    assert dot_edges(dot) == {
        ("first_task", "second_task"),
        ("first_task", "third_task"),
        ("fourth_task", "third_task"),
    }


def test_pipeline_is_a_chain_with_sensors_drawn_apart(
    made: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = made
    dot = (out / "src-generated" / "pipeline-s3-glue-emr-redshift.dot").read_text(encoding="utf-8")
    task_ids = [task_id for task_id, _ in MAKE_IMAGES.PIPELINE_STEPS]
    assert len(task_ids) == 8
    assert dot_edges(dot) == set(itertools.pairwise(task_ids))
    for task_id in task_ids:
        (line,) = [ln for ln in dot.splitlines() if re.match(rf'\s*"?{task_id}"?\s*\[', ln)]
        assert ("dashed" in line) == task_id.endswith("_sensor"), line
    assert "범례" in dot


def test_unreachable_webserver_is_one_korean_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--out",
            str(tmp_path),
            "--only",
            "screenshots",
            "--base-url",
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "접속할 수 없습니다" in lines[0], proc.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("--base-url", ("Airflow 2 노드", "practice/class up")),
        ("--airflow3-url", ("Airflow 3 노드", "practice/node up")),
    ],
)
def test_a_missing_node_is_one_korean_line_saying_what_to_start(
    tmp_path: Path, option: str, says: tuple[str, str]
) -> None:
    """A whole run needs both nodes; a missing one is named with the command that starts it, and
    nothing is drawn before every node is known to answer."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run(  # the Airflow 3 node is checked first; the practice node is it
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), option, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and all(word in lines[0] for word in says), proc.stderr
    assert not list(tmp_path.glob("*.png")), "nothing is drawn before every node is known to answer"
