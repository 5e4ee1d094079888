"""JUnit XML for CI dashboards: one test suite per trainee, one test case per check.

Input is a list of result dicts as `TargetResult.to_json(lang)` writes them. A node that could not
be graded becomes a single `ssh` test case in error (or skipped, for status "skipped").
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from grader.display import inert
from grader.fileio import atomic_write_bytes


def xml_safe(value: object) -> str:
    """`value` through the display gate: what XML 1.0 cannot hold (C0 controls, lone surrogates,
    U+FFFE/FFFF), DEL, C1, bidi and invisible characters become visible `\\xNN`/`\\uNNNN` escapes,
    so any XML parser accepts the document and a CI dashboard shows the text inert."""
    return inert(value)


def trainee_name(result: dict[str, Any]) -> str:
    target = result.get("target") or {}
    return str(target.get("name") or target.get("host") or "?")


def _lines(values: list[Any] | None) -> str:
    return "\n".join(xml_safe(v) for v in values or [] if v is not None)


def _seconds(value: Any) -> float:
    try:
        return max(float(value or 0.0), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _set_counts(element: ET.Element, counts: dict[str, int], seconds: float) -> None:
    for key in ("tests", "failures", "errors", "skipped"):
        element.set(key, str(counts[key]))
    element.set("time", f"{seconds:.3f}")


def _check_case(suite: ET.Element, classname: str, check: dict[str, Any], counts: dict[str, int]) -> None:
    status = check.get("status")
    title = xml_safe(f"{check.get('id', '?')} {check.get('title') or ''}".strip())
    case = ET.SubElement(suite, "testcase", classname=xml_safe(classname), name=title)
    evidence = _lines(check.get("evidence"))
    hint = xml_safe(check.get("hint") or "")
    counts["tests"] += 1
    if status == "fail":
        counts["failures"] += 1
        failure = ET.SubElement(case, "failure", message=hint or title, type="fail")
        failure.text = evidence
    elif status == "error":
        counts["errors"] += 1
        error = ET.SubElement(case, "error", message=hint or title, type="error")
        error.text = evidence
    elif status == "not_applicable":
        counts["skipped"] += 1
        ET.SubElement(case, "skipped", message=evidence.split("\n", 1)[0] if evidence else "not applicable")
    elif status == "warn":
        ET.SubElement(case, "system-out").text = "\n".join(x for x in (hint, evidence) if x)
    elif status != "pass":  # a status this writer does not know: never let it pass silently
        counts["errors"] += 1
        error = ET.SubElement(case, "error", message=xml_safe(f"unknown status {status!r}"), type="error")
        error.text = evidence


def _suite(parent: ET.Element, result: dict[str, Any]) -> tuple[dict[str, int], float]:
    name = trainee_name(result)
    target = result.get("target") or {}
    status = str(result.get("status") or "error")
    seconds = _seconds(result.get("seconds"))
    suite = ET.SubElement(parent, "testsuite", name=xml_safe(name))
    if target.get("host"):
        suite.set("hostname", xml_safe(target["host"]))
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("host", target.get("host")),
        ("port", target.get("port")),
        ("user", target.get("user")),
        ("status", status),
        ("airflow_version", result.get("airflow_version")),
        ("score", result.get("score")),
        ("max_score", result.get("max_score")),
        ("graded_at", result.get("graded_at")),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=xml_safe(value))
    counts = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    if status == "graded":
        for check in result.get("checks") or []:
            _check_case(suite, name, check, counts)
        advisories = [f"[{a.get('id')}] {a.get('message') or ''}" for a in result.get("advisories") or []]
        if advisories:
            ET.SubElement(suite, "system-out").text = _lines(advisories)
    else:
        case = ET.SubElement(suite, "testcase", classname=xml_safe(name), name="ssh")
        message = xml_safe(result.get("message") or status)
        counts["tests"] += 1
        if status == "skipped":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=message)
        else:
            counts["errors"] += 1
            ET.SubElement(case, "error", message=message, type=xml_safe(status)).text = message
    _set_counts(suite, counts, seconds)
    return counts, seconds


def junit_xml(results: list[dict[str, Any]], *, suite_name: str = "airflow-single-node") -> bytes:
    """The results as a UTF-8 JUnit XML document (`<testsuites>` with one suite per trainee)."""
    root = ET.Element("testsuites", name=xml_safe(suite_name))
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_seconds = 0.0
    for result in results:
        counts, seconds = _suite(root, result)
        for key, value in counts.items():
            totals[key] += value
        total_seconds += seconds
    _set_counts(root, totals, total_seconds)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(results: list[dict[str, Any]], path: Path, **kw: Any) -> None:
    """Write `junit_xml(results, **kw)` to `path` atomically."""
    atomic_write_bytes(Path(path), junit_xml(results, **kw))
