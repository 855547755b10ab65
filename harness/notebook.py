"""A CheckResult in a notebook: an HTML table (``CheckResult._repr_html_``) and a matplotlib
figure (``CheckResult.plot()``).

Works on the plain data of a result: this module imports neither harness.results (whose methods
import it, lazily) nor JAX, and matplotlib only inside `plot`. A record carries no arrays, so
the per-entry picture needs the judge to have left them in the record's ``details``: under
ENTRY_ERRORS / ENTRY_TOLERANCES (one number per entry, flattened in C order), or, for a check
made in probe mode, its probes' residuals and tolerances. Without them `plot` draws every check's
error / tolerance instead.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Protocol

# details keys: per-entry absolute errors and the tolerances they were judged by
ENTRY_ERRORS, ENTRY_TOLERANCES = "entry_errors", "entry_tolerances"
PROBE_ERRORS, PROBE_TOLERANCES = "probe_residuals", "probe_tolerances"
RATIO_FLOOR = 1e-6  # error / tolerance below this (an exact match: 0) is drawn at it
OK = ("pass", "kink")  # verdicts that are not failures (harness.results.OK_VERDICTS)
COLOURS = {
    "pass": "#1a7f37",
    "kink": "#1a7f37",
    "inconclusive": "#9a6700",
    "fail": "#cf222e",
    "non-deterministic": "#cf222e",
    "error": "#8250df",
}


class Record(Protocol):
    """What this module reads of a CheckRecord."""

    check: str
    arg: str | None
    verdict: str
    message: str
    max_abs_error: float | None
    tolerance: float | None
    error_ratio: float | None
    worst: Any
    details: dict[str, Any]


class Result(Protocol):
    """What this module reads of a CheckResult."""

    name: str
    verdict: str
    seconds: float
    checks: Sequence[Record]


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _badge(verdict: str) -> str:
    colour = COLOURS.get(verdict, "#57606a")
    return (
        f'<span style="color:#fff;background:{colour};border-radius:3px;padding:0 5px;'
        f'font-weight:bold">{html.escape(verdict)}</span>'
    )


def _worst_text(record: Record) -> str:
    """``x[1]: got 12.001, expected 12`` (the entry closest to or furthest past its tolerance)."""
    worst = record.worst
    if worst is None:
        return "—"
    text = worst.describe()
    if worst.got is not None and worst.expected is not None:
        text += f": got {worst.got:.6g}, expected {worst.expected:.6g}"
    return text


HEADERS = (
    "check",
    "argument",
    "verdict",
    "max abs error",
    "tolerance",
    "error / tolerance",
    "worst entry",
)
NUMERIC = frozenset({"max abs error", "tolerance", "error / tolerance"})


def result_html(result: Result) -> str:
    """The result as a small HTML table: the case's verdict, then one row per check with its
    verdict, max abs error, tolerance, error / tolerance and worst entry; the message of every
    check that did not pass under its row.

    Args:
      result: a CheckResult.

    Returns:
      An HTML fragment (no external resources, no script).
    """
    cell = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:{};white-space:nowrap"'
    left, right = cell.format("left"), cell.format("right")
    out = [
        '<div class="gradcheck-result">',
        f"<p><strong>{html.escape(result.name)}</strong> {_badge(result.verdict)} "
        f"<small>({len(result.checks)} checks, {result.seconds:.2f} s)</small></p>",
        '<table style="border-collapse:collapse;font-size:13px"><thead><tr>',
    ]
    for header in HEADERS:
        out.append(f"<th {right if header in NUMERIC else left}>{html.escape(header)}</th>")
    out.append("</tr></thead><tbody>")
    for record in result.checks:
        ratio = record.error_ratio
        ratio_text = _number(ratio)
        if ratio is not None and ratio > 1:
            ratio_text = f'<strong style="color:{COLOURS["fail"]}">{ratio_text}</strong>'
        out.append(
            "<tr>"
            f"<td {left}>{html.escape(record.check)}</td>"
            f"<td {left}>{html.escape(record.arg or '—')}</td>"
            f'<td {left} title="{html.escape(record.message)}">{_badge(record.verdict)}</td>'
            f"<td {right}>{_number(record.max_abs_error)}</td>"
            f"<td {right}>{_number(record.tolerance)}</td>"
            f"<td {right}>{ratio_text}</td>"
            f"<td {left}>{html.escape(_worst_text(record))}</td>"
            "</tr>"
        )
        if record.verdict not in OK:
            out.append(
                f'<tr><td colspan="7" style="padding:0 8px 4px 24px;color:#444;'
                f'border-bottom:1px solid #ddd">{html.escape(record.message)}</td></tr>'
            )
    out.append("</tbody></table></div>")
    return "".join(out)


def _per_entry(record: Record) -> tuple[list[float], list[float], str] | None:
    """(errors, tolerances, what one point is) of a record that carries them, else None."""
    for errors, tolerances, what in (
        (ENTRY_ERRORS, ENTRY_TOLERANCES, "entry (flat index)"),
        (PROBE_ERRORS, PROBE_TOLERANCES, "probe"),
    ):
        e, t = record.details.get(errors), record.details.get(tolerances)
        if e is not None and t is not None and len(e) == len(t) and len(e):
            return [float(v) for v in e], [float(v) for v in t], what
    return None


def _failing_with_entries(result: Result) -> tuple[Record, tuple[list, list, str]] | None:
    """The failing check with the largest error / tolerance that carries per-entry numbers."""
    failing = [r for r in result.checks if r.verdict not in OK and _per_entry(r) is not None]
    if not failing:
        return None
    record = max(failing, key=lambda r: -1.0 if r.error_ratio is None else r.error_ratio)
    return record, _per_entry(record)  # type: ignore[return-value]


def result_figure(result: Result) -> Any:
    """A matplotlib Figure of the result.

    The failing argument's per-entry errors against their tolerances when the record carries
    them (entries past their tolerance in red); otherwise every check's error / tolerance, with
    the line at 1 that a check must stay below.

    Args:
      result: a CheckResult.

    Returns:
      A ``matplotlib.figure.Figure`` (not shown; a notebook displays it when it is the cell's
      value).
    """
    from matplotlib.figure import Figure  # here: the table needs no matplotlib

    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    chosen = _failing_with_entries(result)
    if chosen is not None:
        record, (errors, tolerances, what) = chosen
        index = list(range(len(errors)))
        past = [i for i in index if errors[i] > tolerances[i]]
        ax.semilogy(index, tolerances, "-", color="#57606a", lw=1.2, label="tolerance")
        ax.semilogy(index, errors, "o", ms=3.5, color="tab:blue", label="|error|")
        if past:
            ax.semilogy(
                past, [errors[i] for i in past], "o", ms=5, color=COLOURS["fail"], label="past it"
            )
        ax.set_xlabel(what)
        ax.set_ylabel("absolute error")
        ax.set_title(f"{result.name}: {record.check} check of {record.arg}, {record.verdict}")
        ax.legend(fontsize=8)
        return fig
    judged = [r for r in result.checks if r.error_ratio is not None]
    labels = [f"{r.check}\n{r.arg}" if r.arg else r.check for r in judged]
    ratios = [max(float(r.error_ratio), RATIO_FLOOR) for r in judged]
    ax.bar(
        range(len(judged)),
        ratios,
        color=[COLOURS.get(r.verdict, "#57606a") for r in judged],
        tick_label=labels,
    )
    ax.axhline(1.0, color="k", lw=1, ls="--", label="tolerance (error / tolerance = 1)")
    ax.set_yscale("log")
    ax.set_ylabel("error / tolerance")
    ax.set_title(f"{result.name}: {result.verdict}")
    ax.legend(fontsize=8)
    return fig
