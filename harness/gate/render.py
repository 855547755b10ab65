"""The gate's reports: the table of changes, JUnit XML for CI servers, a Markdown summary."""

from __future__ import annotations

import platform
import time
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, datetime

from tabulate import tabulate

from harness.files import OutputKind, relative_path
from harness.gate.causes import group_regressions
from harness.gate.compare import (
    ABSENT,
    GROWTH_FACTOR,
    NOISE_FRACTION,
    NOT_RUN,
    REGRESSION,
    UNCHANGED,
    GateOutcome,
)
from harness.results import CheckRecord
from harness.suite.collect import split_source

HEADERS = ("case", "check", "baseline", "now", "status", "why")
# --junit and --summary replace an existing file only when the gate wrote it (or it is empty).
JUNIT_KIND = OutputKind(
    "JUnit report of gradcheck gate", marker=b'<testsuite name="gradcheck gate"'
)
SUMMARY_KIND = OutputKind("gradcheck gate summary", marker=b"gradcheck gate ")


def _rows(outcome: GateOutcome, markdown: bool) -> list[list[str]]:
    rows = [
        [
            c.case,
            c.check,
            c.before,
            c.after,
            c.status.upper() if c.regression else c.status,
            c.reason,
        ]
        for c in outcome.changes
        if c.status not in (UNCHANGED, NOT_RUN)  # not run: counted in the verdict line
    ]
    if markdown:  # a bare | would end the cell
        rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return rows


def changes_table(outcome: GateOutcome, fmt: str = "simple") -> str:
    """The checks that changed against the baseline (empty string when none did).

    Args:
      outcome: the comparison.
      fmt: a tabulate format.

    Returns:
      The rendered table.
    """
    rows = _rows(outcome, markdown=fmt == "github")
    if not rows:
        return ""
    return tabulate(rows, headers=HEADERS, tablefmt=fmt, disable_numparse=True)


def verdict_line(outcome: GateOutcome) -> str:
    """One line: passed or how many regressions, and the counts of the other statuses."""
    counts = outcome.counts()
    head = "passed" if outcome.ok else f"FAILED: {counts[REGRESSION]} regression(s)"
    rest = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != REGRESSION)
    line = f"gradcheck gate {head}" + (f" ({rest})" if rest else "")
    if outcome.not_compared:
        compared = outcome.baseline_checks - outcome.not_compared
        line += f"; compared {compared} of the baseline's {outcome.baseline_checks} checks"
    return line


def junit_xml(
    outcome: GateOutcome,
    started: float | None = None,
    seconds: float | None = None,
    hostname: str | None = None,
) -> str:
    """JUnit XML as pytest writes it, with one testcase per compared check.

    The testsuite has pytest's attributes (name, errors, failures, skipped, tests, time,
    timestamp, hostname); each testcase its ``classname`` (the case), ``name`` (the check),
    ``file`` and ``line`` (where the case is declared, the line counted from 1; a file inside the
    working directory relative to it) and ``time``. A case's checks are made in one go, so its
    wall time is shared equally among the testcases of the checks it made. A regression whose
    check could not be made (verdict ``error``) or whose case file did not import is an
    <error>; any other regression a <failure>; a baseline check outside a --partial run's paths
    is <skipped>. Other testcases have no child element.

    Args:
      outcome: the comparison.
      started: time.time() when the gate started (the timestamp; default: now).
      seconds: the gate's wall time so far (default: the cases' times added up).
      hostname: the machine's name (default: `platform.node()`).

    Returns:
      The XML document as text.
    """
    started = time.time() if started is None else started
    ran = Counter(c.case for c in outcome.changes if c.now is not None)
    if seconds is None:
        seconds = sum({c.case: c.seconds for c in outcome.changes if c.now is not None}.values())
    errors = sum(c.error for c in outcome.changes)
    suite = ET.Element(
        "testsuite",
        {
            "name": "gradcheck gate",
            "errors": str(errors),
            "failures": str(len(outcome.regressions) - errors),
            "skipped": str(sum(c.status == NOT_RUN for c in outcome.changes)),
            "tests": str(len(outcome.changes)),
            "time": f"{seconds:.3f}",
            "timestamp": datetime.fromtimestamp(started, UTC).astimezone().isoformat(),
            "hostname": platform.node() if hostname is None else hostname,
        },
    )
    for change in outcome.changes:
        attributes = {"classname": change.case, "name": change.check}
        if change.source:
            file, line = split_source(change.source)
            attributes["file"] = relative_path(file)
            if line is not None:
                attributes["line"] = str(line)
        share = change.seconds / ran[change.case] if change.now is not None else 0.0
        attributes["time"] = f"{share:.3f}"
        case = ET.SubElement(suite, "testcase", attributes)
        text = f"baseline: {change.before}\nnow: {change.after}\n{change.reason}".rstrip()
        if change.regression:
            tag = "error" if change.error else "failure"
            ET.SubElement(case, tag, {"message": change.reason or "regression"}).text = text
        elif change.status == NOT_RUN:
            ET.SubElement(case, "skipped", {"message": change.reason})
    ET.indent(suite)
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n' + body + "\n</testsuites>\n"


MARGINS_SHOWN = 5  # the summary lists this many passing checks closest to their tolerance


def markdown_summary(outcome: GateOutcome, baseline_path: str) -> str:
    """The Markdown summary (for --summary and $GITHUB_STEP_SUMMARY): the verdict, the
    regressions grouped by cause (`causes.group_regressions`), the passing checks closest to
    their tolerance (error / tolerance, now and in the baseline), and every change.

    Args:
      outcome: the comparison.
      baseline_path: shown so readers know what was compared against.

    Returns:
      Markdown text ending in a newline.
    """
    icon = "✅" if outcome.ok else "❌"
    lines = [
        f"## {icon} {verdict_line(outcome)}",
        "",
        f"{len(outcome.changes) - outcome.not_compared} checks compared with `{baseline_path}`"
        + (f" ({outcome.not_compared} not run)" if outcome.not_compared else "")
        + ". A check regresses when "
        f"it passed and now fails, when its error grew more than {GROWTH_FACTOR:g}x and above "
        f"{NOISE_FRACTION:g} of its tolerance, or when it is gone.",
        "",
    ]
    for note in outcome.environment_notes:
        lines.append(f"- environment differs from the baseline: {note}")
    if outcome.environment_notes:
        lines.append("")
    lines += _causes_section(outcome)
    lines += _margins_section(outcome)
    table = changes_table(outcome, fmt="github")
    if table:
        lines += ["### Every change", "", table]
    else:
        lines.append("No check changed.")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Text with the characters escaped that Markdown would read as emphasis, code, HTML or a
    table cell's end."""
    for char in "\\`*_<|":
        text = text.replace(char, "\\" + char)
    return text


def _causes_section(outcome: GateOutcome) -> list[str]:
    causes = group_regressions(outcome)
    if not causes:
        return []
    n = len(outcome.regressions)
    lines = [f"### {n} regression(s) from {len(causes)} cause(s)", ""]
    for i, cause in enumerate(causes, 1):
        where = f" (`{_shown_source(cause.source)}`)" if cause.source else ""
        lines.append(f"{i}. **{_md(cause.headline)}**{where}")
        if len(cause.changes) > 1:
            by_case: dict[str, list[str]] = {}
            for c in cause.changes[1:]:
                by_case.setdefault(c.case, []).append(c.check)
            symptoms = "; ".join(
                f"{_md(case)}: {', '.join(checks)}" for case, checks in by_case.items()
            )
            lines.append(f"   - with it: {symptoms}")
            if cause.why:
                lines.append(f"   - why: {_md(cause.why)}")
    lines.append("")
    return lines


def _shown_source(source: str) -> str:
    file, line = split_source(source)
    return relative_path(file) + (f":{line}" if line is not None else "")


def _ratio(rec: CheckRecord | None) -> str:
    if rec is None or rec.error_ratio is None:
        return ABSENT
    return f"{rec.error_ratio:.2g}"


def _margins_section(outcome: GateOutcome) -> list[str]:
    passing = [
        c
        for c in outcome.changes
        if c.now is not None and c.now.ok and c.now.error_ratio is not None
    ]
    if not passing:
        return []
    closest = sorted(passing, key=lambda c: -c.now.error_ratio)[:MARGINS_SHOWN]
    rows = [[_md(c.case), c.check, _ratio(c.now), _ratio(c.then)] for c in closest]
    table = tabulate(
        rows,
        headers=("case", "check", "error / tolerance now", "in the baseline"),
        tablefmt="github",
        disable_numparse=True,
    )
    return [
        f"### Margins: the {len(closest)} passing check(s) closest to their tolerance",
        "",
        "error / tolerance of the entry closest to failing (1 would fail).",
        "",
        table,
        "",
    ]
