"""check_layer: every layer of the book's protocol passes against its twin, a planted bug in any
backward pass fails and names the parameter and the entry, and the layer comes back as it was."""

import jax.numpy as jnp
import numpy as np
import pytest

from harness import check_layer, layer_case
from harness.results import ERROR, FAIL
from harness.scratch import layers

RNG = np.random.default_rng(0)


def _normal(*shape):
    return RNG.standard_normal(shape)


def good_layers():
    """(id, layer, inputs, the arguments its records must name)."""
    return [
        ("affine", layers.Affine(_normal(5, 3), _normal(3)), (_normal(4, 5),), ["x", "W", "b"]),
        (
            "affine-4d",
            layers.Affine(_normal(12, 2), _normal(2)),
            (_normal(3, 3, 2, 2),),
            ["x", "W", "b"],
        ),
        ("relu", layers.Relu(), (_normal(3, 4),), ["x"]),
        ("sigmoid", layers.Sigmoid(), (_normal(3, 4),), ["x"]),
        ("tanh", layers.Tanh(), (_normal(3, 4),), ["x"]),
        (
            "softmax-labels",
            layers.SoftmaxWithLoss(),
            (_normal(4, 3), np.array([0, 2, 1, 2])),
            ["x"],
        ),
        (
            "softmax-one-hot",
            layers.SoftmaxWithLoss(),
            (_normal(4, 3), np.eye(3)[[0, 2, 1, 2]]),
            ["x"],
        ),
        (
            "conv",
            layers.Convolution(_normal(2, 2, 3, 3), _normal(2), stride=2, pad=1),
            (_normal(2, 2, 5, 5),),
            ["x", "W", "b"],
        ),
        ("pool", layers.Pooling(2, 2, stride=2), (_normal(2, 2, 4, 4),), ["x"]),
        ("pool-overlap", layers.Pooling(2, 3, stride=1), (_normal(1, 2, 3, 4),), ["x"]),
        (
            "batchnorm",
            layers.BatchNormalization(_normal(4), _normal(4)),
            (_normal(6, 4),),
            ["x", "gamma", "beta"],
        ),
        (
            "batchnorm-4d",
            layers.BatchNormalization(_normal(8), _normal(8)),
            (_normal(5, 2, 2, 2),),
            ["x", "gamma", "beta"],
        ),
        ("dropout", layers.Dropout(0.4, rng=np.random.default_rng(1)), (_normal(4, 5),), ["x"]),
        ("dropout-global-stream", layers.Dropout(0.4), (_normal(4, 5),), ["x"]),
    ]


@pytest.mark.parametrize(
    ("layer", "inputs", "args"), [g[1:] for g in good_layers()], ids=[g[0] for g in good_layers()]
)
def test_every_scratch_layer_passes_every_check(layer, inputs, args):
    result = check_layer(layer, *inputs)
    assert result.ok, [(c.check, c.arg, c.message) for c in result.failures()]
    assert [c.arg for c in result.checks if c.check == "analytic"] == args
    assert [c.arg for c in result.checks if c.check == "numerical"] == args
    assert result.checks[0].check == "value"


# Planted bugs: subclasses with the original class name, so the twin is matched as for the real
# layer; each breaks one entry of one gradient.
def _renamed(base, backward):
    return type(base.__name__, (base,), {"backward": backward})


def _affine_db(self, dout):
    dx = layers.Affine.backward(self, dout)
    self.db = self.db.copy()
    self.db[1] *= 0.5
    return dx


def _conv_dw(self, dout):
    dx = layers.Convolution.backward(self, dout)
    self.dW = self.dW.copy()
    self.dW[1, 0, 2, 1] += 0.3
    return dx


def _batchnorm_dgamma(self, dout):
    dx = layers.BatchNormalization.backward(self, dout)
    self.dgamma = -self.dgamma
    return dx


def _relu_dx(self, dout):
    dx = layers.Relu.backward(self, dout)
    dx[2, 1] = dout[2, 1]  # as if the unit were on
    return dx


def _pool_dx(self, dout):
    return np.roll(layers.Pooling.backward(self, dout), 1, axis=3)


def _softmax_dx(self, dout=1.0):
    return layers.SoftmaxWithLoss.backward(self, dout) * self.y.shape[0]  # forgot / N


def _dropout_dx(self, dout):
    return dout  # forgot the mask


BROKEN = [
    (
        "affine-db",
        layers.Affine,
        _affine_db,
        lambda: (_normal(5, 3), _normal(3)),
        (4, 5),
        "b",
        (1,),
    ),
    (
        "conv-dW",
        layers.Convolution,
        _conv_dw,
        lambda: (_normal(2, 2, 3, 3), _normal(2)),
        (2, 2, 5, 5),
        "W",
        (1, 0, 2, 1),
    ),
    (
        "batchnorm-dgamma",
        layers.BatchNormalization,
        _batchnorm_dgamma,
        lambda: (_normal(4), _normal(4)),
        (6, 4),
        "gamma",
        None,
    ),
    ("relu-dx", layers.Relu, _relu_dx, tuple, (3, 4), "x", (2, 1)),
    ("pool-dx", layers.Pooling, _pool_dx, lambda: (2, 2, 2), (1, 2, 4, 4), "x", None),
    (
        "dropout-dx",
        layers.Dropout,
        _dropout_dx,
        lambda: (0.5, np.random.default_rng(2)),
        (4, 5),
        "x",
        None,
    ),
]


@pytest.mark.parametrize(
    ("base", "backward", "make", "shape", "arg", "index"),
    [b[1:] for b in BROKEN],
    ids=[b[0] for b in BROKEN],
)
def test_a_planted_backward_bug_fails_and_names_the_parameter_and_entry(
    base, backward, make, shape, arg, index
):
    if base is layers.Relu:
        x = _normal(*shape)
        x[2, 1] = -abs(x[2, 1]) - 0.5  # the unit is off there
    else:
        x = _normal(*shape)
    layer = _renamed(base, backward)(*make())
    result = check_layer(layer, x)
    assert result.verdict == FAIL
    failures = result.failures()
    assert {c.check for c in failures} == {"analytic"}  # forward and finite differences agree
    assert [c.arg for c in failures] == [arg]
    assert f"at {arg}[" in failures[0].message
    if index is not None:
        assert failures[0].worst.index == index


def test_softmax_with_loss_missing_the_batch_division_fails_on_dx():
    layer = _renamed(layers.SoftmaxWithLoss, _softmax_dx)()
    result = check_layer(layer, _normal(4, 3), np.array([0, 1, 2, 0]))
    assert [(c.check, c.arg) for c in result.failures()] == [("analytic", "x")]


def test_the_layers_state_comes_back_bit_for_bit():
    gamma, beta = _normal(3), _normal(3)
    layer = layers.BatchNormalization(gamma, beta, running_mean=np.ones(3), running_var=np.ones(3))
    layer.forward(_normal(5, 3))  # the user's own pass: caches and running statistics moved
    before = dict(vars(layer))
    copies = {k: v.copy() for k, v in before.items() if isinstance(v, np.ndarray)}
    np.random.seed(3)
    global_state = np.random.get_state()[1].copy()
    assert check_layer(layer, _normal(6, 3)).ok
    assert vars(layer).keys() == before.keys()
    for key, value in before.items():
        assert vars(layer)[key] is value, key  # the same objects ...
        if key in copies:
            assert value.tobytes() == copies[key].tobytes(), key  # ... with the same bytes
    assert layer.gamma is gamma and layer.beta is beta
    assert np.array_equal(np.random.get_state()[1], global_state)


def test_a_dropout_mask_drawn_from_the_global_stream_is_the_same_at_every_evaluation():
    layer = layers.Dropout(0.5)
    np.random.seed(11)
    result = check_layer(layer, _normal(6, 6))
    assert result.ok
    assert layer.mask is None  # as before the check
    np.random.seed(11)
    expected_mask = np.random.rand(6, 6) > 0.5
    np.random.seed(11)
    layer.forward(np.ones((6, 6)))
    assert np.array_equal(layer.mask, expected_mask)


def test_float32_layers_are_checked_in_float32():
    layer = layers.Affine(_normal(4, 3).astype(np.float32), _normal(3).astype(np.float32))
    result = check_layer(layer, _normal(5, 4).astype(np.float32))
    assert result.ok, [c.message for c in result.failures()]
    assert {c.dtype for c in result.checks} == {"float32"}
    assert layer.W.dtype == np.float32


class Scale:
    """A layer with no twin: out = x * W (elementwise), dW left by backward."""

    def __init__(self, W):
        self.W = W
        self.dW = None

    def forward(self, x):
        self.x = x
        return x * self.W

    def backward(self, dout):
        self.dW = np.sum(dout * self.x, axis=0)
        return dout * self.W


def test_a_layer_without_a_twin_needs_a_reference_and_its_params_are_detected():
    missing = check_layer(Scale(_normal(3)), _normal(4, 3))
    (record,) = missing.checks
    assert record.verdict == ERROR and "no JAX twin for a layer of class Scale" in record.message
    assert "reference=" in record.message
    result = check_layer(Scale(_normal(3)), _normal(4, 3), reference=lambda x, W: x * W)
    assert result.ok
    assert [c.arg for c in result.checks if c.check == "analytic"] == ["x", "W"]
    wrong = check_layer(Scale(_normal(3)), _normal(4, 3), reference=lambda x, W: x * W * 1.001)
    assert wrong.checks[0].check == "value" and wrong.checks[0].verdict == FAIL


def test_a_layer_that_cannot_run_is_an_error_result_not_an_exception():
    layer = layers.Affine(_normal(5, 3), _normal(3))
    result = check_layer(layer, _normal(4, 6))  # 6 inputs for a 5-row W
    (record,) = result.checks
    assert record.verdict == ERROR and record.message.startswith("Affine.forward raised ValueError")
    assert check_layer(object(), _normal(2)).checks[0].message.startswith("object has no forward()")
    case = layer_case("broken-layer", layer, _normal(4, 6))
    assert "Affine.forward raised" in case.run().checks[0].message


def test_the_books_relu_which_zeroes_dout_in_place_still_checks():
    class Relu(layers.Relu):
        def backward(self, dout):
            dout[self.mask] = 0
            return dout

    assert check_layer(Relu(), _normal(3, 4)).ok


def test_layer_case_declares_a_case_that_runs_like_check_layer():
    layer = layers.Convolution(_normal(2, 1, 2, 2), _normal(2))
    made = layer_case("conv/small", layer, _normal(1, 1, 3, 3), tags=("layer",))
    assert made.source.endswith(f"test_layer.py:{made.source.rsplit(':', 1)[1]}")
    assert "test_layer.py" in made.source  # the declaring line, not the adapter's
    W = layer.W
    result = made.run()
    assert result.ok and result.name == "conv/small"
    assert layer.W is W and layer.x is None  # as it was declared
    assert [c.arg for c in result.checks if c.check == "analytic"] == ["x", "W", "b"]


def test_a_reference_that_ignores_a_parameter_is_caught():
    def reference(x, W, b):
        return jnp.reshape(x, (x.shape[0], -1)) @ W  # forgot b

    layer = layers.Affine(_normal(3, 2), _normal(2))
    result = check_layer(layer, _normal(4, 3), reference=reference)
    assert not result.ok


def test_params_narrows_what_is_differentiated_and_the_rest_still_reaches_the_twin():
    layer = layers.Affine(_normal(5, 3), _normal(3))
    result = check_layer(layer, _normal(4, 5), params=["W"])
    assert result.ok
    assert [c.arg for c in result.checks if c.check == "analytic"] == ["x", "W"]
    (record,) = check_layer(layer, _normal(4, 5), params=["gamma"]).checks
    assert record.verdict == ERROR and "params= names 'gamma'" in record.message
