"""CheckResult in a notebook: the HTML table and the figure.

A planted bug (one entry of a hand-written gradient off by 1e-3) beside its correct twin: the
table must show the failure, its error / tolerance past 1 and the entry; the twin's must not.
"""

import re
import subprocess
import sys
from html.parser import HTMLParser

import jax.numpy as jnp
import numpy as np
import pytest

from harness import check
from harness.notebook import ENTRY_ERRORS, ENTRY_TOLERANCES, RATIO_FLOOR
from harness.results import CheckRecord, CheckResult, Entry

X = np.array([0.5, 2.0, -1.0])


def _cube(grad):
    return check(
        lambda x: float(np.sum(x**3)), lambda x: jnp.sum(x**3), X, grad=grad, name="cube <x>"
    )


@pytest.fixture(scope="module")
def broken():
    return _cube(lambda x: 3 * x**2 + np.array([0.0, 1e-3, 0.0]))  # d/dx1 off by 1e-3


@pytest.fixture(scope="module")
def correct():
    return _cube(lambda x: 3 * x**2)


class _Table(HTMLParser):
    """Rows of cell texts, and the title attributes of cells."""

    def __init__(self):
        super().__init__()
        self.rows, self.titles, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.titles.append(dict(attrs).get("title"))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(result):
    parsed = _Table()
    parsed.feed(result._repr_html_())
    header, *rows = parsed.rows
    return header, [dict(zip(header, r, strict=True)) for r in rows if len(r) == len(header)]


def test_the_table_shows_the_failing_check_its_ratio_and_entry(broken):
    header, rows = _table(broken)
    assert header == [
        "check",
        "argument",
        "verdict",
        "max abs error",
        "tolerance",
        "error / tolerance",
        "worst entry",
    ]
    assert [r["check"] for r in rows] == [c.check for c in broken.checks]  # one row per check
    (analytic,) = [r for r in rows if r["check"] == "analytic"]
    assert analytic["verdict"] == "fail" and analytic["argument"] == "x"
    # the planted error is 1e-3 at x[1], where the exact derivative is 3 * 2^2 = 12
    assert float(analytic["max abs error"]) == pytest.approx(1e-3, rel=1e-6)
    assert float(analytic["error / tolerance"]) > 1
    assert analytic["worst entry"] == "x[1]: got 12.001, expected 12"
    page = broken._repr_html_()
    assert "cube &lt;x&gt;" in page and "<x>" not in page  # names are escaped
    assert re.search(r">fail</span>", page)  # the case's verdict
    assert "disagrees with jax.grad at x[1]" in page  # the failing check's message, in full


def test_the_correct_twin_passes_below_its_tolerances(correct):
    _, rows = _table(correct)
    assert {r["verdict"] for r in rows} == {"pass"}
    assert all(float(r["error / tolerance"]) <= 1 for r in rows)
    assert "disagrees" not in correct._repr_html_()


def test_every_cell_number_is_the_record_s(broken):
    _, rows = _table(broken)
    for row, record in zip(rows, broken.checks, strict=True):
        assert row["tolerance"] == f"{record.tolerance:.3g}"
        assert row["error / tolerance"] == f"{record.error_ratio:.3g}"


def _record(check, verdict, ratio, details=None, arg="x"):
    return CheckRecord(
        case="c",
        check=check,
        arg=arg,
        verdict=verdict,
        message=f"{check} {verdict}",
        max_abs_error=ratio,
        tolerance=1.0,
        worst=Entry(arg, (0,), 1.0, 1.0),
        error_ratio=ratio,
        details=details or {},
    )


def test_plot_draws_the_failing_argument_s_entries_against_their_tolerances():
    errors, tolerances = [1e-9, 5e-6, 2e-9, 1e-10], [1e-7, 1e-7, 1e-7, 2e-7]
    result = CheckResult(
        "c",
        (
            _record("value", "pass", 0.0, arg=None),
            _record("analytic", "fail", 50.0, {ENTRY_ERRORS: errors, ENTRY_TOLERANCES: tolerances}),
        ),
    )
    fig = result.plot()
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["|error|"].get_ydata()) == errors
    assert list(lines["tolerance"].get_ydata()) == tolerances
    assert list(lines["past it"].get_xdata()) == [1]  # only entry 1 is past its tolerance
    assert ax.get_yscale() == "log" and "analytic" in ax.get_title()


def test_plot_without_entries_draws_every_check_s_ratio(broken):
    fig = broken.plot()
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [max(c.error_ratio, RATIO_FLOOR) for c in broken.checks]
    assert [line.get_ydata()[0] for line in ax.get_lines()] == [1.0]  # the tolerance line
    assert ax.get_yscale() == "log"


def test_a_table_needs_no_matplotlib_or_jax():
    code = (
        "import sys\n"
        "from harness.results import CheckRecord, CheckResult\n"
        "r = CheckResult('c', (CheckRecord('c', 'value', None, 'pass', error_ratio=0.0),))\n"
        "assert 'pass' in r._repr_html_()\n"
        "print(sorted(m for m in ('matplotlib', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
