"""The analytic check: a hand-written gradient (backprop) against jax.grad(reference)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.judge import tolerance as policy
from harness.judge.records import describe_exception, first_non_finite
from harness.results import ANALYTIC, ERROR, CheckRecord, Entry

if TYPE_CHECKING:
    from harness.judge.context import CheckContext


def check_analytic(
    run: CheckContext, grad: Callable[..., Any], positions: list[int], exact: dict[int, np.ndarray]
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
    mutation = run.mutation_record("grad")
    if mutation:
        return [mutation]
    out = _one_per_argument(out, positions)
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
    noise: dict[int, float] | None = None
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
        index = first_non_finite(got)
        if index is not None:
            entry = Entry(arg, index)
            records.append(
                run.record(
                    ANALYTIC,
                    arg,
                    ERROR,
                    f"grad returned {got[index]} at {entry.describe()}",
                    worst=entry,
                )
            )
            continue
        error = np.abs(got.astype(np.float64) - expected).ravel()
        override = run.tolerances.get(ANALYTIC)
        tolerance = policy.analytic_tolerance(
            expected,
            max(policy.eps(got.dtype), policy.eps(run.args[pos].dtype)),
            run.reference_value,
            float(np.abs(run.args[pos]).max()),
            override,
        )
        failed = ~(error <= tolerance)
        if failed.any() and override is None:
            if noise is None:
                noise = _gradient_noise(run, grad, positions, out, exact)
            tolerance = tolerance + NOISE_SAFETY * noise.get(pos, 0.0)
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


def _one_per_argument(out: Any, positions: list[int]) -> Any:
    """grad's output, with a lone array for a single differentiated argument wrapped in a tuple."""
    return (out,) if isinstance(out, np.ndarray) and len(positions) == 1 else out


# The measured noise is one realisation; twice over it stands for the noise at any nearby point.
NOISE_SAFETY = 4.0


def _gradient_noise(
    run: CheckContext,
    grad: Callable[..., Any],
    positions: list[int],
    out: Sequence[Any],
    exact: dict[int, np.ndarray],
) -> dict[int, float]:
    """Measure the rounding noise of the hand-written gradient, per argument.

    Backprop through saturated units computes small entries as differences of O(1) terms, so
    its rounding is not eps times the entry. Nudging every differentiated argument by the central
    step changes the true gradient by a known amount (jax.grad at both points), so what grad's
    change shows beyond that is noise. A wrong formula is a smooth function of x: its error
    changes by ~step (6e-6) of itself under the nudge, so it cannot pass as noise.

    Returns:
      The largest residual per argument position (0.0 where it cannot be measured).
    """
    rng = np.random.default_rng(0)
    for pos in positions:
        x = run.args[pos]
        # A nudge of a few ulps keeps most roundings as they were (the noise is correlated at that
        # range); at the central difference's step they are independent.
        step = policy.default_step(x.dtype, "central")
        signs = rng.choice((-1.0, 1.0), size=x.shape)
        x += (step * np.maximum(1.0, np.abs(x)) * signs).astype(x.dtype)
    try:
        nudged = _one_per_argument(grad(*run.args), positions)
        exact_nudged = run.exact_with(run.args)
    except Exception:
        return {}
    finally:
        run.snapshot.restore()
    noise = {}
    for pos, before, after, ex_after in zip(positions, out, nudged, exact_nudged, strict=True):
        change = np.asarray(after, dtype=np.float64) - np.asarray(before, dtype=np.float64)
        residual = np.abs(change - (ex_after - exact[pos]))
        noise[pos] = float(residual.max()) if residual.size and np.isfinite(residual).all() else 0.0
    return noise
