"""Convolution and max pooling written out as loops over windows: the definitions, for tests of
both the scratch layers and their JAX twins (independent of im2col and of lax)."""

import numpy as np


def _windows(x, fh, fw, stride, pad):
    """(y, z, window) for every output position of zero-padded x."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h = (x.shape[2] + 2 * pad - fh) // stride + 1
    out_w = (x.shape[3] + 2 * pad - fw) // stride + 1
    for y in range(out_h):
        for z in range(out_w):
            top, left = y * stride, z * stride
            yield y, z, padded[:, :, top : top + fh, left : left + fw], (out_h, out_w)


def naive_convolution(x, W, b, stride=1, pad=0):
    """out[n, f, y, z] = sum over the window of x times filter f, plus b[f]."""
    out = None
    for y, z, window, (out_h, out_w) in _windows(x, W.shape[2], W.shape[3], stride, pad):
        if out is None:
            out = np.zeros((x.shape[0], W.shape[0], out_h, out_w))
        out[:, :, y, z] = np.einsum("nchw,fchw->nf", window, W) + b
    return out


def naive_max_pool(x, ph, pw, stride=1, pad=0):
    """out[n, c, y, z] = the maximum of the window (padding counts as zeros)."""
    out = None
    for y, z, window, (out_h, out_w) in _windows(x, ph, pw, stride, pad):
        if out is None:
            out = np.zeros((x.shape[0], x.shape[1], out_h, out_w))
        out[:, :, y, z] = window.max(axis=(2, 3))
    return out
