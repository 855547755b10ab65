"""The chapter 5-7 layers against closed forms and naive loops (their gradients are checked
against JAX by the shipped cases, cases/ch05_layers.py and cases/ch07_conv.py)."""

import numpy as np
import pytest
from naive_layers import naive_convolution, naive_max_pool

from harness.scratch import layers

RNG = np.random.default_rng(0)


def test_elementwise_layers_forward_and_backward_closed_forms():
    x = np.array([[-2.0, -0.0, 0.5, 3.0]])
    dout = np.array([[1.0, 2.0, 3.0, 4.0]])
    relu = layers.Relu()
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(relu.backward(dout), [[0.0, 0.0, 3.0, 4.0]])
    assert dout[0, 0] == 1.0  # the book's Relu zeroes dout in place; this one does not
    sigmoid = layers.Sigmoid()
    s = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(sigmoid.forward(x), s, rtol=1e-15)
    np.testing.assert_allclose(sigmoid.backward(dout), dout * s * (1 - s), rtol=1e-15)
    tanh = layers.Tanh()
    np.testing.assert_allclose(tanh.forward(x), np.tanh(x), rtol=1e-15)
    np.testing.assert_allclose(tanh.backward(dout), dout / np.cosh(x) ** 2, rtol=1e-14)


def test_affine_flattens_any_rank_and_gives_dx_back_in_its_shape():
    x = RNG.standard_normal((2, 3, 2, 2))
    W, b = RNG.standard_normal((12, 5)), RNG.standard_normal(5)
    layer = layers.Affine(W, b)
    out = layer.forward(x)
    expected = np.einsum("nchw,chwk->nk", x, W.reshape(3, 2, 2, 5)) + b
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    dout = RNG.standard_normal((2, 5))
    dx = layer.backward(dout)
    assert dx.shape == x.shape
    # d/dx of sum(dout * (x W + b)) is dout W^T; dW = x^T dout; db = sum over the batch.
    np.testing.assert_allclose(dx, np.einsum("nk,chwk->nchw", dout, W.reshape(3, 2, 2, 5)))
    np.testing.assert_allclose(layer.dW, np.einsum("nd,nk->dk", x.reshape(2, 12), dout))
    np.testing.assert_allclose(layer.db, dout.sum(axis=0))
    assert layer.W is W and layer.b is b  # by reference, as the networks rely on


@pytest.mark.parametrize("labels", [True, False], ids=["labels", "one-hot"])
def test_softmax_with_loss_value_and_textbook_backward(labels):
    x = RNG.standard_normal((4, 3))
    t = np.array([0, 2, 1, 2])
    target = t if labels else np.eye(3)[t]
    layer = layers.SoftmaxWithLoss()
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    loss = layer.forward(x, target)
    assert loss == pytest.approx(-np.mean(np.log(y[np.arange(4), t] + 1e-7)), rel=1e-14)
    np.testing.assert_allclose(layer.backward(), (y - np.eye(3)[t]) / 4, rtol=1e-13)
    np.testing.assert_allclose(layer.backward(2.0), 2 * (y - np.eye(3)[t]) / 4, rtol=1e-13)


def test_softmax_with_loss_keeps_float32():
    layer = layers.SoftmaxWithLoss()
    loss = layer.forward(RNG.standard_normal((2, 3)).astype(np.float32), np.array([0, 1]))
    assert loss.dtype == np.float32 and layer.backward().dtype == np.float32


def test_batch_norm_train_mode_normalises_and_moves_the_running_statistics():
    x = 3.0 + 2.0 * RNG.standard_normal((50, 4))
    gamma, beta = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.0, 1.0, -1.0, 0.0])
    layer = layers.BatchNormalization(gamma, beta, momentum=0.9)
    out = layer.forward(x)
    var = x.var(axis=0)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-13)
    np.testing.assert_allclose(out.std(axis=0), gamma * np.sqrt(var / (var + 1e-6)), rtol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, 0.1 * var, rtol=1e-13)
    test_out = layer.forward(x, train_flg=False)
    expected = gamma * (x - layer.running_mean) / np.sqrt(layer.running_var + 1e-6) + beta
    np.testing.assert_allclose(test_out, expected, rtol=1e-13)


def test_batch_norm_of_a_feature_map_normalises_each_flattened_feature():
    x = RNG.standard_normal((6, 2, 2, 2))
    layer = layers.BatchNormalization(np.ones(8), np.zeros(8))
    out = layer.forward(x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out.reshape(6, 8).mean(axis=0), 0.0, atol=1e-14)
    assert layer.backward(np.ones_like(x)).shape == x.shape
    # A constant dout moves every normalised output alike: the input gradient sums to zero.
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), 0.0, atol=1e-13)


def test_dropout_masks_with_its_generator_and_scales_at_test_time():
    x = np.ones((200, 50))
    layer = layers.Dropout(0.3, rng=np.random.default_rng(1))
    out = layer.forward(x)
    kept = out.mean()
    assert 0.65 < kept < 0.75
    np.testing.assert_array_equal(layer.backward(2 * x), 2 * layer.mask)
    np.testing.assert_array_equal(layer.forward(x, train_flg=False), 0.7 * x)
    np.random.seed(3)
    book_style = layers.Dropout(0.3)
    book_style.forward(x)
    np.random.seed(3)
    np.testing.assert_array_equal(book_style.mask, np.random.rand(200, 50) > 0.3)


@pytest.mark.parametrize(("stride", "pad"), [(1, 0), (2, 1), (1, 2)])
def test_convolution_matches_the_naive_loop(stride, pad):
    x = RNG.standard_normal((2, 3, 6, 5))
    W, b = RNG.standard_normal((4, 3, 3, 2)), RNG.standard_normal(4)
    layer = layers.Convolution(W, b, stride=stride, pad=pad)
    np.testing.assert_allclose(
        layer.forward(x), naive_convolution(x, W, b, stride, pad), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize(("stride", "pad"), [(2, 0), (1, 0), (2, 1)])
def test_pooling_matches_the_naive_loop_and_routes_to_the_maximum(stride, pad):
    x = RNG.standard_normal((2, 3, 5, 6))
    layer = layers.Pooling(2, 3, stride=stride, pad=pad)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, naive_max_pool(x, 2, 3, stride, pad))
    # With positive inputs no padding zero is a maximum, so each window's dout lands on an input
    # entry holding the window's maximum (overlapping windows may share one).
    positive = np.abs(x) + 0.1
    out = layer.forward(positive)
    dout = RNG.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert dx.sum() == pytest.approx(dout.sum(), rel=1e-12)
    assert np.all(np.isin(positive[dx != 0], out))


def test_non_overlapping_pooling_backward_is_the_argmax_mask():
    x = RNG.standard_normal((1, 2, 4, 4))
    layer = layers.Pooling(2, 2, stride=2)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    is_max = x == np.repeat(np.repeat(out, 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(dx, is_max.astype(float))


def test_im2col_and_col2im_are_adjoint():
    # <im2col(x), c> = <x, col2im(c)> for every x and c: col2im is im2col's transpose.
    x = RNG.standard_normal((2, 3, 7, 6))
    for stride, pad in ((1, 0), (2, 1), (3, 2)):
        col = layers.im2col(x, 3, 2, stride, pad)
        c = RNG.standard_normal(col.shape)
        lhs = float(np.sum(col * c))
        rhs = float(np.sum(x * layers.col2im(c, x.shape, 3, 2, stride, pad)))
        assert lhs == pytest.approx(rhs, rel=1e-12)


def test_filter_larger_than_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match="does not fit"):
        layers.im2col(np.zeros((1, 1, 2, 2)), 3, 3)
