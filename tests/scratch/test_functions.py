import numpy as np

from harness.scratch import function_1, function_2


def test_function_1_values():
    # 0.01 * 25 + 0.1 * 5 = 0.75;  0.01 * 100 + 0.1 * 10 = 2.0
    assert np.isclose(function_1(5.0), 0.75, rtol=1e-15)
    assert np.isclose(function_1(10.0), 2.0, rtol=1e-15)
    np.testing.assert_allclose(function_1(np.array([0.0, -10.0])), [0.0, 0.0], atol=1e-15)


def test_function_2_values():
    assert function_2(np.array([3.0, 4.0])) == 25.0
    assert function_2(np.array([0.0, 2.0])) == 4.0


def test_function_2_sums_over_last_axis():
    x = np.array([[3.0, 4.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(function_2(x), [25.0, 2.0, 0.0])
