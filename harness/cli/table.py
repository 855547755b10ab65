"""The results table printed by `gradcheck run`, its legend, and the probe mode's power statement.

One row per check and argument. Ten columns fit the shipped cases (names up to 47 characters) in
about 140 columns; on a terminal narrower than the table the least needed columns are dropped
(`DROP_ORDER`, each implied by the others or a detail), so no row wraps and the verdict stays on
it. Output that is not a terminal always has every column.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from functools import lru_cache

from tabulate import tabulate

from harness.results import VALUE, CheckRecord, CheckResult

HEADERS = (
    "case",
    "parameters",
    "check",
    "mode",
    "abs error",
    "rel error",
    "tolerance",
    "err/tol",
    "catches",
    "verdict",
)
# Dropped first to last when the terminal is narrower than the table: catches is a detail, rel
# error is abs error over the scale, the tolerance is the worst entry's error over err/tol.
DROP_ORDER = ("catches", "rel error", "tolerance", "mode")

# How a check judged its argument (the ``mode`` column), from the record's details.
ENTRIES = "entries"
PROBES = "probes"
BISECTED = "probes+bisect"
UNTRACED = "probes→full"
MODE_MEANINGS = {
    ENTRIES: "every entry on its own (finite differences: 2n evaluations; a hand-written "
    "gradient: every entry compared)",
    PROBES: "k Rademacher probes moving every entry of the case's probed arguments at once "
    "(2k evaluations; docs/fast-mode.md)",
    BISECTED: "a probe disagreed and was bisected down to the entries, judged one by one",
    UNTRACED: "a probe disagreed and could not be traced to entries, so every entry was checked",
}


def printable(value: str) -> str:
    """A cell (or line) on one line: newlines, tabs, escapes and other control characters shown
    escaped, so no text from a case can move the cursor or colour the terminal."""
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2g}" if value < 1e4 else f"{value:.1e}"


def mode(record: CheckRecord) -> str:
    """Which way the record's check judged its argument (a `MODE_MEANINGS` key, or "—")."""
    if record.arg is None or record.check == VALUE or record.max_abs_error is None:
        return "—"
    details = record.details
    if details.get("mode") == "probe":
        if "full_check" in details:
            return UNTRACED
        return BISECTED if "localised" in details else PROBES
    return ENTRIES


def detectable(record: CheckRecord) -> float | None:
    """The smallest error the check would have caught in every entry it judged (``catches``)."""
    value = record.details.get("detectable_error")
    return float(value) if isinstance(value, int | float) else None


def result_rows(results: Sequence[CheckResult]) -> list[list[str]]:
    """One row per check of every result.

    Args:
      results: case results.

    Returns:
      Rows matching `HEADERS`.
    """
    rows = []
    for result in results:
        for rec in result.checks:
            params = "—" if rec.arg is None else f"{rec.arg} ({rec.size})" if rec.size else rec.arg
            rows.append(
                [
                    printable(result.name),
                    printable(params),
                    printable(rec.check),
                    mode(rec),
                    _num(rec.max_abs_error),
                    _num(rec.max_rel_error),
                    _num(rec.tolerance),
                    _ratio(rec.error_ratio),
                    _num(detectable(rec)),
                    rec.verdict.upper() if not rec.ok else rec.verdict,
                ]
            )
    return rows


@lru_cache(maxsize=64)
def _painted(text: str, style: str) -> str:
    """``text`` in a rich style, as ANSI codes (tabulate measures cells without them)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(force_terminal=True, color_system="standard", width=1000, no_color=False)
    with console.capture() as captured:
        console.print(Text(text, style=style), end="")
    return captured.get()


def results_table(
    results: Sequence[CheckResult],
    fmt: str = "simple",
    *,
    columns: Sequence[str] = HEADERS,
    case_width: int | None = None,
    color: bool = False,
    styles: dict[str, str] | None = None,
) -> str:
    """The table as text.

    Args:
      results: case results.
      fmt: a tabulate format ("simple", "github", ...).
      columns: the `HEADERS` to show, in their order (`fitting_columns` picks them and
        ``case_width`` for a terminal).
      case_width: wrap case names longer than this onto more lines (None: never).
      color: colour the verdict cells (ANSI), with ``styles``: verdict -> rich style.
      styles: see ``color``.

    Returns:
      The rendered table.
    """
    keep = [i for i, h in enumerate(HEADERS) if h in columns]
    rows = [[row[i] for i in keep] for row in result_rows(results)]
    headers = [HEADERS[i] for i in keep]
    if color and styles and "verdict" in headers:
        verdict = headers.index("verdict")
        for row in rows:
            row[verdict] = _painted(row[verdict], styles.get(row[verdict].lower(), ""))
    widths = None
    if case_width and "case" in headers:
        widths = [case_width if h == "case" else None for h in headers]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True, maxcolwidths=widths)


def fitting_columns(
    results: Sequence[CheckResult], width: int | None
) -> tuple[tuple[str, ...], int | None]:
    """The columns to show in ``width`` characters: every one, less those of `DROP_ORDER` (in
    that order) until the table fits; if it still does not, the case names are wrapped.

    Args:
      results: the results to show.
      width: the terminal's width (None: every column, nothing wrapped).

    Returns:
      (column names in `HEADERS` order, the case column's width or None), for `results_table`.
    """
    columns = list(HEADERS)

    def widest(case_width: int | None = None) -> int:
        lines = results_table(results, columns=columns, case_width=case_width).splitlines()
        return max((len(line) for line in lines), default=0)

    if not width:
        return tuple(columns), None
    for column in DROP_ORDER:
        if widest() <= width:
            return tuple(columns), None
        columns.remove(column)
    excess = widest() - width
    if excess <= 0:
        return tuple(columns), None
    names = max((len(printable(r.name)) for r in results), default=0)
    return tuple(columns), max(names - excess, 12)


# What each number column is, exactly as harness/judge computes it.
MEANINGS = {
    "abs error": "the largest |got - expected| over the entries judged (kinks left out; probes: "
    "the worst probe's residual over its smallest step)",
    "rel error": "abs error / G, G the largest |jax.grad entry| over every differentiated "
    "argument of the case (abs error itself when G = 0); a value row: abs error / |reference "
    "value|",
    "tolerance": "the tolerance of the entry closest to failing",
    "err/tol": "that entry's error over its own tolerance (above 1 fails)",
    "catches": "the smallest error the check would have caught in every entry it judged",
}


def legend(
    results: Sequence[CheckResult], columns: Sequence[str] = HEADERS, width: int = 100
) -> str:
    """The lines under the table that say what its columns are, exactly as they are computed.

    Args:
      results: the results in the table (the modes they use are explained).
      columns: the columns shown.
      width: wrap at this many columns.

    Returns:
      The legend.
    """
    shown = [f"{c}: {MEANINGS[c]}" for c in HEADERS if c in MEANINGS and c in columns]
    parts = ["; ".join(shown) + "." if shown else ""]
    modes = {mode(r) for result in results for r in result.checks} - {"—"}
    if modes and "mode" in columns:
        meanings = "; ".join(f"{m} = {MODE_MEANINGS[m]}" for m in MODE_MEANINGS if m in modes)
        parts.append(f"mode: {meanings}.")
    return "\n".join(textwrap.fill(p, width, subsequent_indent="  ") for p in parts if p)


def power_statement(results: Sequence[CheckResult]) -> str | None:
    """What the probes could have missed, for the cases whose numerical check they judged (None:
    no case's was).

    Returns:
      ``probe mode: 2 case(s) checked by k = 20 probes ...``: the miss probability 2^-k, k, and
      the evaluations spent against what every entry on its own would have cost.
    """
    probed = [
        r
        for result in results
        for r in result.checks
        if mode(r) in (PROBES, BISECTED) and "probes" in r.details
    ]
    if not probed:
        return None
    ks = sorted({int(r.details["probes"]) for r in probed})
    cases = len({r.case for r in probed})
    spent = sum(r.evaluations for r in probed)
    per_entry = sum(2 * r.size for r in probed)
    k = ", ".join(map(str, ks))
    miss = " or ".join(f"2^-{x} = {2.0**-x:.2g}" for x in ks)
    return (
        f"probe mode: {cases} case(s) checked by k = {k} probes through all their probed "
        f"arguments at once: an error in any entry above its per-entry tolerance is missed with "
        f"probability <= {miss} per case; {spent:,} evaluations spent (every entry on its own: "
        f"{per_entry:,})"
    )
