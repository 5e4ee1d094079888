"""`grade --roster/--ec2`: the class half of the command line."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from checks.model import PASSING_STATUSES, Advisory
from grader.batch import BatchOptions
from grader.classrun import ClassOutputs, run_class
from grader.display import inert, json_text, terminal
from grader.i18n import Text, t
from grader.roster import Roster, RosterError, Trainee, read_instance_map, read_roster, selection_names
from grader.scoreboard import ScoreboardError
from grader.settings import CourseSettings
from grader.transport import default_known_hosts

INTERRUPTED = 130
USAGE_ERROR = 2


def _say(*parts: object) -> None:
    """One line on stderr; every part (roster names, hosts, EC2 tags, node text) through the gate."""
    print("grade: " + "".join(inert(part) for part in parts), file=sys.stderr)


def _error(message: Text, lang: str) -> int:
    _say(t("오류", "error").render(lang), ": ", message.render(lang))
    return USAGE_ERROR


def _load_roster(args: argparse.Namespace) -> Roster:
    roster = Roster()
    key_dir = Path(args.key_dir).expanduser() if args.key_dir else None
    if args.roster:
        path = Path(args.roster)
        # Relative key paths in a roster are relative to --key-dir, else to the roster's folder.
        found = read_roster(path, key_dir=key_dir or path.resolve().parent)
        roster.trainees += found.trainees
        roster.problems += found.problems
    ec2_only = (args.ec2_identity, args.ec2_owner_tag, args.ec2_map)
    if not args.ec2 and any(value is not None for value in ec2_only):
        raise RosterError(
            t(
                "--ec2-identity, --ec2-owner-tag, --ec2-map은 --ec2와 함께 씁니다",
                "--ec2-identity, --ec2-owner-tag and --ec2-map go with --ec2",
            )
        )
    if args.ec2:
        from grader.ec2 import Ec2Error, Ec2Query, choose_identity, discover, parse_tag_filter

        if not args.tag:
            raise Ec2Error(
                t(
                    "--ec2에는 --tag가 하나 이상 필요합니다 (예: --tag Course=airflow-3기). 리전의 모든 인스턴스를 채점하지 않도록 막습니다",
                    "--ec2 needs at least one --tag (e.g. --tag Course=airflow-3): it keeps other instances of the region out",
                )
            )
        query = Ec2Query(
            region=args.region or "",
            tags=[parse_tag_filter(tag) for tag in args.tag],
            name_tag=args.name_tag,
            use_private=args.ec2_private,
            key_dir=key_dir,
            profile=args.profile,
            identity=choose_identity(args.ec2_identity, args.ec2_owner_tag, args.ec2_map),
            owner_tag=args.ec2_owner_tag,
            instance_map=read_instance_map(Path(args.ec2_map)) if args.ec2_map else None,
        )
        found = discover(query, taken=roster)  # claims on the roster CSV's names are reported
        roster.trainees += found.trainees
        roster.problems += found.problems
    return roster


def _ec2_advisories(trainee: Trainee) -> list[Advisory]:
    if not trainee.ec2:
        return []
    from grader.ec2 import instance_advisories

    return [Advisory("ec2.instance", message) for message in instance_advisories(trainee.ec2)]


def run_class_cli(
    args: argparse.Namespace,
    settings: CourseSettings,
    names: set[str],
    only: set[str] | None,
    parser: argparse.ArgumentParser,
) -> int:
    lang = args.lang
    try:
        roster = _load_roster(args)
    except RosterError as exc:
        return _error(exc.message, lang)
    except Exception as exc:  # grader.ec2.Ec2Error and friends carry a bilingual message
        message = getattr(exc, "message", None)
        if isinstance(message, Text):
            return _error(message, lang)
        raise
    for problem in roster.problems:
        _say(problem.source, ": ", problem.message.render(lang))
    trainees = roster.trainees
    problems = roster.problems
    if names:
        # An EC2 instance may also be picked by its instance id.
        known = set().union(*(selection_names(x.name, x.source) for x in [*trainees, *problems]))
        unknown = sorted(names - known)
        if unknown:
            return _error(t("명단에 없는 이름: {n}", "Not on the roster: {n}", n=", ".join(unknown)), lang)
        trainees = [x for x in trainees if selection_names(x.name, x.source) & names]
        problems = [x for x in problems if x.name and selection_names(x.name, x.source) & names]
    if not trainees and not problems:
        return _error(t("채점할 연수생이 없습니다", "Nobody to grade"), lang)

    if args.nbgrader:
        if not args.scoreboard:
            return _error(t("--nbgrader는 --scoreboard와 함께 씁니다", "--nbgrader needs --scoreboard"), lang)
        from grader.nbgrader_merge import NbgraderError, merge_nbgrader
        from grader.scoreboard import Scoreboard

        try:  # a wrong file is said before the class is graded, not after
            merge_nbgrader(Scoreboard(), Path(args.nbgrader))
        except NbgraderError as exc:
            return _error(exc.message, lang)
    scoreboard = Path(args.scoreboard) if args.scoreboard else None
    history = Path(args.history) if args.history else None
    if history is None and scoreboard is not None:
        history = scoreboard.with_name(scoreboard.stem + ".history.jsonl")
    outputs = ClassOutputs(
        scoreboard=scoreboard,
        history=history,
        junit=Path(args.junit) if args.junit else None,
        html=Path(args.html) if args.html else None,
        nbgrader=Path(args.nbgrader) if args.nbgrader else None,
    )
    options = BatchOptions(
        known_hosts=Path(args.known_hosts) if args.known_hosts else default_known_hosts(),
        jobs=args.jobs,
        timeout=args.timeout,
        only=only,
        user=args.user,
        port=args.port,
        key=args.key,
        ssh_config=args.ssh_config,
    )
    try:
        run = run_class(
            trainees,
            problems,
            settings,
            options,
            outputs,
            lang=lang,
            extra_advisories=_ec2_advisories,
        )
    except ScoreboardError as exc:
        return _error(exc.message, lang)
    except Exception as exc:
        message = getattr(exc, "message", None)  # NbgraderError
        if isinstance(message, Text):
            return _error(message, lang)
        raise
    generated_at = datetime.now(UTC).isoformat(timespec="seconds")
    written = _write_reports(run.report_results, outputs, lang, generated_at)
    try:
        if args.format == "json":
            sys.stdout.write(json_text(run.results, indent=2) + "\n")
        else:
            write_class_table(run.results, sys.stdout, lang)
    except BrokenPipeError:
        pass
    for message in run.messages:
        _say(message.render(lang))
    for path in [outputs.scoreboard, outputs.history, *written]:
        if path is not None:
            _say(t("저장", "wrote").render(lang), " ", path)
    if run.outcome.interrupted:
        left = len(run.outcome.not_graded)
        _say(
            t(
                "중단했습니다. 끝난 {d}명은 저장했고 {n}명은 채점하지 않았습니다",
                "Interrupted: saved the {d} finished, {n} not graded",
                d=len(run.outcome.results),
                n=left,
            ).render(lang)
        )
        return INTERRUPTED
    return _class_exit_code(run.results)


def _write_reports(
    results: list[dict[str, Any]], outputs: ClassOutputs, lang: str, generated_at: str
) -> list[Path]:
    written: list[Path] = []
    history = None
    if outputs.junit:
        from grader.reports.junit import write_junit

        write_junit(results, outputs.junit)
        written.append(outputs.junit)
    if outputs.html:
        from grader.history import read_history
        from grader.reports.html import write_html

        if outputs.history:
            history = read_history(outputs.history)
        title = t("Airflow Single Node 과제 채점 결과", "Airflow single-node assignment results").render(lang)
        write_html(results, outputs.html, title=title, generated_at=generated_at, lang=lang, history=history)
        written.append(outputs.html)
    return written


def _class_exit_code(results: list[dict[str, Any]]) -> int:
    if any(r["status"] != "graded" for r in results):
        return 3
    if all(all(c["status"] in PASSING_STATUSES for c in r["checks"]) for r in results):
        return 0
    return 1


def write_class_table(results: list[dict[str, Any]], out: TextIO, lang: str) -> None:
    """One line per trainee: who needs help first (lowest score on top). Names, hosts and messages
    come from rosters, EC2 tags and nodes: the console shows every string inert (`terminal`)."""
    from rich.table import Table

    from grader.report import TARGET_STATUS_TEXT

    console = terminal(out)
    heads = {
        "ko": ("이름", "호스트", "상태", "점수", "실패 항목"),
        "en": ("Name", "Host", "Status", "Points", "Failing checks"),
    }[lang]
    table = Table(show_lines=False)
    for index, head in enumerate(heads):
        table.add_column(head, justify="right" if index == 3 else "left", overflow="fold")

    def order(result: dict[str, Any]) -> tuple[int, float, str]:
        graded = result["status"] == "graded"
        ratio = result["score"] / result["max_score"] if graded and result["max_score"] else 0.0
        return (1 if graded else 0, ratio, str(result["target"]["name"]))

    status_text = TARGET_STATUS_TEXT[lang]
    for result in sorted(results, key=order):
        graded = result["status"] == "graded"
        failing = [c["id"] for c in result["checks"] if c["status"] in ("fail", "error")]
        if graded:
            status = "✅" if not failing else "❌"
            score = f"{result['score']}/{result['max_score']}"
            detail = ", ".join(failing)
        else:
            status = "❓ " + status_text.get(result["status"], result["status"])
            score = "-"
            detail = result.get("message") or ""
        table.add_row(result["target"]["name"], result["target"]["host"], status, score, detail)
    console.print(table)
    graded = [r for r in results if r["status"] == "graded"]
    passed = [r for r in graded if all(c["status"] in PASSING_STATUSES for c in r["checks"])]
    console.print(
        t(
            "{n}명 중 채점 {g}명, 모두 통과 {p}명, 채점 불가 {u}명",
            "{n} trainees: {g} graded, {p} all passed, {u} could not be graded",
            n=len(results),
            g=len(graded),
            p=len(passed),
            u=len(results) - len(graded),
        ).render(lang)
    )
