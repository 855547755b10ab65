import math

import numpy as np
import pytest

from harness.scratch import (
    function_1,
    function_2,
    numerical_diff,
    numerical_gradient,
)

# --- numerical_diff ------------------------------------------------------------------


@pytest.mark.parametrize("x, slope", [(5.0, 0.2), (10.0, 0.3)])  # f'(x) = 0.02 x + 0.1
def test_numerical_diff_function_1_seed_values(x, slope):
    assert math.isclose(numerical_diff(function_1, x), slope, rel_tol=1e-9)


def test_central_beats_forward_at_seed_step():
    # sin has nonzero f'' and f''' at x = 1, so both truncation errors show.
    exact = math.cos(1.0)
    forward = abs(numerical_diff(math.sin, 1.0, scheme="forward") - exact)
    backward = abs(numerical_diff(math.sin, 1.0, scheme="backward") - exact)
    central = abs(numerical_diff(math.sin, 1.0, scheme="central") - exact)
    # Forward truncation is h |f''| / 2 = 1e-4 * sin(1) / 2, about 4.2e-5.
    assert math.isclose(forward, 1e-4 * math.sin(1.0) / 2, rel_tol=1e-3)
    assert math.isclose(backward, 1e-4 * math.sin(1.0) / 2, rel_tol=1e-3)
    # Central truncation is h^2 |f'''| / 6, about 9e-10: many orders smaller.
    assert central < 2e-9
    assert central < forward / 1e4


def test_tiny_step_rounds_to_zero():
    # The seed's warning: 5 + 1e-50 == 5 in float64, so the difference is 0.
    assert numerical_diff(function_1, 5.0, h=1e-50) == 0.0


def test_numerical_diff_unknown_scheme_names_the_allowed_ones():
    with pytest.raises(ValueError, match="forward, backward, central"):
        numerical_diff(function_1, 5.0, scheme="centered")


def test_numerical_diff_rejects_non_positive_step():
    with pytest.raises(ValueError, match="positive"):
        numerical_diff(function_1, 5.0, h=0.0)


# --- numerical_gradient --------------------------------------------------------------


@pytest.mark.parametrize(
    "point, grad", [((3.0, 4.0), (6.0, 8.0)), ((0.0, 2.0), (0.0, 4.0)), ((3.0, 0.0), (6.0, 0.0))]
)
def test_gradient_of_function_2_seed_points(point, grad):
    # grad of x0^2 + x1^2 is (2 x0, 2 x1); central differences are exact on quadratics
    # up to rounding.
    result = numerical_gradient(function_2, np.array(point))
    np.testing.assert_allclose(result, grad, rtol=1e-9, atol=1e-9)
    assert result.dtype == np.float64


@pytest.mark.parametrize("scheme", ["forward", "backward", "central"])
def test_gradient_any_shape(scheme):
    x = np.arange(12, dtype=np.float64).reshape(2, 3, 2) / 10

    def f(a):
        return np.sum(np.sin(a))

    result = numerical_gradient(f, x, scheme=scheme)
    assert result.shape == x.shape
    tol = 1e-8 if scheme == "central" else 1e-4
    np.testing.assert_allclose(result, np.cos(x), atol=tol)


def test_forward_evaluates_base_once():
    calls = []

    def f(a):
        calls.append(1)
        return np.sum(a**2)

    numerical_gradient(f, np.ones(5), scheme="forward")
    assert len(calls) == 5 + 1
    calls.clear()
    numerical_gradient(f, np.ones(5), scheme="central")
    assert len(calls) == 2 * 5


def test_scaled_step_survives_large_entries():
    # Floats near 1e13 are about 2e-3 apart, so x + 1e-4 rounds back to x and a fixed step
    # sees no change at all; the step h * |x| = 1e9 does.
    x = np.array([1e13])
    np.testing.assert_allclose(numerical_gradient(function_2, x), [2e13], rtol=1e-6)
    assert numerical_gradient(function_2, x, scale_step=False)[0] == 0.0


def test_float32_input_accepted_and_result_is_float64():
    x = np.array([3.0, 4.0], dtype=np.float32)
    result = numerical_gradient(function_2, x, h=1e-2)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [6.0, 8.0], rtol=1e-3)
    assert x.dtype == np.float32


def test_f_sees_the_same_array_object():
    x = np.array([1.0, 2.0])
    seen = set()

    def f(a):
        seen.add(id(a))
        return float(np.sum(a))

    numerical_gradient(f, x)
    assert seen == {id(x)}


def test_argument_ignoring_closure_works_by_in_place_perturbation():
    # Like the seed's TwoLayerNet: f ignores its argument and reads W from outside.
    W = np.array([[1.0, -2.0], [0.5, 3.0]])

    def f(_):
        return np.sum(W**3)

    np.testing.assert_allclose(numerical_gradient(f, W), 3 * W**2, rtol=1e-7)


def test_int_array_raises_instead_of_the_classic_silent_answer():
    # The book's version returns [5000, 15000] here: 3 + 1e-4 is stored back as 3.
    with pytest.raises(TypeError, match=r"floating-point array, got int64; pass x.astype"):
        numerical_gradient(function_2, np.array([3, 4], dtype=np.int64))


@pytest.mark.parametrize("x", [np.array([True, False]), np.array([1 + 1j, 2.0]), [3.0, 4.0], 3.0])
def test_non_float_arrays_raise_type_error(x):
    with pytest.raises(TypeError, match="pass"):
        numerical_gradient(function_2, x)


def test_read_only_array_raises():
    x = np.array([3.0, 4.0])
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        numerical_gradient(function_2, x)


def test_unknown_scheme_raises():
    with pytest.raises(ValueError, match="forward, backward, central"):
        numerical_gradient(function_2, np.array([1.0, 2.0]), scheme="complex")


def test_non_scalar_f_raises():
    with pytest.raises(ValueError, match=r"f must return a scalar, got shape \(2,\)"):
        numerical_gradient(lambda a: a * 2, np.array([1.0, 2.0]))


def test_size_one_array_result_is_accepted():
    result = numerical_gradient(lambda a: np.sum(a**2, keepdims=True), np.array([1.0, 2.0]))
    np.testing.assert_allclose(result, [2.0, 4.0], rtol=1e-9)


def _awkward_array() -> np.ndarray:
    """Values where x + h - h != x, a negative zero and a NaN with a payload."""
    x = np.array([0.1, -0.0, 1e8 + 0.3, 7.7, np.nan, 1.0 / 3.0]).reshape(2, 3)
    bits = x.view(np.uint64)
    bits[1, 1] = 0x7FF8_0000_0000_0ABC  # quiet NaN, custom payload
    return x


def _raise_on_call(k: int):
    calls = {"n": 0}

    def f(a):
        calls["n"] += 1
        if calls["n"] == k:
            raise RuntimeError("boom")
        return float(np.nansum(a))

    return f


def test_x_restored_bit_identically_after_return():
    x = _awkward_array()
    before = x.tobytes()
    for scheme in ("forward", "backward", "central"):
        numerical_gradient(lambda a: float(np.nansum(a**2)), x, scheme=scheme)
        assert x.tobytes() == before


@pytest.mark.parametrize(
    "k, index, side", [(1, (0, 0), "plus"), (2, (0, 0), "minus"), (7, (1, 0), "plus")]
)
def test_x_restored_and_entry_reported_when_f_raises(k, index, side):
    x = _awkward_array()
    before = x.tobytes()
    with pytest.raises(RuntimeError, match="boom") as info:
        numerical_gradient(_raise_on_call(k), x)
    assert x.tobytes() == before
    exc = info.value
    assert exc.gradcheck_index == index
    assert exc.gradcheck_side == side
    assert f"perturbing entry {index} ({side} side)" in exc.__notes__[0]


def test_base_evaluation_failure_is_reported():
    x = np.array([1.0, 2.0])
    with pytest.raises(RuntimeError) as info:
        numerical_gradient(_raise_on_call(1), x, scheme="forward")
    assert info.value.gradcheck_side == "base"
    assert info.value.gradcheck_index is None


def test_x_restored_even_if_f_writes_into_x():
    x = np.array([1.0, 2.0, 3.0])

    def vandal(a):
        a[:] = 42.0
        return 0.0

    numerical_gradient(vandal, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
