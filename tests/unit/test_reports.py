"""Reports (JUnit XML, the HTML page, and at the end every renderer on hostile node text) on results built by the real pipeline: recorded facts,
broken on purpose, judged and serialised with `TargetResult.to_json`, plus nodes that could not be graded.
Expected values are computed here from those inputs, never copied from the writers."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import checks
from checks.model import Advisory
from grader import classrun
from grader.batch import BatchOptions, BatchOutcome, ProgressReporter
from grader.cli_class import write_class_table
from grader.display import inert
from grader.facts import Facts, Option, Proc
from grader.history import append_history, history_record, read_history
from grader.i18n import t
from grader.notebook import CheckView
from grader.report import TARGET_STATUS_TEXT, write_json, write_table
from grader.reports.html import TROUBLESHOOTING_DOC, daily_averages, render_html, write_html
from grader.reports.junit import junit_xml, write_junit
from grader.roster import Trainee
from grader.runner import TargetResult, judge_facts
from grader.scoreboard import Scoreboard, parse_scoreboard, result_row
from grader.settings import CourseSettings
from grader.target import Target

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "facts" / "practice-2.11.2-pass.json"
SETTINGS = CourseSettings()
XSS = "<script>alert(1)</script>\"'&"
PASSING = {"pass", "warn", "not_applicable"}


def visible(text: str) -> str:
    """How the reports show C0 control characters (other than tab), DEL and C1: as `\\xNN`."""
    return "".join(
        f"\\x{ord(ch):02x}" if (ord(ch) < 0x20 and ch != "\t") or 0x7F <= ord(ch) <= 0x9F else ch
        for ch in text
    )


# ---- realistic results ------------------------------------------------------------------------------


def _set_option(facts: Facts, dotted: str, value: str) -> None:
    old = facts.airflow.options[dotted]
    facts.airflow.options[dotted] = Option(value, old.origin, old.line)


def _broken_redis_executor_champion(facts: Facts) -> None:
    facts.processes = [p for p in facts.processes if "redis-server" not in p.title]
    _set_option(facts, "core.executor", "LocalExecutor")
    facts.mysql.champion.roles = ["Viewer"]


def _cfg_unreadable(facts: Facts) -> None:
    facts.airflow.config_state = "unreadable"


def _hostile_cfg(facts: Facts) -> None:
    # a trainee's airflow.cfg can hold anything; it reaches the evidence and hints
    _set_option(facts, "core.executor", "<img src=x onerror=alert(1)>\"'& \x1b[31m\x00\x07")
    _set_option(facts, "database.sql_alchemy_conn", "sqlite:////home/ec2-user/<b>airflow</b>.db")


def _extra_worker(facts: Facts) -> None:
    facts.processes.append(
        Proc(9100, 3437, 1001, "ec2-user", "S", 5.0, "airflow worker -- LocalExecutor", [])
    )
    facts.processes[-1].argv = [facts.processes[-1].title]


def graded(name: str, host: str, mutate=None, *, lang: str = "ko", seconds: float = 0.4) -> dict[str, Any]:
    facts = Facts.load(FIXTURE)
    if mutate is not None:
        mutate(facts)
    result = judge_facts(Target(name=name, host=host, hostname=host), facts, SETTINGS)
    result.seconds = seconds
    return result.to_json(lang)


def ungraded(name: str, host: str, status: str = "unreachable", *, lang: str = "ko") -> dict[str, Any]:
    message = t(
        "{h}:22: 연결이 거부되었습니다. 인스턴스가 켜져 있는지, 보안 그룹에서 SSH 포트가 열려 있는지 확인하세요.",
        "{h}:22: connection refused. Is the instance running and the SSH port open in its security group?",
        h=host,
    )
    result = TargetResult(Target(name, host, host), status, "2026-11-24T05:00:00+00:00", message=message)
    result.seconds = 0.002
    return result.to_json(lang)


def with_not_applicable(result: dict[str, Any], check_id: str) -> dict[str, Any]:
    """A check that does not apply (e.g. a 3.x-only check on 2.x): not counted, max points 0."""
    check = next(c for c in result["checks"] if c["id"] == check_id)
    result["score"] -= check["points"]
    result["max_score"] -= check["max_points"]
    check.update(
        status="not_applicable",
        points=0,
        max_points=0,
        evidence=["Airflow 3에서만 채점하는 항목입니다"],
        hint=None,
        hint_id=None,
    )
    return result


def sample_class(lang: str = "ko") -> list[dict[str, Any]]:
    """A small class: all passing, failures, could-not-judge, N/A, unreachable, a hostile name."""
    return [
        graded("이서준", "ec2-3-38-1-10.ap-northeast-2.compute.amazonaws.com", lang=lang, seconds=0.41),
        graded("김민지", "10.0.1.21", _broken_redis_executor_champion, lang=lang, seconds=0.52),
        graded("박지훈", "10.0.1.22", _cfg_unreadable, lang=lang, seconds=0.33),
        ungraded("최유나", "10.0.1.23", lang=lang),
        graded(XSS, f"{XSS}.example", _hostile_cfg, lang=lang, seconds=0.61),
        with_not_applicable(
            graded("정하늘", "10.0.1.25", _extra_worker, lang=lang, seconds=0.29), "airflow.worker"
        ),
    ]


@pytest.fixture(scope="module")
def results() -> list[dict[str, Any]]:
    return sample_class()


def test_sample_class_covers_every_status(results):
    statuses = {c["status"] for r in results for c in r["checks"]}
    assert statuses == {"pass", "warn", "fail", "error", "not_applicable"}
    assert {r["status"] for r in results} == {"graded", "unreachable"}


# ---- JUnit ---------------------------------------------------------------------------------------------


def expected_counts(result: dict[str, Any]) -> dict[str, int]:
    if result["status"] != "graded":
        return {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    statuses = [c["status"] for c in result["checks"]]
    return {
        "tests": len(statuses),
        "failures": statuses.count("fail"),
        "errors": statuses.count("error"),
        "skipped": statuses.count("not_applicable"),
    }


def counts_of(element: ET.Element) -> dict[str, int]:
    return {k: int(element.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped")}


def test_junit_counts_per_suite_and_total(results):
    root = ET.fromstring(junit_xml(results, suite_name="class-7"))
    assert root.tag == "testsuites" and root.get("name") == "class-7"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [r["target"]["name"] for r in results]
    total = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite, result in zip(suites, results, strict=True):
        expected = expected_counts(result)
        assert counts_of(suite) == expected, result["target"]["name"]
        assert len(suite.findall("testcase")) == expected["tests"]
        assert len(suite.findall("testcase/failure")) == expected["failures"]
        assert len(suite.findall("testcase/error")) == expected["errors"]
        assert len(suite.findall("testcase/skipped")) == expected["skipped"]
        assert float(suite.get("time")) == pytest.approx(result["seconds"], abs=0.001)
        for key in total:
            total[key] += expected[key]
    assert counts_of(root) == total
    assert total["failures"] > 0 and total["errors"] > 0 and total["skipped"] > 0
    assert float(root.get("time")) == pytest.approx(sum(r["seconds"] for r in results), abs=0.01)


def test_junit_testcases_per_status(results):
    root = ET.fromstring(junit_xml(results))
    for suite, result in zip(root.findall("testsuite"), results, strict=True):
        if result["status"] != "graded":
            continue
        cases = suite.findall("testcase")
        for case, check in zip(cases, result["checks"], strict=True):
            assert case.get("classname") == result["target"]["name"]
            assert case.get("name") == f"{check['id']} {check['title']}"
            children = {child.tag for child in case}
            status = check["status"]
            if status == "pass":
                assert children == set()
            elif status == "warn":
                assert children == {"system-out"}
                assert visible(check["hint"] or "") in case.findtext("system-out")
            elif status == "fail":
                assert children == {"failure"}
                failure = case.find("failure")
                assert failure.get("message") == visible(check["hint"] or case.get("name"))
                for line in check["evidence"]:
                    assert visible(line) in failure.text
            elif status == "error":
                assert children == {"error"}
                for line in check["evidence"]:
                    assert visible(line) in case.find("error").text
            else:
                assert children == {"skipped"}


def test_junit_node_not_graded_is_one_ssh_error(results):
    root = ET.fromstring(junit_xml(results))
    for suite, result in zip(root.findall("testsuite"), results, strict=True):
        if result["status"] == "graded":
            continue
        (case,) = suite.findall("testcase")
        assert case.get("name") == "ssh"
        error = case.find("error")
        assert error.get("type") == result["status"]
        assert error.get("message") == result["message"]
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert properties["status"] == result["status"]


def test_junit_skipped_node_is_skipped_not_error():
    result = ungraded("한결", "10.0.9.9", status="skipped")
    suite = ET.fromstring(junit_xml([result])).find("testsuite")
    assert counts_of(suite) == {"tests": 1, "failures": 0, "errors": 0, "skipped": 1}


def test_junit_strips_characters_xml_cannot_hold():
    result = graded("김\x1b[31m연수\x00", "10.0.0.1", _hostile_cfg)
    failing = next(c for c in result["checks"] if c["status"] == "fail")
    failing["evidence"].append("bell \x07 surrogate \udc80 ok")
    data = junit_xml([result])
    root = ET.fromstring(data)  # would raise on any invalid character
    text = data.decode("utf-8")
    for bad in ("\x00", "\x07", "\x1b"):
        assert bad not in text
    suite = root.find("testsuite")
    assert suite.get("name") == "김\\x1b[31m연수\\x00"
    assert "bell \\x07 surrogate \\udc80 ok" in text
    failure = next(c.find("failure") for c in suite if c.get("name", "").startswith("config.executor"))
    assert "<img src=x onerror=alert(1)>" in failure.text  # escaped by XML, read back intact


def test_junit_empty_and_write(tmp_path, results):
    root = ET.fromstring(junit_xml([]))
    assert counts_of(root) == dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    path = tmp_path / "junit.xml"
    write_junit(results, path, suite_name="x")
    assert path.read_bytes() == junit_xml(results, suite_name="x")
    assert [p.name for p in tmp_path.iterdir()] == ["junit.xml"]


# ---- HTML ----------------------------------------------------------------------------------------------


class Collect(HTMLParser):
    """Start tags with their attributes, and the text inside the named tag when given."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(doc: str) -> Collect:
    parser = Collect()
    parser.feed(doc)
    parser.close()
    return parser


def row_names(doc: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<th scope="row">(.*?)</th>', doc)]


def percent_of(result: dict[str, Any]) -> float:
    return 100 * result["score"] / result["max_score"]


def render(results, **kw) -> str:
    kw.setdefault("title", "Airflow 7기 채점 결과")
    kw.setdefault("generated_at", "2026-11-24 14:50 KST")
    return render_html(results, **kw)


def test_html_escapes_trainee_text(results):
    doc = render(results, title=f"반 {XSS}", generated_at=XSS)
    assert XSS not in doc
    assert "<img src=x" not in doc and "<b>airflow</b>" not in doc
    assert html.escape(XSS, quote=True) in doc
    parsed = parse(doc)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags and "b" not in tags
    assert not any(name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    assert XSS in row_names(doc)  # shown to the reader exactly as written
    assert any("<img src=x onerror=alert(1)>" in text for text in parsed.text)
    for bad in ("\x00", "\x07", "\x1b"):
        assert bad not in doc


def test_html_rows_sorted_lowest_first(results):
    doc = render(results)
    ungraded_names = [r["target"]["name"] for r in results if r["status"] != "graded"]
    graded_rows = sorted((r for r in results if r["status"] == "graded"), key=percent_of)
    assert row_names(doc) == ungraded_names + [r["target"]["name"] for r in graded_rows]
    scores = [percent_of(r) for r in graded_rows]
    assert scores == sorted(scores) and scores[0] < scores[-1]


def card_values(doc: str) -> dict[str, str]:
    cards = re.findall(r'data-key="(\w+)">.*?<span class="num">(.*?)</span>', doc)
    return {key: html.unescape(value) for key, value in cards}


def test_html_summary_numbers(results):
    graded_results = [r for r in results if r["status"] == "graded"]
    all_passed = [r for r in graded_results if all(c["status"] in PASSING for c in r["checks"])]
    average = sum(percent_of(r) for r in graded_results) / len(graded_results)
    cards = card_values(render(results))
    assert cards["trainees"] == f"{len(results)}명"
    assert cards["graded"] == f"{len(graded_results)}명"
    assert cards["passed"] == f"{len(all_passed)}명"
    assert cards["failed"] == f"{len(graded_results) - len(all_passed)}명"
    assert cards["ungraded"] == f"{len(results) - len(graded_results)}명"
    assert float(cards["average"].rstrip("%")) == pytest.approx(average, abs=0.05)
    assert "skipped" not in cards
    cards_en = card_values(render(sample_class("en"), lang="en"))
    assert cards_en["graded"] == str(len(graded_results))


def test_html_chart_pass_rates_in_check_order(results):
    doc = render(results)
    tracks = re.findall(r'<div class="track" data-check="([^"]+)".*?<span class="val">([^<]*)', doc)
    assert [check_id for check_id, _ in tracks] == [spec.id for spec in checks.CHECKS]
    for check_id, value in tracks:
        statuses = [c["status"] for r in results for c in r["checks"] if c["id"] == check_id]
        counted = [s for s in statuses if s != "not_applicable"]
        passed = sum(s in ("pass", "warn") for s in counted)
        if not counted:  # only "not applicable" (a 3.x-only check on 2.x nodes)
            assert statuses and html.unescape(value) == "해당 없음"
            continue
        assert html.unescape(value).startswith(f"{passed}/{len(counted)} · {100 * passed / len(counted):.0f}")
    widths = re.findall(r'class="fill[^"]*" style="width:([\d.]+)%"', doc)
    assert len(widths) == len(checks.CHECKS) and all(0 <= float(w) <= 100 for w in widths)


def test_html_chart_lists_every_check_when_nothing_was_graded():
    doc = render([ungraded("최유나", "10.0.1.23")])
    tracks = re.findall(r'data-check="([^"]+)"', doc)
    assert tracks == [spec.id for spec in checks.CHECKS]
    for spec in checks.CHECKS:
        assert html.escape(spec.title.ko) in doc and html.escape(spec.guide_step) in doc
    values = re.findall(r'<span class="val">([^<]*)', doc)
    assert values == ["채점된 결과 없음"] * len(checks.CHECKS)


def test_html_failing_checks_with_hint_and_link(results):
    doc = render(results)
    for result in results:
        for check in result["checks"]:
            if check["status"] in ("fail", "error") and check["hint_id"]:
                assert f'href="{TROUBLESHOOTING_DOC}#{check["hint_id"]}"' in doc
                assert html.escape(check["hint"]) in doc
    failing = next(r for r in results if r["target"]["name"] == "김민지")
    row = doc.split('<th scope="row">김민지</th>', 1)[1].split("</tr>", 1)[0]
    cell = row.split('<ul class="fails">', 1)[1].split("</ul>", 1)[0]
    expected = [c for c in failing["checks"] if c["status"] not in PASSING]
    assert cell.count("<li>") == len(expected) >= 3
    for check in failing["checks"]:
        assert (html.escape(check["title"]) in cell) == (check["status"] not in PASSING)


def test_html_details_hold_every_evidence_line(results):
    doc = render(results)
    for result in results:
        for check in result["checks"]:
            for line in check["evidence"]:
                assert (
                    html.escape(
                        line.replace("\x1b", "\\x1b").replace("\x00", "\\x00").replace("\x07", "\\x07")
                    )
                    in doc
                )
    assert doc.count("<details>") == len(results)


def test_html_labels_korean_and_english():
    ko = render(sample_class("ko"))
    en = render(sample_class("en"), lang="en")
    assert '<html lang="ko">' in ko and '<html lang="en">' in en
    for heading in ("반 요약", "항목별 통과율", "연수생별 결과"):
        assert f">{heading}</h2>" in ko and heading not in en
    for heading in ("Class summary", "Pass rate by check", "Results by trainee"):
        assert f">{heading}</h2>" in en and heading not in ko
    assert f"❓ {TARGET_STATUS_TEXT['ko']['unreachable']}" in ko
    assert f"❓ {TARGET_STATUS_TEXT['en']['unreachable']}" in en
    assert "✅ 모두 통과" in ko and "❌ 실패" in ko
    for spec in checks.CHECKS:
        assert html.escape(spec.title.en) in en


def test_html_is_self_contained(results):
    doc = render(results, history=[])
    assert doc.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in doc
    assert '"Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif' in doc
    tags = parse(doc).tags
    loading = {
        "link",
        "script",
        "iframe",
        "img",
        "object",
        "embed",
        "audio",
        "video",
        "source",
        "image",
        "use",
    }
    assert not loading & {tag for tag, _ in tags}
    assert not [attrs for _, attrs in tags if {"src", "srcset", "xlink:href"} & set(attrs)]
    hrefs = [attrs["href"] for tag, attrs in tags if "href" in attrs]
    assert hrefs and all(h.startswith(f"{TROUBLESHOOTING_DOC}#") for h in hrefs)  # relative, never http(s)
    styles = re.findall(r"<style>(.*?)</style>", doc, flags=re.S)
    assert len(styles) == 1
    for forbidden in ("url(", "@import", "@font-face", "http"):
        assert forbidden not in styles[0]
    assert "@media print" in doc


def test_html_status_is_not_colour_only(results):
    doc = render(results)
    for result in results:
        name = html.escape(result["target"]["name"])
        row = doc.split(f'<th scope="row">{name}</th>', 1)[1].split("</td>", 2)[1]
        icon = (
            "❓"
            if result["status"] != "graded"
            else ("✅" if all(c["status"] in PASSING for c in result["checks"]) else "❌")
        )
        assert f'<span class="badge node">{icon} ' in row


def test_daily_averages_last_grading_per_trainee_per_korean_day():
    history = [
        {"graded_at": "2026-11-23T01:00:00+00:00", "name": "a", "score": 40, "max_score": 100},
        {"graded_at": "2026-11-23T05:00:00+00:00", "name": "a", "score": 80, "max_score": 100},  # later: wins
        {"graded_at": "2026-11-23T02:00:00+00:00", "name": "b", "score": 50, "max_score": 100},
        {"graded_at": "2026-11-23T16:00:00+00:00", "name": "b", "score": 90, "max_score": 100},  # 11-24 KST
        {"graded_at": "2026-11-24T03:00:00+00:00", "name": "c", "score": 0, "max_score": 0},  # not graded
        {"graded_at": "not a date", "name": "d", "score": 10, "max_score": 100},
    ]
    assert daily_averages(history) == [
        ("2026-11-23", pytest.approx((80 + 50) / 2), 2),
        ("2026-11-24", pytest.approx(90.0), 1),
    ]


def test_html_history_chart():
    history = [
        {"graded_at": f"2026-11-{day:02d}T03:00:00+00:00", "name": name, "score": score, "max_score": 100}
        for day, name, score in [(20, "a", 30), (20, "b", 50), (21, "a", 70), (22, "<b>x</b>", 100)]
    ]
    doc = render([], history=history)
    svg = doc.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "일별 반 평균 점수" in doc
    assert svg.count("<circle") == len(daily_averages(history)) == 3
    for _, average, _ in daily_averages(history):
        assert f">{average:.0f}%</text>" in svg
    assert "<b>" not in doc
    assert "<svg" not in render([])  # no history given: no chart


def test_write_html(tmp_path, results):
    path = tmp_path / "class.html"
    write_html(results, path, title="t", generated_at="g", lang="en")
    assert path.read_text(encoding="utf-8") == render(results, title="t", generated_at="g", lang="en")
    assert [p.name for p in tmp_path.iterdir()] == ["class.html"]


@pytest.mark.parametrize("status", sorted(TARGET_STATUS_TEXT["ko"]))
def test_html_every_node_status_has_a_label(status):
    result = ungraded("윤도현", "10.0.1.30", status=status)
    for lang in ("ko", "en"):
        doc = render([result], lang=lang)
        assert f'<span class="badge node">❓ {html.escape(TARGET_STATUS_TEXT[lang][status])}</span>' in doc
        assert html.escape(result["message"]) in doc
        cards = card_values(doc)
        assert cards["ungraded"].startswith("1") and cards["graded"].startswith("0")
        assert cards["average"] == "—"


def test_html_skipped_node_comes_last_and_is_counted_apart(results):
    skipped = ungraded("한결", "10.0.9.9", status="skipped")
    doc = render([skipped, *results])
    assert row_names(doc)[-1] == "한결"
    cards = card_values(doc)
    assert cards["skipped"] == "1명"
    assert cards["ungraded"] == f"{sum(r['status'] != 'graded' for r in results)}명"
    assert '<span class="badge node">➖ 건너뜀</span>' in doc


# ---- hostile node text in every renderer ----------------------------------------------------------------
# What a node (or a roster row, or an EC2 Name tag) can put in front of the champion: a window title
# (OSC), a cleared screen, a fake green pass line, the one-byte C1 CSI, a right-to-left override and
# rich markup. Every renderer must show all of it as inert text, and none of it may crash a renderer.

OSC = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
FAKE_PASS = "\x1b[32m✅ 10/10\x1b[0m"
C1_CSI = "\x9b2J"
RLO = "\u202e"
MARKUP = "[/] [link=http://x]a[/link] [conceal]x [bold red]✅ 10/10[/]"
HOSTILE = OSC + CLEAR + FAKE_PASS + C1_CSI + RLO + "gnp.exe" + MARKUP
HOSTILE_NAME = "김[/]" + OSC + RLO + "수"
HOSTILE_HOST = "10.0.0.9[link=http://x]" + C1_CSI
# Raw characters no output may hold (the renderers' own \n, \r\n and tabs are allowed).
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _hostile_node(facts: Facts) -> None:
    """Node text in every field that reaches evidence: titles, cfg, replies, versions, paths, errors."""
    for proc in facts.processes:
        proc.title += " " + HOSTILE
        proc.argv = [*proc.argv, HOSTILE]
    _set_option(facts, "core.executor", "CeleryExecutor" + HOSTILE)
    facts.redis.version = "7.0.15" + HOSTILE
    facts.redis.reply = "+PONG" + HOSTILE
    facts.mysql.server_version = "8.0.36" + HOSTILE
    facts.airflow.installs = [path + HOSTILE for path in facts.airflow.installs]
    facts.web.error, facts.web.health_status = HOSTILE, None


def hostile_results() -> list[TargetResult]:
    """A graded node full of hostile text (with a hostile advisory) and an ungraded one."""
    facts = Facts.load(FIXTURE)
    _hostile_node(facts)
    graded_result = judge_facts(Target(HOSTILE_NAME, HOSTILE_HOST, "10.0.0.9"), facts, SETTINGS)
    graded_result.advisories.append(Advisory("ec2.instance", t(HOSTILE, HOSTILE)))
    ungraded_result = TargetResult(
        Target("=" + HOSTILE_NAME, HOSTILE_HOST, "10.0.0.9"),
        "unreachable",
        "2026-11-24T05:00:00+00:00",
        message=t("접속 실패: {e}", "failed: {e}", e=HOSTILE),
    )
    return [graded_result, ungraded_result]


def assert_inert(text: str) -> None:
    found = RAW.search(text)
    assert found is None, (
        f"raw {found[0]!r} at {found.start()}: {text[max(0, found.start() - 40) : found.end() + 40]!r}"
    )


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_table_shows_node_text_inert():
    out = io.StringIO()
    write_table(hostile_results(), out)
    printed = out.getvalue()
    assert_inert(printed)
    assert inert(HOSTILE_NAME) in printed  # the head line, once printed with markup
    assert (
        printed.count("\\x9b2J") >= 4 and printed.count("\\u202egnp.exe") >= 4
    )  # evidence, advisory, message
    assert "[link=http://x]" in printed and "[conceal]x" in printed
    assert "70/100" not in printed.split("\n", 1)[0]


def test_terminal_json_keeps_data_without_raw_controls():
    results = hostile_results()
    out = io.StringIO()
    write_json(results, out)
    assert_inert(out.getvalue())
    assert json.loads(out.getvalue()) == [r.to_json("ko") for r in results]


def test_class_table_with_markup_in_a_name_does_not_crash():
    results = [r.to_json("ko") for r in hostile_results()]
    out = io.StringIO()
    write_class_table(results, out, "ko")
    printed = out.getvalue()
    assert_inert(printed)
    assert inert(HOSTILE_NAME) in printed and inert("=" + HOSTILE_NAME) in printed
    assert "\\u202egnp.exe" in printed


def test_progress_with_markup_in_a_name_on_a_terminal_and_in_a_pipe():
    for out in (FakeTerminal(), io.StringIO()):
        reporter = ProgressReporter(2, "ko", out=out)
        for result in hostile_results():
            reporter.advance(result)
        reporter.close()
        printed = out.getvalue()
        assert inert(HOSTILE_NAME)[:40] in printed
        assert "\x1b]" not in printed and not set(printed) & {"\x9b", "\u202e", "\x07"}
        if not out.isatty():
            assert_inert(printed)


def test_class_run_with_markup_in_a_name_keeps_the_scoreboard_row(tmp_path, monkeypatch):
    """A `[/]` in a name once crashed the progress bar mid-run and lost the row."""
    results = hostile_results()
    trainees = [Trainee(r.target.name, r.target.host) for r in results]

    def fake_grade_class(trainees, settings, options, on_result):
        for result in results:
            on_result(result)
        return BatchOutcome(results=list(results))

    monkeypatch.setattr(classrun, "grade_class", fake_grade_class)
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    outputs = classrun.ClassOutputs(scoreboard=tmp_path / "board.csv", history=tmp_path / "board.jsonl")
    run = classrun.run_class(trainees, [], SETTINGS, BatchOptions(known_hosts=tmp_path / "kh"), outputs)
    assert len(run.results) == 2
    board = parse_scoreboard((tmp_path / "board.csv").read_bytes(), "board.csv")
    assert set(board.rows) == {inert(HOSTILE_NAME), inert("=" + HOSTILE_NAME)}
    assert len(run.report_results) == 2
    # graded again (same names): still one row each, the earlier view found by its scoreboard key
    run = classrun.run_class(trainees[:1], [], SETTINGS, BatchOptions(known_hosts=tmp_path / "kh"), outputs)
    board = parse_scoreboard((tmp_path / "board.csv").read_bytes(), "board.csv")
    assert len(board.rows) == 2 and len(run.report_results) == 2


def test_html_shows_node_text_inert():
    doc = render([r.to_json("ko") for r in hostile_results()])
    assert_inert(doc)
    assert html.escape(inert(HOSTILE), quote=True) in doc
    assert html.escape(inert(HOSTILE_NAME), quote=True) in doc
    assert "<a " not in doc.replace(f'<a class="doc" href="{TROUBLESHOOTING_DOC}#', "")


def test_junit_shows_node_text_inert():
    data = junit_xml([r.to_json("ko") for r in hostile_results()])
    text = data.decode("utf-8")
    assert_inert(text)
    root = ET.fromstring(data)
    assert [s.get("name") for s in root.findall("testsuite")] == [
        inert(HOSTILE_NAME),
        inert("=" + HOSTILE_NAME),
    ]
    assert any(inert(HOSTILE) in (e.text or "") for e in root.iter("failure"))


def test_scoreboard_cells_show_node_text_inert_and_stay_formula_safe():
    board = Scoreboard()
    for result in hostile_results():
        board.update(result_row(result.to_json("ko"), 100))
    data = board.to_csv_bytes().decode("utf-8-sig")
    assert_inert(data)
    cells = {row[0]: row for row in csv.reader(io.StringIO(data, newline=""))}
    assert inert(HOSTILE_NAME) in cells
    assert "'" + inert("=" + HOSTILE_NAME) in cells  # formula-like: still neutralised
    assert any(inert(HOSTILE) in cell for cell in cells["'" + inert("=" + HOSTILE_NAME)])
    again = parse_scoreboard(board.to_csv_bytes(), "board.csv")
    again.update(result_row(hostile_results()[0].to_json("ko"), 100))  # re-graded: the same row
    assert set(again.rows) == set(board.rows)


def test_history_writes_no_raw_control_and_reads_back_the_same(tmp_path):
    path = tmp_path / "history.jsonl"
    records = [history_record(r.to_json("ko"), "run") for r in hostile_results()]
    append_history(path, records)
    assert_inert(path.read_text(encoding="utf-8"))
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert read_history(path) == records


def test_notebook_views_show_node_text_inert():
    for result in hostile_results():
        shown = CheckView(result)
        for text in (str(shown), shown._repr_html_()):
            assert_inert(text)
            assert "\\u202egnp.exe" in text
        # The only links are the grader's own, to the troubleshooting page beside the notebook.
        page = shown._repr_html_()
        anchors = re.findall(r"<a\b[^>]*>", page)
        assert all(re.fullmatch(r'<a href="docs/troubleshooting\.ko\.md#[a-z0-9-]+">', a) for a in anchors), (
            anchors
        )
