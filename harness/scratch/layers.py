"""Backprop layers of chapters 5-7 of *Deep Learning from Scratch*, in NumPy: the code under test.

Every layer follows the book's protocol: ``forward(x)`` computes the output and keeps what the
backward pass needs, ``backward(dout)`` takes the gradient of the loss with respect to the output
and returns the gradient with respect to the input. Parameters are attributes (``W``, ``b``,
``gamma``, ``beta``) and their gradients are left in ``d<name>`` attributes (``dW``, ``db``...)
by ``backward``. A layer holds its parameter arrays by reference, so a network that keeps the same
arrays in its ``params`` dict sees every in-place update.

Written here from the book's structure (im2col for convolution and pooling, the computational
graph of batch normalization); nothing is imported from the oracle.
"""

from __future__ import annotations

import numpy as np

from harness.scratch.activations import sigmoid, softmax
from harness.scratch.losses import batch_targets, cross_entropy_error

# The book's batch-norm constant, written there as 10e-7: added to the variance before the root.
BATCH_NORM_EPS = 1e-6


class Relu:
    """max(0, x); the slope is 0 where x <= 0 (the book's mask, as JAX's relu at 0)."""

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """max(0, x), remembering where the unit is off."""
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout where the unit was on, 0 elsewhere (dout itself is left alone)."""
        dx = np.array(dout, copy=True)
        dx[self.mask] = 0
        return dx


class Sigmoid:
    """1 / (1 + exp(-x)); its slope out (1 - out) is written in terms of the output."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """sigmoid(x), kept for the backward pass."""
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout * out * (1 - out)."""
        return dout * (1.0 - self.out) * self.out


class Tanh:
    """tanh(x); its slope 1 - out^2 is written in terms of the output."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """tanh(x), kept for the backward pass."""
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout * (1 - out^2)."""
        return dout * (1.0 - self.out * self.out)


class Affine:
    """x W + b. An input of any rank is flattened to (N, -1) first, as the book does after a
    convolution, and the input gradient is given back in the input's shape."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b
        self.x: np.ndarray | None = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, D) rows times W, plus b."""
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dW = x^T dout, db = the column sums of dout, dx = dout W^T in x's original shape."""
        self.dW = self.x.T @ dout
        self.db = np.sum(dout, axis=0)
        return (dout @ self.W.T).reshape(self.original_x_shape)


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy with the book's delta 1e-7 inside the log.

    ``t`` holds integer labels (N,) or one-hot rows (N, C). The backward pass is the textbook
    (y - t) / N, the gradient of the delta-free loss -sum t log y / N (the delta changes the exact
    gradient by about 1e-7 / y relative, far above backprop's rounding).
    """

    def __init__(self) -> None:
        self.loss: np.floating | None = None
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> np.floating:
        """The loss, as a scalar of x's dtype (a float32 layer says so)."""
        self.t = t
        self.y = softmax(x)
        self.loss = self.y.dtype.type(cross_entropy_error(self.y, t))
        return self.loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        """dout * (y - t) / N, with labels turned into one-hot rows of y's dtype."""
        targets = batch_targets(self.y, self.t, dtype=self.y.dtype).reshape(self.y.shape)
        targets = targets.astype(self.y.dtype, copy=False)
        batch_size = self.y.shape[0] if self.y.ndim == 2 else 1
        return dout * (self.y - targets) / batch_size


class Dropout:
    """Zeroes each unit with probability ``dropout_ratio`` in training; scales by the keep ratio
    at test time. The mask is drawn from ``rng`` (a NumPy Generator), or from the global
    ``np.random`` stream as in the book when none is given."""

    def __init__(self, dropout_ratio: float = 0.5, rng: np.random.Generator | None = None) -> None:
        self.dropout_ratio = dropout_ratio
        self.rng = rng
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        """x times a fresh random keep-mask (training), or x (1 - ratio) (test)."""
        if not train_flg:
            return x * (1.0 - self.dropout_ratio)
        draws = self.rng.random(x.shape) if self.rng is not None else np.random.rand(*x.shape)
        self.mask = draws > self.dropout_ratio
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout through the same mask."""
        return dout * self.mask


class BatchNormalization:
    """Batch normalization over the batch axis, per feature: gamma (x - mean) / std + beta.

    An input of rank 4 (after a convolution) is normalised per flattened feature (N, C*H*W), as the
    book does. Training mode uses the batch's statistics and moves the running ones by
    ``momentum``; test mode uses the running ones. The backward pass follows the computational
    graph (mean, centred x, variance, std) node by node.
    """

    def __init__(
        self,
        gamma: np.ndarray,
        beta: np.ndarray,
        momentum: float = 0.9,
        running_mean: np.ndarray | None = None,
        running_var: np.ndarray | None = None,
    ) -> None:
        self.gamma, self.beta = gamma, beta
        self.momentum = momentum
        self.input_shape: tuple[int, ...] | None = None
        self.running_mean, self.running_var = running_mean, running_var
        self.batch_size: int | None = None
        self.xc: np.ndarray | None = None
        self.xn: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        """The normalised, scaled and shifted x, in x's shape."""
        self.input_shape = x.shape
        rows = x.reshape(x.shape[0], -1)
        if self.running_mean is None:
            self.running_mean = np.zeros(rows.shape[1], dtype=rows.dtype)
            self.running_var = np.zeros(rows.shape[1], dtype=rows.dtype)
        if train_flg:
            mean = rows.mean(axis=0)
            xc = rows - mean
            var = np.mean(xc**2, axis=0)
            std = np.sqrt(var + BATCH_NORM_EPS)
            xn = xc / std
            self.batch_size, self.xc, self.xn, self.std = rows.shape[0], xc, xn, std
            keep = self.momentum
            self.running_mean = keep * self.running_mean + (1 - keep) * mean
            self.running_var = keep * self.running_var + (1 - keep) * var
        else:
            xn = (rows - self.running_mean) / np.sqrt(self.running_var + BATCH_NORM_EPS)
        return (self.gamma * xn + self.beta).reshape(self.input_shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Back through out = gamma xn + beta, xn = xc / std, std = sqrt(var + eps),
        var = mean(xc^2), xc = x - mean(x); dgamma and dbeta are left on the layer."""
        dout = dout.reshape(dout.shape[0], -1)
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum(dxn * self.xc / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / self.batch_size) * self.xc * dvar
        dmean = np.sum(dxc, axis=0)
        dx = dxc - dmean / self.batch_size
        return dx.reshape(self.input_shape)


def conv_output_size(size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a convolution or pooling along one axis: (size + 2 pad - filter) // stride
    + 1.

    Raises:
      ValueError: the filter does not fit the padded input.
    """
    out = (size + 2 * pad - filter_size) // stride + 1
    if out < 1:
        raise ValueError(f"a filter of {filter_size} does not fit an input of {size} (pad {pad})")
    return out


def im2col(
    images: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """Unfold every filter window of a batch of images into one row.

    Args:
      images: (N, C, H, W).
      filter_h, filter_w: window size.
      stride: step between windows.
      pad: zeros added on every side first.

    Returns:
      (N * out_h * out_w, C * filter_h * filter_w): one row per window, in (n, y, x) order, its
      entries in (c, dy, dx) order, of the images' dtype.
    """
    n, c, h, w = images.shape
    out_h = conv_output_size(h, filter_h, stride, pad)
    out_w = conv_output_size(w, filter_w, stride, pad)
    padded = images
    if pad:
        padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=images.dtype)
        padded[:, :, pad : pad + h, pad : pad + w] = images
    col = np.empty((n, out_h, out_w, c, filter_h, filter_w), dtype=images.dtype)
    for dy in range(filter_h):
        rows = slice(dy, dy + stride * out_h, stride)
        for dx in range(filter_w):
            cols = slice(dx, dx + stride * out_w, stride)
            # The (dy, dx) entry of every window, laid out by window position.
            col[..., dy, dx] = padded[:, :, rows, cols].transpose(0, 2, 3, 1)
    return col.reshape(n * out_h * out_w, c * filter_h * filter_w)


def col2im(
    col: np.ndarray,
    input_shape: tuple[int, int, int, int],
    filter_h: int,
    filter_w: int,
    stride: int = 1,
    pad: int = 0,
) -> np.ndarray:
    """The adjoint of im2col: add every window's row back onto the pixels it came from.

    Overlapping windows (stride < filter) add up, which is what the gradient needs.

    Args:
      col: rows as im2col gives them.
      input_shape: (N, C, H, W) of the images.
      filter_h, filter_w, stride, pad: as for im2col.

    Returns:
      (N, C, H, W), the padding cut off again.
    """
    n, c, h, w = input_shape
    out_h = conv_output_size(h, filter_h, stride, pad)
    out_w = conv_output_size(w, filter_w, stride, pad)
    windows = col.reshape(n, out_h, out_w, c, filter_h, filter_w)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for dy in range(filter_h):
        rows = slice(dy, dy + stride * out_h, stride)
        for dx in range(filter_w):
            cols = slice(dx, dx + stride * out_w, stride)
            padded[:, :, rows, cols] += windows[..., dy, dx].transpose(0, 3, 1, 2)
    return padded[:, :, pad : pad + h, pad : pad + w]


class Convolution:
    """2-D convolution (cross-correlation, as in every deep-learning library) by im2col: each
    window becomes a row, the filters W (FN, C, FH, FW) become columns, and one matrix product
    does the rest."""

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        self.W, self.b = W, b
        self.stride, self.pad = stride, pad
        self.x: np.ndarray | None = None
        self.col: np.ndarray | None = None
        self.col_W: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, H, W) images to (N, FN, out_h, out_w) feature maps."""
        filters, _, filter_h, filter_w = self.W.shape
        n, _, h, w = x.shape
        out_h = conv_output_size(h, filter_h, self.stride, self.pad)
        out_w = conv_output_size(w, filter_w, self.stride, self.pad)
        self.x = x
        self.col = im2col(x, filter_h, filter_w, self.stride, self.pad)
        self.col_W = self.W.reshape(filters, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, out_h, out_w, filters).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """db, dW from the window rows; dx by col2im of dout times the filter columns."""
        filters, channels, filter_h, filter_w = self.W.shape
        rows = dout.transpose(0, 2, 3, 1).reshape(-1, filters)
        self.db = np.sum(rows, axis=0)
        self.dW = (self.col.T @ rows).T.reshape(filters, channels, filter_h, filter_w)
        dcol = rows @ self.col_W.T
        return col2im(dcol, self.x.shape, filter_h, filter_w, self.stride, self.pad)


class Pooling:
    """Max pooling over pool_h x pool_w windows, per channel, by im2col. Padding adds zeros, as
    the book's im2col does. backward sends each window's gradient to its first maximum."""

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        self.pool_h, self.pool_w = pool_h, pool_w
        self.stride, self.pad = stride, pad
        self.x: np.ndarray | None = None
        self.arg_max: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, H, W) to (N, C, out_h, out_w) window maxima."""
        n, c, h, w = x.shape
        out_h = conv_output_size(h, self.pool_h, self.stride, self.pad)
        out_w = conv_output_size(w, self.pool_w, self.stride, self.pad)
        # One row per (window, channel): im2col's entries are in (c, dy, dx) order.
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.x = x
        self.arg_max = np.argmax(col, axis=1)
        out = np.max(col, axis=1)
        return out.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Each window's dout to the entry that was its maximum, then col2im."""
        pool_size = self.pool_h * self.pool_w
        flat = dout.transpose(0, 2, 3, 1).ravel()
        dmax = np.zeros((flat.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(flat.size), self.arg_max] = flat
        n, _, out_h, out_w = dout.shape
        dcol = dmax.reshape(n * out_h * out_w, -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)
