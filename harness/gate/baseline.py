"""The baseline file: what the gate compares a run against.

A baseline is the deterministic part of a run — per case and check the verdict, errors,
tolerance, step and scheme (each check's `CheckRecord.to_dict`) — plus the environment the numbers
came from. It carries no timings or timestamps, so remaking it on an unchanged tree gives the same
file, and sources are stored relative to the working directory, so it is the same on every
checkout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.files import ReportFileError, read_versioned_json, relative_path
from harness.results import VERDICTS, CheckResult, environment, summary
from harness.suite.collect import split_source

BASELINE_FORMAT = "gradcheck-baseline"
BASELINE_VERSION = 1
DEFAULT_BASELINE = "reports/baseline.json"
_NUMBER_FIELDS = ("max_abs_error", "max_rel_error", "tolerance", "h")


class BaselineError(Exception):
    """A baseline that is missing, unreadable, corrupt or of another version."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: results by case name (in file order), the paths and environment."""

    results: dict[str, CheckResult]
    paths: tuple[str, ...]
    environment: dict[str, Any]


def how_to_make(path: str | Path) -> str:
    """The hint printed with every baseline problem."""
    return f"make one with: gradcheck baseline -o {path}"


def relative_source(source: str, root: Path | None = None) -> str:
    """``file:line`` with the file relative to `root` (default: the working directory) if inside.

    Args:
      source: a case's ``file:line``.
      root: the directory to make it relative to.

    Returns:
      The rewritten source (unchanged when the file lies outside `root`).
    """
    if not source:
        return source
    path, line = split_source(source)
    rel = relative_path(path, root)
    return f"{rel}:{line}" if line is not None else rel


def baseline_payload(results: Sequence[CheckResult], paths: Sequence[str]) -> dict[str, Any]:
    """The baseline document for a run.

    Args:
      results: the run's case results.
      paths: the case paths that were run (recorded so the gate runs the same ones by default).

    Returns:
      A JSON-ready dict: format, version, paths, environment (python, numpy, jax, platform and
      the dtypes checked), summary, and the results with relative sources.
    """
    return {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "paths": [relative_source(str(p)) for p in paths],
        "environment": run_environment(results),
        "summary": summary(results),
        "results": [replace(r, source=relative_source(r.source)).to_dict() for r in results],
    }


def run_environment(
    results: Sequence[CheckResult], versions: dict[str, str] | None = None
) -> dict[str, Any]:
    """The versions the numbers depend on (`results.environment`) plus the dtypes checked.

    Args:
      results: the run's case results.
      versions: `results.environment()`, if already computed.

    Returns:
      A JSON-ready dict.
    """
    dtypes = sorted({rec.dtype for r in results for rec in r.checks if rec.dtype})
    return {**(environment() if versions is None else versions), "dtypes": dtypes}


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file; never writes to it.

    Args:
      path: the baseline file.

    Returns:
      The Baseline.

    Raises:
      BaselineError: the file is missing, unreadable, not JSON, not a gradcheck baseline, of
        another version, or malformed; the message says what and how to make one.
    """
    hint = how_to_make(path)
    try:
        data = read_versioned_json(path, BASELINE_FORMAT, BASELINE_VERSION, hint)
    except ReportFileError as exc:
        raise BaselineError(str(exc)) from None
    try:
        results = _parse_results(data.get("results"))
        paths = tuple(str(p) for p in data.get("paths") or ())
        environment = dict(data.get("environment") or {})
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BaselineError(f"the baseline {path} is corrupt ({exc}); {hint}") from None
    return Baseline(results, paths, environment)


def _parse_results(raw: Any) -> dict[str, CheckResult]:
    if not isinstance(raw, list):
        raise ValueError('"results" is not a list')
    results: dict[str, CheckResult] = {}
    for item in raw:
        result = CheckResult.from_dict(item)
        if result.name in results:
            raise ValueError(f"case {result.name!r} appears twice")
        for rec in result.checks:
            if rec.verdict not in VERDICTS:
                raise ValueError(f"case {result.name!r} has an unknown verdict {rec.verdict!r}")
            for name in _NUMBER_FIELDS:
                value = getattr(rec, name)
                if value is not None and (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                ):
                    raise ValueError(f"case {result.name!r}: {name} is {value!r}, not a number")
        results[result.name] = result
    return results
