"""Each layer twin against closed forms, naive loops or other jax primitives -- never against the
scratch layers it checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from naive_layers import naive_convolution, naive_max_pool

from harness import oracle  # noqa: F401  (turns on float64)
from harness.oracle import layers as twins

RNG = np.random.default_rng(0)


def _vjp(fn, *args, argnum=0, dout=None):
    """The gradient of sum(fn(*args) * dout) with respect to args[argnum]."""
    out = fn(*args)
    dout = np.ones(out.shape) if dout is None else dout
    return np.asarray(
        jax.grad(lambda a: jnp.sum(fn(*args[:argnum], a, *args[argnum + 1 :]) * dout))(args[argnum])
    )


def test_affine_reads_any_rank_as_rows_and_its_gradients_are_the_closed_forms():
    x = RNG.standard_normal((2, 3, 2, 2))
    W, b = RNG.standard_normal((12, 4)), RNG.standard_normal(4)
    out = np.asarray(twins.affine(x, W, b))
    np.testing.assert_allclose(out, np.einsum("nd,dk->nk", x.reshape(2, 12), W) + b, rtol=1e-13)
    dout = RNG.standard_normal((2, 4))
    np.testing.assert_allclose(
        _vjp(twins.affine, x, W, b, argnum=1, dout=dout), x.reshape(2, 12).T @ dout
    )
    np.testing.assert_allclose(_vjp(twins.affine, x, W, b, argnum=2, dout=dout), dout.sum(axis=0))
    np.testing.assert_allclose(
        _vjp(twins.affine, x, W, b, argnum=0, dout=dout), (dout @ W.T).reshape(x.shape)
    )


def test_elementwise_twins_and_their_slopes():
    x = np.array([-2.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(twins.relu_layer(x), [0.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(_vjp(twins.relu_layer, x), [0.0, 0.0, 1.0, 1.0])  # 0 at 0
    s = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(twins.sigmoid_layer(x), s, rtol=1e-15)
    np.testing.assert_allclose(_vjp(twins.sigmoid_layer, x), s * (1 - s), rtol=1e-14)
    np.testing.assert_allclose(twins.tanh_layer(x), np.tanh(x), rtol=1e-15)
    np.testing.assert_allclose(_vjp(twins.tanh_layer, x), 1 / np.cosh(x) ** 2, rtol=1e-14)


def test_softmax_with_loss_with_and_without_the_delta():
    x = RNG.standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    one_hot = np.eye(4)[t]
    log_softmax = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    y = np.exp(log_softmax)
    without = float(twins.softmax_with_loss_without_delta(x, t))
    assert without == pytest.approx(-np.mean(log_softmax[np.arange(5), t]), rel=1e-14)
    with_delta = float(twins.softmax_with_loss(x, t))
    assert with_delta == pytest.approx(-np.mean(np.log(y[np.arange(5), t] + 1e-7)), rel=1e-14)
    assert float(twins.softmax_with_loss(x, one_hot)) == pytest.approx(with_delta, rel=1e-15)
    # Without the delta the gradient is exactly the textbook (y - t) / N ...
    exact = np.asarray(jax.grad(twins.softmax_with_loss_without_delta)(x, one_hot))
    np.testing.assert_allclose(exact, (y - one_hot) / 5, rtol=1e-12, atol=1e-16)
    # ... with it, smaller by y_c / (y_c + 1e-7) per row: about 1e-7 / y_c relative.
    delta_grad = np.asarray(jax.grad(twins.softmax_with_loss)(x, one_hot))
    ratio = y[np.arange(5), t] / (y[np.arange(5), t] + 1e-7)
    np.testing.assert_allclose(delta_grad, exact * ratio[:, None], rtol=1e-12, atol=1e-18)
    assert 1e-9 < np.abs(delta_grad - exact).max() < 1e-6


@pytest.mark.parametrize(("stride", "pad"), [(1, 0), (2, 1), (1, 2), (3, 0)])
def test_convolution_is_the_windowed_sum(stride, pad):
    x = RNG.standard_normal((2, 3, 7, 6))
    W, b = RNG.standard_normal((4, 3, 3, 2)), RNG.standard_normal(4)
    out = np.asarray(twins.convolution(x, W, b, stride=stride, pad=pad))
    np.testing.assert_allclose(out, naive_convolution(x, W, b, stride, pad), rtol=1e-12, atol=1e-13)


def test_convolution_gradient_in_the_filters_is_the_correlation_with_dout():
    # out is linear in W: d sum(out * dout) / dW[f] = sum over positions of dout[n, f] * window.
    x = RNG.standard_normal((2, 2, 5, 5))
    W, b = RNG.standard_normal((3, 2, 2, 2)), RNG.standard_normal(3)
    dout = RNG.standard_normal((2, 3, 2, 2))  # stride 2, pad 0: 2 x 2 outputs
    got = _vjp(lambda x, W, b: twins.convolution(x, W, b, 2, 0), x, W, b, argnum=1, dout=dout)
    expected = np.zeros_like(W)
    for y in range(2):
        for z in range(2):
            window = x[:, :, 2 * y : 2 * y + 2, 2 * z : 2 * z + 2]
            expected += np.einsum("nf,nchw->fchw", dout[:, :, y, z], window)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(("stride", "pad"), [(2, 0), (1, 0), (2, 1)])
def test_max_pooling_is_the_window_maximum_with_zero_padding(stride, pad):
    x = RNG.standard_normal((2, 3, 5, 6))
    out = np.asarray(twins.max_pooling(x, 2, 3, stride=stride, pad=pad))
    np.testing.assert_array_equal(out, naive_max_pool(x, 2, 3, stride, pad))


def test_max_pooling_gradient_goes_to_each_windows_maximum():
    x = RNG.standard_normal((1, 2, 4, 4))
    dout = RNG.standard_normal((1, 2, 2, 2))
    got = _vjp(lambda x: twins.max_pooling(x, 2, 2, 2, 0), x, dout=dout)
    out = naive_max_pool(x, 2, 2, 2, 0)
    spread = np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)
    is_max = x == np.repeat(np.repeat(out, 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(got, np.where(is_max, spread, 0.0))


@pytest.mark.parametrize("shape", [(8, 3), (6, 2, 2, 2)])
def test_batch_norm_is_jax_standardize_scaled_and_shifted(shape):
    x = 2.0 + 3.0 * RNG.standard_normal(shape)
    features = int(np.prod(shape[1:]))
    gamma, beta = RNG.standard_normal(features), RNG.standard_normal(features)
    rows = x.reshape(shape[0], -1)
    expected = gamma * jax.nn.standardize(rows, axis=0, epsilon=1e-6) + beta
    out = np.asarray(twins.batch_norm_train(x, gamma, beta))
    np.testing.assert_allclose(out, np.asarray(expected).reshape(shape), rtol=1e-12, atol=1e-13)
    dout = RNG.standard_normal(shape)
    normalised = (rows - rows.mean(axis=0)) / np.sqrt(rows.var(axis=0) + 1e-6)
    d_gamma = _vjp(twins.batch_norm_train, x, gamma, beta, argnum=1, dout=dout)
    np.testing.assert_allclose(d_gamma, np.sum(normalised * dout.reshape(rows.shape), axis=0))
    d_beta = _vjp(twins.batch_norm_train, x, gamma, beta, argnum=2, dout=dout)
    np.testing.assert_allclose(d_beta, dout.reshape(rows.shape).sum(axis=0), rtol=1e-13)
    # Shifting every input of a feature by the same amount changes nothing: dx sums to 0.
    dx = _vjp(twins.batch_norm_train, x, gamma, beta, dout=dout)
    np.testing.assert_allclose(dx.reshape(rows.shape).sum(axis=0), 0.0, atol=1e-12)


def test_dropout_uses_the_mask_it_is_given():
    x, mask = RNG.standard_normal((3, 4)), RNG.random((3, 4)) > 0.5
    np.testing.assert_array_equal(twins.dropout(x, mask), x * mask)
    np.testing.assert_array_equal(_vjp(twins.dropout, x, mask), mask.astype(float))


def test_the_twin_table_names_callable_twins_of_the_right_arity():
    import inspect

    for name, twin in twins.LAYER_TWINS.items():
        signature = inspect.signature(twin.forward)
        positional = twin.inputs + len(twin.params) + len(twin.data)
        assert len(signature.parameters) >= positional, name
        for key in twin.config:
            assert key in signature.parameters, (name, key)
    assert twins.LAYER_TWINS["SoftmaxWithLoss"].backprop is twins.softmax_with_loss_without_delta
