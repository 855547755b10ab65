"""A deliberately wrong gradient, to see what a failure looks like:

    gradcheck run examples/broken_backprop.py

exits 1 and names the argument and the entry (b2[3]) whose backprop sign was flipped.
"""

from harness import case, oracle, scratch
from harness.data import mnist_like_batch

params = scratch.init_two_layer_params(784, 50, 10, weight_init_std=0.01, seed=0)
x, t = mnist_like_batch(batch_size=100, seed=0)


def backprop_with_flipped_b2_sign(W1, b1, W2, b2, x, t):
    """The textbook backprop with one sign error: db2[3] comes out negated."""
    dW1, db1, dW2, db2 = scratch.two_layer_gradient(W1, b1, W2, b2, x, t)
    db2 = db2.copy()
    db2[3] = -db2[3]
    return dW1, db1, dW2, db2


case(
    "broken/backprop-b2-sign",
    fn=scratch.two_layer_loss,
    reference=oracle.two_layer_backprop_reference,  # delta-free, see cases/seed_network.py
    args=(params["W1"], params["b1"], params["W2"], params["b2"], x, t),
    wrt=(0, 1, 2, 3),
    grad=backprop_with_flipped_b2_sign,
    checks=("analytic",),
)
