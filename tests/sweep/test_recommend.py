"""The recommended-step box: its numbers against closed forms, never against its own code.

Two kinds of input: real sweeps of sum(x**3) (the error model and the truncation error have
closed forms) and synthetic curves whose "measured" error is a known formula of h, built with
`analyse_curve` from quotients exact + e(h), so every step's error is known exactly.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from harness import case
from harness.sweep import measure as sweep
from harness.sweep import recommend
from harness.sweep.model import SEED_STEP, CaseSweep, analyse_curve

EPS64, EPS32 = float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)


def _cube_case(x0):
    return case(
        f"cube/x={x0}",
        fn=lambda x: float(np.sum(x**3)),
        reference=lambda x: jnp.sum(x**3),
        args=(np.array([x0]),),
    )


@pytest.fixture(scope="module")
def cube_half():
    return recommend.case_steps(sweep.sweep_case(_cube_case(0.5)))


@pytest.fixture(scope="module")
def cube_two():
    return recommend.case_steps(sweep.sweep_case(_cube_case(2.0)))


def _cube_model_best(x0, eps):
    """Central: the model adds truncation s^2 |f'''|/6 and rounding eps (|f| + |x f'|)/s (the
    design's rounding bound: evaluations of f, and x + s rounded), at s = h max(1, |x|). Its
    minimum is s* = (3 eps (|f| + |x f'|) / |f'''|)^(1/3); the error is relative to |f'|."""
    f, g, f3 = x0**3, 3 * x0**2, 6.0
    a = abs(f) + abs(x0 * g)
    s = (3 * eps * a / f3) ** (1 / 3)
    # + 2 eps: the bound's h-proportional terms, eps (s |g| + s |g|) / s, a constant
    error = (s**2 * f3 / 6 + eps * a / s + 2 * eps) / g
    return s / max(1.0, abs(x0)), error


@pytest.mark.parametrize("x0", [0.5, 2.0])
@pytest.mark.parametrize(("dtype", "eps"), [("float64", EPS64), ("float32", EPS32)])
def test_model_best_central_step_is_the_closed_form(x0, dtype, eps, cube_half, cube_two):
    steps = cube_half if x0 == 0.5 else cube_two
    row = steps.row("central", dtype)
    h, error = _cube_model_best(x0, eps)
    assert row.model_interior
    # the model's minimum is searched on 40 steps per decade: within half a step (3%)
    assert row.model.h == pytest.approx(h, rel=0.03)
    assert row.model.error == pytest.approx(error, rel=0.01)  # flat at the bottom


def test_model_best_forward_step_is_the_closed_form(cube_half):
    # forward: s |f''|/2 + 2 eps (|f| + |x f'|)/s, lowest at s = 2 sqrt(eps (|f| + |x f'|)/|f''|)
    x0 = 0.5
    f, g, f2 = x0**3, 3 * x0**2, 6 * x0
    h = 2 * math.sqrt(EPS64 * (abs(f) + abs(x0 * g)) / f2)
    assert cube_half.row("forward", "float64").model.h == pytest.approx(h, rel=0.03)


def test_measured_best_central_step_is_near_the_model(cube_half):
    h, _ = _cube_model_best(0.5, EPS64)
    measured = cube_half.row("central", "float64").measured
    assert h / 4 <= measured.h <= h * 4  # rounding noise moves the lowest point a grid step


def test_checker_steps_are_eps_powers(cube_half):
    expected = {
        ("central", "float64"): EPS64 ** (1 / 3),  # 6.1e-6
        ("forward", "float64"): EPS64**0.5,  # 1.5e-8
        ("backward", "float64"): EPS64**0.5,
        ("central", "float32"): EPS32 ** (1 / 3),  # 4.9e-3
        ("forward", "float32"): EPS32**0.5,  # 3.5e-4
        ("backward", "float32"): EPS32**0.5,
    }
    rows = {(r.scheme, r.dtype): r for r in cube_half.rows}
    assert set(rows) == set(expected)
    for key, h in expected.items():
        assert rows[key].checker.h == pytest.approx(h, rel=1e-12), key
        assert rows[key].book.h == 1e-4
    assert f"{expected[('central', 'float64')]:.1e}" == "6.1e-06"
    assert f"{expected[('central', 'float32')]:.1e}" == "4.9e-03"


def test_error_at_the_book_step_is_the_truncation_error(cube_half):
    # at h = 1e-4 the central error of x^3 is truncation alone: h^2 f'''/6 / f' = h^2 / 0.75
    # (rounding there is eps/h ~ 1e-12, a ten-thousandth of it)
    row = cube_half.row("central", "float64")
    assert row.book.error == pytest.approx(SEED_STEP**2 / 0.75, rel=1e-3)
    # forward: h f''/2 / f' = h * 3 / 2 / 0.75 = 2h, plus h^2 f'''/6 / f' (1e-8 / 0.75)
    forward = cube_half.row("forward", "float64")
    assert forward.book.error == pytest.approx(2 * SEED_STEP + SEED_STEP**2 / 0.75, rel=1e-3)


GRID = sweep.step_grid()


def _synthetic(name, error_of_h, dtype="float64", scheme="central"):
    """A Curve whose measured error at step h is exactly error_of_h(h) (nan: not finite)."""
    exact = np.array([1.0])
    quotients = (1.0 + np.array([error_of_h(h) for h in GRID]))[:, None]
    return analyse_curve(
        case=name,
        arg="x",
        dtype=dtype,
        scheme=scheme,
        mode="entries",
        size=1,
        grid=GRID,
        quotients=quotients,
        exact=exact,
        step_scale=np.ones(1),
        taylor=np.array([[1.0, 1.0, 1.0, 6.0]]),  # f''' != 0: the model has an interior minimum
        coupling=np.zeros(1),
        eps=EPS64 if dtype == "float64" else EPS32,
        seed_step=SEED_STEP,
    )


def _v(h, a=1.0, b=1e-18):
    return a * h**2 + b / h


def test_synthetic_v_lowest_point_and_costs():
    # error(h) = h^2 + 1e-18/h: lowest at h* = (1e-18/2)^(1/3) = 7.9e-7
    steps = recommend.case_steps(CaseSweep("v", "v.py:1", (_synthetic("v", _v),)))
    (row,) = steps.rows
    optimum = (1e-18 / 2) ** (1 / 3)
    assert optimum / 10**0.5 <= row.measured.h <= optimum * 10**0.5  # within two grid steps
    # the lowest error is one of the measured errors within two grid steps of the optimum
    near = [_v(h) for h in GRID if abs(math.log10(h / optimum)) <= 0.5 + 1e-9]
    assert min(near) <= row.measured.error <= max(near)
    # the checker's 6.1e-6 lies on the truncation side, between grid steps: h^2 + b/h there
    checker = EPS64 ** (1 / 3)
    assert row.checker.error == pytest.approx(_v(checker), rel=0.02)
    assert row.book.error == pytest.approx(_v(1e-4), rel=1e-6)  # a grid step: the point itself
    # costs are those errors over the lowest, and both fixed steps cost more than the lowest
    assert _v(1e-4) / max(near) <= row.cost("book") <= _v(1e-4) / min(near)
    assert row.cost("checker") >= 1 and row.cost("book") >= 1


def test_the_lesson_states_the_worst_book_cost_in_words():
    # cost at 1e-4 = (1e-8 + 1e-14) / ~2e-12: thousands of times the lowest
    sweeps = [CaseSweep("v", "v.py:1", (_synthetic("v", _v),))]
    lesson = recommend.lesson(recommend.all_case_steps(sweeps))
    text = " ".join(lesson)
    (row,) = recommend.case_steps(sweeps[0]).rows
    exponent = round(math.log10(row.cost("book")))
    assert exponent in (3, 4)  # 1e-8 / (2e-12 .. 6.6e-12)
    assert f"v at h = 1e-4 has error 1.0e-08, ~1e{exponent}× worse" in text
    # and which of the two fixed steps was better, with both medians
    assert "float64, central differences: the checker's h = 6.1e-06 is better" in text


def test_a_step_outside_the_domain_is_not_finite_and_said_so():
    # quotients not finite from h = 1e-5 up (the step leaves the domain): the book's 1e-4 and
    # the checker's 6.1e-6 (between 5.6e-6 and 1e-5) have no error
    steps = recommend.case_steps(
        CaseSweep("edge", "e.py:1", (_synthetic("edge", lambda h: np.nan if h > 8e-6 else _v(h)),))
    )
    (row,) = steps.rows
    assert row.book.error is None and row.checker.error is None
    assert row.cost("book") is None
    assert row.measured.error is not None
    (sentence,) = recommend.case_sentences(steps)
    assert sentence.count("not finite (a step leaves the function's domain)") == 2
    lesson = " ".join(recommend.lesson([steps]))
    assert (
        "float64: a step leaves the function's domain at the checker's h = 6.1e-06 in 1 case"
        in lesson
    )


def test_error_between_grid_steps_is_exact_on_a_power_law():
    h = np.array([1e-5, 10**-5.25, 10**-5.5])
    for power in (2.0, -1.0):
        error = 3.0 * h**power
        assert recommend.error_at(h, error, 6.1e-6) == pytest.approx(3.0 * 6.1e-6**power, rel=1e-12)
    assert recommend.error_at(h, np.array([1.0, np.nan, 1.0]), 6.1e-6) is None
    assert recommend.error_at(h, np.array([1.0, 2.0, 3.0]), 10**-5.25) == 2.0
    assert recommend.error_at(h, np.array([1.0, 2.0, 3.0]), 1.0) is None  # off the grid


def test_numbers_in_words():
    assert recommend.times(1.04e6) == "1.0e6×"
    assert recommend.times(35.2) == "35×"
    assert recommend.times(1.44) == "1.4×"
    assert recommend.order_of(9.7e5) == "~1e6×"
    assert recommend.number(6.0555e-6) == "6.1e-06"
