"""2-D pooling on NCHW arrays: max and average over each (kH, kW) window, read through the
strided window view of `windows` (no loop over pixels or batch).

Shapes: x (N, C, H, W) to (N, C, H_out, W_out), H_out = floor((H + 2 pH - kH) / sH) + 1
(likewise W). The padding is at most half the kernel (checked by `functional`), as PyTorch
requires, so every window holds at least one element of x.
"""

from __future__ import annotations

import numpy as np

from .base import Cost, Op, Sample, call, sample_values, size, values
from .windows import col2im, tap_reads, windows

_NO_DILATION = (1, 1)


def _window_max(view: np.ndarray) -> np.ndarray:
    """max over the taps of a window view (..., H_out, W_out, kH, kW): y = max_{i, j} v[..., i, j],
    one np.maximum per tap over the strided (..., H_out, W_out) slice of that tap (NaN wins, as in
    `max`).

    A reduction over the two small window axes walks them element by element: on a (64, 6, 24, 24)
    float32 batch with 2x2 windows, `view.max(axis=(-2, -1))` took 6.5 ms and these three
    np.maximum calls 0.26 ms (the LeNet step of benchmark case 8 pools such a batch).
    """
    kh, kw = view.shape[-2:]
    taps = [view[..., i, j] for i in range(kh) for j in range(kw)]
    if len(taps) == 1:
        return taps[0].copy(order="K")
    out = np.maximum(taps[0], taps[1])
    for tap in taps[2:]:
        np.maximum(out, tap, out=out)
    return out


def _reads_x(size: int, kernel: int, stride: int, padding: int, count: int) -> np.ndarray:
    """(kernel, count): whether tap i of window h reads an element of x along one axis, that is
    whether its place h stride + i - padding lies in [0, size), not in the padding."""
    place = np.arange(count) * stride + np.arange(kernel)[:, None] - padding
    return (place >= 0) & (place < size)


def _max_and_taps(x: np.ndarray, kernel, stride, padding) -> tuple[np.ndarray, np.ndarray]:
    """max_pool2d of x (N, C, H, W), and per window the tap holding the maximum
    (`_first_taps`)."""
    view = windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf)
    out = _window_max(view)
    return out, _first_taps(view, out, x.shape[2:], kernel, stride, padding)


def _first_taps(view: np.ndarray, out: np.ndarray, size, kernel, stride, padding) -> np.ndarray:
    """Per window of the window view of x (H, W = `size`), whose maxima are `out`, the tap
    t = i kW + j (row-major) holding its maximum: on
    ties the first, as PyTorch; in a window whose maximum is NaN, its first NaN (as `argmax`).
    The first maximum's tap is the number of taps before it, all of which miss the maximum, so
    each tap adds 1 where it and every tap before it missed. A tap on the padding never counts,
    so a window of -inf elements picks its first element of x, as PyTorch does, not the -inf
    padding beside it.

    Three array operations per tap on the strided (N, C, H_out, W_out) slice of that tap, as in
    `_window_max`, in x's own layout: on the (64, 6, 24, 24) float32 batch there, with 2x2
    windows, the flat index into x built from each tap's places, as this replaced, took 1.36 ms;
    a masked write of each tap's number (np.copyto with `where`) 0.9-1.1 ms; this 0.15 ms.
    """
    nan = out.size > 0 and np.isnan(out.max())  # the maximum is NaN where any element is
    (kh, kw), (rows, cols) = kernel, out.shape[2:]
    if kh * kw == 1:
        return np.zeros(out.shape, dtype=np.intp)  # a 1x1 window's one tap
    if padding != (0, 0):
        rows_in = _reads_x(size[0], kh, stride[0], padding[0], rows)[:, :, None]
        cols_in = _reads_x(size[1], kw, stride[1], padding[1], cols)[:, None, :]

    def misses(tap: int) -> np.ndarray:
        i, j = divmod(tap, kw)
        read = view[..., i, j]
        miss = read != out
        if nan:
            miss &= ~np.isnan(read)  # a NaN is the maximum of its window
        if padding != (0, 0):
            miss |= ~(rows_in[i] & cols_in[j])
        return miss

    missed = misses(0)
    taps = missed.astype(np.intp)
    for tap in range(1, kh * kw - 1):  # where all others missed, the last tap holds the maximum
        missed &= misses(tap)
        taps += missed
    return taps


def _spread(g: np.ndarray, taps: np.ndarray, input_shape, kernel, stride, padding):
    """Zeros of x's shape (N, C, H, W) with each window's g added at its tap `taps` names, summed
    where windows overlap: per tap, g masked to that tap, over the strided places the tap read.

    The zeros are laid out batch-last, (C, H, W, N) seen as NCHW, the layout of a convolution's
    output, which is what a CNN pools: the ReLU's mask multiplying this gradient and the
    convolution's weight gradient reading it then run on matching, contiguous memory. In two
    side-by-side runs of benchmark case 8 (LeNet), NCHW zeros made the step 1.17x the hand-written
    one on 1 thread (1.18-1.28x on 2), these 0.99-1.04x (1.01-1.08x).

    Windows that do not overlap (stride at least the kernel, as in the usual 2x2 pooling) read
    disjoint places, so each tap's masked g is written straight there (`out=`), with no
    temporary and no add; when they also tile x exactly, no place is left over and the image
    needs no zeros. On LeNet's first pool, a (64, 6, 24, 24) float32 batch, that took the
    spread from 450-575 to 220-350 us, the hand-written step's time.
    """
    n, channels, height, width = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    rows, cols = g.shape[2:]
    disjoint = sh >= kh and sw >= kw
    covered = (height, width) == (rows * kh, cols * kw)
    tiles = (sh, sw) == (kh, kw) and padding == (0, 0) and covered
    image = (np.empty if tiles else np.zeros)(
        (channels, height + 2 * ph, width + 2 * pw, n), dtype=g.dtype
    ).transpose(3, 0, 1, 2)
    for tap in range(kh * kw):
        i, j = divmod(tap, kw)
        places = image[..., tap_reads(i, 1, sh, rows), tap_reads(j, 1, sw, cols)]
        if disjoint:
            np.multiply(g, taps == tap, out=places)
        else:
            places += g * (taps == tap)
    return image[..., ph : ph + height, pw : pw + width]


def _gather(h: np.ndarray, taps: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """The adjoint of `_spread`: per window, h (N, C, H, W) zero-padded at the tap `taps` names."""
    view = windows(h, kernel, stride, padding, _NO_DILATION)
    out = np.zeros_like(taps, dtype=h.dtype)
    kw = kernel[1]
    for tap in range(kernel[0] * kw):
        np.copyto(out, view[..., tap // kw, tap % kw], where=taps == tap)
    return out


def _samples() -> list[Sample]:
    """Windows side by side, overlapping with padding, and unequal kernel, stride and padding
    (params: kernel, stride, padding); distinct values, so no window has a tie."""
    return [
        Sample((sample_values(2, 2, 4, 4),), ((2, 2), (2, 2), (0, 0))),
        Sample((sample_values(1, 2, 5, 5),), ((3, 3), (1, 1), (1, 1))),
        Sample((sample_values(1, 1, 5, 6),), ((2, 3), (1, 2), (1, 1))),
    ]


class MaxPool2d(Op):
    """y[n, c, h, w] = max over the window of x padded with -inf;  the gradient goes to the
    window's arg-max element (ties: the first in row-major window order, as PyTorch), summed
    where overlapping windows share it

    params: kernel, stride and padding, pairs of ints.

    Recorded for backward, the forward finds each window's arg-max tap beside its maximum and
    keeps the taps (`saves_residuals`), as PyTorch keeps its indices and the hand-written step
    its `where`, instead of taking the maximum again in the backward to find them.
    """

    name, saves_residuals, residuals_name = "MaxPool2d", (True,), "taps"

    @staticmethod
    def forward(x, kernel, stride, padding):
        return _window_max(windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf))

    @staticmethod
    def forward_saving(x, kernel, stride, padding):
        """The pooled maxima, and each window's arg-max tap for the gradient."""
        return _max_and_taps(x, kernel, stride, padding)

    @staticmethod
    def vjp(g, taps, inputs, needs, kernel, stride, padding):
        (x,) = inputs
        if taps is None:  # nothing kept: found again from x
            taps = _max_and_taps(values(x), kernel, stride, padding)[1]
        return (call(MaxPool2dGrad, (g,), (x.shape, kernel, stride, padding, taps)),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, size(output_shape) * size(params[0]))  # one comparison per element read

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        # Finding the arg-max taps (a comparison per element read; the recorded forward does it
        # beside the maximum, for the gradient, so it is counted here), then the spread.
        spread = MaxPool2dGrad.forward_cost([output_shape], input_shapes[0], (None, *params))
        return Cost(0, size(output_shape) * size(params[0]) + spread.flops)

    @classmethod
    def samples(cls):
        return _samples()


def _tap_samples() -> list[tuple]:
    """(g, taps, x's shape, params) per pooling sample: g of the output's shape, and taps that
    pick a different place in neighbouring windows (so overlapping windows share some)."""
    cases = []
    for (x,), params in _samples():
        out_shape = MaxPool2d.forward(x, *params).shape
        taps = np.arange(size(out_shape)).reshape(out_shape) % size(params[0])
        cases.append((sample_values(*out_shape), taps, x.shape, params))
    return cases


class MaxPool2dGrad(Op):
    """dx = spread(g, taps): the gradient of max_pool2d, each window's g sent to the element its
    arg-max tap names and summed where windows share it;  d/dg = max_pool2d_gather(h, taps)

    params: the input's shape, max_pool2d's kernel, stride and padding, then the taps: per
    window, the tap i kW + j of its maximum (found from x, a constant here). MaxPool2dGather
    takes the same params: the two are each other's adjoint, so gradients of any order stay
    within them.
    """

    name, saves_inputs = "MaxPool2dGrad", False

    @staticmethod
    def forward(g, input_shape, kernel, stride, padding, taps):
        return _spread(g, taps, input_shape, kernel, stride, padding)

    @staticmethod
    def vjp(h, out, inputs, needs, *params):
        return (call(MaxPool2dGather, (h,), params),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        # Per tap and window: the tap's mask, g times it, and the add into the zeros.
        return Cost(0, 3 * size(input_shapes[0]) * size(params[1]))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return MaxPool2dGather.forward_cost([output_shape], input_shapes[0], params)

    @classmethod
    def samples(cls):
        return [Sample((g,), (shape, *params, taps)) for g, taps, shape, params in _tap_samples()]


class MaxPool2dGather(Op):
    """y[n, c, h, w] = h (zero-padded) at the element the tap `taps` names in window (h, w): the
    adjoint of max_pool2d_grad, met in max_pool2d's second derivative;
    d/dh = max_pool2d_grad(g, taps)

    params: as MaxPool2dGrad's (the input's shape, kernel, stride, padding, taps).
    """

    name, saves_inputs = "MaxPool2dGather", False

    @staticmethod
    def forward(h, input_shape, kernel, stride, padding, taps):
        return _gather(h, taps, kernel, stride, padding)

    @staticmethod
    def vjp(g, out, inputs, needs, *params):
        return (call(MaxPool2dGrad, (g,), params),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        # Per tap and window: the tap's mask, and the copy where it holds.
        return Cost(0, 2 * size(output_shape) * size(params[1]))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return MaxPool2dGrad.forward_cost([output_shape], input_shapes[0], params)

    @classmethod
    def samples(cls):
        return [
            Sample((sample_values(*shape),), (shape, *params, taps))
            for _, taps, shape, params in _tap_samples()
        ]


class AvgPool2d(Op):
    """y[n, c, h, w] = (1 / (kH kW)) sum over the window of x padded with zeros (the zeros
    count, PyTorch's default count_include_pad=True);  dx = avg_pool2d_grad(g): each window
    sends g / (kH kW) to every element it read

    params: kernel, stride and padding, pairs of ints.
    """

    name = "AvgPool2d"

    @staticmethod
    def forward(x, kernel, stride, padding):
        return windows(x, kernel, stride, padding, _NO_DILATION).mean(axis=(-2, -1))

    @staticmethod
    def vjp(g, out, inputs, needs, kernel, stride, padding):
        return (call(AvgPool2dGrad, (g,), (inputs[0].shape, kernel, stride, padding)),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, size(output_shape) * size(params[0]))  # kH kW - 1 adds and a divide

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return AvgPool2dGrad.forward_cost([output_shape], input_shapes[0], (None, *params))

    @classmethod
    def samples(cls):
        return _samples()


class AvgPool2dGrad(Op):
    """dx = col2im(g / (kH kW)): the gradient of avg_pool2d, g spread evenly over each window
    and summed where windows overlap;  its own VJP is avg_pool2d of the upstream gradient

    params: the input's shape, then avg_pool2d's kernel, stride and padding.
    """

    name, saves_inputs = "AvgPool2dGrad", False

    @staticmethod
    def forward(g, input_shape, kernel, stride, padding):
        spread = np.broadcast_to((g / size(kernel))[..., None, None], g.shape + tuple(kernel))
        return col2im(spread, input_shape[2:], stride, padding, _NO_DILATION)

    @staticmethod
    def vjp(h, out, inputs, needs, input_shape, kernel, stride, padding):
        return (call(AvgPool2d, (h,), (kernel, stride, padding)),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, size(input_shapes[0]) * (size(params[1]) + 1))  # a divide, kH kW adds

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return Cost(0, size(input_shapes[0]) * size(params[1]))

    @classmethod
    def samples(cls):
        cases = []
        for (x,), params in _samples():
            g = sample_values(*AvgPool2d.forward(x, *params).shape)
            cases.append(Sample((g,), (x.shape, *params)))
        return cases
