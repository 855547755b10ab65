"""Probe mode as a check: run the probes of probes.py over a case's arguments and turn what they
found into records (an agreeing argument states its 2^-k power; a localised entry is judged by the
full check's rules and named)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.judge import tolerance as policy
from harness.judge.differences import evaluate
from harness.judge.entries import EntryJudgement, judge_entries
from harness.judge.probes import ProbeOutcome, Prober, Space, probe
from harness.judge.records import POWER_FRACTION
from harness.results import INCONCLUSIVE, NUMERICAL, PASS, CheckRecord, Entry

if TYPE_CHECKING:
    from harness.judge.context import CheckContext


def _oracle() -> Any:
    """The JAX oracle, imported on first use (importing the judge never imports JAX)."""
    from harness import oracle

    return oracle


def check_probes(
    run: CheckContext,
    positions: list[int],
    exact: dict[int, np.ndarray],
    h: float | None,
    fn_value: float,
    ref_value: float,
    k: int,
    seed: int,
) -> tuple[dict[int, CheckRecord], int]:
    """Probe mode over these arguments jointly: a record for every position the probes settle. A
    position left out is one whose disagreement could not be traced to entries, or whose entries
    passed while its other probes still disagree: the caller runs the full per-entry check there.

    Args:
      run: the check's context.
      positions: the probed arguments.
      exact: jax.grad per position.
      h: the case's unscaled step, or None.
      fn_value: fn at the point.
      ref_value: the reference at the point.
      k: probes.
      seed: their seed.

    Returns:
      (records by position, the probes' evaluations when no record carries them).
    """
    arrays = [run.args[p] for p in positions]
    units = {p: policy.step(h, run.args[p].dtype, "central") for p in positions}
    steps = np.concatenate([policy.entry_steps(run.args[p], units[p]).ravel() for p in positions])
    joint_exact = np.concatenate([exact[p].ravel() for p in positions])
    space = Space(positions, arrays, steps, joint_exact)
    scale = run.value_scale(fn_value, ref_value)
    override = run.tolerances.get(NUMERICAL)

    def third(directions: list[np.ndarray]) -> np.ndarray:
        return _oracle().taylor_coefficients(run.reference, run.args, positions, directions)[:, 3]

    prober = Prober(lambda: run.fn(*run.args), space, third, run.value_eps, scale, override)

    def judge_leaves(which: int, entries: list[tuple[int, ...]]):
        pos = positions[which]
        return judge_entries_at(
            lambda _: run.fn(*run.args),
            run.args[pos],
            exact[pos],
            entries,
            h=units[pos],
            value_scale=scale,
            value_eps=run.value_eps,
            tol_override=override,
        )

    try:
        outcome = probe(prober, k, seed, judge_leaves)
    except Exception:  # the case's own code raised: the full check says where
        return {}, 0
    finally:
        run.snapshot.restore()
    names = ", ".join(run.names[p] for p in positions)
    records: dict[int, CheckRecord] = {}
    settled = [which for which in range(len(positions)) if _settled(outcome, which)]
    for which, pos in enumerate(positions):
        if which not in settled:
            continue  # this argument gets the full per-entry check
        readings = outcome.readings_of(which)
        ratios = [abs(r.residual) / r.tolerance for r in readings if r.tolerance > 0]
        worst = int(np.argmax(ratios)) if ratios else 0
        x = run.args[pos]
        smallest = float(policy.entry_steps(x, units[pos]).min())
        reading = readings[worst]
        detectable = max(r.tolerance for r in readings) / smallest
        details = {
            "mode": "probe",
            "probes": k,
            "seed": int(seed),
            "probed": names,
            "miss_probability": 2.0**-k,
            "detectable_error": detectable,
            "probe_residuals": [float(r.residual) for r in readings],
            "probe_tolerances": [float(r.tolerance) for r in readings],
        }
        common = {
            "size": int(x.size),
            "dtype": str(x.dtype),
            "scheme": "central",
            "h": units[pos],
            "evaluations": outcome.evaluations if which == settled[0] else 0,
        }
        if which in outcome.judged:
            numeric, judged = outcome.judged[which]
            entries = ", ".join(
                Entry(run.names[pos], i).describe() for i in outcome.leaves[which][:5]
            )
            details["localised"] = entries
            record = run.judged_record(
                NUMERICAL,
                pos,
                numeric,
                exact[pos],
                judged.error,
                judged.tolerance,
                judged.failed,
                judged.kink,
                jump=judged.jump,
                details=details,
                **common,
            )
            prefix = f"probe mode: {k} probes through ({names}), localised to {entries}: "
            records[pos] = replace(record, message=prefix + record.message)
            continue
        error = abs(reading.residual) / smallest
        tolerance = reading.tolerance / smallest
        through = names if which not in outcome.blocks else run.names[pos]
        record = run.record(
            NUMERICAL,
            run.names[pos],
            PASS,
            f"{k} probes through all of ({through}) agree with jax.grad (worst residual "
            f"{ratios[worst] if ratios else 0.0:.2g} of its tolerance); an error in any entry "
            f"above its tolerance (<= {detectable:.3g}) is missed with probability <= 2^-{k}",
            max_abs_error=error,
            max_rel_error=error / run.gradient_scale if run.gradient_scale else error,
            tolerance=tolerance,
            worst=Entry(f"probe{worst}", (), None, None),
            error_ratio=ratios[worst] if ratios else None,
            details=details,
            **common,
        )
        records[pos] = _power_check(record, detectable, run.gradient_scale)
    return records, 0 if settled else outcome.evaluations


def _settled(outcome: ProbeOutcome, which: int) -> bool:
    """Whether the probes settle one argument's verdict: it agreed; or an entry they found fails;
    or every disagreement was traced to entries that the full check's rules judged, and fresh
    probes through its other entries agree."""
    if which in outcome.untraced:
        return False
    if which not in outcome.judged:
        return not any(r.disagrees for r in outcome.readings_of(which))
    judged = outcome.judged[which][1]
    if judged.non_finite is not None:
        return False
    if judged.failed.any():
        return True
    if which in outcome.more:
        return False  # entries found pass, and more disagreement lies behind them
    confirmed = outcome.confirmed.get(which)
    return confirmed is not None and not any(r.disagrees for r in confirmed)


def _power_check(record: CheckRecord, detectable: float, scale: float) -> CheckRecord:
    """An agreeing probe record is inconclusive where it could not have caught an error of
    POWER_FRACTION of the gradient's scale (as judged records are)."""
    if scale > 0 and detectable > POWER_FRACTION * scale:
        return replace(
            record,
            verdict=INCONCLUSIVE,
            message=f"the probes' tolerance ({detectable:.3g}) is more than {POWER_FRACTION:g} "
            f"of the gradient's scale ({scale:.3g}): this check could not have caught an error "
            "that size",
        )
    return record


def judge_entries_at(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    expected: np.ndarray,
    entries: list[tuple[int, ...]],
    *,
    h: float,
    value_scale: float,
    value_eps: float,
    tol_override: float | None,
) -> tuple[np.ndarray, EntryJudgement]:
    """The full check's judgement of a few entries: the judge's own central differences there,
    then `judge_entries` (tolerance, kinks, jumps, second opinion) as in full mode.

    Args:
      f: the function of this argument (x perturbed in place).
      x: the argument (restored).
      expected: its exact gradient.
      entries: the entries to judge.
      h: the unscaled central step.
      value_scale: |f| near x.
      value_eps: eps of the dtype fn computes in.
      tol_override: the case's tol= for numerical checks, or None.

    Returns:
      (the numerical gradient: exact except at the entries, the judgement of it).
    """
    numeric = expected.astype(np.float64).copy()
    steps = policy.entry_steps(x, h)
    saved = x.copy()
    try:
        for index in entries:
            step = float(steps[index])
            x[index] = saved[index] + step
            ahead = evaluate(f, x)
            x[index] = saved[index] - step
            behind = evaluate(f, x)
            x[index] = saved[index]
            numeric[index] = (ahead - behind) / (2.0 * step)
    finally:
        np.copyto(x, saved)
    judged = judge_entries(
        f,
        x,
        numeric,
        expected,
        scheme="central",
        h=h,
        value_scale=value_scale,
        value_eps=value_eps,
        tol_override=tol_override,
    )
    judged.evaluations += 2 * len(entries)
    return numeric, judged
