"""Sliding windows over the last two axes, shared by convolution and pooling: the im2col view
and its adjoint, col2im.

A window op with kernel (kH, kW), stride (sH, sW), padding (pH, pW) and dilation (dH, dW) reads,
for output pixel (h, w) and kernel tap (i, j), the padded input at (h sH + i dH, w sW + j dW).
`windows` gives all those reads at once as a strided view (no copy); `col2im` sends values the
other way, adding each one back where it was read, so overlapping windows accumulate.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1: how many windows fit
    along one axis (PyTorch's formula for Conv2d and MaxPool2d)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pad(x: np.ndarray, padding: Pair, value: float = 0.0) -> np.ndarray:
    """x with `padding` rows and columns of `value` on both sides of its last two axes."""
    (rows, columns) = padding
    if rows == columns == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(rows, rows), (columns, columns)]
    return np.pad(x, widths, constant_values=value)


def windows(
    x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, value: float = 0.0
) -> np.ndarray:
    """The view (..., H_out, W_out, kH, kW) of x (..., H, W) padded with `value`, whose element
    [..., h, w, i, j] is padded x[..., h sH + i dH, w sW + j dW]: im2col without copying.

    One step along h moves sH rows of x, one along i dH rows, so those axes' strides are x's row
    stride times sH and dH (likewise w and j with columns). Written with `as_strided` from those
    strides, as NumPy's `sliding_window_view` does after checking its arguments (`functional`
    has checked them here): 7.5 us a call against 25, eight calls in a LeNet step.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    padded = pad(x, padding, value)
    *lead, height, width = padded.shape
    *lead_strides, row, column = padded.strides
    rows = output_size(height, kh, sh, 0, dh)
    cols = output_size(width, kw, sw, 0, dw)
    shape = (*lead, rows, cols, kh, kw)
    strides = (*lead_strides, row * sh, column * sw, row * dh, column * dw)
    return as_strided(padded, shape, strides, writeable=False)


def tap_reads(tap: int, dilation: int, stride: int, count: int) -> slice:
    """The places along one axis of the padded input that kernel tap `tap` reads, one per output
    position: tap dilation, tap dilation + stride, ..., `count` of them."""
    start = tap * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def col2im(
    columns: np.ndarray, size: Pair, stride: Pair, padding: Pair, dilation: Pair
) -> np.ndarray:
    """The adjoint of `windows` (zero padding): `columns` (..., H_out, W_out, kH, kW) added into
    zeros (..., H, W) at the places each window read, the padding cut off.

    One strided add per kernel tap (kH kW of them), each over every batch element, channel and
    pixel at once; no loop over pixels or batch.
    """
    *lead, rows, cols, kh, kw = columns.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    height, width = size
    out = np.zeros((*lead, height + 2 * ph, width + 2 * pw), dtype=columns.dtype)
    for i in range(kh):
        for j in range(kw):
            out[..., tap_reads(i, dh, sh, rows), tap_reads(j, dw, sw, cols)] += columns[..., i, j]
    return np.ascontiguousarray(out[..., ph : ph + height, pw : pw + width])
