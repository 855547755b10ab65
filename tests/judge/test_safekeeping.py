"""Issue 14, items 8, 10 and 20: whatever fn does to its arguments, they come back bit-identical
(arrays inside lists and dicts, in-place reshapes and dtype reinterpretations included), odd but
legal arrays (read-only, 0-d, strided, Fortran-ordered, np.matrix, masked) are an error or a
verdict for that case and never a crash, and the dtype messages say what the dtype is."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from harness import check
from harness.results import ERROR, NONDETERMINISTIC, PASS


def _square_sum(x, *rest):
    return float(np.sum(x**2))


def _square_sum_jax(x, *rest):
    return jnp.sum(x**2)


def _bytes(value):
    """Every array's bytes, shape and dtype inside an argument, to compare before and after."""
    if isinstance(value, np.ndarray):
        return [(value.view(np.ndarray).tobytes(), value.shape, value.dtype.str)]
    if isinstance(value, list | tuple):
        return [b for v in value for b in _bytes(v)]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _bytes(v)]
    return []


def _mutate_list(x, labels):
    labels[1][0] = 99.0
    return float(np.sum(x**2))


def _mutate_dict(x, table):
    table["w"] += 1.0
    return float(np.sum(x**2))


def _reshape_in_place(x):
    x.shape = (2, 1)
    return float(np.sum(x**2))


def _reinterpret_in_place(x):
    x.dtype = np.int64
    return 25.0


def _halve_itemsize_in_place(x):
    x.dtype = np.float32
    return 25.0


def _write_through_lock(x, labels):
    labels.flags.writeable = True
    labels[0] = -1.0
    labels.flags.writeable = False
    return float(np.sum(x**2))


def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


MUTATIONS = [
    ("list", _mutate_list, lambda: (np.array([3.0, 4.0]), [np.ones(2), np.array([1.0, 2.0])])),
    ("dict", _mutate_dict, lambda: (np.array([3.0, 4.0]), {"w": np.array([0.5, 0.25])})),
    ("reshape", _reshape_in_place, lambda: (np.array([3.0, 4.0]),)),
    ("dtype", _reinterpret_in_place, lambda: (np.array([3.0, 4.0]),)),
    ("itemsize", _halve_itemsize_in_place, lambda: (np.array([3.0, 4.0]),)),
    ("locked", _write_through_lock, lambda: (np.array([3.0, 4.0]), _readonly(np.ones(2)))),
]


@pytest.mark.parametrize(("fn", "make"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_a_mutating_fn_is_non_deterministic_and_every_array_comes_back_bit_identical(fn, make):
    args = make()
    before = [_bytes(a) for a in args]
    result = check(fn, _square_sum_jax, *args, wrt=0, name="mutates")
    assert [_bytes(a) for a in args] == before
    assert result.verdict == NONDETERMINISTIC
    message = result.failures()[0].message
    assert "in place" in message and "restored" in message


def _bump(x):
    x[...] += 1.0
    return float(np.sum(x**2))


LAYOUTS = [
    ("0-d", lambda: np.array(3.0)),
    ("strided", lambda: np.arange(6.0)[::2]),
    ("fortran", lambda: np.asfortranarray(np.arange(1.0, 7.0).reshape(2, 3))),
]


@pytest.mark.parametrize("make", [m[1] for m in LAYOUTS], ids=[m[0] for m in LAYOUTS])
def test_mutating_an_argument_of_any_layout_is_a_verdict_not_a_crash(make):
    x = make()
    before = _bytes(x)
    result = check(_bump, _square_sum_jax, x, name="layout")
    assert result.verdict == NONDETERMINISTIC
    assert _bytes(x) == before


def test_read_only_arguments_are_checked_and_left_alone():
    # The differentiated argument is written to by the finite differences; a label is not.
    x, labels = np.array([3.0, 4.0]), _readonly(np.array([1.0]))
    result = check(_square_sum, _square_sum_jax, x, labels, wrt=0, name="read-only label")
    assert result.verdict == PASS
    assert not labels.flags.writeable and labels.tolist() == [1.0]


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: np.matrix([[3.0, 4.0]]), "np.matrix"),
        (lambda: np.ma.array([3.0, 4.0], mask=[False, True]), "masked array"),
    ],
    ids=["matrix", "masked"],
)
@pytest.mark.parametrize("wrt", [None, 0])
def test_matrix_and_masked_arguments_are_an_error_naming_the_argument(make, needle, wrt):
    x = make()
    before = _bytes(x)
    result = check(_square_sum, _square_sum_jax, x, wrt=wrt, name="subclass")
    assert result.verdict == ERROR
    message = result.checks[0].message
    assert needle in message and "'x'" in message and "np.asarray" in message
    assert _bytes(x) == before


@pytest.mark.parametrize("wrt", [None, 0])
def test_big_endian_float64_is_named_as_such(wrt):
    x = np.array([3.0, 4.0], dtype=">f8")
    result = check(_square_sum, _square_sum_jax, x, wrt=wrt, name="big-endian")
    message = result.checks[0].message
    assert result.verdict == ERROR
    assert "big-endian float64" in message and "astype(np.float64)" in message


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is float64 here")
def test_extended_precision_is_not_called_too_coarse():
    x = np.array([3.0, 4.0], dtype=np.longdouble)
    message = check(_square_sum, _square_sum_jax, x, wrt=0, name="f128").checks[0].message
    assert "extended precision" in message and "too coarse" not in message
