"""The results table of `gradcheck run`: every cell of every column against independent math.

The cases plant errors of known size into gradients whose exact value is a closed form (2x for a
sum of squares), with values chosen so every difference is exact in float64. So the error columns
follow from the plants alone, and the tolerance column from the policy's documented formulas
(harness/judge/tolerance.py, the spec), computed here from the closed-form gradient and value.
"""

import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness import check
from harness.cli.main import main
from harness.cli.table import results_table

# The columns `gradcheck run` prints, in order (the issues' lists, not the module's constant).
COLUMNS = [
    "case",
    "parameters",
    "check",
    "mode",
    "abs error",
    "rel error",
    "tolerance",
    "err/tol",
    "catches",
    "verdict",
]
DASH = "—"  # a cell with no number
EPS = float(np.finfo(np.float64).eps)
TINY = float(np.finfo(np.float64).tiny)


def _sci(value):
    """The table's number format: three significant digits, scientific."""
    return f"{value:.2e}"


def _ratio(error, tolerance):
    """The err/tol cell: the error over the tolerance, two significant digits."""
    return f"{error / tolerance:.2g}"


def _row(case, params, check, mode, error, rel, tolerance, catches, verdict):
    """A row from its numbers: err/tol is the error over the tolerance, computed here."""
    return [
        case,
        params,
        check,
        mode,
        _sci(error),
        _sci(rel),
        _sci(tolerance),
        _ratio(error, tolerance),
        _sci(catches),
        verdict,
    ]


def _parse(table):
    """Header and rows of a "simple" tabulate table, cut at the columns its dash line marks."""
    lines = table.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans, start = [], None
    for i, char in enumerate(lines[rule] + " "):
        if char == "-" and start is None:
            start = i
        elif char != "-" and start is not None:
            spans.append((start, i))
            start = None

    def cells(line):
        return [line[a:b].strip() for a, b in spans]

    rows = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        rows.append(cells(line))
    return cells(lines[rule - 1]), rows


def _numerical_tolerance(x_i, g_i, value_scale):
    """The policy's central-difference tolerance of one entry, from its documented formula:
    64 x the rounding bound (eps (|f| + s|g_i|) + eps (|x_i| + s)|g_i|) / s, with the step
    s = eps^(1/3) max(1, |x_i|) and |f| = max(|fn|, |reference|, 1)."""
    s = EPS ** (1.0 / 3.0) * max(1.0, abs(x_i))
    rounding = (EPS * (value_scale + s * abs(g_i)) + EPS * (abs(x_i) + s) * abs(g_i)) / s
    return 64.0 * rounding + TINY


def _analytic_tolerance(g_i, gradient_scale):
    """The policy's hand-written-gradient tolerance of one entry, from its documented formula:
    256 eps (|g_i| + G), G the largest exact entry over every differentiated argument."""
    return 256.0 * EPS * (abs(g_i) + gradient_scale) + TINY


def _value_tolerance(reference_value):
    """The policy's value tolerance: 256 eps max(|reference|, 1)."""
    return 256.0 * EPS * max(abs(reference_value), 1.0)


def _plus_delta(exact, index, delta):
    planted = np.array(exact, dtype=np.float64)
    planted[index] += delta
    return planted


def _sum_of_squares_jax(x):
    return jnp.sum(x**2)


# Planted errors within the policy's tolerances, at x = (3, -4): exact gradient (6, -8), value 25.
VALUE_DELTA = 2.0**-40  # 25 + 2^-40 is a float64
NUMERICAL_DELTA = 2.0**-26  # at x[0]: 6 + 2^-26 is a float64
ANALYTIC_DELTA = 2.0**-41  # at x[0]


def _within_tolerance():
    x = np.array([3.0, -4.0])
    return check(
        lambda x: float(np.sum(x**2)) + VALUE_DELTA,
        _sum_of_squares_jax,
        x,
        name="planted/within-tolerance",
        grad=lambda v: _plus_delta(2.0 * v, 0, ANALYTIC_DELTA),
        numerical_gradient=lambda f, v, h, scheme: _plus_delta(2.0 * v, 0, NUMERICAL_DELTA),
    )


# Planted errors beyond overridden tolerances, in a 2 x 3 matrix whose largest |2w| is 5.
W = np.array([[1.0, -2.5, 0.5], [2.0, 0.25, -1.5]])


def _fails():
    return check(
        lambda w: float(np.sum(w**2)),
        _sum_of_squares_jax,
        W.copy(),
        name="planted/fails",
        grad=lambda w: _plus_delta(2.0 * w, (1, 1), 0.5),
        numerical_gradient=lambda f, w, h, scheme: _plus_delta(2.0 * w, (0, 2), -1.0),
        tol={"numerical": 0.5, "analytic": 0.25},
        checks=("numerical", "analytic"),
    )


KINK_DELTA = 2.0**-30  # 1 + 2^-30 is a float64


def _kink():
    # relu at 0: jax.grad says 0, the central quotient 1/2 (a kink, left out of the figures);
    # entry 1 (x = 3, exact slope 1) carries a planted error within tolerance. The two entries'
    # tolerances differ (3 eps^(2/3) and 2 eps^(2/3), times 64), so the row shows which one.
    return check(
        lambda v: float(np.sum(np.maximum(v, 0.0))),
        lambda v: jnp.sum(jax.nn.relu(v)),
        np.array([0.0, 3.0]),
        name="planted/kink",
        numerical_gradient=lambda f, v, h, scheme: np.array([0.5, 1.0 + KINK_DELTA]),
        checks=("numerical",),
    )


TWO_ARGUMENTS_DELTA = 2.0**-45  # at a[0]: 1 + 2^-45 is a float64


def _two_arguments():
    # Exact gradients 2a = (1,) and 2b = (-6,): the gradient's scale is b's 6, not a's 1.
    return check(
        lambda a, b: float(np.sum(a**2) + np.sum(b**2)),
        lambda a, b: jnp.sum(a**2) + jnp.sum(b**2),
        np.array([0.5]),
        np.array([-3.0]),
        name="planted/two-arguments",
        grad=lambda a, b: (_plus_delta(2.0 * a, 0, TWO_ARGUMENTS_DELTA), 2.0 * b),
        checks=("analytic",),
    )


def _bad_input():
    return check(
        lambda x: float(np.sum(x**2)), _sum_of_squares_jax, np.array([3, 4]), name="planted/ints"
    )


def _expected_rows(expected_max_rel_error):
    exact = np.array([6.0, -8.0])
    exact_w = 2.0 * W
    value_scale = 25.0 + VALUE_DELTA  # max(|fn|, |reference|, 1)
    # catches: the largest tolerance over the entries judged (x = 3 and x = -4; |g| = 6 and 8).
    numerical_catches = max(
        _numerical_tolerance(3.0, 6.0, value_scale), _numerical_tolerance(-4.0, -8.0, value_scale)
    )
    analytic_catches = max(_analytic_tolerance(6.0, 8.0), _analytic_tolerance(8.0, 8.0))
    return [
        _row(
            "planted/within-tolerance",
            DASH,
            "value",
            DASH,
            VALUE_DELTA,
            VALUE_DELTA / 25.0,
            _value_tolerance(25.0),
            _value_tolerance(25.0),
            "pass",
        ),
        _row(
            "planted/within-tolerance",
            "x (2)",
            "numerical",
            "entries",
            NUMERICAL_DELTA,
            expected_max_rel_error(NUMERICAL_DELTA, exact, [exact]),
            _numerical_tolerance(3.0, 6.0, value_scale),
            numerical_catches,
            "pass",
        ),
        _row(
            "planted/within-tolerance",
            "x (2)",
            "analytic",
            "entries",
            ANALYTIC_DELTA,
            expected_max_rel_error(ANALYTIC_DELTA, exact, [exact]),
            _analytic_tolerance(6.0, 8.0),
            analytic_catches,
            "pass",
        ),
        _row(
            "planted/fails",
            "w (6)",
            "numerical",
            "entries",
            1.0,
            expected_max_rel_error(1.0, exact_w, [exact_w]),
            0.5,
            0.5,
            "FAIL",
        ),
        _row(
            "planted/fails",
            "w (6)",
            "analytic",
            "entries",
            0.5,
            expected_max_rel_error(0.5, exact_w, [exact_w]),
            0.25,
            0.25,
            "FAIL",
        ),
        # the worst judged entry is v[1]: |f| = 3 at the point, x = 3, slope 1; the kink entry
        # v[0] is not judged, so it sets neither the tolerance nor what the check catches
        _row(
            "planted/kink",
            "v (2)",
            "numerical",
            "entries",
            KINK_DELTA,
            expected_max_rel_error(KINK_DELTA, [0.0, 1.0], [[0.0, 1.0]]),
            _numerical_tolerance(3.0, 1.0, 3.0),
            _numerical_tolerance(3.0, 1.0, 3.0),
            "kink",
        ),
        _row(
            "planted/two-arguments",
            "a (1)",
            "analytic",
            "entries",
            TWO_ARGUMENTS_DELTA,
            expected_max_rel_error(TWO_ARGUMENTS_DELTA, [1.0], [[1.0], [-6.0]]),
            _analytic_tolerance(1.0, 6.0),
            _analytic_tolerance(1.0, 6.0),
            "pass",
        ),
        _row(
            "planted/two-arguments",
            "b (1)",
            "analytic",
            "entries",
            0.0,
            0.0,
            _analytic_tolerance(6.0, 6.0),
            _analytic_tolerance(6.0, 6.0),
            "pass",
        ),
        ["planted/ints", DASH, "input", DASH, DASH, DASH, DASH, DASH, DASH, "ERROR"],
    ]


def test_every_cell_of_the_results_table_is_the_closed_form(expected_max_rel_error):
    results = [_within_tolerance(), _fails(), _kink(), _two_arguments(), _bad_input()]
    header, rows = _parse(results_table(results))
    assert header == COLUMNS
    expected = _expected_rows(expected_max_rel_error)
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert row == want
    # A cell is its number to three significant digits: parse it back, not just compare text.
    for row, want in zip(rows, expected, strict=True):
        for column in range(4, 9):
            got, cell = row[column], want[column]
            if cell != DASH:
                digits = 5e-2 if COLUMNS[column] == "err/tol" else 5e-3  # 2 or 3 digits shown
                assert float(got) == pytest.approx(float(cell), rel=digits)


def test_planted_numbers_are_where_the_table_can_tell_them_apart():
    # The rows above would not catch a swapped pair of columns if the numbers coincided.
    exact = np.array([6.0, -8.0])
    numbers = [
        VALUE_DELTA,
        _value_tolerance(25.0),
        NUMERICAL_DELTA,
        _numerical_tolerance(3.0, 6.0, 25.0),
        ANALYTIC_DELTA,
        _analytic_tolerance(6.0, 8.0),
        ANALYTIC_DELTA / np.abs(exact).max(),
        TWO_ARGUMENTS_DELTA,
        TWO_ARGUMENTS_DELTA / 6.0,
        _analytic_tolerance(1.0, 6.0),
        _analytic_tolerance(6.0, 6.0),
    ]
    assert len({_sci(v) for v in numbers}) == len(numbers)
    # and each within-tolerance plant really is below its tolerance, so those rows pass
    assert VALUE_DELTA < _value_tolerance(25.0)
    assert NUMERICAL_DELTA < _numerical_tolerance(3.0, 6.0, 25.0)
    assert ANALYTIC_DELTA < _analytic_tolerance(6.0, 8.0)
    assert TWO_ARGUMENTS_DELTA < _analytic_tolerance(1.0, 6.0)
    # and a's tolerance and relative error differ from what a's own scale (1) would give
    assert _sci(_analytic_tolerance(1.0, 1.0)) != _sci(_analytic_tolerance(1.0, 6.0))
    assert _sci(TWO_ARGUMENTS_DELTA) != _sci(TWO_ARGUMENTS_DELTA / 6.0)
    assert KINK_DELTA < _numerical_tolerance(3.0, 1.0, 3.0)
    # the kink entry's own tolerance is another number: the row must show the judged entry's
    assert _sci(_numerical_tolerance(0.0, 0.0, 3.0)) != _sci(_numerical_tolerance(3.0, 1.0, 3.0))


CASE_FILE = """
import jax.numpy as jnp
import numpy as np
from harness import case

def grad(x):
    g = 2.0 * x
    g[0] += 2.0**-41
    return g

case("planted/printed", fn=lambda x: float(np.sum(x**2)) + 2.0**-40,
     reference=lambda x: jnp.sum(x**2), args=(np.array([3.0, -4.0]),), grad=grad,
     checks=("value", "analytic"))

def wrong(w):
    g = 2.0 * w
    g[1, 1] += 0.5
    return g

case("planted/printed-fail", fn=lambda w: float(np.sum(w**2)), reference=lambda w: jnp.sum(w**2),
     args=(np.array([[1.0, -2.5, 0.5], [2.0, 0.25, -1.5]]),), grad=wrong, checks=("analytic",),
     tol={"analytic": 0.25})
"""


def test_gradcheck_run_prints_the_closed_form_rows(tmp_path, capsys, expected_max_rel_error):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "planted.py").write_text(textwrap.dedent(CASE_FILE))
    status = main(["run", str(tmp_path / "cases"), "--report-dir", str(tmp_path / "out")])
    assert status == 1  # the second case fails
    out = capsys.readouterr().out
    header, rows = _parse(out)
    assert header == COLUMNS
    exact, exact_w = np.array([6.0, -8.0]), 2.0 * W
    assert rows == [
        _row(
            "planted/printed",
            DASH,
            "value",
            DASH,
            VALUE_DELTA,
            VALUE_DELTA / 25.0,
            _value_tolerance(25.0),
            _value_tolerance(25.0),
            "pass",
        ),
        _row(
            "planted/printed",
            "x (2)",
            "analytic",
            "entries",
            ANALYTIC_DELTA,
            expected_max_rel_error(ANALYTIC_DELTA, exact, [exact]),
            _analytic_tolerance(6.0, 8.0),
            max(_analytic_tolerance(6.0, 8.0), _analytic_tolerance(8.0, 8.0)),
            "pass",
        ),
        _row(
            "planted/printed-fail",
            "w (6)",
            "analytic",
            "entries",
            0.5,
            expected_max_rel_error(0.5, exact_w, [exact_w]),
            0.25,
            0.25,
            "FAIL",
        ),
    ]
