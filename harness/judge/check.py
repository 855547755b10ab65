"""check(): one function, its JAX reference and concrete arguments in; a CheckResult out.

This module is the public entry point and the order of the steps; context.py holds the steps,
entries.py and directions.py judge the finite differences, analytic.py the hand-written gradient,
tolerance.py has every formula they judge by.

A case is checked three ways where it can be (see types.CHECKS): its value against the reference,
its finite-difference gradient against jax.grad(reference), and its hand-written gradient, if any,
against jax.grad(reference). Problems with the case itself (it raises, returns NaN, mutates its
input, has the wrong shapes) become an ``error`` or ``non-deterministic`` verdict with a message
that says what to change; the arrays passed in always come back bit-identical.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np

from harness import scratch as _scratch
from harness.judge import progress
from harness.judge import tolerance as policy
from harness.judge.analytic import check_analytic
from harness.judge.context import CheckContext
from harness.judge.differences import loop_blas_threads
from harness.judge.inputs import (
    ArgumentSpec,
    CaseInputError,
    Snapshot,
    argument_names,
    resolve_wrt,
)
from harness.judge.probe_check import check_probes
from harness.judge.probes import AUTO_FULL_UP_TO, DEFAULT_PROBES, check_mode
from harness.judge.tolerance import Tolerance
from harness.results import (
    ANALYTIC,
    CHECKS,
    ERROR,
    NUMERICAL,
    VALUE,
    CheckRecord,
    CheckResult,
)


def check(
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    *args: Any,
    wrt: ArgumentSpec = None,
    grad: Callable[..., Any] | None = None,
    scheme: str = "central",
    h: float | None = None,
    tol: Tolerance = None,
    checks: Sequence[str] | None = None,
    name: str | None = None,
    numerical_gradient: Callable[..., np.ndarray] | None = None,
    mode: str = "auto",
    probes: int = DEFAULT_PROBES,
    seed: int = 0,
    batched: bool = False,
    data: ArgumentSpec = None,
    backprop_reference: Callable[..., Any] | None = None,
) -> CheckResult:
    """Check a NumPy function (and optionally its hand-written gradient) against a JAX reference.

    Args:
      fn: the NumPy function under test, returning a scalar.
      reference: its independent jax.numpy twin.
      *args: concrete arguments for both.
      wrt: the arguments to differentiate, by position or by fn's parameter name (default: every
        float32/float64 array not in ``data``).
      grad: optional hand-written gradient: same signature as fn, returns one array per wrt
        argument, in order.
      scheme: "central" (default), "forward" or "backward".
      h: unscaled step; default eps^(1/3) for central, eps^(1/2) otherwise (per argument dtype).
        The step of entry i is h * max(1, |x_i|).
      tol: an absolute tolerance replacing the policy for every check, or a mapping from check
        kind ("value", "numerical", "analytic") to one.
      checks: which of "value", "numerical", "analytic" to run (default: every one that applies).
      name: the case's name, for messages.
      numerical_gradient: the finite-difference routine under test (default
        harness.scratch.numerical_gradient); same signature. A routine with its own step
        (``harness.fixed_step``) carries a ``gradcheck_step`` (`RoutineStep`), and is judged at
        that step and scheme instead of ``h`` and ``scheme``.
      mode: how the numerical gradient is checked. "full": every entry by finite differences
        (2n evaluations per argument), with the routine under test. "probe" (alias "fast"): k
        Rademacher probes through every differentiated argument at once, each coordinate moved
        by its own full-mode step (2k evaluations in all, docs/fast-mode.md); an error in any
        entry above its full-mode tolerance is missed with probability <= 2^-k, and a probe that
        disagrees is bisected down to the entries, judged as the full check judges them.
        "auto" (default): full for arguments of up to AUTO_FULL_UP_TO entries, probes above,
        and full everywhere when a ``numerical_gradient`` routine of the case's own is checked.
      probes: k, the number of probes (default 20: miss probability 2^-20, about 1e-6).
      seed: seed of the probes' signs (same seed, same probes).
      batched: fn accepts each differentiated argument with an extra leading axis of copies and
        returns one value per copy; the full check then evaluates blocks of perturbations per call
        (harness.scratch.numerical_gradient_batched) unless ``numerical_gradient`` is given.
      data: arguments that are data (inputs x, targets t), by position or name: left out of the
        default ``wrt``.
      backprop_reference: a second JAX reference whose jax.grad the analytic check is judged
        against, while value and numerical checks use ``reference``. For the book's networks:
        the loss keeps its delta (log(y + 1e-7)), backprop's (y - t) / N differentiates the loss
        without it.

    Returns:
      A CheckResult with one record per check and differentiated argument.
    """
    policy.check_scheme(scheme)
    policy.check_step(h)
    check_mode(mode, probes)
    wanted = _wanted_checks(checks, grad)
    if backprop_reference is not None and wanted == {ANALYTIC}:
        # Only the analytic check runs: the first reference has nothing to judge.
        reference, backprop_reference = backprop_reference, None
    name = name or getattr(fn, "__name__", "case")
    args_list = list(args)
    names = argument_names(fn, len(args_list))
    snapshot = Snapshot(args_list)
    run = CheckContext(name, fn, reference, args_list, names, snapshot, policy.parse_overrides(tol))
    try:
        try:
            positions = resolve_wrt(args_list, names, wrt, data)
        except CaseInputError as exc:
            return CheckResult(name, (run.record("input", None, ERROR, str(exc)),))
        records: list[CheckRecord] = []
        needs_fn = VALUE in wanted or NUMERICAL in wanted
        progress.step(VALUE)
        fn_value = run.evaluate_fn(records) if needs_fn else None
        if needs_fn and fn_value is None:
            return CheckResult(name, tuple(records))
        ref_value = run.evaluate_reference(records, fn_value, VALUE in wanted, positions)
        if ref_value is None:
            return CheckResult(name, tuple(records))
        exact = run.exact_gradient(records, positions)
        if exact is None:
            return CheckResult(name, tuple(records))
        if NUMERICAL in wanted:
            with loop_blas_threads():
                numerical = _numerical_records(
                    run,
                    positions,
                    exact,
                    mode,
                    probes,
                    seed,
                    numerical_gradient,
                    scheme,
                    h,
                    fn_value,
                    ref_value,
                    batched,
                )
            records.extend(numerical)
        if ANALYTIC in wanted and grad is not None:
            progress.step(ANALYTIC)
            if backprop_reference is not None:
                records.extend(_analytic_against(run, backprop_reference, grad, positions))
            else:
                records.extend(check_analytic(run, grad, positions, exact))
        return CheckResult(name, tuple(records))
    finally:
        snapshot.restore()


def assert_check(*args: Any, **kwargs: Any) -> CheckResult:
    """`check`, raising AssertionError with a readable report when the case does not pass.

    Args:
      *args: as for `check`.
      **kwargs: as for `check`.

    Returns:
      The CheckResult, when it passed (kinks included).
    """
    result = check(*args, **kwargs)
    if not result.ok:
        raise AssertionError(format_failure(result))
    return result


def format_failure(result: CheckResult, reproduce: str | None = None) -> str:
    """A multi-line explanation of every check of a result that did not pass.

    Args:
      result: the result.
      reproduce: a command that reruns just this case, if known.

    Returns:
      The text.
    """
    lines = [f"gradient check '{result.name}' {result.verdict}:"]
    for rec in result.failures():
        lines.append(
            f"  - {rec.check}" + (f" of {rec.arg}" if rec.arg else "") + f": {rec.message}"
        )
    if reproduce:
        lines.append(f"  reproduce: {reproduce}")
    return "\n".join(lines)


def _wanted_checks(checks: Sequence[str] | None, grad: Callable[..., Any] | None) -> set[str]:
    if checks is None:
        return set(CHECKS) if grad is not None else {VALUE, NUMERICAL}
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown check(s) {sorted(unknown)}; choose from {', '.join(CHECKS)}")
    if ANALYTIC in checks and grad is None:
        raise ValueError("checks includes 'analytic' but no grad= was given")
    return set(checks)


def _numerical_records(
    run: CheckContext,
    positions: list[int],
    exact: dict[int, np.ndarray],
    mode: str,
    probes: int,
    seed: int,
    numerical_gradient: Callable[..., np.ndarray] | None,
    scheme: str,
    h: float | None,
    fn_value: float,
    ref_value: float,
    batched: bool,
) -> list[CheckRecord]:
    """The numerical check of every differentiated argument, in position order: probes where the
    mode asks for them, the full per-entry check elsewhere (and wherever a probe's disagreement
    could not be traced to entries: only that argument's)."""
    args = run.args
    if mode == "full" or (mode == "auto" and numerical_gradient is not None):
        probed: list[int] = []
    elif mode == "auto":
        probed = [p for p in positions if args[p].size > AUTO_FULL_UP_TO]
    else:
        probed = list(positions)
    if probed:
        size = sum(int(args[p].size) for p in probed)
        progress.step(NUMERICAL, ", ".join(run.names[p] for p in probed), size, 2 * probes)
    found, unassigned = (
        check_probes(run, probed, exact, h, fn_value, ref_value, probes, seed)
        if probed
        else ({}, 0)
    )
    routine = numerical_gradient or _scratch.numerical_gradient
    batched = batched and numerical_gradient is None
    own: RoutineStep | None = getattr(routine, "gradcheck_step", None)
    if own is None and not _takes_step(routine):
        message = (
            "numerical_gradient takes no h= and scheme=, so it has a step of its own: "
            "say which with harness.fixed_step(routine, h=..., scheme=...)"
        )
        return [run.record(NUMERICAL, None, ERROR, message)]
    routine_scheme, routine_h = (own.scheme, own.h) if own else (scheme, h)
    records = []
    for pos in positions:
        if pos in found:
            records.append(found[pos])
            continue
        size = int(args[pos].size)
        per_entry = 2 if routine_scheme == "central" else 1
        progress.step(NUMERICAL, run.names[pos], size, per_entry * size)
        full = run.numerical(
            pos,
            exact[pos],
            routine,
            routine_scheme,
            routine_h,
            fn_value,
            ref_value,
            batched,
            scaled_steps=own.scaled if own else True,
        )
        if pos in probed:
            note = (
                "a probe disagreed and the disagreement was not traced to entries, so every "
                "entry was checked"
            )
            full = replace(
                full,
                evaluations=full.evaluations + unassigned,
                details={**full.details, "mode": "probe", "full_check": note},
            )
            unassigned = 0
        records.append(full)
    return records


class RoutineStep(NamedTuple):
    """The step a finite-difference routine really uses (``routine.gradcheck_step``), so that it
    is judged at that step: h, the scheme, and whether entry i's step is h * max(1, |x_i|)
    (scaled) or h itself (the book's numerical_gradient)."""

    h: float
    scheme: str
    scaled: bool


def _takes_step(routine: Callable[..., Any]) -> bool:
    """Whether a routine accepts check()'s h= and scheme= (or any keyword)."""
    try:
        parameters = inspect.signature(routine).parameters.values()
    except (TypeError, ValueError):
        return True  # cannot tell: let the call say
    names = {p.name for p in parameters}
    return {"h", "scheme"} <= names or any(p.kind is p.VAR_KEYWORD for p in parameters)


def _analytic_against(
    run: CheckContext,
    backprop_reference: Callable[..., Any],
    grad: Callable[..., Any],
    positions: list[int],
) -> list[CheckRecord]:
    """The analytic check against jax.grad(backprop_reference) instead of the first reference."""
    second = CheckContext(
        run.name, run.fn, backprop_reference, run.args, run.names, run.snapshot, run.tolerances
    )
    problems: list[CheckRecord] = []
    exact = None
    if second.evaluate_reference(problems, None, False, positions) is not None:
        exact = second.exact_gradient(problems, positions)
    if exact is None:
        # The steps say "reference"; here it is the second one that failed.
        return [
            replace(
                p, check=ANALYTIC, message=p.message.replace("reference", "backprop_reference", 1)
            )
            for p in problems
        ]
    return check_analytic(second, grad, positions, exact)
