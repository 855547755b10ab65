"""The seed note's loss functions (손실 함수): sum of squared errors and cross-entropy, single
vectors and mini-batches, with labels and with one-hot targets."""

import numpy as np

from harness import case, oracle, scratch
from harness.data import one_hot, softmax_outputs

# The note's prediction vector: class 2 is predicted with probability 0.6.
Y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])

for label in (2, 7):
    t = one_hot(np.array([label]))[0]
    case(
        f"sse/seed-y/t=class-{label}",
        fn=scratch.sum_squared_error,
        reference=oracle.sum_squared_error,
        args=(Y.copy(), t),
        wrt=0,
        tags=("seed", "loss", "sse"),
    )
    # Labels: only y[label] enters the loss, so the other entries' gradient is exactly zero.
    case(
        f"cee/seed-y/label={label}",
        fn=scratch.cross_entropy_error,
        reference=oracle.cross_entropy_error,
        args=(Y.copy(), np.array(label)),
        wrt=0,
        tags=("seed", "loss", "cee"),
    )
    # One-hot: every entry enters as t_k log(y_k + 1e-7). Entries with y_k = 0 sit 1e-7 from the
    # edge of log's domain, so a central step would evaluate log of a negative number; the
    # forward difference only steps inside the domain.
    case(
        f"cee/seed-y/one-hot={label}",
        fn=scratch.cross_entropy_error,
        reference=oracle.cross_entropy_error,
        args=(Y.copy(), t),
        wrt=0,
        scheme="forward",
        tags=("seed", "loss", "cee", "forward"),
    )

# Mini-batch (배치 학습): 10 rows drawn from 10,000 with np.random.choice, seeded as the note's
# code would be with np.random.seed(0).
TRAIN_SIZE, BATCH_SIZE = 10000, 10
y_train = softmax_outputs(TRAIN_SIZE, seed=0)
t_train = np.random.RandomState(1).randint(0, 10, size=TRAIN_SIZE)
batch_mask = np.random.RandomState(0).choice(TRAIN_SIZE, BATCH_SIZE)
y_batch, t_batch = y_train[batch_mask], t_train[batch_mask]

case(
    "cee/mini-batch/labels",
    fn=scratch.cross_entropy_error,
    reference=oracle.cross_entropy_error,
    args=(y_batch.copy(), t_batch),
    wrt=0,
    tags=("seed", "loss", "cee", "batch"),
)
case(
    "cee/mini-batch/one-hot",
    fn=scratch.cross_entropy_error,
    reference=oracle.cross_entropy_error,
    args=(y_batch.copy(), one_hot(t_batch)),
    wrt=0,
    tags=("seed", "loss", "cee", "batch"),
)
case(
    "sse/mini-batch/one-hot",
    fn=scratch.sum_squared_error,
    reference=oracle.sum_squared_error,
    args=(y_batch.copy(), one_hot(t_batch)),
    wrt=0,
    tags=("seed", "loss", "sse", "batch"),
)
