"""fixed_step: a numerical_gradient(f, x) with its own step is judged at that step."""

import jax.numpy as jnp
import numpy as np
import pytest

from harness import check, fixed_step, scratch
from harness.results import FAIL


def books_numerical_gradient(f, x):
    """Central differences at h = 1e-4 for every entry, as the book's routine."""
    return scratch.numerical_gradient(f, x, h=1e-4, scale_step=False)


def h_instead_of_2h(f, x):
    return 2.0 * books_numerical_gradient(f, x)


def cubic(x):
    return float(np.sum(np.sin(x) * x**3))


def cubic_reference(x):
    return jnp.sum(jnp.sin(x) * x**3)


# Entries far from 1, where h and h * max(1, |x_i|) differ by up to 20 times.
POINT = np.array([3.0, -20.0, 0.5, 7.0])


def _numerical(routine):
    result = check(cubic, cubic_reference, POINT.copy(), numerical_gradient=routine)
    return next(c for c in result.checks if c.check == "numerical")


def test_the_books_routine_passes_at_the_step_it_really_uses():
    record = _numerical(fixed_step(books_numerical_gradient))
    assert record.ok, record.message
    assert record.h == 1e-4 and record.scheme == "central"


def test_judged_at_a_step_it_does_not_use_the_same_routine_fails():
    # Declared as scaling its step, its quotients no longer match the judge's own at |x_i| > 1.
    assert _numerical(fixed_step(books_numerical_gradient, scaled=True)).verdict == FAIL


def test_a_wrong_quotient_fails_at_its_own_step():
    record = _numerical(fixed_step(h_instead_of_2h))
    assert record.verdict == FAIL and record.h == 1e-4


def test_one_sided_routines_are_judged_by_their_scheme():
    def forward(f, x):
        return scratch.numerical_gradient(f, x, h=1e-4, scheme="forward", scale_step=False)

    record = _numerical(fixed_step(forward, scheme="forward"))
    assert record.ok and record.scheme == "forward"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"h": 0.0}, "positive finite"),
        ({"h": True}, "positive finite"),
        ({"scheme": "up"}, "scheme"),
    ],
)
def test_a_bad_step_is_refused(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        fixed_step(books_numerical_gradient, **kwargs)
