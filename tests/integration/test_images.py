"""scripts/make_images.py end to end: the four diagrams (Graphviz, two from real Airflow DAG objects) and
the three screenshots of the real practice node's webserver (headless Chromium, one login), written to a
temporary folder. Needs the practice node's webserver on 127.0.0.1:8080; without it these tests fail.
The Airflow 3 screenshot is made in tests/integration/test_class.py, where the airflow3 node is up."""

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
GRAPH_TASKS = {
    "runme_0",
    "runme_1",
    "runme_2",
    "also_run_this",
    "this_will_skip",
    "run_after_loop",
    "run_this_last",
}


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
    """One run of the diagrams and the practice node's screenshots (one login) into a temporary folder.
    The Airflow 3 screenshot needs the class's airflow3 node: tests/integration/test_class.py makes it."""
    out = tmp_path_factory.mktemp("images")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--only", "diagrams", "--only", "screenshots"],
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
    for name in MAKE_IMAGES.DIAGRAMS + MAKE_IMAGES.SCREENSHOTS:
        assert f"{out / name} (" in proc.stdout, proc.stdout


def test_every_output_is_a_png_of_sane_size(made: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = made
    assert {p.name for p in out.glob("*.png")} == set(MAKE_IMAGES.DIAGRAMS + MAKE_IMAGES.SCREENSHOTS)
    for name in MAKE_IMAGES.DIAGRAMS:
        width, height = png_size(out / name)
        assert 1150 <= width <= 1650, (name, width)
        assert 250 <= height <= 1800, (name, height)
    for name in MAKE_IMAGES.SCREENSHOTS:
        width, height = png_size(out / name)
        assert width == 1400, (name, width)
        assert 900 <= height <= 1400, (name, height)
    screenshots = {(out / name).read_bytes() for name in MAKE_IMAGES.SCREENSHOTS}
    assert len(screenshots) == 3, "two screenshots are the same image"


def test_screenshots_show_what_they_claim(made: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _ = made
    seen = json.loads((out / "src-generated" / "screenshots.json").read_text(encoding="utf-8"))
    login, dag_list, graph = (seen[name] for name in MAKE_IMAGES.SCREENSHOTS)
    assert login["path"].startswith("/login") and login["login_form"] is True
    # the DAG list was taken logged in: not a login form, the guide's example DAG listed
    assert dag_list["path"] == "/home" and dag_list["login_form"] is False
    assert "example_bash_operator" in dag_list["dag_ids"]
    assert graph["login_form"] is False and graph["dag_id"] == "example_bash_operator"
    assert set(graph["nodes"]) == GRAPH_TASKS
    assert {"runme_0-run_after_loop", "run_after_loop-run_this_last"} <= set(graph["edges"])


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


def test_missing_airflow3_node_is_one_korean_line(tmp_path: Path) -> None:
    """The whole run needs the class's airflow3 node too; without it the champion is told what to start."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--airflow3-url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Airflow 3 노드" in lines[0] and "practice/class up" in lines[0], proc.stderr
    assert not list(tmp_path.glob("*.png")), "nothing is drawn before every node is known to answer"
