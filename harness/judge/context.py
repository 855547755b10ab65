"""What one check() call shares (`CheckContext`): the case, its arguments and their snapshot,
the tolerance overrides, and the steps that evaluate fn and the reference, get the exact gradient
and run the numerical and directional checks of each argument."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from harness import scratch as _scratch
from harness.judge import progress
from harness.judge import tolerance as policy
from harness.judge.entries import judge_entries
from harness.judge.inputs import Snapshot
from harness.judge.records import (
    describe_exception,
    first_non_finite,
    fmt,
    fmt_pair,
    judged_record,
    returned_kind,
)
from harness.results import (
    ERROR,
    FAIL,
    NON_FINITE,
    NONDETERMINISTIC,
    NUMERICAL,
    PASS,
    VALUE,
    CheckRecord,
    Entry,
)


def _oracle() -> Any:
    """The JAX oracle, imported on first use so that importing harness never imports JAX."""
    from harness import oracle

    return oracle


def _scalar(out: Any) -> tuple[float, np.dtype] | str:
    """(value, dtype) of a scalar output, or a message saying why it is not one."""
    if out is None:
        return "returned None, not a real number (a missing return statement?)"
    arr = np.asarray(out)
    if arr.dtype.kind == "c":
        return (
            f"returned a complex value ({arr.dtype}), not a real number: gradients are checked "
            "for real scalar functions; return the real quantity (e.g. abs(z)**2 or z.real)"
        )
    if arr.dtype.kind not in "fiub":
        return f"returned {returned_kind(out)}, not a real number"
    if arr.size != 1:
        return f"returned an array of shape {arr.shape}; a checked function must return a scalar"
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return float(arr.reshape(())), dtype


# A value that agrees to this relative error has the right function, computed differently.
NEAR_MISS = 1e-6


def _value_cause(error: float, reference: float) -> str:
    """The likely reason a value differs from the reference's, from how far it is off."""
    if error <= NEAR_MISS * max(abs(reference), 1.0):
        return (
            "the digits agree to about 1e-6 or better, so fn most likely computes the right "
            "function another way: an approximation (a solver's tolerance, a truncated series) or "
            "cancellation (the value is a small difference of large terms); if that is expected, "
            "give the value check its own tol={'value': ...}"
        )
    return "fn computes a different function (or is checked against the wrong reference)"


class CheckContext:
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
        # The dtype the value record names: float32 for fn values of up to 4 bytes, else float64.
        self.value_dtype = np.dtype(np.float64)
        self.reference_value = 0.0
        # The differentiated positions, and jax.grad(reference) at them (or why it failed); both
        # set by evaluate_reference.
        self.positions: list[int] = []
        self._exact: list[np.ndarray] | Exception = []
        # The largest |exact gradient entry| over every differentiated argument (exact_gradient).
        self.gradient_scale = 0.0
        # A float32 fn's value against its float64 replay (evaluate_fn): its measured rounding.
        self.value_noise = 0.0

    def record(
        self, check: str, arg: str | None, verdict: str, message: str, **kw: Any
    ) -> CheckRecord:
        return CheckRecord(
            case=self.name, check=check, arg=arg, verdict=verdict, message=message, **kw
        )

    def mutation_record(self, who: str) -> CheckRecord | None:
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

    def evaluate_fn(self, records: list[CheckRecord]) -> float | None:
        """fn's value at the point, evaluated twice to catch hidden state; None on a problem."""
        values = []
        for _ in range(2):
            try:
                out = self.fn(*self.args)
            except Exception as exc:  # the case's own code: any exception is a verdict
                self.snapshot.restore()
                records.append(
                    self.record(VALUE, None, ERROR, f"fn raised {describe_exception(exc)}")
                )
                return None
            mutation = self.mutation_record("fn")
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
                self.record(
                    VALUE,
                    None,
                    ERROR,
                    f"fn returned {first} at the given point",
                    details={NON_FINITE: "fn"},
                )
            )
            return None
        if np.float64(first).tobytes() != np.float64(second).tobytes():
            records.append(
                self.record(
                    VALUE,
                    None,
                    NONDETERMINISTIC,
                    f"fn returned {fmt_pair(first, second)} at the same point: it keeps "
                    "hidden state or draws random numbers; fix its seed or pass the state in",
                )
            )
            return None
        # fn computes in the lowest precision among its floating inputs and its output: a float32
        # computation returned as float(...) is still float32 arithmetic.
        computed = policy.computation_dtype(self.args, dtype)
        self.value_eps = policy.eps(computed)
        self.value_dtype = computed
        if computed == np.float32:
            self.value_noise = self._float64_replay_gap(first)
        return first

    def _float64_replay_gap(self, value: float) -> float:
        """|fn(x) - fn(x promoted to float64)|: a float32 evaluation's real rounding.

        The replay runs the same code, so a bug is in both values and only the rounding is in
        their gap; code that is not dtype-generic (raises, or is not finite) gives 0 and is judged
        by the error model alone.
        """
        promoted = [
            a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a
            for a in self.args
        ]
        try:
            again = _scalar(self.fn(*promoted))
        except Exception:  # the case's own code: no replay, the model stands alone
            return 0.0
        finally:
            self.snapshot.restore()
        if isinstance(again, str) or not np.isfinite(again[0]):
            return 0.0
        # A gap the value check would call another function is no rounding (a float32-only
        # branch of the code, say): it counts no further than the value tolerance.
        cap = policy.value_tolerance(again[0], self.value_eps, None)
        return min(abs(value - again[0]), cap)

    def value_scale(self, *values: float) -> float:
        """`tolerance.value_scale` of the values seen, with the float64 replay's gap."""
        return policy.value_scale(*values, noise=self.value_noise, value_eps=self.value_eps)

    def evaluate_reference(
        self,
        records: list[CheckRecord],
        fn_value: float | None,
        emit: bool,
        positions: list[int],
    ) -> float | None:
        """The reference value, and the value check's record when asked for.

        Value and gradient come from one cached jax.value_and_grad, so a case shape is traced and
        compiled once; only when that raises is the plain value asked for, to tell a reference
        that fails from a gradient that fails.
        """
        self.positions = positions
        problem: Exception | None = None
        try:
            ref, grads = _oracle().value_and_gradient(self.reference, self.args, positions)
            self._exact = grads
        except Exception as grad_exc:
            self._exact = grad_exc
            try:
                ref = _oracle().value(self.reference, self.args)
            except Exception as value_exc:
                problem = value_exc
        if problem is not None:
            records.append(
                self.record(VALUE, None, ERROR, f"reference raised {describe_exception(problem)}")
            )
            return None
        if not np.isfinite(ref):
            records.append(
                self.record(
                    VALUE,
                    None,
                    ERROR,
                    f"reference returned {ref} at the given point",
                    details={NON_FINITE: "reference"},
                )
            )
            return None
        self.reference_value = ref
        if emit and fn_value is not None:
            got = fn_value
            error = abs(got - ref)
            tol = policy.value_tolerance(ref, self.value_eps, self.tolerances.get(VALUE))
            ok = error <= tol
            message = (
                f"fn = {fmt(got)}, reference = {fmt(ref)}"
                if ok
                else f"fn returned {fmt_pair(got, ref, ' but the reference gives ')} "
                f"(error {error:.3g} > tolerance {tol:.3g}): {_value_cause(error, ref)}"
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
                    dtype=str(self.value_dtype),
                    evaluations=2,
                    error_ratio=error / tol if tol > 0 else None,
                    details={"detectable_error": tol},
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
                    "exact", None, ERROR, f"jax.grad(reference) raised {describe_exception(exc)}"
                )
            )
            return None
        exact = dict(zip(positions, grads, strict=True))
        self.gradient_scale = max((float(np.abs(g).max(initial=0.0)) for g in grads), default=0.0)
        for pos, g in exact.items():
            index = first_non_finite(g)
            if index is not None:
                entry = Entry(self.names[pos], index)
                records.append(
                    self.record(
                        "exact",
                        self.names[pos],
                        ERROR,
                        f"jax.grad(reference) is {g[index]} at {entry.describe()}; "
                        "the point is outside the reference's smooth domain",
                        worst=entry,
                        details={NON_FINITE: "gradient"},
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
        fn_value: float,
        ref_value: float,
        batched: bool = False,
        scaled_steps: bool = True,
    ) -> CheckRecord:
        """Finite differences of fn in one argument, judged entry by entry (at steps h * max(1,
        |x_i|), or h itself when ``scaled_steps`` is False, as the routine under test used)."""
        x = self.args[pos]
        arg = self.names[pos]
        step = policy.step(h, x.dtype, scheme)
        common = {"size": int(x.size), "dtype": str(x.dtype), "scheme": scheme, "h": step}
        unresolved = policy.unresolved_entry(x, step)
        if unresolved is not None:
            entry = Entry(arg, unresolved)
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"the step {step:.3g} is below the resolution of {entry.describe()} = "
                f"{x[unresolved]!r} in {x.dtype} (x + h == x): every quotient would be 0; use a "
                "larger h (or the default)",
                worst=entry,
                **common,
            )

        def f(_: np.ndarray) -> Any:
            progress.evaluated()
            return self.fn(*self.args)

        evaluations: dict[str, np.ndarray] | None = None
        extra: dict[str, Any] = {}
        if not batched and "evaluations" in inspect.signature(routine).parameters:
            evaluations = extra["evaluations"] = {}

        def f_batched(copies: np.ndarray) -> Any:
            args = list(self.args)
            args[pos] = copies
            progress.evaluated(len(copies))
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
                NUMERICAL, arg, ERROR, f"fn raised {describe_exception(exc)}{where}", **common
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
        index = first_non_finite(numeric)
        if index is not None:
            entry = Entry(arg, index)
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"fn returned a non-finite value when {entry.describe()} was perturbed by the step "
                f"{step:.3g}: the point is too close to the edge of fn's domain (try a smaller h)",
                worst=entry,
                **common,
            )
        try:
            judged = judge_entries(
                f,
                x,
                numeric,
                expected,
                scheme=scheme,
                h=step,
                value_scale=self.value_scale(fn_value, ref_value),
                value_eps=self.value_eps,
                tol_override=self.tolerances.get(NUMERICAL),
                evaluations=evaluations,
                base_value=fn_value,
                scaled_steps=scaled_steps,
                reference_at=lambda moved: self.reference_at(pos, moved),
            )
            again = self.fn(*self.args)
        except Exception as exc:  # the case's own code, at a step of the second opinion
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"fn raised {describe_exception(exc)} while the judge re-measured an entry at "
                "smaller steps",
                **common,
            )
        finally:
            self.snapshot.restore()
        if judged.non_finite is not None:
            entry = Entry(arg, judged.non_finite)
            return self.record(
                NUMERICAL,
                arg,
                ERROR,
                f"fn returned a non-finite value near {entry.describe()} when the judge "
                f"re-measured it at steps {step:.3g}/2 and /4: the point is too close to the edge "
                "of fn's domain",
                worst=entry,
                **common,
            )
        drifted = self.drift_record(again, fn_value, "after the numerical check")
        if drifted is not None:
            return replace(drifted, check=NUMERICAL, arg=arg, **common)
        evaluations = (x.size * (2 if scheme == "central" else 1)) + judged.evaluations + 1
        return self.judged_record(
            NUMERICAL,
            pos,
            numeric,
            expected,
            judged.error,
            judged.tolerance,
            judged.failed,
            judged.kink,
            jump=judged.jump,
            evaluations=evaluations,
            **common,
        )

    def drift_record(self, out: Any, first: float, when: str) -> CheckRecord | None:
        """A non-deterministic record when fn's value at the base point changed since the start.

        A function with hidden state may start drifting only after a few calls; evaluating the
        base point again after the whole check catches that where two calls at the start did not.

        Args:
          out: fn's output at the base point now.
          first: its value at the start.
          when: when ``out`` was taken, for the message.

        Returns:
          The record, or None when the two values are bit-identical.
        """
        scalar = _scalar(out)
        now = scalar[0] if not isinstance(scalar, str) else float("nan")
        if np.float64(now).tobytes() == np.float64(first).tobytes():
            return None
        return self.record(
            VALUE,
            None,
            NONDETERMINISTIC,
            f"fn returned {fmt_pair(first, now)} at the same point ({when}): it keeps hidden "
            "state or draws random numbers; fix its seed or pass the state in",
        )

    def reference_at(self, pos: int, moved: np.ndarray) -> float:
        """The reference's value (float64) with argument ``pos`` replaced by ``moved``."""
        args = list(self.args)
        args[pos] = moved
        return _oracle().value(self.reference, args)

    def judged_record(self, kind: str, pos: int, *arrays: np.ndarray, **common: Any) -> CheckRecord:
        """`records.judged_record` for the argument at ``pos``, at this case's gradient scale."""
        return judged_record(
            self.name,
            kind,
            self.names[pos],
            *arrays,
            gradient_scale=self.gradient_scale,
            **common,
        )
