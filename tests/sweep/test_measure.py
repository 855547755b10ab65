"""The error-versus-h sweep: slopes, best steps and the error model on closed-form functions."""

import jax.numpy as jnp
import numpy as np
import pytest

from harness import case, oracle, scratch
from harness.judge import tolerance as policy
from harness.sweep import measure as sweep
from harness.sweep.explain import whole_gradient_best
from harness.sweep.model import fit_side, fitted_minimum


def _exp_case(x0=0.0):
    return case(
        "exp",
        fn=lambda x: float(np.sum(np.exp(x))),
        reference=lambda x: jnp.sum(jnp.exp(x)),
        args=(np.array([x0]),),
    )


def _curve(result, dtype, scheme):
    (curve,) = [c for c in result.curves if c.dtype == dtype and c.scheme == scheme]
    return curve


@pytest.fixture(scope="module")
def exp_sweep():
    return sweep.sweep_case(_exp_case())


def test_step_grid_spans_the_range_with_the_seed_step():
    grid = sweep.step_grid()
    assert grid[0] == pytest.approx(1e-1) and grid[-1] == pytest.approx(1e-16)
    assert len(grid) >= 4 * 15 + 1
    assert sweep.SEED_STEP in grid
    assert np.all(np.diff(np.log10(grid)) < 0)


def test_truncation_slopes_on_exp(exp_sweep):
    # exp at 0: f = f' = f'' = f''' = 1, so truncation is h/2 (one-sided) and h^2/6 (central).
    forward, backward, central = (
        _curve(exp_sweep, "float64", s) for s in ("forward", "backward", "central")
    )
    assert 0.9 <= forward.truncation.slope <= 1.1
    assert 0.9 <= backward.truncation.slope <= 1.1
    assert 1.8 <= central.truncation.slope <= 2.2
    assert forward.truncation.decades >= 2 and central.truncation.decades >= 2
    assert -1.3 <= forward.rounding.slope <= -0.7


def test_central_beats_forward_by_two_orders(exp_sweep):
    forward, central = (_curve(exp_sweep, "float64", s) for s in ("forward", "central"))
    assert central.best_error * 100 <= forward.best_error


def test_model_minimum_is_the_design_closed_form(exp_sweep):
    # x = 0, so the x + h rounding term vanishes and the table's formulas hold exactly.
    for dtype in ("float64", "float32"):
        eps = policy.eps(np.dtype(dtype))
        forward, central = (_curve(exp_sweep, dtype, s) for s in ("forward", "central"))
        assert forward.model_best_h == pytest.approx(2 * np.sqrt(eps), rel=0.07)
        assert central.model_best_h == pytest.approx((3 * eps) ** (1 / 3), rel=0.07)
        assert forward.model_interior and central.model_interior


def test_reference_that_cannot_be_jitted_is_swept():
    # Python control flow on a value: the oracle runs this reference eagerly.
    def reference(x):
        return jnp.sum(jnp.exp(x)) if x[0] > -1 else jnp.sum(x)

    made = case(
        "branchy-exp",
        fn=lambda x: float(np.sum(np.exp(x))),
        reference=reference,
        args=(np.array([0.0]),),
    )
    result = sweep.sweep_case(made)
    eps = policy.eps(np.dtype("float64"))
    forward, central = (_curve(result, "float64", s) for s in ("forward", "central"))
    # the model is built from the Taylor coefficients of exp at 0 (f = f'' = f''' = 1)
    assert forward.model_best_h == pytest.approx(2 * np.sqrt(eps), rel=0.07)
    assert central.model_best_h == pytest.approx((3 * eps) ** (1 / 3), rel=0.07)
    assert 1.8 <= central.truncation.slope <= 2.2


@pytest.mark.parametrize("scheme", ["forward", "central"])
def test_float32_minimum_near_the_prediction(exp_sweep, scheme):
    curve = _curve(exp_sweep, "float32", scheme)
    assert 0.1 <= curve.best_h / curve.model_best_h <= 10
    # and far from the float64 optimum: float32 really is a different regime
    assert curve.best_h > 10 * _curve(exp_sweep, "float64", scheme).best_h


def test_seed_step_error_is_reported(exp_sweep):
    central = _curve(exp_sweep, "float64", "central")
    index = central.h.index(sweep.SEED_STEP)
    assert central.seed_error == central.error[index]
    assert central.seed_error == pytest.approx(1e-8 / 6, rel=0.05)  # h^2 f'''/6 / f'


def test_non_finite_points_are_recorded_and_left_out_of_fits():
    # log(x) at x = 1e-3: every step above 1e-3 goes below zero on the minus side.
    made = case(
        "log-near-zero",
        fn=lambda x: float(np.sum(np.log(x))),
        reference=lambda x: jnp.sum(jnp.log(x)),
        args=(np.array([1e-3]),),
    )
    result = sweep.sweep_case(made)
    central = _curve(result, "float64", "central")
    forward = _curve(result, "float64", "forward")
    bad = [h for h, e in zip(central.h, central.error, strict=True) if e is None]
    assert bad and min(bad) >= 1e-3 and central.nonfinite == len(bad)
    assert forward.nonfinite == 0  # the forward step stays inside the domain
    assert central.truncation.high is not None and central.truncation.high < min(bad)
    assert central.best_error is not None and np.isfinite(central.best_error)
    assert result.at_domain_edge


def _flat_bottomed_v(a, m, b, n, floor):
    """max(a h^m, b h^-n, floor) on the sweep's grid, with a non-finite point at the largest h.

    A flat bottom makes the V's minimum the floor itself (whatever the smoothing), and pure
    power laws on each side make the fitted slope and coefficient exact, so the fit windows
    follow from the documented rule alone: a side starts at the first grid step whose error is
    TRUNCATION_RISE (10) times the minimum and spans FIT_DECADES (2) decades, stopping before a
    non-finite point (truncation) or an error of LOST (0.5) (rounding).
    """
    h = sweep.step_grid()  # 10^(-1 - k/4), k = 0..60
    error = np.maximum.reduce([a * h**m, b * h ** (-float(n)), np.full_like(h, floor)])
    error[0] = np.nan
    return h, error


# (a, m, b, n, floor), then per side (slope, coefficient, low, high, points, decades), the
# windows worked out by hand from the closed form (grid steps are 10^(-1 - k/4)):
V_SHAPES = {
    # truncation: 3 h^2 >= 1e-9 from h = 1.83e-5, first grid step 10^-4.5; two decades to
    # 10^-2.5; the side runs on to 10^-1.25 (10^-1 is non-finite), 3.25 decades.
    # rounding: 2e-17 / h >= 1e-9 up to h = 2e-8, last grid step 10^-7.75; two decades down to
    # 10^-9.75; never lost (2e-17 / 1e-16 = 0.2 < 0.5), so the side runs to 1e-16, 8.25 decades.
    "windows cut at two decades": (
        (3.0, 2, 2e-17, 1, 1e-10),
        (2.0, 3.0, 10**-4.5, 10**-2.5, 9, 3.25),
        (-1.0, 2e-17, 10**-9.75, 10**-7.75, 9, 8.25),
    ),
    # truncation: 0.7 h >= 1e-2 from h = 0.0143, first grid step 10^-1.75; cut by the
    # non-finite 10^-1 after 10^-1.25: three points, half a decade.
    # rounding: 1.5e-13 / h >= 1e-2 up to h = 1.5e-11, last grid step 1e-11; the quotient is lost
    # (error >= 0.5) below h = 3e-13, so the side stops at 10^-12.5: seven points, 1.5 decades.
    "windows cut by a non-finite point and a lost quotient": (
        (0.7, 1, 1.5e-13, 1, 1e-3),
        (1.0, 0.7, 10**-1.75, 10**-1.25, 3, 0.5),
        (-1.0, 1.5e-13, 10**-12.5, 10**-11, 7, 1.5),
    ),
}


@pytest.mark.parametrize("shape", list(V_SHAPES), ids=list(V_SHAPES))
def test_fit_side_on_a_synthetic_v(shape):
    v, *expected_sides = V_SHAPES[shape]
    h, error = _flat_bottomed_v(*v)
    for side, (slope, coefficient, low, high, points, decades) in zip(
        ("truncation", "rounding"), expected_sides, strict=True
    ):
        fit, fitted_coefficient = fit_side(h, error, side)
        assert fit.slope == pytest.approx(slope, abs=1e-12), side
        assert fitted_coefficient == pytest.approx(coefficient, rel=1e-11), side
        assert fit.low == pytest.approx(low, rel=1e-12), side
        assert fit.high == pytest.approx(high, rel=1e-12), side
        assert fit.points == points, side
        assert fit.decades == pytest.approx(decades, abs=1e-12), side


def _least_squares_slope(h, error):
    """Slope of the least-squares line through (log10 h, log10 error), from its normal equation."""
    u, v = np.log10(h), np.log10(error)
    return float(np.sum((u - u.mean()) * (v - v.mean())) / np.sum((u - u.mean()) ** 2))


@pytest.mark.parametrize(
    ("bend", "inside"),
    [(10**-3.5, True), (10**-2.0, False)],
    ids=["inside the window", "above the window"],
)
def test_fit_side_sees_a_planted_change_of_slope(bend, inside):
    # The first V above, with the truncation side bending from h^2 to h^3 at ``bend``. Its window
    # is 10^-4.5 .. 10^-2.5 (the bend does not move the start): a bend inside it must show in
    # the fitted slope as the least-squares slope of those nine points; one above it must not.
    h, error = _flat_bottomed_v(3.0, 2, 2e-17, 1, 1e-10)
    above = h > bend
    error[above] = 3.0 * bend**2 * (h[above] / bend) ** 3
    error[0] = np.nan
    fit, _ = fit_side(h, error, "truncation")
    assert fit.low == pytest.approx(10**-4.5) and fit.high == pytest.approx(10**-2.5)
    window = (h >= 10**-4.5 * (1 - 1e-12)) & (h <= 10**-2.5 * (1 + 1e-12))
    assert window.sum() == fit.points == 9
    if inside:
        expected = _least_squares_slope(h[window], error[window])
        assert 2.3 < expected < 2.7  # five points at slope 2, four more at slope 3
        assert fit.slope == pytest.approx(expected, rel=1e-12)
    else:
        assert fit.slope == pytest.approx(2.0, abs=1e-12)


@pytest.mark.parametrize("h", [1e-3, 1e-4])
def test_entries_mode_quotients_of_a_quadratic(h):
    # function_2 = sum(x**2): f(x + s e_i) - f(x) = 2 x_i s + s^2 exactly, so the forward
    # quotient is 2x + s, the backward 2x - s and the central 2x, up to rounding: each of the
    # two values subtracted is off by a few eps |f|, and x_i + s is rounded, misplacing the step
    # by eps (|x_i| + s), which the quotient sees times the slope 2|x_i| + s.
    x = np.array([0.3, -1.7, 2.5])
    steps = np.vstack([h * np.maximum(1.0, np.abs(x)), 0.5 * h * np.maximum(1.0, np.abs(x))])
    quotients = sweep._differences(scratch.function_2, [x.copy()], 0, steps, None)
    eps = np.finfo(np.float64).eps
    f = np.sum(x**2) + steps.max() * (2 * np.abs(x).max() + steps.max())
    rounding = 8 * eps * (f + (np.abs(x) + steps) * (2 * np.abs(x) + steps)) / steps
    closed_forms = {
        "forward": 2 * x + steps,
        "backward": 2 * x - steps,
        "central": 2 * x + 0 * steps,
    }
    for scheme, expected in closed_forms.items():
        got = quotients[scheme]
        assert got.shape == steps.shape
        assert np.all(np.abs(got - expected) <= rounding), scheme
    # the bound is far tighter than the step term that tells the schemes apart
    assert np.all(rounding < 1e-3 * steps)


def test_large_arguments_are_swept_along_directions(monkeypatch):
    monkeypatch.setattr(sweep, "DIRECTIONAL_ABOVE_ENTRIES", 3)
    x = np.linspace(-0.5, 0.5, 6)
    made = case(
        "sin-sum",
        fn=lambda v: float(np.sum(np.sin(v))),
        reference=lambda v: jnp.sum(jnp.sin(v)),
        args=(x,),
    )
    result = sweep.sweep_case(made)
    central = _curve(result, "float64", "central")
    assert central.mode == "directions" and central.count == sweep.DIRECTION_COUNT
    assert 1.8 <= central.truncation.slope <= 2.2
    assert 0.9 <= _curve(result, "float64", "forward").truncation.slope <= 1.1


def test_analytic_only_cases_are_skipped_and_arguments_untouched():
    x = np.array([1.0, 2.0])
    before = x.copy()
    made = case(
        "analytic-only",
        fn=scratch.function_2,
        reference=oracle.function_2,
        args=(x,),
        grad=lambda v: [2 * v],
        checks=("analytic",),
    )
    assert "analytic" in sweep.sweep_case(made).skipped
    swept = sweep.sweep_case(
        case("f2", fn=scratch.function_2, reference=oracle.function_2, args=(x,))
    )
    assert swept.curves and x.tobytes() == before.tobytes()


def test_fitted_minimum_of_a_synthetic_v():
    # a h + b / h is lowest at sqrt(b / a), with error 2 sqrt(a b).
    h = sweep.step_grid()
    a, b = 0.5, 2e-16
    error = a * h + b / h
    truncation, rounding = fit_side(h, error, "truncation"), fit_side(h, error, "rounding")
    assert truncation[1] == pytest.approx(a, rel=0.02) and rounding[1] == pytest.approx(b, rel=0.02)
    best = fitted_minimum(truncation, rounding)
    assert best is not None
    assert best[0] == pytest.approx(np.sqrt(b / a), rel=0.02)
    assert best[1] == pytest.approx(2 * np.sqrt(a * b), rel=0.02)
    # no rounding side (an exact quadratic's central difference): no fitted minimum
    flat = fit_side(h, a * h**2, "rounding")
    assert fitted_minimum(fit_side(h, a * h**2, "truncation"), flat) is None


def test_whole_gradient_of_one_argument_is_its_curve():
    # exp at 0.5: the peak derivative is e^0.5, not 1, so the rescaling is exercised
    result = sweep.sweep_case(_exp_case(0.5))
    for scheme in ("forward", "central"):
        curve = _curve(result, "float64", scheme)
        assert curve.peak == pytest.approx(np.exp(0.5), rel=1e-15)
        assert whole_gradient_best(result, "float64", scheme) == pytest.approx(
            (curve.best_h, curve.best_error), rel=1e-12
        )


def test_whole_gradient_weighs_arguments_by_their_derivatives():
    # d/db of 1e-6 sin(b) is a millionth of d/da of exp(a): b's relative errors are as large as
    # a's, but its absolute errors are a millionth, so the whole gradient's error is a's.
    made = case(
        "two-scales",
        fn=lambda a, b: float(np.exp(a[0]) + 1e-6 * np.sin(b[0])),
        reference=lambda a, b: jnp.exp(a[0]) + 1e-6 * jnp.sin(b[0]),
        args=(np.array([0.5]), np.array([0.3])),
    )
    result = sweep.sweep_case(made)
    a_curve = next(c for c in result.curves if c.arg == "a" and c.dtype == "float64")
    b_curve = next(c for c in result.curves if c.arg == "b" and c.dtype == "float64")
    assert b_curve.peak < 1e-5 * a_curve.peak
    whole = whole_gradient_best(result, "float64", a_curve.scheme)
    assert whole == pytest.approx((a_curve.best_h, a_curve.best_error), rel=1e-6)


@pytest.fixture(scope="module")
def shipped_sweeps():
    from harness.suite.collect import collect

    cases, errors = collect(["cases"])
    assert not errors
    return [sweep.sweep_case(c) for c in cases]


def test_shipped_cases_meet_the_error_model(shipped_sweeps):
    """The error-versus-h issue's criteria, measured on the shipped cases: truncation slopes near
    1 and 2 in float64, central at least 100x better than forward on every whole gradient inside
    its domain, and the float32 minimum within 10x of the model's best h."""
    smooth = [s for s in shipped_sweeps if s.curves and not s.at_domain_edge]
    assert any(s.at_domain_edge for s in shipped_sweeps)  # one-hot CEE at y = 0 is one
    assert len(smooth) >= 10
    for s in smooth:
        for c in s.curves:
            if c.dtype == "float64" and c.truncation.decades >= 2:
                low, high = (1.8, 2.2) if c.scheme == "central" else (0.9, 1.1)
                assert low <= c.truncation.slope <= high, (s.name, c.arg, c.scheme)
            if c.dtype == "float32":
                measured = c.fitted_best_h or c.best_h
                assert 0.1 <= measured / c.model_best_h <= 10, (s.name, c.arg, c.scheme)
        forward = whole_gradient_best(s, "float64", "forward")
        central = whole_gradient_best(s, "float64", "central")
        assert central[1] * 100 <= forward[1], s.name
