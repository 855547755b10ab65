"""The gate's reports: the table of changes, JUnit XML for CI servers, a Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tabulate import tabulate

from harness.files import OutputKind
from harness.gate.compare import (
    GROWTH_FACTOR,
    NOISE_FRACTION,
    NOT_RUN,
    REGRESSION,
    UNCHANGED,
    GateOutcome,
)

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


def junit_xml(outcome: GateOutcome) -> str:
    """JUnit XML with one testcase per compared check; regressions are failures.

    Args:
      outcome: the comparison.

    Returns:
      The XML document as text.
    """
    suite = ET.Element(
        "testsuite",
        {
            "name": "gradcheck gate",
            "tests": str(len(outcome.changes)),
            "failures": str(len(outcome.regressions)),
            "errors": "0",
            "skipped": str(sum(c.status == NOT_RUN for c in outcome.changes)),
        },
    )
    for change in outcome.changes:
        case = ET.SubElement(suite, "testcase", {"classname": change.case, "name": change.check})
        text = f"baseline: {change.before}\nnow: {change.after}\n{change.reason}".rstrip()
        if change.regression:
            failure = ET.SubElement(case, "failure", {"message": change.reason or "regression"})
            failure.text = text
        elif change.status == NOT_RUN:
            ET.SubElement(case, "skipped", {"message": change.reason})
        else:
            ET.SubElement(case, "system-out").text = f"{change.status}\n{text}"
    ET.indent(suite)
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n' + body + "\n</testsuites>\n"


def markdown_summary(outcome: GateOutcome, baseline_path: str) -> str:
    """The Markdown summary (for --summary and $GITHUB_STEP_SUMMARY).

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
    table = changes_table(outcome, fmt="github")
    lines.append(table if table else "No check changed.")
    return "\n".join(lines) + "\n"
