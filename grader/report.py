"""Terminal and JSON reports of grading results (node text through the display gate, `grader.display`)."""

from __future__ import annotations

import sys
from typing import TextIO

from checks.model import Status
from grader.display import json_text, rich_lines, rich_text, terminal
from grader.runner import TargetResult

ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️ ",
    Status.FAIL: "❌",
    Status.ERROR: "❓",
    Status.NOT_APPLICABLE: "➖",
}
TARGET_STATUS_TEXT = {
    "ko": {
        "unreachable": "접속 불가",
        "auth_failed": "SSH 인증 실패",
        "host_key_mismatch": "호스트 키 불일치",
        "timeout": "시간 초과",
        "error": "판단 불가(채점 중 오류)",
        "roster_error": "명단 오류",
    },
    "en": {
        "unreachable": "unreachable",
        "auth_failed": "SSH authentication failed",
        "host_key_mismatch": "host key mismatch",
        "timeout": "timeout",
        "error": "error",
        "roster_error": "roster error",
    },
}
LABELS = {
    "ko": {
        "check": "항목",
        "score": "점수",
        "evidence": "근거",
        "hint": "해결 방법",
        "advice": "권고 사항 (점수에 넣지 않음)",
        "total": "합계",
        "legend": "표시: ✅ 통과  ⚠️ 통과(참고)  ❌ 실패  ❓ 판단 불가  ➖ 해당 없음(점수에 넣지 않음)",
    },
    "en": {
        "check": "Check",
        "score": "Points",
        "evidence": "Evidence",
        "hint": "How to fix",
        "advice": "Advisories",
        "total": "Total",
        "legend": "Legend: ✅ pass  ⚠️ pass with a note  ❌ fail  ❓ could not judge  ➖ not applicable (not counted)",
    },
}


def write_json(results: list[TargetResult], out: TextIO = sys.stdout, lang: str = "ko") -> None:
    """The results as JSON: node text kept as data, with no control or bidi character written raw."""
    out.write(json_text([r.to_json(lang) for r in results], indent=2) + "\n")


def write_table(results: list[TargetResult], out: TextIO = sys.stdout, lang: str = "ko") -> None:
    """The results as a table per node. Every string goes through the display gate (`terminal`
    escapes what it is given; styled lines are built with `rich_text`), never through rich markup."""
    from rich.table import Table

    console = terminal(out)
    labels = LABELS[lang]
    for result in results:
        target = result.target
        head = (f"{target.name} ({target.user}@{target.host}:{target.port})", "bold")
        if result.status != "graded":
            status = TARGET_STATUS_TEXT[lang].get(result.status, result.status)
            console.print(rich_text(head, f"  ❌ {status}"))
            if result.message:
                console.print(rich_text("  ", result.clean(result.message.render(lang))))
            console.print()
            continue
        version = result.clean(result.airflow_version) if result.airflow_version else "?"
        console.print(rich_text(head, "  Airflow ", version, f"  ({result.seconds:.2f}s)"))
        table = Table(show_lines=True, expand=False)
        table.add_column("", no_wrap=True)
        table.add_column(labels["check"], no_wrap=True)
        table.add_column(labels["score"], justify="right", no_wrap=True)
        table.add_column(labels["evidence"], overflow="fold", max_width=70)
        table.add_column(labels["hint"], overflow="fold", max_width=50)
        for v in result.verdicts:
            evidence = rich_lines("· " + result.clean(e.render(lang)) for e in v.evidence)
            hint = result.clean(v.hint.text.render(lang)) if v.hint and v.status is not Status.PASS else ""
            score = "-" if v.status is Status.NOT_APPLICABLE else f"{v.points}/{v.max_points}"
            table.add_row(ICONS[v.status], rich_lines([v.id, v.title.render(lang)]), score, evidence, hint)
        console.print(table)
        console.print(rich_text((f"{labels['total']}: {result.score}/{result.max_score}", "bold")))
        console.print(labels["legend"])
        if result.advisories:
            console.print(f"{labels['advice']}:")
            for advisory in result.advisories:
                console.print(f"  ⚠ {result.clean(advisory.message.render(lang))}  [{advisory.id}]")
        console.print()
