"""Plain data passed between stages: every check produces `CheckRecord`s, grouped per case in a
`CheckResult`; a case file that does not import is a `CollectionError`; `results_payload` is the
results.json document made of them. Nothing here holds arrays or callables, so results serialise
to JSON, cross process boundaries (pytest-xdist) and feed reports and the gate unchanged.

Deterministic content (verdicts, errors, tolerances) and run-dependent content (timings,
timestamps) live in separate blocks of the document, so the same command twice gives the same
``results`` block."""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from harness.files import OutputKind

RESULTS_FORMAT = "gradcheck-results"
RESULTS_VERSION = 1
# An existing results.json is replaced only when it is one of these (files.publish).
RESULTS_KIND = OutputKind("gradcheck-results file", json=(RESULTS_FORMAT, RESULTS_VERSION))

# Verdicts, from best to worst. A case's verdict is the worst of its checks.
PASS = "pass"
KINK = "kink"  # the function has a kink within the step; exact gradient lies between the slopes
# The check could not have caught an error of POWER_FRACTION of the gradient's scale: not a pass.
INCONCLUSIVE = "inconclusive"
FAIL = "fail"
NONDETERMINISTIC = "non-deterministic"  # the function mutates its input or changes between calls
ERROR = "error"  # the check could not be carried out (raised, non-finite, bad input)
VERDICTS = (PASS, KINK, INCONCLUSIVE, FAIL, NONDETERMINISTIC, ERROR)
OK_VERDICTS = frozenset({PASS, KINK})

# Check kinds.
VALUE = "value"  # fn(*args) against reference(*args)
NUMERICAL = "numerical"  # finite differences of fn against jax.grad(reference)
ANALYTIC = "analytic"  # the case's hand-written grad against jax.grad(reference)
CHECKS = (VALUE, NUMERICAL, ANALYTIC)

# Details key of the error records check() makes when a value or exact gradient is not finite at
# the point; its value says whose: "fn", "reference" (its value) or "gradient" (jax.grad). The
# fuzzer rejects such examples as outside the functions' domain.
NON_FINITE = "non_finite"


# The CheckRecord fields holding a number (or None).
NUMBER_FIELDS = ("max_abs_error", "max_rel_error", "tolerance", "h", "error_ratio")
# How results.json writes a number JSON has no literal for (json.dumps would write NaN/Infinity,
# which is not JSON, or refuse with allow_nan=False).
NON_FINITE_TEXT = {math.inf: "inf", -math.inf: "-inf"}


def json_ready(value: Any) -> Any:
    """`value` as plain JSON data: dicts with string keys, lists, str, int, float, bool, None.

    A record must serialise whatever a case did to it (``tol=inf``, an overflowing error, a
    NumPy scalar in its details), so: tuples and arrays become lists, NumPy scalars Python ones,
    a non-finite float the string "inf", "-inf" or "nan" (`number_from_json` reads them back),
    and anything else its ``repr``.

    Args:
      value: a record's field.

    Returns:
      The JSON-ready value.
    """
    if isinstance(value, bool | str | int) or value is None:
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number):
            return number
        return NON_FINITE_TEXT.get(number, "nan")
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    return repr(value)


def number_from_json(value: Any) -> Any:
    """Inverse of `json_ready` for a number field: "inf", "-inf", "nan" become floats again."""
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def worst_verdict(verdicts: list[str] | tuple[str, ...]) -> str:
    """The most severe verdict of several (pass when there are none).

    Args:
      verdicts: verdict strings from `VERDICTS`.

    Returns:
      The one ranked worst in `VERDICTS`.
    """
    return max(verdicts, key=VERDICTS.index, default=PASS)


@dataclass(frozen=True)
class Entry:
    """Where an error is largest: argument name, multi-index, and the two values compared."""

    arg: str
    index: tuple[int, ...]
    got: float | None = None
    expected: float | None = None

    def describe(self) -> str:
        """A short text like ``W2[3, 7]``."""
        if not self.index:
            return self.arg
        return f"{self.arg}[{', '.join(str(i) for i in self.index)}]"


@dataclass(frozen=True)
class CheckRecord:
    """The outcome of one check of one argument of one case.

    ``tolerance`` is the tolerance the worst entry was judged by (tolerances are per entry, see
    docs/tolerances.md) and ``error_ratio`` that entry's error / tolerance, the largest over the
    entries judged (above 1 only where the verdict is not a pass); ``max_rel_error`` is
    ``max_abs_error`` over the gradient's scale (the largest exact entry over every
    differentiated argument).
    """

    case: str
    check: str
    arg: str | None
    verdict: str
    message: str = ""
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    tolerance: float | None = None
    worst: Entry | None = None
    size: int = 0
    dtype: str = ""
    scheme: str | None = None
    h: float | None = None
    evaluations: int = 0
    kinks: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    error_ratio: float | None = None

    @property
    def ok(self) -> bool:
        """True for pass and kink."""
        return self.verdict in OK_VERDICTS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, always serialisable with ``allow_nan=False`` (see `json_ready`):
        tuples become lists, NumPy scalars Python numbers, and a non-finite number the string
        "inf", "-inf" or "nan"."""
        return json_ready(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckRecord:
        """Inverse of `to_dict` (the number fields get their non-finite values back)."""
        data = dict(data)
        for name in NUMBER_FIELDS:
            data[name] = number_from_json(data.get(name))
        if data.get("worst") is not None:
            worst = dict(data["worst"])
            worst["index"] = tuple(worst["index"])
            for name in ("got", "expected"):
                worst[name] = number_from_json(worst.get(name))
            data["worst"] = Entry(**worst)
        return cls(**data)


@dataclass(frozen=True)
class CheckResult:
    """All checks of one case. ``ok`` is true when every check passed or found a kink.

    ``warnings`` are the warnings the case's code raised while it was checked (one line each,
    `harness.suite.captured`); they never change a verdict.
    """

    name: str
    checks: tuple[CheckRecord, ...]
    seconds: float = 0.0
    source: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """The worst verdict of the checks."""
        return worst_verdict([c.verdict for c in self.checks])

    @property
    def ok(self) -> bool:
        """True when the case passed (kinks included)."""
        return self.verdict in OK_VERDICTS

    def _worst_check(self) -> CheckRecord | None:
        judged = [c for c in self.checks if c.error_ratio is not None]
        if not judged:
            return None
        return max(judged, key=lambda c: c.error_ratio)

    @property
    def max_abs_error(self) -> float | None:
        """Largest absolute error over the gradient checks (value check excluded)."""
        errs = [
            c.max_abs_error for c in self.checks if c.check != VALUE and c.max_abs_error is not None
        ]
        return max(errs, default=None)

    @property
    def max_rel_error(self) -> float | None:
        """Largest relative error over the gradient checks."""
        errs = [
            c.max_rel_error for c in self.checks if c.check != VALUE and c.max_rel_error is not None
        ]
        return max(errs, default=None)

    @property
    def worst(self) -> Entry | None:
        """The entry closest to (or furthest past) its tolerance, over all checks."""
        check = self._worst_check()
        return None if check is None else check.worst

    @property
    def tolerance(self) -> float | None:
        """The tolerance of that worst entry."""
        check = self._worst_check()
        return None if check is None else check.tolerance

    def failures(self) -> list[CheckRecord]:
        """The checks that did not pass."""
        return [c for c in self.checks if not c.ok]

    def _repr_html_(self) -> str:
        """The table a notebook shows (`harness.notebook.result_html`)."""
        from harness import notebook  # lazily: results stay plain data

        return notebook.result_html(self)

    def plot(self) -> Any:
        """The failing argument's error against its tolerance, or every check's error /
        tolerance: a matplotlib Figure (`harness.notebook.result_figure`)."""
        from harness import notebook

        return notebook.result_figure(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``warnings`` only when there are some)."""
        data: dict[str, Any] = {
            "name": self.name,
            "verdict": self.verdict,
            "source": self.source,
            "checks": [c.to_dict() for c in self.checks],
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], seconds: float = 0.0) -> CheckResult:
        """Inverse of `to_dict`."""
        return cls(
            name=data["name"],
            checks=tuple(CheckRecord.from_dict(c) for c in data["checks"]),
            seconds=seconds,
            source=data.get("source", ""),
            warnings=tuple(data.get("warnings", ())),
        )


@dataclass(frozen=True)
class CollectionError:
    """A case file that could not be collected, with where and why."""

    path: str
    line: int | None
    message: str

    def describe(self) -> str:
        """``path:line: message``."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def environment() -> dict[str, str]:
    """Versions that the numbers depend on."""
    import jax  # here, not at the top: importing the results must not import JAX

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "platform": platform.platform(),
    }


def summary(
    results: Sequence[CheckResult], errors: Sequence[CollectionError] = ()
) -> dict[str, int]:
    """Counts of cases per verdict, plus collection errors."""
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        counts[r.verdict] += 1
    counts["cases"] = len(results)
    counts["collection_errors"] = len(errors)
    return counts


def results_payload(
    results: Sequence[CheckResult],
    errors: Sequence[CollectionError] = (),
    command: Sequence[str] = (),
    started: float | None = None,
    versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The results.json document.

    Args:
      results: case results.
      errors: collection errors.
      command: the argv that produced them.
      started: time.time() at the start of the run.
      versions: `environment()`, if already computed.

    Returns:
      A JSON-ready dict: ``results``, ``collection_errors``, ``summary`` and ``environment`` are
      deterministic; ``timings`` holds everything that changes from run to run.
    """
    return {
        "format": RESULTS_FORMAT,
        "version": RESULTS_VERSION,
        "command": list(command),
        "environment": environment() if versions is None else versions,
        "summary": summary(results, errors),
        "results": [r.to_dict() for r in results],
        "collection_errors": [
            {"path": e.path, "line": e.line, "message": e.message} for e in errors
        ],
        "timings": {
            "started": datetime.fromtimestamp(started or time.time(), UTC).isoformat(),
            "total_seconds": round(sum(r.seconds for r in results), 6),
            "cases": {r.name: round(r.seconds, 6) for r in results},
        },
    }
