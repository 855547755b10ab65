"""One error-versus-h curve: the measured points, the fitted slopes and the error model
(docs/design.md).

The model (docs/design.md, "Finite differences: the error model") for a quotient of order p along a
unit vector u with actual step s:

    error(s) ~ s^p |D^(p+1) f[u, ..., u]| / (p+1)!  +  rounding(s)

with p = `policy.ORDER[scheme]` (forward/backward 1, central 2) and rounding(s) the policy's
`rounding_bound`: c (eps |f| + eps sum_j |x_j g_j u_j|) / s, c = `policy.ROUNDING_FACTOR` (2 for
one-sided, 1 for central). For one entry this has its minimum at the table's best h
(2 sqrt(eps |f| / |f''|) forward, (3 eps |f| / |f'''|)^(1/3) central); for many entries the
curve is the maximum over entries, relative to the largest exact derivative, like the measured
error, and its minimum is found on a fine grid.

Fits. The truncation side starts at the first step above the measured minimum whose error is
TRUNCATION_RISE times the minimum (there rounding is at most ~1% of the error for p = 1 or 2)
and runs up to the largest step before the first non-finite point; its length in decades is
the fit's ``decades`` (``Curve.truncation.decades``). The slope is a least-squares line in
log-log through the first FIT_DECADES decades of it (the asymptotic part: larger steps feel the
next Taylor term). The
rounding side is fitted the same way, mirrored, over points whose error is still below 0.5 (at
smaller steps x + s rounds to x and the quotient collapses to 0).

Two minima. ``best_h`` is the lowest point of a running median of the measured errors;
``fitted_best_h`` is where the two fitted sides, added up (a h^m + b h^-n), are lowest. They agree
when the V is sharp. In float32 the bottom is often flat over half a decade and rounding errors
are quantised, so single points are lucky and the lowest one can sit several grid steps from the
crossing of the two sides; the fitted minimum uses every point of both sides instead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from harness.judge import tolerance as policy

TRUNCATION_RISE = 10.0
FIT_DECADES = 2.0
LOST = 0.5  # relative error at which the quotient has lost half the derivative
MODEL_POINTS_PER_DECADE = 40
# The best point is read off a running median over this many neighbouring steps (half a decade
# each side at 4 points per decade): a single lucky cancellation is not the curve's minimum.
SMOOTHING_POINTS = 5
SEED_STEP = 1e-4  # the seed note's h
# A case is "at a domain edge" when a step this small already leaves the domain (nan or inf):
# its central V is cut off near its bottom, so it is left out of the scheme comparison.
EDGE_STEP = 1e-3


def array_numbers(args: Sequence[Any]) -> int:
    """How many numbers a case's array arguments hold (its size, and a proxy for sweep cost).

    Args:
      args: the arguments; only NumPy arrays count.

    Returns:
      The total number of entries.
    """
    return sum(int(a.size) for a in args if isinstance(a, np.ndarray))


def smoothed(error: np.ndarray) -> np.ndarray:
    """Running median of the finite errors over SMOOTHING_POINTS neighbours (nan stays nan).

    Args:
      error: errors in grid order, nan where not finite.

    Returns:
      An array shaped like error; each finite entry is one of the measured values nearby.
    """
    half = SMOOTHING_POINTS // 2
    out = np.full(len(error), np.nan)
    for i in range(len(error)):
        if not np.isfinite(error[i]):
            continue
        window = error[max(0, i - half) : i + half + 1]
        window = np.sort(window[np.isfinite(window)])
        out[i] = window[(len(window) - 1) // 2]  # the lower median: always a measured value
    return out


@dataclass(frozen=True)
class SideFit:
    """A straight line through one side of the V, in log10(error) against log10(h)."""

    slope: float | None
    low: float | None  # smallest h of the fit window
    high: float | None  # largest h of the fit window
    decades: float  # how many decades that side spans in all
    points: int


@dataclass(frozen=True)
class Curve:
    """Error against h for one case, argument, dtype and scheme, with its fits and model."""

    case: str
    arg: str
    dtype: str
    scheme: str
    mode: str  # "entries" (full gradient) or "directions" (random unit directions)
    size: int  # entries of the argument
    count: int  # entries or directions compared per point
    h: tuple[float, ...]
    error: tuple[float | None, ...]  # None: a quotient was not finite
    model: tuple[float, ...]  # the model's total error at each h
    model_truncation: tuple[float, ...]  # its truncation part (slope 1 or 2)
    model_rounding: tuple[float, ...]  # its rounding part (slope -1)
    best_h: float | None  # where the running-median error is lowest
    best_error: float | None  # that running-median error (a measured value nearby)
    model_best_h: float
    model_best_error: float
    model_interior: bool  # False: the model's minimum is at the grid's edge (no truncation)
    seed_error: float | None
    lost_h: float | None  # the largest h whose error is >= LOST (None: never)
    truncation: SideFit
    rounding: SideFit
    # The errors' denominator (the largest |exact derivative|, 1 for an all-zero gradient): the
    # curves of one case can be put back on one scale to compare whole gradients.
    peak: float = 1.0
    # The minimum of the V fitted to both sides (None unless both sides were fitted): where the
    # fitted truncation and rounding lines meet. Less noisy than the lowest point when the
    # bottom of the V is flat and rounding noise makes single points lucky (float32).
    fitted_best_h: float | None = None
    fitted_best_error: float | None = None

    @property
    def nonfinite(self) -> int:
        """How many points were not finite."""
        return sum(e is None for e in self.error)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        for key in ("h", "error", "model", "model_truncation", "model_rounding"):
            data[key] = list(getattr(self, key))
        data["nonfinite"] = self.nonfinite
        return data


def _model_parts(
    scheme: str,
    h: np.ndarray,
    step_scale: np.ndarray,
    taylor: np.ndarray,
    coupling: np.ndarray,
    eps: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(truncation, rounding) absolute errors of the model, each (len(h), k): see `model_errors`."""
    order = policy.ORDER[scheme]
    steps = np.asarray(h, dtype=np.float64)[:, None] * step_scale[None, :]
    higher = np.abs(taylor[:, order + 1])[None, :]
    truncation = steps**order * higher / math.factorial(order + 1)
    rounding = policy.rounding_bound(
        scheme, steps, float(np.abs(taylor[0, 0])), eps, coupling[None, :], eps, 1.0
    )
    return truncation, rounding


def model_errors(
    scheme: str,
    h: np.ndarray,
    step_scale: np.ndarray,
    taylor: np.ndarray,
    coupling: np.ndarray,
    eps: float,
    norm: float,
    part: str = "total",
) -> np.ndarray:
    """The model's relative error at each h: max over entries of truncation + rounding.

    Args:
      scheme: difference scheme.
      h: steps (unscaled).
      step_scale: (k,) the actual step of entry k is h * step_scale[k].
      taylor: (k, 4) f, f', f'', f''' along each entry's unit vector.
      coupling: (k,) sum_j |x_j g_j u_kj| (rounding of x + s u).
      eps: eps of the dtype the function is evaluated in.
      norm: the error is divided by this (the largest exact derivative).
      part: "total", or "truncation" / "rounding" alone (each maximised over entries).

    Returns:
      An array shaped like h.
    """
    truncation, rounding = _model_parts(scheme, h, step_scale, taylor, coupling, eps)
    chosen = {"total": truncation + rounding, "truncation": truncation, "rounding": rounding}
    return chosen[part].max(axis=1) / norm


def _per_h(part: np.ndarray, norm: float) -> tuple[float, ...]:
    """A (len(h), k) model part as `model_errors` reports it: max over entries, over norm."""
    return tuple(float(m) for m in part.max(axis=1) / norm)


def fit_side(h: np.ndarray, error: np.ndarray, side: str) -> tuple[SideFit, float | None]:
    """Fit a straight line in log-log to one side of a curve's V.

    The truncation side starts where the error has risen TRUNCATION_RISE above the curve's
    (smoothed) lowest point and spans FIT_DECADES towards larger h; the rounding side the same
    towards smaller h, stopping where the quotient has lost the derivative (error LOST).

    Args:
      h: the steps.
      error: the error at each step (non-finite and zero points are left out).
      side: "truncation" or "rounding".

    Returns:
      The fit, and the fitted line's coefficient a of a * h^slope (None without a slope).
    """
    order = np.argsort(h)
    h, error = np.asarray(h)[order], np.asarray(error)[order]
    valid = np.isfinite(error) & (error > 0)
    none = SideFit(None, None, None, 0.0, 0)
    if not valid.any():
        return none, None
    typical = smoothed(np.where(valid, error, np.nan))  # an exact 0 has no logarithm
    best = int(np.flatnonzero(valid)[np.nanargmin(typical[valid])])
    floor = typical[best]
    step = 1 if side == "truncation" else -1
    run = []
    index = best + step
    while 0 <= index < len(h) and valid[index]:
        if side == "rounding" and error[index] >= LOST:
            break
        run.append(index)
        index += step
    risen = [i for i in run if error[i] >= TRUNCATION_RISE * floor]
    if not risen:
        return none, None
    start, end = risen[0], run[-1]
    decades = abs(math.log10(h[end] / h[start]))
    window_edge = h[start] * 10.0 ** (step * FIT_DECADES)
    chosen = [
        i
        for i in run
        if (h[i] - h[start]) * step >= 0 and (window_edge - h[i]) * step >= -1e-12 * h[i]
    ]
    if len(chosen) < 3:
        return SideFit(None, None, None, decades, len(chosen)), None
    slope, intercept = np.polyfit(np.log10(h[chosen]), np.log10(error[chosen]), 1)
    lows = h[chosen]
    fit = SideFit(float(slope), float(lows.min()), float(lows.max()), decades, len(chosen))
    return fit, float(10.0**intercept)


def fitted_minimum(
    truncation: tuple[SideFit, float | None], rounding: tuple[SideFit, float | None]
) -> tuple[float, float] | None:
    """Minimum of a h^m + b h^-n, the two fitted sides of a measured V added up.

    Args:
      truncation: the fitted truncation side and its coefficient a, as `fit_side` returns them.
      rounding: the fitted rounding side and its coefficient b.

    Returns:
      (h at the minimum, error there), or None unless both sides have a fit with the V's signs
      (truncation rising with h, rounding falling).
    """
    (truncation_fit, a), (rounding_fit, b) = truncation, rounding
    if truncation_fit.slope is None or rounding_fit.slope is None or a is None or b is None:
        return None
    m, n = truncation_fit.slope, -rounding_fit.slope
    if m <= 0 or n <= 0:
        return None
    best = (n * b / (m * a)) ** (1.0 / (m + n))
    return float(best), float(a * best**m + b * best**-n)


def analyse_curve(
    *,
    case: str,
    arg: str,
    dtype: str,
    scheme: str,
    mode: str,
    size: int,
    grid: np.ndarray,
    quotients: np.ndarray,
    exact: np.ndarray,
    step_scale: np.ndarray,
    taylor: np.ndarray,
    coupling: np.ndarray,
    eps: float,
    seed_step: float,
) -> Curve:
    """Turn measured quotients into a Curve: errors, best h, fits, model, error at the seed h.

    Args:
      case, arg, dtype, scheme, mode, size: labels.
      grid: (m,) steps h.
      quotients: (m, k) finite-difference derivatives for each step and entry/direction.
      exact: (k,) exact derivatives.
      step_scale: (k,) actual step = h * step_scale.
      taylor: (k, 4) Taylor coefficients along each unit vector (for the model).
      coupling: (k,) model input, see `model_errors`.
      eps: eps of the dtype.
      seed_step: the h whose error is reported on its own.

    Returns:
      The Curve.
    """
    peak = float(np.abs(exact).max())
    norm = peak if peak > 0 else 1.0  # an all-zero gradient: report absolute errors
    with np.errstate(invalid="ignore"):
        raw = np.abs(quotients - exact[None, :]).max(axis=1) / norm
    finite = np.all(np.isfinite(quotients), axis=1)
    error = np.where(finite, raw, np.nan)
    errors = tuple(float(e) if ok else None for e, ok in zip(error, finite, strict=True))
    model_truncation, model_rounding = _model_parts(scheme, grid, step_scale, taylor, coupling, eps)
    decades = math.log10(grid.max() / grid.min())
    fine = np.logspace(
        math.log10(grid.max()),
        math.log10(grid.min()),
        round(decades * MODEL_POINTS_PER_DECADE) + 1,
    )
    fine_model = model_errors(scheme, fine, step_scale, taylor, coupling, eps, norm)
    lowest = int(np.argmin(fine_model))
    best_h = best_error = None
    if finite.any():
        typical = smoothed(error)
        index = int(np.nanargmin(typical))
        best_h, best_error = float(grid[index]), float(typical[index])
    seed_index = np.flatnonzero(grid == seed_step)
    seed_error = errors[int(seed_index[0])] if len(seed_index) else None
    lost = [float(g) for g, e in zip(grid, errors, strict=True) if e is not None and e >= LOST]
    truncation = fit_side(grid, error, "truncation")
    rounding = fit_side(grid, error, "rounding")
    fitted = fitted_minimum(truncation, rounding)
    return Curve(
        case=case,
        arg=arg,
        dtype=dtype,
        scheme=scheme,
        mode=mode,
        size=size,
        count=len(exact),
        h=tuple(float(g) for g in grid),
        error=errors,
        model=_per_h(model_truncation + model_rounding, norm),
        model_truncation=_per_h(model_truncation, norm),
        model_rounding=_per_h(model_rounding, norm),
        best_h=best_h,
        best_error=best_error,
        model_best_h=float(fine[lowest]),
        model_best_error=float(fine_model[lowest]),
        model_interior=0 < lowest < len(fine) - 1,
        seed_error=seed_error,
        lost_h=max(lost, default=None),
        truncation=truncation[0],
        rounding=rounding[0],
        peak=norm,
        fitted_best_h=None if fitted is None else fitted[0],
        fitted_best_error=None if fitted is None else fitted[1],
    )


@dataclass(frozen=True)
class CaseSweep:
    """Every curve of one case, or why it was not swept."""

    name: str
    source: str
    curves: tuple[Curve, ...] = ()
    skipped: str | None = None

    @functools.cached_property  # frozen, but not slotted: the value goes into __dict__
    def at_domain_edge(self) -> bool:
        """True when a float64 step of EDGE_STEP or less left the function's domain (a
        non-finite point): the case sits too close to a domain edge for a full V."""
        return any(
            c.dtype == "float64" and h <= EDGE_STEP and e is None
            for c in self.curves
            for h, e in zip(c.h, c.error, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "source": self.source,
            "skipped": self.skipped,
            "at_domain_edge": self.at_domain_edge,
            "curves": [c.to_dict() for c in self.curves],
        }
