"""A class report as ONE self-contained HTML page (Korean by default) to show where everyone stands.

Input is a list of result dicts as `TargetResult.to_json(lang)` writes them. The page has no scripts
and loads nothing (inline CSS, system fonts), so it works offline and can be mailed or printed.
Every piece of text goes through the display gate (`grader.display.inert`: control, bidi and
invisible characters shown as `\\x1b`-style escapes, length capped), then is HTML-escaped.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import checks
from checks.model import PASSING_STATUSES
from grader.display import inert
from grader.fileio import atomic_write_text
from grader.report import ICONS, TARGET_STATUS_TEXT

TROUBLESHOOTING_DOC = "docs/troubleshooting.ko.md"
# Days of the history chart are calendar days in Korea, where the class is held (UTC+9, no DST).
CLASS_TZ = timezone(timedelta(hours=9), "KST")

CHECK_ICONS = {status.value: icon.strip() for status, icon in ICONS.items()}
CHECK_STATUS_TEXT = {
    "ko": {
        "pass": "통과",
        "warn": "통과(참고)",
        "fail": "실패",
        "error": "판단 불가",
        "not_applicable": "해당 없음",
    },
    "en": {
        "pass": "pass",
        "warn": "pass (note)",
        "fail": "fail",
        "error": "could not judge",
        "not_applicable": "not applicable",
    },
}
NODE_STATUS_TEXT = {
    "ko": {
        **TARGET_STATUS_TEXT["ko"],
        "skipped": "건너뜀",
        "passed": "모두 통과",
        "failed": "실패 항목 있음",
    },
    "en": {
        **TARGET_STATUS_TEXT["en"],
        "skipped": "skipped",
        "passed": "all passed",
        "failed": "has failures",
    },
}
LABELS = {
    "ko": {
        "generated": "생성 시각",
        "summary": "반 요약",
        "trainees": "연수생",
        "graded": "채점 완료",
        "passed": "모두 통과",
        "failed": "실패 항목 있음",
        "ungraded": "채점 불가",
        "skipped": "건너뜀",
        "average": "평균 점수",
        "average_note": "채점된 연수생 {n}명의 평균",
        "people": "{n}명",
        "chart": "항목별 통과율",
        "chart_note": "채점된 연수생 중 통과(참고 포함)한 비율입니다. ‘해당 없음’은 세지 않습니다.",
        "no_data": "채점된 결과 없음",
        "history": "일별 반 평균 점수",
        "history_note": "날짜별(한국 시간)로 연수생마다 그날 마지막 채점 결과를 평균했습니다.",
        "table": "연수생별 결과",
        "table_note": "점수가 낮은 순서입니다. 도움이 필요한 연수생이 위에 있습니다.",
        "name": "이름",
        "host": "호스트",
        "status": "상태",
        "score": "점수",
        "percent": "백분율",
        "version": "Airflow 버전",
        "failing": "실패 항목과 해결 방법",
        "details": "근거",
        "show_details": "항목별 근거 보기",
        "none": "없음",
        "check": "항목",
        "evidence": "근거",
        "hint": "해결 방법",
        "doc": "문제 해결 문서",
        "advisories": "권고 사항 (점수에 넣지 않음)",
        "graded_at": "채점 시각",
        "seconds": "걸린 시간",
        "message": "사유",
        "legend": "표시",
        "guide": "가이드",
        "empty": "결과가 없습니다.",
        "no_history": "채점 기록이 없습니다.",
    },
    "en": {
        "generated": "Generated",
        "summary": "Class summary",
        "trainees": "Trainees",
        "graded": "Graded",
        "passed": "All passed",
        "failed": "With failures",
        "ungraded": "Could not be graded",
        "skipped": "Skipped",
        "average": "Average score",
        "average_note": "mean of {n} graded trainees",
        "people": "{n}",
        "chart": "Pass rate by check",
        "chart_note": "Share of graded trainees who passed (notes included); “not applicable” is not counted.",
        "no_data": "no graded results",
        "history": "Class average by day",
        "history_note": "Per day (Korean time), the mean of each trainee's last grading that day.",
        "table": "Results by trainee",
        "table_note": "Lowest score first: the trainees who need help are at the top.",
        "name": "Name",
        "host": "Host",
        "status": "Status",
        "score": "Score",
        "percent": "Percent",
        "version": "Airflow version",
        "failing": "Failing checks and how to fix them",
        "details": "Evidence",
        "show_details": "Evidence for every check",
        "none": "none",
        "check": "Check",
        "evidence": "Evidence",
        "hint": "How to fix",
        "doc": "troubleshooting",
        "advisories": "Advisories",
        "graded_at": "Graded at",
        "seconds": "Took",
        "message": "Reason",
        "legend": "Legend",
        "guide": "guide",
        "empty": "No results.",
        "no_history": "No grading history yet.",
    },
}

CSS = """
:root { --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --error: #6e7781; --na: #8c959f;
  --line: #d0d7de; --soft: #f6f8fa; --text: #1f2328; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 24px 32px 48px; max-width: 1400px; color: var(--text); background: #fff;
  font-family: "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif;
  font-size: 15px; line-height: 1.5; word-break: keep-all; overflow-wrap: anywhere; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
.meta, .note { color: var(--muted); margin: 0 0 12px; font-size: 14px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.86em;
  background: var(--soft); padding: 0 4px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-top: 5px solid var(--na); border-radius: 8px;
  padding: 10px 14px; background: #fff; }
.card .label { color: var(--muted); font-size: 14px; }
.card .num { display: block; font-size: 30px; font-weight: 700; line-height: 1.2; }
.card .sub { color: var(--muted); font-size: 12px; }
.card.k-passed { border-top-color: var(--pass); } .card.k-failed { border-top-color: var(--fail); }
.card.k-ungraded { border-top-color: var(--error); } .card.k-average { border-top-color: #0969da; }
.chart { display: grid; grid-template-columns: minmax(220px, 320px) minmax(240px, 1fr) minmax(160px, 240px);
  gap: 8px 16px; align-items: center; }
.chart .what { line-height: 1.3; }
.chart .what small { display: block; color: var(--muted); font-size: 12px; }
.track { position: relative; height: 30px; background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; overflow: hidden; }
.fill { position: absolute; inset: 0 auto 0 0; background: #6fdd8b; border-right: 2px solid var(--pass); }
.fill.mid { background: #f5d76e; border-right-color: var(--warn); }
.fill.low { background: #ffaba8; border-right-color: var(--fail); }
.val { position: absolute; left: 10px; top: 0; line-height: 28px; font-weight: 700; font-size: 14px;
  color: #000; white-space: nowrap; font-variant-numeric: tabular-nums; }
.chart .mix { color: var(--muted); font-size: 13px; line-height: 1.3; }
.history svg { width: 100%; max-width: 760px; height: auto; border: 1px solid var(--line); border-radius: 8px; }
table.class { width: 100%; border-collapse: collapse; font-size: 14px; }
table.class th, table.class td { border-bottom: 1px solid var(--line); padding: 8px 8px; text-align: left;
  vertical-align: top; }
table.class thead th { position: sticky; top: 0; background: var(--soft); z-index: 1; white-space: nowrap; }
table.class td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.class tbody tr > :first-child { border-left: 5px solid var(--na); }
table.class tbody tr:first-child > * { border-bottom: none; padding-bottom: 2px; }
table.class tr.more td { padding-top: 0; }
table.class th[scope="row"] { min-width: 9em; word-break: keep-all; overflow-wrap: normal; }
table.class td.host { max-width: 16em; font-size: 13px; white-space: nowrap; overflow-wrap: normal; }
tbody.s-passed tr > :first-child { border-left-color: var(--pass); }
tbody.s-failed tr > :first-child { border-left-color: var(--fail); }
tbody.s-ungraded tr > :first-child { border-left-color: var(--error); }
tbody.s-ungraded, tbody.s-skipped { background: #fafbfc; }
.badge { white-space: nowrap; font-weight: 600; }
.s-passed .node { color: var(--pass); } .s-failed .node { color: var(--fail); }
.s-ungraded .node { color: var(--error); }
ul.fails { margin: 0; padding: 0; list-style: none; }
ul.fails li { margin: 0 0 6px; }
ul.fails .hint { display: block; color: var(--muted); }
.doc { font-size: 12px; white-space: nowrap; }
details summary { cursor: pointer; color: #0969da; white-space: nowrap; }
details[open] summary { margin-bottom: 6px; }
table.checks { border-collapse: collapse; width: 100%; font-size: 13px; }
table.checks td:nth-child(1) { white-space: nowrap; } table.checks td:nth-child(2) { min-width: 12em; }
table.checks th, table.checks td { border: 1px solid var(--line); padding: 4px 6px; vertical-align: top;
  text-align: left; }
table.checks th { background: var(--soft); }
table.checks ul, .advice ul { margin: 0; padding-left: 18px; }
.advice { margin-top: 6px; font-size: 13px; }
.c-pass { color: var(--pass); } .c-warn { color: var(--warn); } .c-fail { color: var(--fail); }
.c-error { color: var(--error); } .c-not_applicable { color: var(--na); }
footer { margin-top: 28px; color: var(--muted); font-size: 13px; }
footer span { margin-right: 14px; white-space: nowrap; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { padding: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; margin-top: 18px; }
  .card, .chart > *, tbody, .history { break-inside: avoid; }
  tr.more { display: none; }
  table.class thead th { position: static; }
  details summary { color: inherit; }
  a { color: inherit; text-decoration: none; }
}
"""


def esc(value: object) -> str:
    """Any text, made inert by the display gate, escaped for HTML text and quoted attributes."""
    return html.escape(inert(value), quote=True)


def _name(result: dict[str, Any]) -> str:
    target = result.get("target") or {}
    return str(target.get("name") or target.get("host") or "?")


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def outcome(result: dict[str, Any]) -> str:
    """passed | failed (graded, some check not passed) | ungraded (could not be graded) | skipped."""
    status = result.get("status")
    if status == "skipped":
        return "skipped"
    if status != "graded":
        return "ungraded"
    passing = PASSING_STATUSES
    return "passed" if all(c.get("status") in passing for c in result.get("checks") or []) else "failed"


def percent(result: dict[str, Any]) -> float | None:
    """Score as a percentage, or None when the node was not graded (or nothing was counted)."""
    maximum = _number(result.get("max_score"))
    if result.get("status") != "graded" or maximum <= 0:
        return None
    return 100.0 * _number(result.get("score")) / maximum


def _fmt_pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def _fmt_points(value: Any) -> str:
    number = _number(value)
    return str(int(number)) if number == int(number) else f"{number:g}"


def _sort_key(result: dict[str, Any]) -> tuple[int, float, str]:
    kind = outcome(result)
    rank = {"ungraded": 0, "failed": 1, "passed": 1, "skipped": 2}[kind]
    return rank, percent(result) or 0.0, _name(result)


# ---- sections -------------------------------------------------------------------------------------


def _summary(results: list[dict[str, Any]], labels: dict[str, str]) -> str:
    kinds = [outcome(r) for r in results]
    percents = [p for p in (percent(r) for r in results) if p is not None]
    average = sum(percents) / len(percents) if percents else None
    graded = sum(1 for r in results if r.get("status") == "graded")
    cards = [
        ("trainees", "👥", labels["people"].format(n=len(results)), ""),
        ("graded", "📝", labels["people"].format(n=graded), ""),
        ("passed", CHECK_ICONS["pass"], labels["people"].format(n=kinds.count("passed")), ""),
        ("failed", CHECK_ICONS["fail"], labels["people"].format(n=kinds.count("failed")), ""),
        ("ungraded", CHECK_ICONS["error"], labels["people"].format(n=kinds.count("ungraded")), ""),
    ]
    if "skipped" in kinds:
        cards.append(
            ("skipped", CHECK_ICONS["not_applicable"], labels["people"].format(n=kinds.count("skipped")), "")
        )
    cards.append(("average", "📊", _fmt_pct(average), labels["average_note"].format(n=len(percents))))
    out = ['<div class="cards">']
    for key, icon, value, sub in cards:
        out.append(
            f'<div class="card k-{key}" data-key="{key}"><span class="label">{icon} {esc(labels[key])}</span>'
            f'<span class="num">{esc(value)}</span>'
            + (f'<span class="sub">{esc(sub)}</span>' if sub else "")
            + "</div>"
        )
    out.append("</div>")
    return "\n".join(out)


def _catalogue(results: list[dict[str, Any]], lang: str) -> list[tuple[str, str, str]]:
    """(id, title, guide step) for every known check in CHECKS order, then any other id seen in results."""
    out = [(spec.id, spec.title.render(lang), spec.guide_step) for spec in checks.CHECKS]
    known = {spec.id for spec in checks.CHECKS}
    for result in results:
        for check in result.get("checks") or []:
            check_id = str(check.get("id") or "?")
            if check_id not in known:
                known.add(check_id)
                out.append((check_id, str(check.get("title") or check_id), ""))
    return out


def _chart(results: list[dict[str, Any]], lang: str, labels: dict[str, str]) -> str:
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for result in results:
        if result.get("status") != "graded":
            continue
        for check in result.get("checks") or []:
            tally[str(check.get("id") or "?")][str(check.get("status"))] += 1
    out = ['<div class="chart">']
    for check_id, title, step in _catalogue(results, lang):
        counts = tally.get(check_id, {})
        passed = counts.get("pass", 0) + counts.get("warn", 0)
        counted = sum(n for status, n in counts.items() if status != "not_applicable")
        rate = 100.0 * passed / counted if counted else None
        mix = " · ".join(
            f"{CHECK_ICONS[s]} {CHECK_STATUS_TEXT[lang][s]} {counts[s]}"
            for s in ("warn", "fail", "error", "not_applicable")
            if counts.get(s)
        )
        if rate is not None:
            value = f"{passed}/{counted} · {_fmt_pct(rate)}"
        elif counts.get("not_applicable"):  # e.g. the 3.x-only DAG processor on a class of 2.x nodes
            value = CHECK_STATUS_TEXT[lang]["not_applicable"]
        else:
            value = labels["no_data"]
        level = "" if rate is None or rate >= 80 else (" mid" if rate >= 50 else " low")
        step_text = f" · {labels['guide']} {step}" if step else ""
        out.append(
            f'<div class="what"><strong>{esc(title)}</strong><small><code>{esc(check_id)}</code>{esc(step_text)}'
            f"</small></div>"
            f'<div class="track" data-check="{esc(check_id)}" role="img" aria-label="{esc(title)}: {esc(value)}">'
            f'<div class="fill{level}" style="width:{rate or 0:.1f}%"></div>'
            f'<span class="val">{esc(value)}</span></div>'
            f'<div class="mix">{esc(mix)}</div>'
        )
    out.append("</div>")
    return "\n".join(out)


def _day(stamp: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(stamp))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(CLASS_TZ)
    return moment.date().isoformat()


def daily_averages(history: list[dict[str, Any]]) -> list[tuple[str, float, int]]:
    """(day, class average %, trainees) per day: each trainee's last grading of the day counts once."""
    last: dict[tuple[str, str], tuple[str, float]] = {}
    for entry in history:
        day = _day(entry.get("graded_at"))
        maximum = _number(entry.get("max_score"))
        if day is None or maximum <= 0:
            continue
        key = (day, str(entry.get("name")))
        stamp = str(entry.get("graded_at"))
        if key not in last or stamp >= last[key][0]:
            last[key] = (stamp, 100.0 * _number(entry.get("score")) / maximum)
    per_day: dict[str, list[float]] = defaultdict(list)
    for (day, _), (_, pct) in last.items():
        per_day[day].append(pct)
    return [(day, sum(v) / len(v), len(v)) for day, v in sorted(per_day.items())]


def _spaced(xs: list[float], gap: float) -> set[int]:
    """Indexes of the points to label so that labels are at least `gap` apart; the latest always."""
    keep: set[int] = set()
    last = float("inf")
    for i in range(len(xs) - 1, -1, -1):
        if last - xs[i] >= gap:
            keep.add(i)
            last = xs[i]
    return keep


def _history(history: list[dict[str, Any]], labels: dict[str, str]) -> str:
    days = daily_averages(history)
    if not days:
        return f'<p class="note">{esc(labels["no_history"])}</p>'
    width, height, left, right, top, bottom, pad = 760, 240, 48, 16, 28, 44, 28
    plot_h = height - top - bottom
    ordinals = [date.fromisoformat(day).toordinal() for day, _, _ in days]
    span = ordinals[-1] - ordinals[0]
    inner = width - left - right - 2 * pad
    # spaced by calendar day, so a weekend without grading shows as a gap
    xs = [left + pad + (inner * (o - ordinals[0]) / span if span else inner / 2) for o in ordinals]

    def y(pct: float) -> float:
        return top + (100.0 - max(0.0, min(100.0, pct))) / 100.0 * plot_h

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{esc(labels["history"])}" font-size="12" '
        'font-family="Noto Sans CJK KR, Noto Sans KR, Malgun Gothic, Apple SD Gothic Neo, sans-serif">',
        f"<title>{esc(labels['history'])}</title>",
    ]
    for pct in (0, 50, 100):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(pct):.1f}" y2="{y(pct):.1f}" stroke="#d0d7de"/>'
            f'<text x="{left - 8}" y="{y(pct) + 4:.1f}" text-anchor="end" fill="#57606a">{pct}%</text>'
        )
    points = " ".join(f"{x:.1f},{y(avg):.1f}" for x, (_, avg, _) in zip(xs, days, strict=True))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#0969da" stroke-width="2.5"/>')
    values, dates = _spaced(xs, 44), _spaced(xs, 48)
    for i, (x, (day, avg, n)) in enumerate(zip(xs, days, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y(avg):.1f}" r="4" fill="#0969da">'
            f"<title>{esc(day)}: {esc(_fmt_pct(avg))} ({esc(labels['people'].format(n=n))})</title></circle>"
        )
        if i in values:
            parts.append(
                f'<text x="{x:.1f}" y="{y(avg) - 10:.1f}" text-anchor="middle" font-weight="700">'
                f"{esc(_fmt_pct(avg))}</text>"
            )
        if i in dates:
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 20}" text-anchor="middle" fill="#57606a">'
                f"{esc(day[5:])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _check_badge(status: Any, lang: str) -> str:
    key = str(status)
    icon = CHECK_ICONS.get(key, "❔")
    text = CHECK_STATUS_TEXT[lang].get(key, key)
    return f'<span class="badge c-{esc(key)}">{icon} {esc(text)}</span>'


def _doc_link(hint_id: Any, labels: dict[str, str]) -> str:
    if not hint_id:
        return ""
    anchor = quote(inert(hint_id), safe="-_.~")
    return f' <a class="doc" href="{esc(TROUBLESHOOTING_DOC)}#{esc(anchor)}">{esc(labels["doc"])} #{esc(hint_id)}</a>'


def _failing(result: dict[str, Any], lang: str, labels: dict[str, str]) -> str:
    if result.get("status") != "graded":
        return f"<strong>{esc(labels['message'])}:</strong> {esc(result.get('message') or '—')}"
    items = []
    for check in result.get("checks") or []:
        if check.get("status") in PASSING_STATUSES:
            continue
        hint = check.get("hint")
        items.append(
            f"<li>{_check_badge(check.get('status'), lang)} <strong>{esc(check.get('title') or check.get('id'))}</strong>"
            + (
                f'<span class="hint">{esc(hint)}{_doc_link(check.get("hint_id"), labels)}</span>'
                if hint
                else ""
            )
            + "</li>"
        )
    return f'<ul class="fails">{"".join(items)}</ul>' if items else esc(labels["none"])


def _details(result: dict[str, Any], lang: str, labels: dict[str, str]) -> str:
    rows = []
    for check in result.get("checks") or []:
        evidence = "".join(f"<li>{esc(e)}</li>" for e in check.get("evidence") or [] if e is not None)
        hint = check.get("hint")
        points = (
            "—"
            if check.get("status") == "not_applicable"
            else (f"{_fmt_points(check.get('points'))}/{_fmt_points(check.get('max_points'))}")
        )
        rows.append(
            f"<tr><td>{_check_badge(check.get('status'), lang)}</td>"
            f"<td>{esc(check.get('title'))}<br><code>{esc(check.get('id'))}</code></td>"
            f'<td class="num">{esc(points)}</td>'
            f"<td><ul>{evidence}</ul></td>"
            f"<td>{esc(hint) + _doc_link(check.get('hint_id'), labels) if hint else ''}</td></tr>"
        )
    body = []
    if rows:
        body.append(
            f'<table class="checks"><thead><tr><th>{esc(labels["status"])}</th><th>{esc(labels["check"])}</th>'
            f"<th>{esc(labels['score'])}</th><th>{esc(labels['evidence'])}</th><th>{esc(labels['hint'])}</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    advisories = result.get("advisories") or []
    if advisories:
        items = "".join(
            f"<li>⚠️ {esc(a.get('message'))} <code>{esc(a.get('id'))}</code></li>" for a in advisories
        )
        body.append(f'<div class="advice"><strong>{esc(labels["advisories"])}</strong><ul>{items}</ul></div>')
    target = result.get("target") or {}
    facts = [
        f"{esc(labels['graded_at'])}: {esc(result.get('graded_at') or '—')}",
        f"{esc(labels['seconds'])}: {_number(result.get('seconds')):.2f}s",
        f"SSH: {esc(target.get('user') or '?')}@{esc(target.get('host') or '?')}:{esc(target.get('port') or '?')}",
    ]
    body.append(f'<p class="note">{" · ".join(facts)}</p>')
    count = len(result.get("checks") or [])
    summary = labels["show_details"] + (f" ({count})" if count else "")
    return f"<details><summary>{esc(summary)}</summary>{''.join(body)}</details>"


def _table(results: list[dict[str, Any]], lang: str, labels: dict[str, str]) -> str:
    if not results:
        return f'<p class="note">{esc(labels["empty"])}</p>'
    heads = ("name", "host", "status", "score", "percent", "version", "failing")
    out = [
        '<table class="class"><thead><tr>'
        + "".join(f'<th scope="col">{esc(labels[h])}</th>' for h in heads)
        + "</tr></thead>"
    ]
    status_text = NODE_STATUS_TEXT[lang]
    icons = {"passed": CHECK_ICONS["pass"], "failed": CHECK_ICONS["fail"], "ungraded": CHECK_ICONS["error"]}
    for result in sorted(results, key=_sort_key):
        kind = outcome(result)
        status = str(result.get("status") or "error")
        label = status_text.get(kind if status == "graded" else status, status)
        icon = icons.get(kind, CHECK_ICONS["not_applicable"])
        graded = status == "graded"
        score = (
            f"{_fmt_points(result.get('score'))}/{_fmt_points(result.get('max_score'))}" if graded else "—"
        )
        target = result.get("target") or {}
        host = str(target.get("host") or "")
        if target.get("port") not in (None, 22, "22"):
            host += f":{target.get('port')}"
        # one <tbody> per trainee: the row, then the evidence across the whole width
        out.append(
            f'<tbody class="s-{kind}" data-status="{esc(status)}"><tr>'
            f'<th scope="row">{esc(_name(result))}</th>'
            f'<td class="host">{esc(host)}</td>'
            f'<td><span class="badge node">{icon} {esc(label)}</span></td>'
            f'<td class="num">{esc(score)}</td>'
            f'<td class="num">{esc(_fmt_pct(percent(result)))}</td>'
            f"<td>{esc(result.get('airflow_version') or '—')}</td>"
            f"<td>{_failing(result, lang, labels)}</td></tr>"
            f'<tr class="more"><td colspan="{len(heads)}">{_details(result, lang, labels)}</td></tr></tbody>'
        )
    out.append("</table>")
    return "\n".join(out)


def _legend(lang: str, labels: dict[str, str]) -> str:
    items = "".join(
        f"<span>{CHECK_ICONS[s]} {esc(CHECK_STATUS_TEXT[lang][s])}</span>"
        for s in ("pass", "warn", "fail", "error", "not_applicable")
    )
    return f"<footer><strong>{esc(labels['legend'])}:</strong> {items}</footer>"


def render_html(
    results: list[dict[str, Any]],
    *,
    title: str,
    generated_at: str,
    lang: str = "ko",
    history: list[dict[str, Any]] | None = None,
) -> str:
    """The class report as one HTML document: summary, pass rate per check, trainees (lowest first)."""
    lang = "en" if lang == "en" else "ko"
    labels = LABELS[lang]
    sections = [
        f'<header><h1>{esc(title)}</h1><p class="meta">{esc(labels["generated"])}: {esc(generated_at)}</p></header>',
        f'<section id="summary"><h2>{esc(labels["summary"])}</h2>{_summary(results, labels)}</section>',
        f'<section id="checks"><h2>{esc(labels["chart"])}</h2><p class="note">{esc(labels["chart_note"])}</p>'
        f"{_chart(results, lang, labels)}</section>",
    ]
    if history is not None:
        sections.append(
            f'<section id="history" class="history"><h2>{esc(labels["history"])}</h2>'
            f'<p class="note">{esc(labels["history_note"])}</p>{_history(history, labels)}</section>'
        )
    sections.append(
        f'<section id="trainees"><h2>{esc(labels["table"])}</h2><p class="note">{esc(labels["table_note"])}</p>'
        f"{_table(results, lang, labels)}</section>"
    )
    sections.append(_legend(lang, labels))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def write_html(results: list[dict[str, Any]], path: Path, **kw: Any) -> None:
    """Write `render_html(results, **kw)` to `path` atomically (UTF-8)."""
    atomic_write_text(Path(path), render_html(results, **kw))
