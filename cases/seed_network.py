"""The seed note's network: 784-50-10, 39,760 parameters, on a seeded batch of 100 MNIST-shaped
inputs. The finite-difference gradient of every parameter and the hand-written backprop are both
checked against jax.grad."""

from harness import case, oracle, scratch
from harness.data import mnist_like_batch

params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
x, t = mnist_like_batch(batch_size=100, seed=0)
ARGS = (params["W1"], params["b1"], params["W2"], params["b2"], x, t)
PARAMS = (0, 1, 2, 3)

case(
    "network/784-50-10/numerical",
    fn=scratch.two_layer_loss,
    reference=oracle.two_layer_loss,
    args=ARGS,
    wrt=PARAMS,
    tags=("seed", "network"),
)


# Backprop's (y - t) / N is the gradient of -log(y), not of -log(y + 1e-7): the two differ by the
# factor y / (y + 1e-7) per example, about 1e-6 relative here, far above backprop's rounding
# error. So backprop is checked against the delta-free loss it actually differentiates (and only
# the analytic check runs: fn keeps the delta).
case(
    "network/784-50-10/backprop",
    fn=scratch.two_layer_loss,
    reference=oracle.two_layer_backprop_reference,
    args=ARGS,
    wrt=PARAMS,
    grad=scratch.two_layer_gradient,
    checks=("analytic",),
    tags=("seed", "network", "backprop"),
)
