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

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from harness import scratch as _scratch
from harness.judge import tolerance as policy
from harness.judge.analytic import check_analytic
from harness.judge.context import CheckContext
from harness.judge.directions import DEFAULT_DIRECTIONS, check_mode
from harness.judge.inputs import CaseInputError, Snapshot, argument_names, resolve_wrt
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
    wrt: Sequence[int] | int | None = None,
    grad: Callable[..., Any] | None = None,
    scheme: str = "central",
    h: float | None = None,
    tol: Tolerance = None,
    checks: Sequence[str] | None = None,
    name: str | None = None,
    numerical_gradient: Callable[..., np.ndarray] | None = None,
    mode: str = "full",
    directions: int = DEFAULT_DIRECTIONS,
    seed: int = 0,
    batched: bool = False,
) -> CheckResult:
    """Check a NumPy function (and optionally its hand-written gradient) against a JAX reference.

    Args:
      fn: the NumPy function under test, returning a scalar.
      reference: its independent jax.numpy twin.
      *args: concrete arguments for both.
      wrt: positions of the arguments to differentiate (default: every float32/float64 array).
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
        harness.scratch.numerical_gradient); same signature.
      mode: "full" (every entry by finite differences, 2n evaluations per argument) or "fast"
        (central slopes along ``directions`` seeded random unit directions, 2k evaluations per
        argument; an argument whose slopes disagree gets the full check, which names the worst
        entries). Fast mode always uses central slopes; the analytic check is the same in both.
      directions: k, the number of random directions per argument in fast mode.
      seed: seed of those directions (same seed, same directions).
      batched: fn accepts each differentiated argument with an extra leading axis of copies and
        returns one value per copy; the full check then evaluates blocks of perturbations per call
        (harness.scratch.numerical_gradient_batched) unless ``numerical_gradient`` is given.

    Returns:
      A CheckResult with one record per check and differentiated argument.
    """
    policy.check_scheme(scheme)
    check_mode(mode, directions)
    wanted = _wanted_checks(checks, grad)
    name = name or getattr(fn, "__name__", "case")
    args_list = list(args)
    names = argument_names(fn, len(args_list))
    snapshot = Snapshot(args_list)
    run = CheckContext(name, fn, reference, args_list, names, snapshot, policy.parse_overrides(tol))
    try:
        try:
            positions = resolve_wrt(args_list, names, wrt)
        except CaseInputError as exc:
            return CheckResult(name, (run.record("input", None, ERROR, str(exc)),))
        records: list[CheckRecord] = []
        needs_fn = VALUE in wanted or NUMERICAL in wanted
        fn_value = run.evaluate_fn(records) if needs_fn else None
        if needs_fn and fn_value is None:
            return CheckResult(name, tuple(records))
        ref_value = run.evaluate_reference(records, fn_value, VALUE in wanted, positions)
        if ref_value is None:
            return CheckResult(name, tuple(records))
        exact = run.exact_gradient(records, positions)
        if exact is None:
            return CheckResult(name, tuple(records))
        joint = None
        if NUMERICAL in wanted and mode == "fast" and len(positions) > 1:
            if all(args_list[p].size > directions for p in positions):
                joint = run.joint_directional(
                    positions, exact, h, fn_value, ref_value, directions, seed
                )
        if joint is not None:
            records.extend(joint)
        elif NUMERICAL in wanted:
            routine = numerical_gradient or _scratch.numerical_gradient
            batched = batched and numerical_gradient is None
            for pos in positions:
                fast = None
                if mode == "fast" and args_list[pos].size > directions:
                    fast = run.directional(
                        pos, exact[pos], h, fn_value, ref_value, directions, seed
                    )
                    if fast.ok:
                        records.append(fast)
                        continue
                full = run.numerical(
                    pos, exact[pos], routine, scheme, h, fn_value, ref_value, batched
                )
                records.append(_after_fast(full, fast) if mode == "fast" else full)
        if ANALYTIC in wanted and grad is not None:
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


def _after_fast(full: CheckRecord, fast: CheckRecord | None) -> CheckRecord:
    """The full check run in fast mode: because a direction disagreed, or the argument is so small
    that the full check is no dearer than the directions."""
    if fast is None:
        details = {**full.details, "mode": "fast", "full_check": "argument has <= k entries"}
        return replace(full, details=details)
    details = {**full.details, **fast.details, "full_check": "a direction disagreed"}
    message = f"fast mode: {fast.message}; full check: {full.message}"
    evaluations = full.evaluations + fast.evaluations
    return replace(full, message=message, details=details, evaluations=evaluations)
