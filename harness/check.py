"""check(): one function, its JAX reference and concrete arguments in; a CheckResult out.

A case is checked three ways where it can be (see types.CHECKS): its value against the reference,
its finite-difference gradient against jax.grad(reference), and its hand-written gradient, if any,
against jax.grad(reference). Problems with the case itself (it raises, returns NaN, mutates its
input, has the wrong shapes) become an ``error`` or ``non-deterministic`` verdict with a message
that says what to change; the arrays passed in always come back bit-identical.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from harness import policy
from harness import scratch as _scratch
from harness.directional import DEFAULT_DIRECTIONS, check_mode, judge_directions
from harness.finite import judge_entries
from harness.inputs import CaseInputError, Snapshot, argument_names, resolve_wrt
from harness.types import (
    ANALYTIC,
    CHECKS,
    ERROR,
    FAIL,
    KINK,
    NONDETERMINISTIC,
    NUMERICAL,
    PASS,
    VALUE,
    CheckRecord,
    CheckResult,
    Entry,
)

Tolerance = float | Mapping[str, float] | None


def _oracle() -> Any:
    """The JAX oracle, imported on first use so that importing harness never imports JAX."""
    from harness import oracle

    return oracle


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
    run = _Run(name, fn, reference, args_list, names, snapshot, _tolerances(tol))
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
        if NUMERICAL in wanted:
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
            records.extend(run.analytic(grad, positions, exact))
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


def _tolerances(tol: Tolerance) -> dict[str, float]:
    if tol is None:
        return {}
    if isinstance(tol, Mapping):
        unknown = set(tol) - set(CHECKS)
        if unknown:
            raise ValueError(f"tol has unknown check kind(s) {sorted(unknown)}")
        return {k: float(v) for k, v in tol.items()}
    return {kind: float(tol) for kind in CHECKS}


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


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _scalar(out: Any) -> tuple[float, np.dtype] | str:
    """(value, dtype) of a scalar output, or a message saying why it is not one."""
    arr = np.asarray(out)
    if arr.dtype.kind not in "fiub":
        return f"returned {type(out).__name__} of dtype {arr.dtype}, not a real number"
    if arr.size != 1:
        return f"returned an array of shape {arr.shape}; a checked function must return a scalar"
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return float(arr.reshape(())), dtype


def _describe_exception(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Run:
    """The state of one check() call: the case, its arguments and their snapshot."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        reference: Callable[..., Any],
        args: list[Any],
        names: list[str],
        snapshot: Snapshot,
        tolerances: dict[str, float],
    ) -> None:
        self.name, self.fn, self.reference = name, fn, reference
        self.args, self.names, self.snapshot = args, names, snapshot
        self.tolerances = tolerances
        self.value_eps = policy.eps(np.float64)
        self.reference_value = 0.0
        self.evaluations = 0

    def record(
        self, check: str, arg: str | None, verdict: str, message: str, **kw: Any
    ) -> CheckRecord:
        return CheckRecord(
            case=self.name, check=check, arg=arg, verdict=verdict, message=message, **kw
        )

    def _mutation_record(self, who: str) -> CheckRecord | None:
        changed = self.snapshot.changed()
        if not changed:
            return None
        pos = changed[0]
        entry = Entry(self.names[pos], self.snapshot.first_changed_entry(pos))
        self.snapshot.restore()
        return self.record(
            VALUE,
            self.names[pos],
            NONDETERMINISTIC,
            f"{who} modified its argument {entry.describe()} in place; a checked function must not "
            "mutate its inputs (work on a copy). The argument has been restored.",
            worst=entry,
        )

    def evaluate_fn(self, records: list[CheckRecord]) -> tuple[float, float] | None:
        """fn's value at the point, evaluated twice to catch hidden state; None on a problem."""
        values = []
        for _ in range(2):
            try:
                out = self.fn(*self.args)
            except Exception as exc:  # the case's own code: any exception is a verdict
                self.snapshot.restore()
                records.append(
                    self.record(VALUE, None, ERROR, f"fn raised {_describe_exception(exc)}")
                )
                return None
            mutation = self._mutation_record("fn")
            if mutation:
                records.append(mutation)
                return None
            scalar = _scalar(out)
            if isinstance(scalar, str):
                records.append(self.record(VALUE, None, ERROR, f"fn {scalar}"))
                return None
            values.append(scalar)
        (first, dtype), (second, _) = values
        if not np.isfinite(first):
            records.append(
                self.record(VALUE, None, ERROR, f"fn returned {first} at the given point")
            )
            return None
        if np.float64(first).tobytes() != np.float64(second).tobytes():
            records.append(
                self.record(
                    VALUE,
                    None,
                    NONDETERMINISTIC,
                    f"fn returned {_fmt(first)} then {_fmt(second)} at the same point: it keeps "
                    "hidden state or draws random numbers; fix its seed or pass the state in",
                )
            )
            return None
        self.value_eps = policy.eps(dtype)
        self.evaluations += 2
        return first, self.value_eps

    def evaluate_reference(
        self,
        records: list[CheckRecord],
        fn_value: tuple[float, float] | None,
        emit: bool,
        positions: list[int],
    ) -> float | None:
        """The reference value, and the value check's record when asked for.

        Value and gradient come from one cached jax.value_and_grad, so a case shape is traced and
        compiled once; only when that raises is the plain value asked for, to tell a reference
        that fails from a gradient that fails.
        """
        problem: Exception | None = None
        try:
            ref, grads = _oracle().value_and_gradient(self.reference, self.args, positions)
            self._exact: list[np.ndarray] | Exception = grads
        except Exception as grad_exc:
            self._exact = grad_exc
            try:
                ref = _oracle().value(self.reference, self.args)
            except Exception as value_exc:
                problem = value_exc
        if problem is not None:
            records.append(
                self.record(VALUE, None, ERROR, f"reference raised {_describe_exception(problem)}")
            )
            return None
        if not np.isfinite(ref):
            records.append(
                self.record(VALUE, None, ERROR, f"reference returned {ref} at the given point")
            )
            return None
        self.reference_value = ref
        if emit and fn_value is not None:
            got = fn_value[0]
            error = abs(got - ref)
            tol = self.tolerances.get(
                VALUE, policy.VALUE_SAFETY * self.value_eps * max(abs(ref), 1.0)
            )
            ok = error <= tol
            message = (
                f"fn = {_fmt(got)}, reference = {_fmt(ref)}"
                if ok
                else f"fn returned {_fmt(got)} but the reference gives {_fmt(ref)} "
                f"(error {error:.3g} > tolerance {tol:.3g}): fn computes a different function"
            )
            records.append(
                self.record(
                    VALUE,
                    None,
                    PASS if ok else FAIL,
                    message,
                    max_abs_error=error,
                    max_rel_error=error / abs(ref) if ref else error,
                    tolerance=tol,
                    worst=Entry("value", (), got, ref),
                    size=1,
                    dtype=str(
                        np.dtype(np.float64) if self.value_eps < 1e-10 else np.dtype(np.float32)
                    ),
                    evaluations=2,
                )
            )
        return ref

    def exact_gradient(
        self, records: list[CheckRecord], positions: list[int]
    ) -> dict[int, np.ndarray] | None:
        """jax.grad(reference) for each differentiated argument; None on a problem."""
        grads = self._exact
        if isinstance(grads, Exception):
            exc = grads
            records.append(
                self.record(
                    "exact", None, ERROR, f"jax.grad(reference) raised {_describe_exception(exc)}"
                )
            )
            return None
        exact = dict(zip(positions, grads, strict=True))
        for pos, g in exact.items():
            bad = np.argwhere(~np.isfinite(g))
            if len(bad):
                entry = Entry(self.names[pos], tuple(int(i) for i in bad[0]))
                records.append(
                    self.record(
                        "exact",
                        self.names[pos],
                        ERROR,
                        f"jax.grad(reference) is {g[tuple(bad[0])]} at {entry.describe()}; "
                        "the point is outside the reference's smooth domain",
                        worst=entry,
                    )
                )
                return None
        return exact

    def numerical(
        self,
        pos: int,
        expected: np.ndarray,
        routine: Callable[..., np.ndarray],
        scheme: str,
        h: float | None,
        fn_value: tuple[float, float] | None,
        ref_value: float,
        batched: bool = False,
    ) -> CheckRecord:
        """Finite differences of fn in one argument, judged entry by entry."""
        x = self.args[pos]
        arg = self.names[pos]
        step = float(h) if h is not None else policy.default_step(x.dtype, scheme)
        common = {"size": int(x.size), "dtype": str(x.dtype), "scheme": scheme, "h": step}

        def f(_: np.ndarray) -> Any:
            return self.fn(*self.args)

        evaluations: dict[str, np.ndarray] | None = None
        extra: dict[str, Any] = {}
        if not batched and "evaluations" in inspect.signature(routine).parameters:
            evaluations = extra["evaluations"] = {}

        def f_batched(copies: np.ndarray) -> Any:
            args = list(self.args)
            args[pos] = copies
            return self.fn(*args)

        try:
            if batched:
                numeric = _scratch.numerical_gradient_batched(f_batched, x, h=step, scheme=scheme)
            else:
                numeric = np.asarray(
                    routine(f, x, h=step, scheme=scheme, **extra), dtype=np.float64
                )
        except Exception as exc:
            index = getattr(exc, "gradcheck_index", None)
            side = getattr(exc, "gradcheck_side", None)
            where = (
                f" while perturbing {Entry(arg, tuple(index)).describe()}"
                if index is not None
                else ""
            )
            where += f" ({side} side)" if side else ""
            return self.record(
                NUMERICAL, arg, ERROR, f"fn raised {_describe_exception(exc)}{where}", **common
            )
        finally:
            self.snapshot.restore()
        if numeric.shape != x.shape:
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"the numerical gradient has shape {numeric.shape}, the argument {x.shape}",
                **common,
            )
        bad = np.argwhere(~np.isfinite(numeric))
        if len(bad):
            entry = Entry(arg, tuple(int(i) for i in bad[0]))
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"fn returned a non-finite value when {entry.describe()} was perturbed by the step "
                f"{step:.3g}: the point is too close to the edge of fn's domain (try a smaller h)",
                worst=entry,
                **common,
            )
        value = fn_value[0] if fn_value else ref_value
        judged = judge_entries(
            f,
            x,
            numeric,
            expected,
            scheme=scheme,
            h=step,
            value_scale=max(abs(value), abs(ref_value)),
            value_eps=self.value_eps,
            tol_override=self.tolerances.get(NUMERICAL),
            evaluations=evaluations,
            base_value=fn_value[0] if fn_value else None,
        )
        self.snapshot.restore()
        evaluations = (x.size * (2 if scheme == "central" else 1)) + judged.evaluations
        return self._judged_record(
            NUMERICAL,
            pos,
            numeric,
            expected,
            judged.error,
            judged.tolerance,
            judged.failed,
            judged.kink,
            evaluations=evaluations,
            **common,
        )

    def directional(
        self,
        pos: int,
        expected: np.ndarray,
        h: float | None,
        fn_value: tuple[float, float] | None,
        ref_value: float,
        k: int,
        seed: int,
    ) -> CheckRecord:
        """Fast mode: slopes of fn along k seeded random directions against the exact ones."""
        x = self.args[pos]
        arg = self.names[pos]
        step = float(h) if h is not None else policy.default_step(x.dtype, "central")
        common = {"size": int(x.size), "dtype": str(x.dtype), "scheme": "central", "h": step}
        value = fn_value[0] if fn_value else ref_value
        try:
            judged = judge_directions(
                lambda _: self.fn(*self.args),
                x,
                expected,
                h=step,
                value_scale=max(abs(value), abs(ref_value)),
                value_eps=self.value_eps,
                k=k,
                seed=seed,
                position=pos,
                tol_override=self.tolerances.get(NUMERICAL),
            )
        except Exception as exc:
            message = f"fn raised {_describe_exception(exc)} along a random direction"
            return self.record(NUMERICAL, arg, ERROR, message, **common)
        finally:
            self.snapshot.restore()
        if not np.isfinite(judged.got):
            message = f"fn returned a non-finite value along a random direction (step {step:.3g})"
            return self.record(NUMERICAL, arg, ERROR, message, **common)
        where = f"direction {judged.worst_direction} of {k}"
        bound = judged.details["detectable_error_norm"]
        text = (
            f"slope along {where}: got {_fmt(judged.got)}, expected {_fmt(judged.expected)} "
            f"(abs error {judged.max_abs_error:.3g}, tolerance {judged.tolerance:.3g}); "
            f"catches gradient errors of norm >= {bound:.3g} "
            f"with probability >= {1 - judged.details['miss_probability']:g}"
        )
        scale = float(np.linalg.norm(expected)) / np.sqrt(x.size)
        return self.record(
            NUMERICAL,
            arg,
            PASS if judged.agreed else FAIL,
            text,
            max_abs_error=judged.max_abs_error,
            max_rel_error=judged.max_abs_error / scale if scale else judged.max_abs_error,
            tolerance=judged.tolerance,
            worst=Entry(f"{arg}·v{judged.worst_direction}", (), judged.got, judged.expected),
            evaluations=judged.evaluations,
            details=judged.details,
            **common,
        )

    def analytic(
        self, grad: Callable[..., Any], positions: list[int], exact: dict[int, np.ndarray]
    ) -> list[CheckRecord]:
        """The hand-written gradient against the exact one."""
        wanted = ", ".join(self.names[p] for p in positions)
        try:
            out = grad(*self.args)
        except Exception as exc:
            self.snapshot.restore()
            return [self.record(ANALYTIC, None, ERROR, f"grad raised {_describe_exception(exc)}")]
        mutation = self._mutation_record("grad")
        if mutation:
            return [mutation]
        if isinstance(out, np.ndarray) and len(positions) == 1:
            out = (out,)
        if not isinstance(out, tuple | list) or len(out) != len(positions):
            count = len(out) if isinstance(out, tuple | list) else f"a {type(out).__name__}"
            return [
                self.record(
                    ANALYTIC,
                    None,
                    ERROR,
                    f"grad returned {count} array(s) but the case differentiates {len(positions)} "
                    f"argument(s) ({wanted}): return one array per argument, in that order",
                )
            ]
        records = []
        for pos, got in zip(positions, out, strict=True):
            arg = self.names[pos]
            got = np.asarray(got)
            expected = exact[pos]
            if got.shape != expected.shape:
                records.append(
                    self.record(
                        ANALYTIC,
                        arg,
                        ERROR,
                        f"grad's array for '{arg}' has shape {got.shape} but {arg} has shape "
                        f"{expected.shape}",
                    )
                )
                continue
            if got.dtype.kind != "f":
                records.append(
                    self.record(
                        ANALYTIC, arg, ERROR, f"grad's array for '{arg}' has dtype {got.dtype}"
                    )
                )
                continue
            bad = np.argwhere(~np.isfinite(got))
            if len(bad):
                entry = Entry(arg, tuple(int(i) for i in bad[0]))
                records.append(
                    self.record(
                        ANALYTIC,
                        arg,
                        ERROR,
                        f"grad returned {got[tuple(bad[0])]} at {entry.describe()}",
                        worst=entry,
                    )
                )
                continue
            error = np.abs(got.astype(np.float64) - expected).ravel()
            override = self.tolerances.get(ANALYTIC)
            if override is None:
                dtype_eps = max(policy.eps(got.dtype), policy.eps(self.args[pos].dtype))
                tolerance = policy.ulp_tolerance(
                    expected,
                    dtype_eps,
                    policy.ANALYTIC_SAFETY,
                    value=self.reference_value,
                    x_scale=float(np.abs(self.args[pos]).max()),
                ).ravel()
            else:
                tolerance = np.full(error.shape, override)
            failed = ~(error <= tolerance)
            records.append(
                self._judged_record(
                    ANALYTIC,
                    pos,
                    got,
                    expected,
                    error,
                    tolerance,
                    failed,
                    np.zeros_like(failed),
                    size=int(got.size),
                    dtype=str(got.dtype),
                )
            )
        return records

    def _judged_record(
        self,
        kind: str,
        pos: int,
        got: np.ndarray,
        expected: np.ndarray,
        error: np.ndarray,
        tolerance: np.ndarray,
        failed: np.ndarray,
        kink: np.ndarray,
        **common: Any,
    ) -> CheckRecord:
        arg = self.names[pos]
        judged = ~kink
        scale = float(np.abs(expected).max()) if expected.size else 0.0
        ratio = np.where(judged, error / tolerance, -1.0)
        worst_flat = int(np.argmax(ratio))
        index = tuple(int(i) for i in np.unravel_index(worst_flat, expected.shape))
        worst = Entry(
            arg, index, float(got.ravel()[worst_flat]), float(expected.ravel()[worst_flat])
        )
        max_abs = float(error[judged].max()) if judged.any() else 0.0
        n_failed, n_kinks = int(failed.sum()), int(kink.sum())
        tol_at_worst = float(tolerance[worst_flat])
        what = "numerical gradient" if kind == NUMERICAL else "hand-written gradient"
        if n_failed:
            verdict = FAIL
            message = (
                f"{what} disagrees with jax.grad at {worst.describe()}: got {_fmt(worst.got)}, "
                f"expected {_fmt(worst.expected)} (abs error {error[worst_flat]:.3g} > tolerance "
                f"{tol_at_worst:.3g}); {n_failed} of {error.size} entries outside tolerance"
            )
        elif n_kinks:
            verdict = KINK
            where = ", ".join(
                Entry(arg, tuple(int(i) for i in np.unravel_index(k, expected.shape))).describe()
                for k in np.flatnonzero(kink)[:5]
            )
            message = (
                f"{n_kinks} entr{'y' if n_kinks == 1 else 'ies'} at a kink ({where}"
                f"{', ...' if n_kinks > 5 else ''}): the exact gradient lies between the one-sided "
                f"slopes; every other entry within tolerance (worst {max_abs:.3g})"
            )
        else:
            verdict = PASS
            message = (
                f"max abs error {max_abs:.3g} at {worst.describe()} (tolerance {tol_at_worst:.3g})"
            )
        return self.record(
            kind,
            arg,
            verdict,
            message,
            max_abs_error=max_abs,
            max_rel_error=max_abs / scale if scale else max_abs,
            tolerance=tol_at_worst,
            worst=worst,
            kinks=n_kinks,
            **common,
        )
