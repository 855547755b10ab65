"""The results table printed by `gradcheck run`."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

from harness.results import CheckResult

HEADERS = ("case", "parameters", "check", "max abs error", "max rel error", "tolerance", "verdict")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def _text(value: str) -> str:
    """A cell on one line: newlines, tabs and other control characters shown escaped."""
    if value.isprintable():
        return value
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)


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
                    _text(result.name),
                    _text(params),
                    rec.check,
                    _num(rec.max_abs_error),
                    _num(rec.max_rel_error),
                    _num(rec.tolerance),
                    rec.verdict.upper() if not rec.ok else rec.verdict,
                ]
            )
    return rows


def results_table(results: Sequence[CheckResult], fmt: str = "simple") -> str:
    """The table as text.

    Args:
      results: case results.
      fmt: a tabulate format ("simple", "github", ...).

    Returns:
      The rendered table.
    """
    return tabulate(result_rows(results), headers=HEADERS, tablefmt=fmt, disable_numparse=True)
