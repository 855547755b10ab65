"""Regression gating: compare a run with a committed baseline, check by check.

The rule (README "Gating in CI"), per (case, check, argument):

* passed (or kink) in the baseline and now fails, errors or is non-deterministic: regression;
* still passes, but its max abs error grew more than ``GROWTH_FACTOR`` times its baseline value
  AND is now above ``NOISE_FRACTION`` of its tolerance (the smaller of the baseline's and today's,
  so loosening a tolerance cannot hide growth): regression. Below that floor an error is rounding
  noise, e.g. 1e-13 -> 1e-12 against a tolerance of 1e-9;
* in the baseline but gone (the case, one of its checks, or its whole case file): regression;
* in the baseline but not run, because its case file lies outside the paths this run was given:
  "not run", a regression unless the run is ``partial`` (``gradcheck gate --partial``), so a gate
  can never pass by comparing less than the baseline holds without saying so;
* new (not in the baseline): reported; a regression only if it does not pass or under ``strict``;
* failed in the baseline and still fails: a known failure, reported, not a regression;
  failed and now passes: fixed, reported (remake the baseline to lock it in).

Comparison is a pure function of two lists of results; the same inputs give the same outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.files import relative_to
from harness.results import ERROR, CheckRecord, CheckResult, CollectionError
from harness.suite.collect import split_source

GROWTH_FACTOR = 10.0
NOISE_FRACTION = 0.1

# Change statuses.
REGRESSION = "regression"
NEW = "new"
FIXED = "fixed"
KNOWN_FAILURE = "known failure"
CHANGED = "changed"  # informational: a kink appeared or went, the step or scheme changed
UNCHANGED = "unchanged"
NOT_RUN = "not run"  # in the baseline, outside this run's paths, and the run is partial
NOT_COMPARED = "not compared"  # the "now" column of a baseline check that was not run
ABSENT = "—"  # the "baseline" column of a new check or of a case file that did not import
IMPORT = "import"  # the check column of a case file that did not import

Key = tuple[str, str, str | None]


@dataclass(frozen=True)
class Change:
    """The comparison of one check (or one collection error) with its baseline.

    ``source`` is ``file:line`` where the case is declared (this run's, else the baseline's; a
    collection error's file and line), ``seconds`` its case's wall time in this run (0 when the
    check was not made), ``then`` and ``now`` the baseline's and this run's records (None where
    there is none), so reports can say more than the one-line ``before``/``after``.
    """

    case: str
    check: str
    status: str
    before: str
    after: str
    reason: str = ""
    source: str = ""
    seconds: float = 0.0
    then: CheckRecord | None = None
    now: CheckRecord | None = None

    @property
    def error(self) -> bool:
        """A regression because the check could not be made (verdict ``error``) or its case file
        did not import, rather than a wrong or worse number: JUnit's <error>, not <failure>."""
        if not self.regression:
            return False
        return self.check == IMPORT or (self.now is not None and self.now.verdict == ERROR)

    @property
    def regression(self) -> bool:
        """True when this change fails the gate."""
        return self.status == REGRESSION


@dataclass(frozen=True)
class GateOutcome:
    """Every compared check, in a stable order, plus the environment differences."""

    changes: tuple[Change, ...]
    environment_notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def regressions(self) -> list[Change]:
        """The changes that fail the gate."""
        return [c for c in self.changes if c.regression]

    @property
    def ok(self) -> bool:
        """True when nothing regressed."""
        return not self.regressions

    def counts(self) -> dict[str, int]:
        """Number of changes per status."""
        statuses = (REGRESSION, NEW, FIXED, KNOWN_FAILURE, CHANGED, UNCHANGED, NOT_RUN)
        return {s: sum(c.status == s for c in self.changes) for s in statuses}

    @property
    def not_compared(self) -> int:
        """How many baseline checks this run did not compare (outside its paths)."""
        return sum(c.after == NOT_COMPARED for c in self.changes)

    @property
    def baseline_checks(self) -> int:
        """How many checks the baseline holds (every one has a Change)."""
        return sum(c.before != ABSENT for c in self.changes)


def check_label(rec: CheckRecord) -> str:
    """``numerical W1``, ``analytic b2``, ``value``: the check's name in tables and JUnit."""
    return rec.check if rec.arg is None else f"{rec.check} {rec.arg}"


def describe(rec: CheckRecord | None) -> str:
    """``pass 1.05e-10`` (verdict and max abs error), or ``—`` when there is no record."""
    if rec is None:
        return ABSENT
    if rec.max_abs_error is None:
        return rec.verdict
    return f"{rec.verdict} {rec.max_abs_error:.2e}"


def in_scope(source: str, paths: Sequence[str | Path]) -> bool:
    """Whether a baseline case declared at `source` lies under one of the run's paths.

    A missing case outside every path was not run (see the module's rule); a missing case under
    a path is gone (deleted case or case file). Both sides must be absolute or relative to the
    same directory (the gate makes the baseline's absolute against its root).

    Args:
      source: the case's ``file:line`` from the baseline.
      paths: the case paths of this run.

    Returns:
      True when the source file is one of the paths or inside one of them (or unknown).
    """
    if not source:
        return True
    file = split_source(source)[0]
    return any(relative_to(file, raw) is not None for raw in paths)


def compare(
    baseline: Iterable[CheckResult],
    current: Iterable[CheckResult],
    *,
    paths: Sequence[str | Path] = (),
    errors: Sequence[CollectionError] = (),
    strict: bool = False,
    partial: bool = False,
) -> GateOutcome:
    """Compare a run with its baseline under the module's rule.

    Args:
      baseline: the baseline's results.
      current: this run's results.
      paths: this run's case paths; a missing baseline case outside them was not run (empty:
        every case was in scope).
      errors: this run's collection errors; each is a regression.
      strict: new cases and checks are regressions too.
      partial: checks not run (outside `paths`) are reported, not regressions.

    Returns:
      The GateOutcome, with one Change per check in baseline order, then new checks.
    """
    current_cases = {r.name: r for r in current}
    now = _by_key(current_cases.values())
    changes: list[Change] = []
    seen: set[Key] = set()
    for result in baseline:
        # A case that ran is compared wherever its file now lies; only a missing one asks
        # whether it was in scope.
        if result.name not in current_cases and paths and not in_scope(result.source, paths):
            for key, before in _by_key([result]).items():
                seen.add(key)
                changes.append(_not_run(before, result.source, partial))
            continue
        ran = current_cases.get(result.name)
        for key, before in _by_key([result]).items():
            seen.add(key)
            after = now.get(key)
            if after is None:
                gone = "case" if ran is None else "check"
                changes.append(
                    Change(
                        result.name,
                        check_label(before),
                        REGRESSION,
                        describe(before),
                        "missing",
                        f"the {gone} is in the baseline but was not run: restore it, or remake "
                        "the baseline if it was removed on purpose",
                        source=result.source if ran is None else ran.source,
                        then=before,
                    )
                )
            else:
                assert ran is not None
                changes.append(replace(_compare_check(before, after), **_ran(ran)))
    for key, after in now.items():
        if key in seen:
            continue
        if not after.ok:
            status, reason = REGRESSION, f"new check does not pass: {after.message}"
        elif strict:
            status, reason = REGRESSION, "new check (--strict): add it to the baseline"
        else:
            status, reason = NEW, "not in the baseline"
        changes.append(
            Change(
                after.case,
                check_label(after),
                status,
                ABSENT,
                describe(after),
                reason,
                now=after,
                **_ran(current_cases[key[0]]),
            )
        )
    for err in errors:
        changes.append(
            Change(
                err.path,
                IMPORT,
                REGRESSION,
                ABSENT,
                "error",
                f"not collected: {err.describe()}",
                source=f"{err.path}:{err.line}" if err.line else err.path,
            )
        )
    return GateOutcome(tuple(changes))


def _ran(result: CheckResult) -> dict:
    """The Change fields that come from the case as it ran."""
    return {"source": result.source, "seconds": result.seconds}


def _not_run(before: CheckRecord, source: str, partial: bool) -> Change:
    where = split_source(source)[0]
    if partial:
        return Change(
            before.case,
            check_label(before),
            NOT_RUN,
            describe(before),
            NOT_COMPARED,
            f"not run: {where} is outside this run's paths (--partial)",
            source=source,
            then=before,
        )
    return Change(
        before.case,
        check_label(before),
        REGRESSION,
        describe(before),
        NOT_COMPARED,
        f"not run: {where} is outside this run's paths, so the gate compared less than the "
        "baseline holds; run the baseline's paths, or pass --partial to compare a subset",
        source=source,
        then=before,
    )


def growth_floor(before: CheckRecord, after: CheckRecord) -> float:
    """The error below which growth is noise: NOISE_FRACTION of the smaller tolerance."""
    tolerances = [t for t in (before.tolerance, after.tolerance) if t is not None]
    return NOISE_FRACTION * min(tolerances) if tolerances else 0.0


def _compare_check(before: CheckRecord, after: CheckRecord) -> Change:
    def change(status: str, reason: str = "") -> Change:
        return Change(
            after.case,
            check_label(after),
            status,
            describe(before),
            describe(after),
            reason,
            then=before,
            now=after,
        )

    if before.ok and not after.ok:
        return change(REGRESSION, f"{before.verdict} -> {after.verdict}: {after.message}")
    if not before.ok and not after.ok:
        return change(KNOWN_FAILURE, "failed in the baseline too")
    if not before.ok:
        return change(FIXED, "passes now: remake the baseline to lock it in")
    old, new = before.max_abs_error, after.max_abs_error
    if old is not None and new is not None:
        floor = growth_floor(before, after)
        if new > GROWTH_FACTOR * old and new > floor:
            factor = f"x{new / old:.3g}" if old > 0 else "from 0"
            return change(
                REGRESSION,
                f"error grew {old:.3g} -> {new:.3g} ({factor}, more than x{GROWTH_FACTOR:g}) and "
                f"is above {NOISE_FRACTION:g} of the tolerance ({floor:.3g})",
            )
    notes = []
    if before.verdict != after.verdict:
        notes.append(f"{before.verdict} -> {after.verdict}")
    if (before.scheme, before.h) != (after.scheme, after.h):
        notes.append(f"step {before.scheme} h={before.h} -> {after.scheme} h={after.h}")
    if not _close(before.tolerance, after.tolerance, 2.0):
        notes.append(f"tolerance {before.tolerance} -> {after.tolerance}")
    return change(CHANGED, "; ".join(notes)) if notes else change(UNCHANGED)


def _close(a: float | None, b: float | None, factor: float) -> bool:
    """a and b equal, or both positive and within a factor of each other."""
    if a == b:
        return True
    return a is not None and b is not None and 0 < min(a, b) and max(a, b) <= factor * min(a, b)


def _by_key(results: Iterable[CheckResult]) -> dict[Key, CheckRecord]:
    return {(r.name, rec.check, rec.arg): rec for r in results for rec in r.checks}


def environment_notes(before: dict, after: dict) -> tuple[str, ...]:
    """Lines saying which versions differ from the baseline's (numbers may move with them).

    Args:
      before: the baseline's environment.
      after: this run's environment.

    Returns:
      One line per differing key, e.g. ``numpy 2.4.6 -> 2.5.0``.
    """
    keys = ("python", "numpy", "jax", "dtypes")
    return tuple(
        f"{k} {before.get(k)} -> {after.get(k)}" for k in keys if before.get(k) != after.get(k)
    )
