"""Probe mode: the full check's per-entry power at the cost of a few dozen evaluations.

A probe moves every differentiated coordinate at once by its own full-mode step, u = s * v with
v_i = +-1 (a Rademacher direction), and compares half the central difference of fn,

    P = (f(x + u) - f(x - u)) / 2,

with what the oracle predicts for the same perturbation: g_exact . d + D^3 f[d, d, d] / 6, where d
is the perturbation fn actually received (x +- u rounded to each argument's dtype) and the third
derivative comes from the reference's Taylor terms, not from fn. What is left, r = P - prediction,
is e . d for a gradient error e: an error in one entry appears in full, e_j s_j, against a
rounding tolerance tau = SAFETY eps_f |f| (plus the prediction's own rounding and truncation),
which is the full check's per-entry tolerance times s_j.

Power. For any error whose largest entry exceeds its tolerance (|e_j| s_j > tau), conditioning on
the other signs, the two values of v_j move r by 2 |e_j| s_j > 2 tau, so at most one of them
leaves |r| <= tau: each probe misses with probability <= 1/2, k probes with probability <= 2^-k.

Localisation. A probe that disagrees is bisected: v restricted to halves of the coordinates,
probed again, down the halves that still disagree, to single entries (O(d log2 n) evaluations for
d bad entries). A single entry is judged exactly as in the full check (`entries.judge_entries`:
tolerance, kinks, jumps, second opinion), so probe and full mode give the same verdict on it.
Kinks crossed by the joint move localise the same way. A disagreement at the tolerance's edge
(the probe disagrees, neither half alone does) follows the worse half, so the entries behind it
are judged too. When the entries found pass, fresh probes through the argument's other entries
must agree before it passes; an argument whose disagreement cannot be traced to entries gets the
full per-entry check, and only that argument. Nothing widens a tolerance.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.judge import progress
from harness.judge import tolerance as policy
from harness.judge.entries import EntryJudgement

# 2^-20 ~ 1e-6: the chance that every probe misses an error above the tolerance.
DEFAULT_PROBES = 20
# mode="auto": arguments up to this many entries get the full per-entry check (the seed's own
# numerical_gradient runs on every small case), larger ones the probes.
AUTO_FULL_UP_TO = 5_000
# "fast" is the first version's name for the cheap mode; it now means the probes.
MODES = ("auto", "full", "probe", "fast")


def check_mode(mode: str, probes: int) -> None:
    """Raise ValueError for an unknown mode or a probe count below one."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if isinstance(probes, bool) or not isinstance(probes, int) or probes < 1:
        raise ValueError(f"probes must be a positive int, got {probes!r}")


# The direction streams of the probes (seeded by the check's seed): the first probes, and the fresh
# ones that confirm an argument whose localised entries passed.
PROBE_STREAM = 2_000_003
CONFIRM_STREAM = 2_000_029
# Localisation stops after this many entries, or this many evaluations per probed entry count.
MAX_LEAVES = 8
MAX_BISECTION_EVALUATIONS = 2_000


@functools.lru_cache(maxsize=8)
def rademacher(n: int, k: int, seed: int, stream: int = PROBE_STREAM) -> np.ndarray:
    """k seeded directions of n signs +-1 (read-only, cached: a warm check does not redraw).

    Args:
      n: coordinates.
      k: directions.
      seed: the check's seed.
      stream: which of the probes' streams.

    Returns:
      A float64 array of shape (k, n).
    """
    rng = np.random.default_rng([int(seed), int(stream)])
    v = rng.choice(np.array([-1.0, 1.0]), size=(k, n))
    v.flags.writeable = False
    return v


@dataclass
class Space:
    """The probed coordinates: several arguments flattened into one vector."""

    positions: list[int]
    arrays: list[np.ndarray]  # the case's own arrays (perturbed in place, restored)
    steps: np.ndarray  # per-coordinate full-mode steps, flat
    exact: np.ndarray  # jax.grad at the point, flat
    bounds: np.ndarray = field(init=False)
    saved: list[np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.bounds = np.cumsum([0] + [a.size for a in self.arrays])
        self.saved = [a.copy() for a in self.arrays]
        self.point = np.concatenate([s.astype(np.float64).ravel() for s in self.saved])

    def mask(self, which: int) -> np.ndarray:
        """True on the joint coordinates of argument number ``which``."""
        mask = np.zeros(int(self.bounds[-1]), dtype=bool)
        mask[self.bounds[which] : self.bounds[which + 1]] = True
        return mask

    def locate(self, flat: int) -> tuple[int, tuple[int, ...]]:
        """(argument number within the space, multi-index) of a joint coordinate."""
        which = int(np.searchsorted(self.bounds, flat, side="right") - 1)
        local = flat - int(self.bounds[which])
        return which, tuple(int(i) for i in np.unravel_index(local, self.arrays[which].shape))

    def move(self, u: np.ndarray, sign: float) -> np.ndarray:
        """Set the arrays to x + sign * u (rounded to each dtype); return what was set, flat."""
        moved = self.point + sign * u
        for array, lo, hi in zip(self.arrays, self.bounds[:-1], self.bounds[1:], strict=True):
            part = moved[lo:hi]
            np.copyto(array, part.reshape(array.shape), casting="same_kind")
            if array.dtype != np.float64:
                part[...] = array.ravel()  # what the argument really holds
        return moved

    def restore(self) -> None:
        """Put every array back, bit for bit."""
        for array, saved in zip(self.arrays, self.saved, strict=True):
            np.copyto(array, saved)


@dataclass
class Reading:
    """One probe: its residual, tolerance and the evaluations it cost."""

    residual: float
    tolerance: float
    evaluations: int
    finite: bool = True

    @property
    def disagrees(self) -> bool:
        """True when the residual is beyond the tolerance (or not finite)."""
        return not self.finite or not abs(self.residual) <= self.tolerance

    @property
    def ratio(self) -> float:
        """|residual| / tolerance (infinite when not finite, or beyond a zero tolerance)."""
        if not self.finite:
            return float("inf")
        if self.tolerance > 0:
            return abs(self.residual) / self.tolerance
        return 0.0 if self.residual == 0 else float("inf")


class Prober:
    """Probes of fn over a `Space`, with the oracle's prediction for each."""

    def __init__(
        self,
        fn: Callable[[], Any],
        space: Space,
        third: Callable[[list[np.ndarray]], np.ndarray],
        value_eps: float,
        value_scale: float,
        override: float | None,
    ) -> None:
        self.fn, self.space, self.third = fn, space, third
        self.value_eps, self.value_scale, self.override = value_eps, value_scale, override

    def _split(self, flat: np.ndarray) -> list[np.ndarray]:
        s = self.space
        return [
            flat[lo:hi].reshape(a.shape)
            for a, lo, hi in zip(s.arrays, s.bounds[:-1], s.bounds[1:], strict=True)
        ]

    def read(self, directions: np.ndarray) -> list[Reading]:
        """Probe along each row of ``directions`` (signs, zero where a coordinate is left out).

        Args:
          directions: shape (m, n).

        Returns:
          One Reading per direction.
        """
        s = self.space
        values, halves = [], []
        try:
            for v in directions:
                u = s.steps * v
                plus = s.move(u, 1.0)
                f_plus = _value(self.fn())
                minus = s.move(u, -1.0)
                f_minus = _value(self.fn())
                s.restore()
                progress.evaluated(2)  # so a slow fn's probes show an estimate
                values.append((f_plus, f_minus))
                halves.append((plus - minus) / 2.0)
        finally:
            s.restore()
        d = np.asarray(halves)
        eps64 = policy.eps(np.float64)
        terms = s.exact * d
        linear = terms.sum(axis=1)
        probe_values = np.array([(fp - fm) / 2.0 for fp, fm in values])
        finite = np.array([np.isfinite(fp) and np.isfinite(fm) for fp, fm in values])
        scales = [policy.value_scale(self.value_scale, fp, fm) for fp, fm in values]
        if self.override is not None:
            base = self.override * np.abs(d).max(axis=1, initial=0.0)
        else:
            # Rounding of the two evaluations and of the prediction.
            base = policy.NUMERICAL_SAFETY * self.value_eps * np.asarray(scales) + (
                4.0 * eps64 * np.abs(terms).sum(axis=1)
            )
        # The third-order term is asked of the oracle only where the first-order prediction
        # alone leaves the probe outside its tolerance: agreement without it implies agreement
        # with it (|r| <= |P - g.d| + |D3|/6, and the tolerance grows by |D3|/6), so the power
        # is the same and the common case costs no Taylor terms.
        third = np.zeros(len(d))
        needs = finite & ~(np.abs(probe_values - linear) <= base)
        if needs.any():
            padded = np.where(needs[:, None], d, 0.0)  # a fixed batch shape: one compile
            got = self.third(
                [np.stack([self._split(r)[i] for r in padded]) for i in range(len(s.arrays))]
            )
            third = np.where(needs, got, 0.0)
        readings = []
        for j in range(len(d)):
            ok = bool(finite[j] and np.isfinite(third[j]))
            residual = probe_values[j] - linear[j] - third[j] / 6.0 if ok else float("nan")
            tolerance = float(base[j] + (abs(third[j]) / 6.0 if self.override is None else 0.0))
            readings.append(Reading(float(residual), tolerance, 2, ok))
        return readings


def _value(out: Any) -> float:
    return float(np.asarray(out, dtype=np.float64).reshape(()))


@dataclass
class ProbeOutcome:
    """What the probes found, per argument of the space (plain data)."""

    agreed: bool  # every joint probe within tolerance
    readings: list[Reading]  # the joint probes
    evaluations: int
    # argument number -> its own probes (only when the joint ones disagreed)
    blocks: dict[int, list[Reading]]
    leaves: dict[int, list[tuple[int, ...]]]  # argument number -> entries localised
    # argument number -> (numerical gradient at its leaves, their per-entry judgement)
    judged: dict[int, tuple[np.ndarray, EntryJudgement]]
    # arguments whose disagreement could not be traced to entries (not finite, or too costly)
    untraced: set[int] = field(default_factory=set)
    # arguments where localisation stopped at MAX_LEAVES entries with more disagreeing
    more: set[int] = field(default_factory=set)
    # argument number -> fresh probes through its entries but the localised ones (taken when
    # every localised entry passed: they, not the first probes, speak for the rest)
    confirmed: dict[int, list[Reading]] = field(default_factory=dict)

    def readings_of(self, which: int) -> list[Reading]:
        """The probes that speak for one argument: the confirming ones, else its own where they
        were taken, else the joint ones."""
        if which in self.confirmed:
            return self.confirmed[which]
        return self.blocks.get(which, self.readings)


def probe(
    prober: Prober,
    k: int,
    seed: int,
    judge_leaves: Callable[[int, list[tuple[int, ...]]], tuple[np.ndarray, EntryJudgement]],
) -> ProbeOutcome:
    """k Rademacher probes through every argument at once; when one disagrees, each argument is
    probed alone (the same signs on its coordinates) and its disagreeing probes are bisected down
    to the entries behind them. Entries found are judged; where all of an argument's pass, k fresh
    probes through its other entries say whether anything else disagrees.

    Args:
      prober: the probes' fn, space and prediction.
      k: probes.
      seed: seed of their signs.
      judge_leaves: (argument number, entries) -> the per-entry judgement of those entries.

    Returns:
      The outcome.
    """
    space = prober.space
    n = int(space.bounds[-1])
    signs = np.asarray(rademacher(n, k, int(seed)))
    readings = prober.read(signs)
    evaluations = 2 * k
    agreed = not any(r.disagrees for r in readings)
    outcome = ProbeOutcome(agreed, readings, evaluations, {}, {}, {})
    if agreed:
        return outcome
    for which in range(len(space.arrays)):
        mask = space.mask(which)
        if len(space.arrays) == 1:
            block = readings
        else:
            block = prober.read(signs * mask)
            outcome.evaluations += 2 * k
        outcome.blocks[which] = block
        if not _localise(prober, which, signs * mask, block, outcome):
            outcome.untraced.add(which)
            outcome.leaves.pop(which, None)
    for which, entries in outcome.leaves.items():
        judged = judge_leaves(which, entries)
        outcome.judged[which] = judged
        outcome.evaluations += judged[1].evaluations
        if judged[1].failed.any() or judged[1].non_finite is not None or which in outcome.more:
            continue
        rest = space.mask(which)
        shape = space.arrays[which].shape
        start = int(space.bounds[which])
        rest[[start + int(np.ravel_multi_index(index, shape)) for index in entries]] = False
        fresh = np.asarray(rademacher(n, k, int(seed), CONFIRM_STREAM)) * rest
        outcome.confirmed[which] = prober.read(fresh)
        outcome.evaluations += 2 * k
    return outcome


def _localise(
    prober: Prober, which: int, signs: np.ndarray, readings: list[Reading], outcome: ProbeOutcome
) -> bool:
    """Bisect every disagreeing probe of one argument down to entries (into ``outcome``).

    Returns:
      Whether every disagreement was traced to entries (or to MAX_LEAVES of them).
    """
    space = prober.space
    excluded = np.zeros(signs.shape[1], dtype=bool)
    found_here = 0
    for j, first in enumerate(readings):
        if not first.disagrees:
            continue
        # Entries found behind earlier probes are left out; what disagrees still lies elsewhere.
        reading = first
        while reading.disagrees:
            v = signs[j] * ~excluded
            if excluded.any():
                reading = prober.read(v[None, :])[0]
                outcome.evaluations += 2
                if not reading.disagrees:
                    break
            if not reading.finite:
                return False
            if found_here >= MAX_LEAVES:
                outcome.more.add(which)  # enough entries named; more lie behind this probe
                return True
            found, spent = _bisect(prober, v, reading)
            outcome.evaluations += spent
            if not found:
                return False
            for flat in found:
                excluded[flat] = True
                found_here += 1
                _, index = space.locate(flat)
                outcome.leaves.setdefault(which, []).append(index)
    return True


def _bisect(prober: Prober, v: np.ndarray, reading: Reading) -> tuple[list[int], int]:
    """The coordinates behind a disagreeing probe, by bisection (worst half first). Where neither
    half of a disagreeing set disagrees alone (the residual sits at the tolerance's edge, or is
    split between the halves), the worse half is followed, so the search always ends at entries.

    Returns:
      (flat coordinates found, evaluations spent).
    """
    support = np.flatnonzero(v)
    heap: list[tuple[float, int, np.ndarray]] = [(-reading.ratio, 0, support)]
    found: list[int] = []
    spent, counter = 0, 1
    while heap and len(found) < MAX_LEAVES and spent < MAX_BISECTION_EVALUATIONS:
        _, _, coords = heapq.heappop(heap)
        if len(coords) == 1:
            found.append(int(coords[0]))
            continue
        halves = (coords[: len(coords) // 2], coords[len(coords) // 2 :])
        rows = np.zeros((2, v.size))
        for row, half in zip(rows, halves, strict=True):
            row[half] = v[half]
        readings = prober.read(rows)
        spent += 4
        parts = [(half, part) for half, part in zip(halves, readings, strict=True)]
        followed = [(half, part) for half, part in parts if part.disagrees]
        if not followed:
            followed = [max(parts, key=lambda hp: hp[1].ratio)]
        for half, part in followed:
            heapq.heappush(heap, (-part.ratio, counter, half))
            counter += 1
    return found, spent
