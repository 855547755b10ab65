"""The analytic check: a hand-written gradient (backprop) against jax.grad(reference).

Each entry is judged at the error model's tolerance (`tolerance.analytic_tolerance`); nothing
measured from the code under test widens it. Two refinements, neither of which a bug can move:

* float32 code is replayed on float64-promoted arguments (where it is dtype-generic): the replay
  must match jax.grad at float64 tolerances (is the math right?), and the gap between the float32
  run and the replay is the float32 rounding, reported beside the verdict;
* an entry outside its tolerance is re-read at a kink of the *reference* (one-sided slopes at
  s, s/2, s/4, `kinks.classify`): it is ``kink`` when it lies between the one-sided slopes and
  the kinked entries' sum matches the slope along the sum of their coordinates wherever f is
  smooth along it (a tie of a max); otherwise ``fail``. Deterministic: the same point, the same
  verdict, for any seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.judge import kinks
from harness.judge import tolerance as policy
from harness.judge.differences import one_sided_slopes
from harness.judge.records import describe_exception, first_non_finite, fmt, returned_kind
from harness.results import ANALYTIC, ERROR, FAIL, CheckRecord, Entry

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
        if len(positions) == 1:
            expected = f"a NumPy array for '{wanted}' (or a tuple of one)"
        else:
            expected = (
                f"a tuple or list of {len(positions)} NumPy arrays, one per argument in order "
                f"({wanted})"
            )
        if isinstance(out, tuple | list):
            came = f"a {type(out).__name__} of {len(out)} item(s)"
        else:
            came = returned_kind(out)
        return [
            run.record(
                ANALYTIC,
                None,
                ERROR,
                f"grad must return {expected}; it returned {came}",
            )
        ]
    records = []
    scale = run.gradient_scale
    computed = policy.computation_dtype(run.args, np.dtype(np.float64))
    if computed == np.float32:
        replay = _replay(run, grad, positions, np.dtype(np.float64))
    elif policy.eps(np.longdouble) < policy.eps(np.float64):
        replay = _replay(run, grad, positions, np.dtype(np.longdouble))
    else:
        replay = "this platform's long double is float64"
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
        override = run.tolerances.get(ANALYTIC)
        dtype_eps = max(
            policy.eps(got.dtype), policy.eps(run.args[pos].dtype), policy.eps(computed)
        )
        tolerance = policy.analytic_tolerance(expected, dtype_eps, scale, override)
        error = np.abs(got.astype(np.float64) - expected).ravel()
        failed = ~(error <= tolerance)
        kink = np.zeros_like(failed)
        replay_failed = np.zeros_like(failed)
        details: dict[str, Any] = {}
        if isinstance(replay, str):
            details["replay"] = replay
        elif computed != np.float32:
            # float64 code replayed in long double: the gap is its float64 rounding (a backprop's
            # small entries are differences of larger terms: y - t summed over a batch), which
            # jax.grad's float64 computation of the same math shares. It widens the tolerance by
            # REPLAY_SAFETY times itself, never by more than REPLAY_CAP of the scale.
            gap = np.abs(got.astype(np.longdouble) - replay[pos]).astype(np.float64).ravel()
            details["float64_rounding"] = float(gap.max(initial=0.0))
            if override is None:
                tolerance = tolerance + policy.replayed_rounding(gap, scale)
            failed = ~(error <= tolerance)
        else:
            again = replay[pos].astype(np.float64)
            replay_error = np.abs(again - expected).ravel()
            replay_tolerance = policy.replay_tolerance(expected, scale, override)
            details["float64_replay_error"] = float(replay_error.max(initial=0.0))
            details["float32_rounding"] = float(
                np.abs(got.astype(np.float64) - again).max(initial=0.0)
            )
            # The math is wrong where the float64 replay misses at float64 tolerances.
            replay_failed = ~(replay_error <= replay_tolerance)
            failed |= replay_failed
        if failed.any():
            kink, failed, spent = _judge_kinks(run, pos, got, expected, failed)
            details["kink_evaluations"] = spent
        record = run.judged_record(
            ANALYTIC,
            pos,
            got,
            expected,
            error,
            tolerance,
            failed,
            kink,
            size=int(got.size),
            dtype=str(got.dtype),
            details=details,
        )
        wrong_math = replay_failed & failed & ~(error > tolerance)
        if wrong_math.any():
            # Failed by the replay alone: say so, with the replay's own numbers.
            flat = int(np.argmax(np.where(wrong_math, replay_error / replay_tolerance, -1.0)))
            index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
            entry = Entry(arg, index, float(again.ravel()[flat]), float(expected.ravel()[flat]))
            record = replace(
                record,
                verdict=FAIL,
                worst=entry,
                tolerance=float(replay_tolerance[flat]),
                error_ratio=float(replay_error[flat] / replay_tolerance[flat]),
                message=(
                    f"the float64 replay of grad disagrees with jax.grad at {entry.describe()}: "
                    f"got {fmt(entry.got)}, expected {fmt(entry.expected)} (abs error "
                    f"{replay_error[flat]:.3g} > tolerance {replay_tolerance[flat]:.3g}), so the "
                    "math is wrong, not float32 rounding (the float32 run is within its own "
                    f"tolerance there); {int(wrong_math.sum())} of {error.size} entries"
                ),
            )
        records.append(replace(record, message=record.message + _replay_text(details)))
    return records


def _replay_text(details: dict[str, Any]) -> str:
    """What the higher-precision replay said, for the message."""
    if "float32_rounding" in details:
        return (
            f"; float64 replay: error {details['float64_replay_error']:.3g}, float32 rounding "
            f"{details['float32_rounding']:.3g}"
        )
    if "replay" in details:
        return f"; no replay in higher precision ({details['replay']})"
    return ""


def _one_per_argument(out: Any, positions: list[int]) -> Any:
    """grad's output, with a lone array for a single differentiated argument wrapped in a tuple."""
    return (out,) if isinstance(out, np.ndarray) and len(positions) == 1 else out


def _replay(
    run: CheckContext, grad: Callable[..., Any], positions: list[int], target: np.dtype
) -> dict[int, np.ndarray] | str:
    """grad on the arguments promoted to ``target`` (float32 -> float64, float64 -> long double),
    per position; a reason when it cannot be had.

    The replay runs the same code, so a bug is in both runs and the gap between them is the
    rounding alone. It needs dtype-generic code: one that raises, or returns a lower precision on
    promoted input, has no replay and is judged by the error model alone.
    """
    name = np.dtype(target).name
    source = np.float32 if target == np.float64 else np.float64
    promoted = [
        a.astype(target) if isinstance(a, np.ndarray) and a.dtype == source else a for a in run.args
    ]
    try:
        with np.errstate(all="ignore"):
            out = _one_per_argument(grad(*promoted), positions)
    except Exception as exc:  # the case's own code
        return f"grad raised {describe_exception(exc)} on {name} arguments"
    finally:
        run.snapshot.restore()
    if not isinstance(out, tuple | list) or len(out) != len(positions):
        return f"grad returned a different number of arrays on {name} arguments"
    replay = {}
    for pos, again in zip(positions, out, strict=True):
        again = np.asarray(again)
        if again.dtype != target or again.shape != run.args[pos].shape:
            return f"grad returned {again.dtype} on {name} arguments (not dtype-generic)"
        if first_non_finite(again) is not None:
            return f"grad returned a non-finite value on {name} arguments"
        replay[pos] = again
    return replay


# Kinks are re-read at this many failing entries at most (nine reference evaluations each).
MAX_KINK_ENTRIES = 512


def _judge_kinks(
    run: CheckContext, pos: int, got: np.ndarray, expected: np.ndarray, failed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-read failing entries at kinks of the reference.

    Returns:
      (kink flags, failure flags, reference evaluations spent).
    """
    kink = np.zeros_like(failed)
    failed = failed.copy()
    x = run.args[pos].astype(np.float64)
    value_scale = policy.value_scale(run.reference_value)
    base_step = policy.default_step(np.float64, "central")
    eps64 = policy.eps(np.float64)
    flat_got = got.astype(np.float64).ravel()
    flat_exact = expected.ravel()

    def f(moved: np.ndarray) -> float:
        return run.reference_at(pos, moved)

    spent = 0
    candidates = np.flatnonzero(failed)[:MAX_KINK_ENTRIES]
    for flat in candidates:
        index = tuple(int(i) for i in np.unravel_index(int(flat), x.shape))
        step = base_step * max(1.0, abs(float(x.flat[flat])))
        slopes = [one_sided_slopes(f, x, index, step / d) for d in (1, 2, 4)]
        spent += 9
        noise_args = (eps64, value_scale, eps64, float(x.flat[flat]), abs(flat_exact[flat]))

        def slope_noise(s: float, noise_args: tuple = noise_args) -> float:
            return policy.one_sided_noise(s, *noise_args)

        reading = kinks.classify(slopes, step, slope_noise)
        inside = reading.low - reading.slack <= flat_got[flat] <= reading.high + reading.slack
        if reading.kind == kinks.KINK and inside:
            kink[flat] = True
            failed[flat] = False
    if kink.any():
        # Each kinked entry lies between its own slopes. Together they must also add up: along
        # the sum of the kinked coordinates a tie of a max moves as one (f is smooth there), so
        # the gradient's sum over them is that slope exactly; an all-ones gradient at a tie
        # passes every coordinate alone and fails here. Where f is kinked along the sum too
        # (independent kinks, as relu's), the coordinates already said all there is.
        ones = kink.astype(np.float64)
        direction = ones.reshape(x.shape)
        step = base_step * max(1.0, float(np.abs(x.ravel()[kink]).max()))
        slopes = [_directional_slopes(f, x, direction, step / d) for d in (1, 2, 4)]
        spent += 9
        slope = float(np.abs(flat_exact) @ ones)
        noise = (eps64, value_scale, eps64, float(np.abs(x).max()), slope)

        def sum_noise(s: float, noise: tuple = noise) -> float:
            return policy.one_sided_noise(s, *noise)

        reading = kinks.classify(slopes, step, sum_noise)
        along = float(flat_got @ ones)
        if reading.kind == kinks.SMOOTH and not (
            reading.low - reading.slack <= along <= reading.high + reading.slack
        ):
            failed |= kink
            kink = np.zeros_like(kink)
    return kink, failed, spent


def _directional_slopes(
    f: Callable[[np.ndarray], float], x: np.ndarray, direction: np.ndarray, step: float
) -> tuple[float, float]:
    """Forward and backward slopes of f along a direction (x is float64 and restored)."""
    base = f(x)
    ahead = f(x + step * direction)
    behind = f(x - step * direction)
    return (ahead - base) / step, (base - behind) / step
