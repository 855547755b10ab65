"""The recommended step: which h to use, and what the checker's and the book's steps cost.

For each scheme and dtype of a case's whole gradient (every argument at one h, as a check computes
it, `explain.whole_gradient_error`), four steps and their errors:

* measured: the lowest point of the measured curve (running median, `explain.whole_gradient_best`);
* model: the lowest point of the error model (docs/design.md) over the same gradient;
* checker: the checker's default step, `tolerance.default_step` (eps^(1/3) central, eps^(1/2)
  one-sided). The checker moves entry i by h * max(1, |x_i|), and the sweep moves it by every h of
  its grid times the same factor, so on the sweep's h axis the checker's step is the default itself;
* book: the seed note's h = 1e-4.

The errors at the fixed steps are read off the same running median as the lowest point, so
they are multiples >= 1 of it (on the sides of the V the median is the measured point itself).
The checker's step is not on the sweep's grid (4 steps per decade): its error is read between
the two grid steps around it, on a straight line in log-log. A step whose quotients were not
finite (it left the function's domain) has no error: ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.judge import tolerance as policy
from harness.sweep.explain import whole_gradient_best, whole_gradient_error
from harness.sweep.model import LOST, SEED_STEP, CaseSweep, smoothed

SCHEMES = ("central", "forward", "backward")
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Step:
    """One step h and the whole gradient's relative error there (None: not finite at h)."""

    h: float
    error: float | None


@dataclass(frozen=True)
class StepRow:
    """The four candidate steps of one case, scheme and dtype."""

    scheme: str
    dtype: str
    measured: Step | None  # None: no finite point at all
    model: Step
    model_interior: bool  # False: the model's minimum is at the grid's edge (f''' = 0 central)
    checker: Step
    book: Step

    def cost(self, candidate: str) -> float | None:
        """A candidate's error as a multiple of the lowest measured error.

        Args:
          candidate: "checker" or "book" (or "measured": 1).

        Returns:
          error / lowest error; inf when the lowest is exactly 0 and this one is not; None when
          either is unknown (not finite).
        """
        step = getattr(self, candidate)
        if self.measured is None or self.measured.error is None or step.error is None:
            return None
        if self.measured.error == 0:
            return 1.0 if step.error == 0 else math.inf
        return step.error / self.measured.error


@dataclass(frozen=True)
class CaseSteps:
    """Every StepRow of one case."""

    case: str
    at_domain_edge: bool
    rows: tuple[StepRow, ...]

    def row(self, scheme: str, dtype: str) -> StepRow | None:
        """The row of one scheme and dtype, or None when the case has no such curve."""
        for r in self.rows:
            if (r.scheme, r.dtype) == (scheme, dtype):
                return r
        return None


def checker_step(dtype: str, scheme: str) -> float:
    """The checker's default step on the sweep's h axis (see the module docstring)."""
    return policy.default_step(np.dtype(dtype), scheme)


def error_at(h: np.ndarray, error: np.ndarray, at: float) -> float | None:
    """The error at a step between grid points: a straight line in log-log between the two
    neighbours (in log h only when one of them is exactly 0).

    Args:
      h: the grid, monotonic.
      error: the error at each step, nan where not finite.
      at: the step, inside the grid's range.

    Returns:
      The interpolated error, or None when a neighbour is not finite or ``at`` is off the grid.
    """
    order = np.argsort(h)
    h, error = np.asarray(h, dtype=float)[order], np.asarray(error, dtype=float)[order]
    if not h[0] <= at <= h[-1]:
        return None
    upper = int(np.searchsorted(h, at))
    if h[upper] == at:
        return None if not np.isfinite(error[upper]) else float(error[upper])
    lower = upper - 1
    pair = error[[lower, upper]]
    if not np.isfinite(pair).all():
        return None
    t = (math.log(at) - math.log(h[lower])) / (math.log(h[upper]) - math.log(h[lower]))
    if (pair > 0).all():
        return float(math.exp((1 - t) * math.log(pair[0]) + t * math.log(pair[1])))
    return float((1 - t) * pair[0] + t * pair[1])


def _model_best(sweep: CaseSweep, dtype: str, scheme: str) -> tuple[Step, bool]:
    """The model's lowest point of the whole gradient, and whether it is inside the grid.

    One argument: the curve's own minimum (found on the model's fine grid). Several: the minimum
    over the sweep's grid of the whole gradient's model error.
    """
    curves = [c for c in sweep.curves if c.dtype == dtype and c.scheme == scheme]
    if len(curves) == 1:
        (c,) = curves
        return Step(c.model_best_h, c.model_best_error), c.model_interior
    h, model = whole_gradient_error(sweep, dtype, scheme, values="model")
    index = int(np.argmin(model))
    return Step(float(h[index]), float(model[index])), 0 < index < len(h) - 1


def case_steps(sweep: CaseSweep) -> CaseSteps | None:
    """The recommended-step rows of one case.

    Args:
      sweep: the case's sweep.

    Returns:
      CaseSteps (rows in SCHEMES x DTYPES order, dtype first), or None when nothing was swept.
    """
    rows = []
    for dtype in DTYPES:
        for scheme in SCHEMES:
            whole = whole_gradient_error(sweep, dtype, scheme)
            if whole is None:
                continue
            h, error = whole
            # The lowest point is read off a running median (one lucky cancellation is not the
            # curve's minimum); the fixed steps' errors are read off the same, so each is a
            # multiple >= 1 of it. On either side of the V the median is the point itself.
            typical = smoothed(error)
            best = whole_gradient_best(sweep, dtype, scheme)
            model, interior = _model_best(sweep, dtype, scheme)
            checker = checker_step(dtype, scheme)
            rows.append(
                StepRow(
                    scheme=scheme,
                    dtype=dtype,
                    measured=None if best is None else Step(*best),
                    model=model,
                    model_interior=interior,
                    checker=Step(checker, error_at(h, typical, checker)),
                    book=Step(SEED_STEP, error_at(h, typical, SEED_STEP)),
                )
            )
    if not rows:
        return None
    return CaseSteps(sweep.name, sweep.at_domain_edge, tuple(rows))


def all_case_steps(sweeps: Sequence[CaseSweep]) -> list[CaseSteps]:
    """`case_steps` of every swept case, in the sweeps' order."""
    return [steps for s in sweeps if (steps := case_steps(s)) is not None]


# --- numbers as the report writes them -------------------------------------------------------


def number(value: float | None) -> str:
    """2 significant digits, scientific: ``6.1e-06``; "—" when unknown."""
    return "—" if value is None else f"{value:.1e}"


def times(factor: float | None) -> str:
    """A cost factor: ``1.4×``, ``35×``, ``1.1e6×``; "—" when unknown."""
    if factor is None:
        return "—"
    if math.isinf(factor):
        return "∞×"
    if factor < 10:
        return f"{factor:.2g}×"
    if factor < 1000:
        return f"{factor:.0f}×"
    mantissa, exponent = f"{factor:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}×"


def order_of(factor: float) -> str:
    """The factor's order of magnitude in words: ``~1e6×`` (``~35×`` below 100)."""
    if math.isinf(factor):
        return "infinitely"
    if factor < 100:
        return f"~{factor:.2g}×"
    return f"~1e{round(math.log10(factor))}×"


def step_text(step: Step | None) -> str:
    """``error (h)`` as the box writes it; the error is "not finite" where the step left the
    function's domain."""
    if step is None:
        return "no finite point"
    error = "not finite" if step.error is None else number(step.error)
    return f"{error} at h = {number(step.h)}"


@dataclass(frozen=True)
class Overall:
    """One scheme and dtype over every case: where the best steps lie and what fixed steps cost.

    Costs are taken over the cases with a real trade-off (the model's minimum inside the grid:
    f''' != 0 for central, f'' != 0 one-sided). The others have no truncation error, their error
    only falls as h grows, and a cost against a rounding-level "best" would say nothing.
    """

    scheme: str
    dtype: str
    checker_h: float
    traded: tuple[tuple[str, StepRow], ...]  # (case, row) with a trade-off
    untraded: tuple[tuple[str, StepRow], ...]  # (case, row) without one

    @property
    def measured_h(self) -> list[float]:
        """The traded cases' lowest points."""
        return [r.measured.h for _, r in self.traded if r.measured is not None]

    @property
    def model_h(self) -> list[float]:
        """The traded cases' model minima."""
        return [r.model.h for _, r in self.traded]

    def costs(self, candidate: str) -> list[tuple[str, float | None]]:
        """(case, cost) of "checker" or "book" over the traded cases."""
        return [(case, r.cost(candidate)) for case, r in self.traded]

    def median_cost(self, candidate: str) -> float | None:
        """The median cost over the traded cases where it is known."""
        known = [c for _, c in self.costs(candidate) if c is not None]
        return float(np.median(known)) if known else None


def overall(all_steps: Sequence[CaseSteps]) -> list[Overall]:
    """Per scheme and dtype, the cases' rows split by whether they have a trade-off.

    Args:
      all_steps: every case's rows.

    Returns:
      One Overall per scheme and dtype that some case has, in DTYPES x SCHEMES order.
    """
    out = []
    for dtype in DTYPES:
        for scheme in SCHEMES:
            rows = [(s.case, r) for s in all_steps if (r := s.row(scheme, dtype)) is not None]
            if not rows:
                continue
            out.append(
                Overall(
                    scheme=scheme,
                    dtype=dtype,
                    checker_h=checker_step(dtype, scheme),
                    traded=tuple((c, r) for c, r in rows if r.model_interior),
                    untraded=tuple((c, r) for c, r in rows if not r.model_interior),
                )
            )
    return out


# --- the words -------------------------------------------------------------------------------


def case_sentences(steps: CaseSteps) -> list[str]:
    """What the box of one case says in words: per dtype, the lowest central error against the
    checker's and the book's steps.

    Args:
      steps: the case's rows.

    Returns:
      One sentence per dtype that has a central row (forward where there is no central).
    """
    out = []
    for dtype in DTYPES:
        row = steps.row("central", dtype) or steps.row("forward", dtype)
        if row is None or row.measured is None:
            continue
        fixed = (
            f"at the checker's h = {number(row.checker.h)}: {_cost_text(row, 'checker')}; "
            f"at the book's h = 1e-4: {_cost_text(row, 'book')}."
        )
        if row.measured.error is not None and row.measured.error >= LOST:
            lowest = step_text(row.measured)
            lead = f"no step resolves the derivative (the lowest error is {lowest})"
        elif not row.model_interior:
            lead = "no truncation error (f''' = 0), so the error only falls as h grows"
        else:
            lead = (
                f"lowest error {step_text(row.measured)} (the model's best h: "
                f"{number(row.model.h)})"
            )
        out.append(f"{dtype}, {row.scheme}: {lead}; {fixed}")
    return out


def _cost_text(row: StepRow, candidate: str) -> str:
    """``3.1e-04 (1.1e6× the lowest)``, or why there is no number."""
    step: Step = getattr(row, candidate)
    if step.error is None:
        return "not finite (a step leaves the function's domain)"
    if not row.model_interior:
        return number(step.error)
    return f"{number(step.error)} ({times(row.cost(candidate))} the lowest)"


OVERALL_HEADERS = (
    "scheme",
    "dtype",
    "cases",
    "lowest at h",
    "range",
    "model's h",
    "checker's h",
    "× lowest",
    "worst",
    "1e-4: × lowest",
    "worst",
    "not finite",
)


def overall_table(all_steps: Sequence[CaseSteps]) -> tuple[list[list[str]], tuple[str, ...]]:
    """The overall box: per scheme and dtype, over the cases with a trade-off, where the best
    steps lie (median and range; the model's median) and what the checker's and the book's steps
    cost (median and worst, as multiples of each case's lowest error), and in how many cases each
    left the function's domain.

    Args:
      all_steps: every case's rows.

    Returns:
      (rows, headers).
    """
    rows = []
    for o in overall(all_steps):
        if not o.traded:
            continue
        checker, book = _known(o.costs("checker")), _known(o.costs("book"))
        lost_checker = len(o.traded) - len(checker)
        lost_book = len(o.traded) - len(book)
        rows.append(
            [
                o.scheme,
                o.dtype,
                f"{len(o.traded)} of {len(o.traded) + len(o.untraded)}",
                number(_median(o.measured_h)),
                _range_text(o.measured_h),
                number(_median(o.model_h)),
                number(o.checker_h),
                times(_median(checker)),
                times(max(checker, default=None)),
                times(_median(book)),
                times(max(book, default=None)),
                f"{lost_checker} / {lost_book}",
            ]
        )
    return rows, OVERALL_HEADERS


OVERALL_NOTE = (
    "Columns: the cases with a trade-off between truncation and rounding (f''' ≠ 0 central, "
    "f'' ≠ 0 one-sided) of all swept; where their lowest errors lay (median h, range) and the "
    "model's best h (median); the checker's default step; the error at it and at h = 1e-4 as a "
    "multiple of each case's lowest error (median, worst); in how many of those cases the "
    "checker's step / h = 1e-4 left the function's domain."
)


def _known(costs: Sequence[tuple[str, float | None]]) -> list[float]:
    return [c for _, c in costs if c is not None]


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def _range_text(values: Sequence[float]) -> str:
    """``1.8e-08 to 5.6e-05``; "—" for none."""
    return f"{number(min(values))} to {number(max(values))}" if values else "—"


CASE_HEADERS = (
    "scheme",
    "dtype",
    "measured best h",
    "lowest error",
    "model's best h",
    "model's error",
    "checker's h",
    "checker's error",
    "error at 1e-4",
)


def case_table(steps: CaseSteps) -> tuple[list[list[str]], tuple[str, ...]]:
    """One case's box: per scheme and dtype, the four steps and the errors there; the checker's
    and the book's errors also as multiples of the lowest.

    Args:
      steps: the case's rows.

    Returns:
      (rows, headers).
    """
    rows = []
    for r in steps.rows:
        rows.append(
            [
                r.scheme,
                r.dtype,
                "—" if r.measured is None else number(r.measured.h),
                "—" if r.measured is None else number(r.measured.error),
                number(r.model.h) + ("" if r.model_interior else " (edge)"),
                number(r.model.error),
                number(r.checker.h),
                _error_cell(r, "checker"),
                _error_cell(r, "book"),
            ]
        )
    return rows, CASE_HEADERS


def _error_cell(row: StepRow, candidate: str) -> str:
    step: Step = getattr(row, candidate)
    if step.error is None:
        return "not finite"
    cost = row.cost(candidate) if row.model_interior else None  # no trade-off: no "best"
    return number(step.error) + ("" if cost is None else f" ({times(cost)})")


def lesson(all_steps: Sequence[CaseSteps]) -> list[str]:
    """The summary's answer to "which h should I use?": short statements from the numbers.

    Args:
      all_steps: every case's rows.

    Returns:
      Plain-text sentences, most important first (none when no case was swept).
    """
    found = {(o.scheme, o.dtype): o for o in overall(all_steps)}
    central = [found[("central", d)] for d in DTYPES if ("central", d) in found]
    traded = [o for o in central if o.traded]
    out = []
    for o in traded:
        both = [
            (c, b)
            for _, r in o.traded
            if (c := r.cost("checker")) is not None and (b := r.cost("book")) is not None
        ]
        if not both:
            continue
        checker = float(np.median([c for c, _ in both]))
        book = float(np.median([b for _, b in both]))
        first, second = (
            (f"the checker's h = {number(o.checker_h)}", checker),
            ("the book's h = 1e-4", book),
        )
        if book < checker:
            first, second = second, first
        out.append(
            f"{o.dtype}, central differences: {first[0]} is better, its error a median "
            f"{times(first[1])} the lowest measured for each case, against {times(second[1])} for "
            f"{second[0]} (over the {len(both)} cases with f''' ≠ 0 where both are finite)."
        )
    for o in traded:
        text = _worst_book(o)
        if text:
            out.append(text)
    for o in central:
        lost = _lost(o)
        if lost:
            out.append(f"{o.dtype}: a step leaves the function's domain {lost}.")
    untraded = [o for o in central if o.untraded]
    if untraded:
        (o, *_) = untraded
        out.append(
            f"{len(o.untraded)} cases have f''' = 0 along every entry (quadratic or linear "
            "there): their central error only falls as h grows, and any step inside the "
            "domain does (largest error "
            + "; ".join(
                f"{o.dtype} {_largest(o.untraded, 'checker')} at the checker's step, "
                f"{_largest(o.untraded, 'book')} at 1e-4"
                for o in untraded
            )
            + ")."
        )
    for d in DTYPES:
        o = found.get(("forward", d))
        if o is None or not o.traded:
            continue
        out.append(
            f"{d}, forward differences: the checker's one-sided h = ε^(1/2) = "
            f"{number(o.checker_h)} costs a median {times(o.median_cost('checker'))} the lowest, "
            f"h = 1e-4 {times(o.median_cost('book'))}."
        )
    if traded:
        out.append(
            "Why: the error model (docs/design.md) adds truncation h²|f'''|/6 and rounding ε|f|/h; "
            "its minimum is at h = (3ε|f|/|f'''|)^(1/3), which is ε^(1/3) only when f and f''' "
            "are of a size. A large f''' moves the best step down (cross-entropy of a small "
            "probability y: f''' ~ 1/y³), a large |f| moves it up. The model's best h, median "
            "over the same cases: "
            + "; ".join(
                f"{number(float(np.median(o.model_h)))} in {o.dtype} (measured "
                f"{number(float(np.median(o.measured_h)))})"
                for o in traded
                if o.measured_h
            )
            + "."
        )
    return out


def _lost(o: Overall) -> str:
    """``at the checker's h = 4.9e-03 in 4 cases (a, b), at h = 1e-4 in 2 (a)``, or ""."""
    rows = [*o.traded, *o.untraded]
    parts = []
    for candidate, label in (
        ("checker", f"the checker's h = {number(o.checker_h)}"),
        ("book", "h = 1e-4"),
    ):
        lost = [case for case, r in rows if getattr(r, candidate).error is None]
        if lost:
            parts.append(f"at {label} in {_cases(lost)}")
    return ", ".join(parts)


def _cases(names: Sequence[str]) -> str:
    return f"{len(names)} case{'s' if len(names) != 1 else ''} ({', '.join(names)})"


def _largest(rows: Sequence[tuple[str, StepRow]], candidate: str) -> str:
    """The largest error of one candidate over some rows ("not finite" when none is)."""
    known = [e for _, r in rows if (e := getattr(r, candidate).error) is not None]
    return number(max(known)) if known else "not finite"


def _worst(o: Overall, candidate: str) -> tuple[str, StepRow, float] | None:
    known = [(case, r, c) for case, r in o.traded if (c := r.cost(candidate)) is not None]
    return max(known, key=lambda crc: crc[2]) if known else None


def _worst_book(o: Overall) -> str:
    """The lesson of the worst case at h = 1e-4, when it is worth one (100× or more)."""
    worst = _worst(o, "book")
    if worst is None or worst[2] < 100:
        return ""
    case, row, cost = worst
    assert row.measured is not None  # a cost needs a lowest error
    return (
        f"{o.dtype}: {case} at h = 1e-4 has error {number(row.book.error)}, {order_of(cost)} "
        f"worse than at its best h = {number(row.measured.h)} ({number(row.measured.error)}); "
        f"the checker's h = {number(o.checker_h)} gives {_cost_text(row, 'checker')}."
    )
