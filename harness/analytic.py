"""The analytic check: a hand-written gradient (backprop) against jax.grad(reference)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import policy
from harness.records import describe_exception
from harness.types import ANALYTIC, ERROR, CheckRecord, Entry

if TYPE_CHECKING:
    from harness.case_run import CaseRun


def check_analytic(
    run: CaseRun, grad: Callable[..., Any], positions: list[int], exact: dict[int, np.ndarray]
) -> list[CheckRecord]:
    """The hand-written gradient against the exact one, argument by argument.

    Args:
      run: the state of the check (case, arguments, snapshot, tolerances).
      grad: the hand-written gradient.
      positions: the differentiated argument positions.
      exact: jax.grad(reference) per position.

    Returns:
      One record per argument, or one error record when grad's output cannot be judged.
    """
    wanted = ", ".join(run.names[p] for p in positions)
    try:
        out = grad(*run.args)
    except Exception as exc:
        run.snapshot.restore()
        return [run.record(ANALYTIC, None, ERROR, f"grad raised {describe_exception(exc)}")]
    mutation = run._mutation_record("grad")
    if mutation:
        return [mutation]
    if isinstance(out, np.ndarray) and len(positions) == 1:
        out = (out,)
    if not isinstance(out, tuple | list) or len(out) != len(positions):
        count = len(out) if isinstance(out, tuple | list) else f"a {type(out).__name__}"
        return [
            run.record(
                ANALYTIC,
                None,
                ERROR,
                f"grad returned {count} array(s) but the case differentiates {len(positions)} "
                f"argument(s) ({wanted}): return one array per argument, in that order",
            )
        ]
    records = []
    for pos, got in zip(positions, out, strict=True):
        arg = run.names[pos]
        got = np.asarray(got)
        expected = exact[pos]
        if got.shape != expected.shape:
            records.append(
                run.record(
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
                run.record(ANALYTIC, arg, ERROR, f"grad's array for '{arg}' has dtype {got.dtype}")
            )
            continue
        bad = np.argwhere(~np.isfinite(got))
        if len(bad):
            entry = Entry(arg, tuple(int(i) for i in bad[0]))
            records.append(
                run.record(
                    ANALYTIC,
                    arg,
                    ERROR,
                    f"grad returned {got[tuple(bad[0])]} at {entry.describe()}",
                    worst=entry,
                )
            )
            continue
        error = np.abs(got.astype(np.float64) - expected).ravel()
        override = run.tolerances.get(ANALYTIC)
        if override is None:
            dtype_eps = max(policy.eps(got.dtype), policy.eps(run.args[pos].dtype))
            tolerance = policy.ulp_tolerance(
                expected,
                dtype_eps,
                policy.ANALYTIC_SAFETY,
                value=run.reference_value,
                x_scale=float(np.abs(run.args[pos]).max()),
            ).ravel()
        else:
            tolerance = np.full(error.shape, override)
        failed = ~(error <= tolerance)
        records.append(
            run.judged_record(
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
