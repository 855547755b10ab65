"""The report's explanatory text and headline table, generated from the measured curves.

Every number in the text is read off the sweep; nothing is hand-written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# sweep_model, not sweep: no JAX is needed to write the text.
from harness.sweep.model import FIT_DECADES, SEED_STEP, CaseSweep, Curve, smoothed

HEADLINE_HEADERS = (
    "case",
    "arg",
    "swept along",
    "forward slope",
    "central slope",
    "best forward (h)",
    "best central (h)",
    "forward / central",
    "central at h=1e-4",
)
CASE_HEADERS = (
    "case",
    "arguments",
    "best forward (h)",
    "best central (h)",
    "forward / central",
)
WIN_FACTOR = 100.0  # the seed note's claim, made measurable: central at least this much better


def _pick(sweep: CaseSweep, arg: str, dtype: str, scheme: str) -> Curve | None:
    for c in sweep.curves:
        if (c.arg, c.dtype, c.scheme) == (arg, dtype, scheme):
            return c
    return None


def _pairs(sweeps: Sequence[CaseSweep], dtype: str) -> list[tuple[CaseSweep, Curve, Curve]]:
    """(sweep, forward, central) for every swept argument."""
    pairs = []
    for s in sweeps:
        for arg in dict.fromkeys(c.arg for c in s.curves):
            forward, central = _pick(s, arg, dtype, "forward"), _pick(s, arg, dtype, "central")
            if forward is not None and central is not None:
                pairs.append((s, forward, central))
    return pairs


def num_text(value: float | None, digits: int = 2) -> str:
    """A number in the report's tables: scientific notation, "—" when unknown."""
    return "—" if value is None else f"{value:.{digits}e}"


def _e(value: float | None) -> str:
    return num_text(value, 1)


def _ratio(forward_error: float, central_error: float) -> float:
    """forward / central error, inf when the central error is exactly 0."""
    return float("inf") if central_error == 0 else forward_error / central_error


def _ratio_text(ratio: float | None) -> str:
    return "—" if ratio is None else "exact" if ratio == float("inf") else f"{ratio:.3g}×"


def _edge_label(sweep: CaseSweep) -> str:
    return " (domain edge)" if sweep.at_domain_edge else ""


def _error_at(error: float | None, h: float | None) -> str:
    """An "error (h)" cell."""
    return f"{_e(error)} ({_e(h)})"


def win_ratio(forward: Curve, central: Curve) -> float | None:
    """Best forward error / best central error (inf when central is exact; None if unknown)."""
    if forward.best_error is None or central.best_error is None:
        return None
    return _ratio(forward.best_error, central.best_error)


def whole_gradient_best(sweep: CaseSweep, dtype: str, scheme: str) -> tuple[float, float] | None:
    """(best h, best error) of a case's whole gradient: every argument at the same h.

    The error at each h is the largest absolute error over all arguments' entries (or
    directions) divided by the largest exact derivative among them -- each curve's measure,
    taken over the whole gradient -- and its best is read off the same running median.

    Args:
      sweep: the case.
      dtype: "float64" or "float32".
      scheme: the difference scheme.

    Returns:
      (h, error) at the lowest point, or None when the case has no finite point.
    """
    curves = [c for c in sweep.curves if c.dtype == dtype and c.scheme == scheme]
    if not curves:
        return None
    peak = max(c.peak for c in curves)
    absolute = np.array(
        [[np.nan if e is None else e * c.peak for e in c.error] for c in curves], dtype=float
    )
    error = absolute.max(axis=0) / peak  # nan where any argument's point was not finite
    if not np.isfinite(error).any():
        return None
    typical = smoothed(error)
    index = int(np.nanargmin(typical))
    return float(curves[0].h[index]), float(typical[index])


def whole_gradient_comparison(
    sweep: CaseSweep,
) -> tuple[tuple[float, float], tuple[float, float], float] | None:
    """(forward, central, forward / central) of a case's whole gradient in float64.

    Args:
      sweep: the case.

    Returns:
      forward and central as `whole_gradient_best` gives them, and the ratio of their errors (inf
      when the central error is 0); None when either has no finite point.
    """
    forward = whole_gradient_best(sweep, "float64", "forward")
    central = whole_gradient_best(sweep, "float64", "central")
    if forward is None or central is None:
        return None
    return forward, central, _ratio(forward[1], central[1])


def case_rows(sweeps: Sequence[CaseSweep]) -> tuple[list[list[str]], tuple[str, ...]]:
    """One float64 row per swept case: the whole gradient's best errors and their ratio.

    Args:
      sweeps: case sweeps.

    Returns:
      (rows, headers) for tabulate.
    """
    rows = []
    for s in sweeps:
        whole = whole_gradient_comparison(s)
        if whole is None:
            continue
        forward, central, ratio = whole
        args = ", ".join(dict.fromkeys(c.arg for c in s.curves))
        rows.append(
            [
                s.name + _edge_label(s),
                args,
                _error_at(forward[1], forward[0]),
                _error_at(central[1], central[0]),
                _ratio_text(ratio),
            ]
        )
    return rows, CASE_HEADERS


def _slope(curve: Curve) -> str:
    fit = curve.truncation
    if fit.slope is None:
        return "— (no truncation side)" if fit.decades == 0 else f"— ({fit.decades:.1f} dec.)"
    return f"{fit.slope:.2f} ({fit.decades:.1f} dec.)"


def headline_rows(sweeps: Sequence[CaseSweep]) -> tuple[list[list[str]], tuple[str, ...]]:
    """One float64 row per swept argument: slopes, best errors and their ratio.

    Args:
      sweeps: case sweeps.

    Returns:
      (rows, headers) for tabulate.
    """
    rows = []
    for s, forward, central in _pairs(sweeps, "float64"):
        rows.append(
            [
                s.name + _edge_label(s),
                forward.arg,
                f"{forward.count} {forward.mode}",
                _slope(forward),
                _slope(central),
                _error_at(forward.best_error, forward.best_h),
                _error_at(central.best_error, central.best_h),
                _ratio_text(win_ratio(forward, central)),
                _e(central.seed_error),
            ]
        )
    return rows, HEADLINE_HEADERS


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def _range(values: list[float], fmt: str = ".2f") -> str:
    if not values:
        return "none measured"
    return f"median {_median(values):{fmt}}, range {min(values):{fmt}} to {max(values):{fmt}}"


def _nearest(curve: Curve, h: float) -> float | None:
    index = int(np.argmin(np.abs(np.log10(np.array(curve.h)) - np.log10(h))))
    return curve.error[index]


def _slopes_text(pairs: list) -> str:
    lines = []
    for index, name in enumerate(("forward", "central")):
        curves = [(f, c)[index] for _, f, c in pairs]
        long = [c.truncation.slope for c in curves if c.truncation.decades >= FIT_DECADES]
        long = [v for v in long if v is not None]
        short = sum(c.truncation.decades < FIT_DECADES for c in curves)
        lines.append(
            f"{name}: {_range(long)} over {len(long)} curves whose truncation side spans at "
            f"least {FIT_DECADES:g} decades ({short} shorter or absent)"
        )
    return "; ".join(lines)


def explanation(sweeps: Sequence[CaseSweep]) -> list[str]:
    """Paragraphs explaining the measurements: who won, slopes, rounding, and h = 1e-4.

    Args:
      sweeps: case sweeps.

    Returns:
      Plain-text paragraphs (one string each; empty strings separate them in Markdown).
    """
    pairs64 = _pairs(sweeps, "float64")
    if not pairs64:
        return ["No case had a numerical check to sweep."]
    smooth = [(s, f, c) for s, f, c in pairs64 if not s.at_domain_edge]
    ratios = [r for r in (win_ratio(f, c) for _, f, c in smooth) if r is not None]
    wins = sum(r >= WIN_FACTOR for r in ratios)
    curved = [r for _, f, c in smooth if c.model_interior and (r := win_ratio(f, c)) is not None]
    flat = [r for _, f, c in smooth if not c.model_interior and (r := win_ratio(f, c))]
    flat = [r for r in flat if np.isfinite(r)]
    below = [
        f"{s.name} {f.arg} ({r:.0f}×; the model predicts "
        f"{f.model_best_error / c.model_best_error:.0f}×; its largest derivative is "
        f"{f.peak / max(x.peak for x in s.curves if x.dtype == 'float64'):.2g} of the case's)"
        for s, f, c in smooth
        if (r := win_ratio(f, c)) is not None and r < WIN_FACTOR
    ]
    whole = []  # (case, ratio) of the whole gradient, cases inside their domain
    for s in dict.fromkeys(s for s, _, _ in smooth):
        comparison = whole_gradient_comparison(s)
        if comparison is not None:
            whole.append((s.name, comparison[2]))
    whole_wins = sum(r >= WIN_FACTOR for _, r in whole)
    whole_below = [f"{name} ({r:.0f}×)" for name, r in whole if r < WIN_FACTOR]
    directional = sorted({f"{s.name} {f.arg}" for s, f, _ in pairs64 if f.mode == "directions"})
    # A directional curve compares one derivative per direction: its count is the sweep's
    # direction count (read off the data, so this module needs no JAX).
    direction_counts = sorted({f.count for _, f, _ in pairs64 if f.mode == "directions"})
    edges = [s.name for s in sweeps if s.at_domain_edge]
    text = [
        "How to read this. Each curve is the error of one finite-difference scheme against "
        "jax.grad (float64) as the step h shrinks from 1e-1 to 1e-16: the largest absolute error "
        "over the entries of the gradient (or over random unit directions, for large arguments), "
        "divided by the largest exact derivative. The error model of docs/design.md predicts a V: "
        "truncation error falling like h (forward, backward) or h² (central) as h shrinks, then "
        "rounding error growing like ε·|f|/h. Dashed lines are that model, computed from the "
        "exact f, f'' and f''' (JAX) at each point; stars mark the measured best h (the lowest "
        "point of a 5-step running median, so one lucky cancellation does not count).",
        "",
        f"Which scheme won. Over the {len(whole)} cases whose steps stay inside the "
        "function's domain, the central difference's best error on the whole gradient (every "
        "argument at one h, as a check computes it) was at least "
        f"{WIN_FACTOR:.0f}× smaller than the forward difference's in {whole_wins} of "
        f"{len(whole)}: {_range([r for _, r in whole if np.isfinite(r)], '.3g')}×"
        + (f"; below {WIN_FACTOR:.0f}×: {', '.join(whole_below)}." if whole_below else ".")
        + f" Argument by argument ({len(smooth)} float64 curves) it was in {wins} of "
        f"{len(ratios)}. Where f''' ≠ 0 (a real trade-off between truncation and rounding) the "
        f"ratio is {_range(curved, '.3g')}× over {len(curved)} curves; where f''' = 0 "
        "(quadratics: the central difference has no truncation error, only rounding) it is "
        f"{_range(flat, '.3g')}× over {len(flat)} curves."
        + (
            f" Below {WIN_FACTOR:.0f}×: {', '.join(below)}. The model's best errors are "
            "2·√(ε|f|·|f''|) forward and about (ε|f|)^(2/3)·|f'''|^(1/3) central, so the ratio "
            "shrinks where the curvature f'' along the step is small next to f''' -- as along "
            "a random unit direction in many dimensions. An argument whose derivatives are "
            "small next to the case's largest weighs little in the whole gradient's error."
            if below
            else ""
        ),
        "",
        f"Truncation slopes (float64, fitted over the first {FIT_DECADES:g} decades of the "
        f"truncation side): {_slopes_text(pairs64)}.",
    ]
    for dtype in ("float64", "float32"):
        pairs = _pairs(sweeps, dtype)
        fwd_h = [f.best_h for s, f, _ in pairs if f.best_h and not s.at_domain_edge]
        cen = [c for s, _, c in pairs if c.best_h and not s.at_domain_edge]
        interior = [c.best_h for c in cen if c.model_interior]
        rounding = [
            x.rounding.slope
            for _, f, c in pairs
            for x in (f, c)
            if x.rounding.slope is not None and x.rounding.decades >= FIT_DECADES
        ]
        lost = [f.lost_h for _, f, _ in pairs if f.lost_h is not None]
        text += [
            "",
            f"Where rounding takes over ({dtype}). Below the best h the error grows again: "
            f"forward best h {_range(fwd_h, '.1e')}; central best h {_range(interior, '.1e')} "
            f"where f''' ≠ 0 (where f''' = 0 the central error only falls as h grows). "
            f"Fitted rounding-side slopes: {_range(rounding)} (the model says −1)."
            + (
                f" At h ≤ {_median(lost):.1e} (median) the forward quotient has lost half the "
                "derivative or more: x + h rounds towards x and f(x + h) − f(x) is noise."
                if lost
                else ""
            ),
        ]
    text += ["", _minimum_text(sweeps, "float64"), "", _minimum_text(sweeps, "float32")]
    text += ["", _seed_step_text(sweeps)]
    text += [
        "",
        "Sweep modes. "
        + (
            f"Swept along {'/'.join(map(str, direction_counts))} seeded random unit directions "
            f"(directional derivative against ∇f·v from JAX): {', '.join(directional)}. "
            if directional
            else ""
        )
        + "Every other argument was swept entry by entry (the full gradient).",
    ]
    if edges:
        text += [
            "",
            f"Domain edges: {', '.join(edges)} have non-finite points (a step left the "
            "function's domain, e.g. log of a negative number); they are recorded as such, left "
            "out of every fit, and these cases are not counted in the comparison above.",
        ]
    return text


def _minimum_text(sweeps: Sequence[CaseSweep], dtype: str) -> str:
    """Where each curve's minimum lies against the model's best h, both ways of reading it."""
    curves = [
        c
        for s in sweeps
        if not s.at_domain_edge
        for c in s.curves
        if c.dtype == dtype and c.model_interior
    ]

    def spread(pairs: list[tuple[float, Curve]]) -> str:
        if not pairs:
            return "none"
        factors = [max(r, 1 / r) for r, _ in pairs]
        worst_factor, (_, worst) = max(zip(factors, pairs, strict=True), key=lambda p: p[0])
        return (
            f"{_range([r for r, _ in pairs], '.2g')} over {len(pairs)} curves (the farthest, "
            f"{worst_factor:.2g}× away: {worst.case} {worst.arg} {worst.scheme})"
        )

    fitted = [(c.fitted_best_h / c.model_best_h, c) for c in curves if c.fitted_best_h]
    lowest = [(c.best_h / c.model_best_h, c) for c in curves if c.best_h]
    return (
        f"Minimum against the model ({dtype}, curves whose model has an interior minimum, cases "
        "inside their domain), as measured h / the model's best h. The minimum of the V fitted "
        f"to both sides (where both were fitted): {spread(fitted)}. The lowest measured point: "
        f"{spread(lowest)}."
    )


def _seed_step_text(sweeps: Sequence[CaseSweep]) -> str:
    """Why h = 1e-4 is a fair default, from the central curves of both dtypes.

    Candidate steps: the seed's h and each dtype's typical (median) best central h. For each, the
    factor by which its error exceeds each curve's own best; a candidate's typical cost is the
    larger of the two dtypes' median factors (the worst curve is named, not hidden).
    """
    seed = SEED_STEP
    # Only curves with a real trade-off (the model has an interior optimum, f''' != 0): on a
    # quadratic the central "best" is the largest h, where only rounding is left.
    central = {
        dtype: [
            c
            for s, _, c in _pairs(sweeps, dtype)
            if not s.at_domain_edge and c.best_error and c.model_interior
        ]
        for dtype in ("float64", "float32")
    }
    candidates = {f"the seed's h = {seed:g}": seed}
    for dtype, curves in central.items():
        interior = [c.best_h for c in curves if c.model_interior and c.best_h]
        if interior:
            candidates[f"{dtype}'s typical optimum h = {_median(interior):.1e}"] = _median(interior)
    typical: dict[str, float] = {}  # the larger of the two dtypes' median factors
    parts = []
    for label, h in candidates.items():
        per_dtype = []
        for dtype, curves in central.items():
            factors = [
                (e if e is not None else np.inf) / c.best_error
                for c in curves
                for e in [_nearest(c, h)]
            ]
            if factors:
                worst = max(zip(factors, curves, strict=True), key=lambda fc: fc[0])
                per_dtype.append(
                    f"{dtype} {_range(factors, '.2g')}× (worst: {worst[1].case} {worst[1].arg})"
                )
                typical[label] = max(typical.get(label, 0.0), _median(factors))
        parts.append(f"{label}: " + "; ".join(per_dtype))
    if not typical:
        return "No central curve to judge the seed's h by."
    winner = min(typical, key=typical.get)
    seed_label = next(iter(candidates))
    verdict = (
        f"So {seed_label} has the smallest typical cost over both dtypes (median "
        f"{typical[seed_label]:.3g}× the best in the worse dtype)"
        if winner == seed_label
        else f"Here {winner} has the smaller typical cost ({typical[winner]:.3g}× against "
        f"{typical[seed_label]:.3g}× for {seed_label})"
    )
    return (
        "Why h = 1e-4 is a fair default. Error of the central difference at a fixed h, as a "
        "multiple of each curve's best (curves with f''' ≠ 0): "
        + " | ".join(parts)
        + f". {verdict}: one step for float32 and float64 alike, typically close to the best of "
        "either, while each dtype's own optimum costs more in the other dtype."
        if winner == seed_label
        else "Why h = 1e-4. Error of the central difference at a fixed h, as a multiple of each "
        "curve's best (curves with f''' ≠ 0): " + " | ".join(parts) + f". {verdict}."
    )
