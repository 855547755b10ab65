"""One cause, its symptoms: the gate's regressions grouped so a reader fixes one thing, not five.

A regression often drags others with it. The rules, applied in order to the regressions only:

* a case file that does not import is the cause of every baseline check of its cases that is
  now missing;
* a case that is gone (every check missing, its file imports) is one cause;
* baseline checks not run because their file lies outside the run's paths: one cause per file;
* a case whose value check regressed: fn and the reference are different functions at the
  point, so its numerical checks (fn's finite differences against jax.grad of the reference)
  fail with it; they, and any other regression of the case, are its symptoms;
* a check that could not be made at all (one ``error`` record for the whole check, e.g. the
  hand-written gradient raised) is the cause of the baseline's per-argument records of that
  check now missing;
* every regression of a case with one message (the function raised, the case timed out): one
  cause;
* the numerical and the analytic check of one argument regressing together (the value still
  agreeing): both disagree with jax.grad of the reference there, so they are one cause;
* anything else is a cause of its own.

Grouping never hides a regression: every regression is in exactly one group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.files import relative_path
from harness.gate.compare import IMPORT, NOT_COMPARED, Change, GateOutcome
from harness.results import ANALYTIC, ERROR, NUMERICAL, VALUE
from harness.suite.collect import split_source


@dataclass(frozen=True)
class Cause:
    """One cause and the regressions it explains.

    Attributes:
      headline: what went wrong, in one line.
      source: ``file:line`` to look at (may be empty).
      changes: the regressions it explains; the first is the cause's own where it has one.
      why: why the others follow from it (empty when there is one change).
    """

    headline: str
    source: str
    changes: tuple[Change, ...]
    why: str = ""


def _file(source: str) -> str:
    path = split_source(source)[0]
    try:
        return str(Path(path).resolve())
    except OSError:  # pragma: no cover - a path too odd to resolve
        return path


def group_regressions(outcome: GateOutcome) -> list[Cause]:
    """The regressions of `outcome`, grouped by cause (see the module's rules), in the order
    their first regression appears.

    Args:
      outcome: the comparison.

    Returns:
      The causes; every regression is in exactly one.
    """
    regressions = outcome.regressions
    left = list(regressions)
    causes: list[tuple[int, Cause]] = []

    def take(changes: Sequence[Change], headline: str, source: str, why: str = "") -> None:
        for c in changes:
            left.remove(c)
        first = min(regressions.index(c) for c in changes)
        causes.append((first, Cause(headline, source, tuple(changes), why)))

    # Case files that do not import, and the missing checks of the cases declared in them.
    for err in [c for c in regressions if c.check == IMPORT]:
        broken = _file(err.source)
        missing = [
            c for c in left if c.after == "missing" and c.source and _file(c.source) == broken
        ]
        cases = sorted({c.case for c in missing})
        why = (
            f"{len(missing)} baseline check(s) of {len(cases)} case(s) declared there are missing "
            "with it"
            if missing
            else ""
        )
        message = err.reason.removeprefix(f"not collected: {err.source}: ")
        shown = relative_path(split_source(err.source)[0])
        take([err, *missing], f"{shown} does not import: {message}", err.source, why)
    by_case: dict[str, list[Change]] = {}
    for c in left:
        by_case.setdefault(c.case, []).append(c)
    for case, changes in by_case.items():
        _group_case(case, changes, outcome, take)
    return [cause for _, cause in sorted(causes, key=lambda pair: pair[0])]


def _group_case(case: str, changes: list[Change], outcome: GateOutcome, take) -> None:
    """Group one case's regressions (see the module's rules)."""
    source = changes[0].source
    of_case = [c for c in outcome.changes if c.case == case]
    if all(c.after == "missing" for c in of_case):
        take(changes, f"{case} is gone: in the baseline, not in this run", source)
        return
    if all(c.after == NOT_COMPARED for c in changes):
        where = split_source(source)[0] if source else "its file"
        take(changes, f"{case} was not run: {where} is outside this run's paths", source)
        return
    value = next((c for c in changes if c.now is not None and c.now.check == VALUE), None)
    if value is not None:
        others = [c for c in changes if c is not value]
        why = (
            "fn and the reference are different functions at this point, so fn's finite "
            "differences cannot match jax.grad of the reference"
            if any(c.now is not None and c.now.check == NUMERICAL for c in others)
            else "the value disagrees, so the other checks of the case are suspect too"
        )
        take([value, *others], f"{case}: {_what(value)}", source, why if others else "")
        return
    # A check that could not be made at all is one error record for the whole check (no
    # argument): the per-argument records of that kind in the baseline are then missing.
    for err in [c for c in changes if c.then is None and c.now is not None and c.now.arg is None]:
        kind = err.now.check
        lost = [c for c in changes if c.now is None and c.then is not None and c.then.check == kind]
        if err.now.verdict == ERROR and lost:
            labels = ", ".join(c.check for c in lost)
            why = f"the {kind} check could not be made, so its records per argument are missing"
            take([err, *lost], f"{case}: {_what(err)}", source, f"{why} ({labels})")
            changes = [c for c in changes if c is not err and c not in lost]
    if not changes:
        return
    messages = {c.now.message for c in changes if c.now is not None}
    if len(changes) > 1 and len(messages) == 1 and all(c.now is not None for c in changes):
        (message,) = messages
        take(changes, f"{case}: {changes[0].now.verdict}: {message}", source, "the same message")
        return
    by_arg: dict[str | None, list[Change]] = {}
    for c in changes:
        arg = c.now.arg if c.now is not None else (c.then.arg if c.then is not None else None)
        by_arg.setdefault(arg, []).append(c)
    for arg, group in by_arg.items():
        kinds = {c.now.check for c in group if c.now is not None}
        if arg is not None and {NUMERICAL, ANALYTIC} <= kinds:
            why = (
                f"fn's finite differences and the hand-written gradient both disagree with "
                f"jax.grad of the reference at {arg}, while the values agree: look at the "
                "reference's gradient first"
            )
            take(group, f"{case}: {_what(group[0])}", source, why)
        else:
            for c in group:
                take([c], f"{case}: {_what(c)}", source)


def _what(change: Change) -> str:
    """``analytic x: pass -> fail: <message>`` (the reason, which names the verdicts)."""
    return f"{change.check}: {change.reason}" if change.reason else change.check
