"""The baseline file: what the gate compares a run against.

A baseline is the deterministic part of a run — per case and check the verdict, errors,
tolerance, step and scheme (each check's `CheckRecord.to_dict`) — plus the environment the numbers
came from. It carries no timings or timestamps, so remaking it on an unchanged tree gives the same
file, and its paths and sources are relative to its *root* (the directory it was made from), so it
is the same on every checkout. The root is stored relative to the baseline file itself, so the
gate finds the same case files from any working directory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.files import OutputKind, ReportFileError, read_versioned_json, relative_path
from harness.results import NUMBER_FIELDS, VERDICTS, CheckResult, environment, summary
from harness.suite.collect import split_source

BASELINE_FORMAT = "gradcheck-baseline"
BASELINE_VERSION = 1
DEFAULT_BASELINE = "reports/baseline.json"
# `gradcheck baseline -o FILE` replaces FILE only when it is a baseline (files.check_output_file).
BASELINE_KIND = OutputKind("gradcheck baseline", json=(BASELINE_FORMAT, BASELINE_VERSION))


class BaselineError(Exception):
    """A baseline that is missing, unreadable, corrupt or of another version."""


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: results by case name (in file order, sources made absolute against
    its root), the paths it ran (absolute too), its environment and its root."""

    results: dict[str, CheckResult]
    paths: tuple[str, ...]
    environment: dict[str, Any]
    root: Path | None = None


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


def baseline_payload(
    results: Sequence[CheckResult],
    paths: Sequence[str],
    output: str | Path | None = None,
    versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The baseline document for a run.

    Args:
      results: the run's case results.
      paths: the case paths that were run (recorded so the gate runs the same ones by default).
      output: where the baseline will be written; its root (the working directory) is stored
        relative to that file's folder.
      versions: `results.environment()`, if already computed.

    Returns:
      A JSON-ready dict: format, version, root, paths, environment (python, numpy, jax,
      platform and the dtypes checked), summary, and the results with relative sources.
    """
    payload: dict[str, Any] = {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "paths": [relative_source(str(p)) for p in paths],
        "environment": run_environment(results, versions),
        "summary": summary(results),
        "results": [replace(r, source=relative_source(r.source)).to_dict() for r in results],
    }
    if output is not None:
        folder = Path(os.path.abspath(output)).parent
        payload["root"] = Path(os.path.relpath(Path.cwd(), folder)).as_posix()
    return payload


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
        raw_paths = _strings(data.get("paths", []), '"paths"')
        root = _root(Path(path), data.get("root"), raw_paths)
        results = {
            name: replace(r, source=_absolute_source(r.source, root))
            for name, r in _parse_results(data.get("results")).items()
        }
        paths = tuple(str(_absolute(p, root)) for p in raw_paths)
        environment = data.get("environment", {})
        if not isinstance(environment, dict):
            raise ValueError('"environment" is not an object')
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BaselineError(f"the baseline {path} is corrupt ({_reason(exc)}); {hint}") from None
    return Baseline(results, paths, dict(environment), root)


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"a record lacks the field {exc.args[0]!r}"
    if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
        return f"a record has an unknown field: {exc}"
    return str(exc)


def _strings(raw: Any, what: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValueError(f"{what} is not a list of strings")
    return raw


def _root(path: Path, stored: Any, paths: Sequence[str]) -> Path:
    """The directory the baseline's relative paths start from.

    Stored (relative to the baseline's folder) by this gradcheck; for a baseline written before
    it was, the nearest folder, from the baseline's own upwards, in which its paths exist.
    """
    folder = Path(os.path.abspath(path)).parent
    if stored is not None:
        if not isinstance(stored, str):
            raise ValueError(f'"root" is {stored!r}, not a path')
        return Path(os.path.normpath(folder / stored))
    for candidate in (folder, *folder.parents):
        if paths and all((candidate / p).exists() for p in paths):
            return candidate
    return Path.cwd()


def _absolute(path: str, root: Path) -> Path:
    return Path(os.path.normpath(root / path))


def _absolute_source(source: str, root: Path) -> str:
    if not source:
        return source
    file, line = split_source(source)
    absolute = str(_absolute(file, root))
    return absolute if line is None else f"{absolute}:{line}"


def _parse_results(raw: Any) -> dict[str, CheckResult]:
    if not isinstance(raw, list):
        raise ValueError('"results" is not a list')
    results: dict[str, CheckResult] = {}
    for item in raw:
        _check_types(item)
        result = CheckResult.from_dict(item)
        if result.name in results:
            raise ValueError(f"case {result.name!r} appears twice")
        for rec in result.checks:
            if rec.verdict not in VERDICTS:
                raise ValueError(f"case {result.name!r} has an unknown verdict {rec.verdict!r}")
            for name in NUMBER_FIELDS:
                value = getattr(rec, name)
                # Non-finite numbers are allowed: results.json and baselines write them as
                # "inf"/"nan" (results.json_ready), which from_dict has turned back into floats.
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int | float)
                ):
                    raise ValueError(f"case {result.name!r}: {name} is {value!r}, not a number")
        results[result.name] = result
    return results


# The type every field of a hand-edited baseline must have (None allowed where marked).
_RESULT_TYPES = {"name": (str,), "source": (str,), "checks": (list,)}
_RECORD_TYPES = {
    "case": (str,),
    "check": (str,),
    "arg": (str, type(None)),
    "verdict": (str,),
    "message": (str,),
    "size": (int,),
    "dtype": (str,),
    "scheme": (str, type(None)),
    "evaluations": (int,),
    "kinks": (int,),
    "details": (dict,),
    "worst": (dict, type(None)),
}


def _check_types(item: Any) -> None:
    """Refuse a result whose fields have the wrong JSON types (a hand edit), naming the field."""
    if not isinstance(item, dict):
        raise ValueError(f"a result is {type(item).__name__}, not an object")
    name = item.get("name")
    for key, types in _RESULT_TYPES.items():
        if key in item and (not isinstance(item[key], types) or isinstance(item[key], bool)):
            raise ValueError(f"result {name!r}: {key!r} is {item[key]!r}, not {_kind(types)}")
    for rec in item.get("checks", []):
        if not isinstance(rec, dict):
            raise ValueError(f"case {name!r}: a check is {type(rec).__name__}, not an object")
        for key, types in _RECORD_TYPES.items():
            value = rec.get(key)
            if key in rec and (not isinstance(value, types) or isinstance(value, bool)):
                raise ValueError(f"case {name!r}: {key!r} is {value!r}, not {_kind(types)}")
        worst = rec.get("worst")
        if isinstance(worst, dict):
            for key in ("arg", "index"):
                if key not in worst:
                    raise ValueError(f"case {name!r}: 'worst' lacks the field {key!r}")
            index = worst["index"]
            if not isinstance(worst["arg"], str) or not isinstance(index, list):
                raise ValueError(f"case {name!r}: 'worst' is {worst!r}, not an entry")
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in index):
                raise ValueError(f"case {name!r}: 'worst' index {index!r} is not whole numbers")


def _kind(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", list: "a list", dict: "an object"}
    return " or ".join(names.get(t, "null") for t in types)
