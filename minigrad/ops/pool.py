"""2-D pooling on NCHW arrays: max and average over each (kH, kW) window, read through the
strided window view of `windows` (no loop over pixels or batch).

Shapes: x (N, C, H, W) to (N, C, H_out, W_out), H_out = floor((H + 2 pH - kH) / sH) + 1
(likewise W). The padding is at most half the kernel (checked by `functional`), as PyTorch
requires, so every window holds at least one element of x.
"""

from __future__ import annotations

import numpy as np

from .base import Cost, Op, Sample, call, sample_values, size, values
from .shape import IndexAdd
from .windows import col2im, windows

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
    out = view[..., 0, 0].copy(order="K")
    for tap in range(1, kh * kw):
        np.maximum(out, view[..., tap // kw, tap % kw], out=out)
    return out


def _places(size: int, kernel: int, stride: int, padding: int, count: int) -> np.ndarray:
    """(kernel, count): the place along one axis of x that tap i of window h reads,
    h stride + i - padding, clipped into [0, size) (a padded place moves to the nearest one)."""
    place = np.arange(count) * stride + np.arange(kernel)[:, None] - padding
    return np.clip(place, 0, size - 1)


def _first_argmax(x: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """Per window of x (N, C, H, W), the flat index into x of its maximum; on ties the first
    in row-major window order, as PyTorch; in a window whose maximum is NaN, its first NaN (as
    `argmax`). Every tap holding its window's maximum writes its index, the last tap first, so the
    first one writes last.

    Only a window whose elements are all -inf (so tied with the padding) could pick a padded
    place: `_places` moves it to the nearest element of x, which lies in the same window and is
    -inf too, so still a maximum.

    One comparison per tap on the strided (N, C, H_out, W_out) slice of that tap, as in
    `_window_max`: on the (64, 6, 24, 24) float32 batch there, with 2x2 windows, `argmax` over a
    copied (..., 4) array of the windows and `ravel_multi_index` took 4.8 ms, this 1.4 ms.
    """
    view = windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf)
    n, channels, rows, cols, kh, kw = view.shape
    height, width = x.shape[2:]
    out = _window_max(view)
    nan = np.isnan(out).any()
    row = _places(height, kh, stride[0], padding[0], rows)[:, :, None] * width
    col = _places(width, kw, stride[1], padding[1], cols)[:, None, :]
    image = np.arange(n * channels).reshape(n, channels, 1, 1) * (height * width)
    index = np.zeros(out.shape, dtype=np.intp)
    for tap in reversed(range(kh * kw)):
        i, j = divmod(tap, kw)
        taps = view[..., i, j]
        hit = (taps == out) | np.isnan(taps) if nan else taps == out
        np.copyto(index, image + (row[i] + col[j]), where=hit)
    return index


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
    """

    name = "MaxPool2d"

    @staticmethod
    def forward(x, kernel, stride, padding):
        return _window_max(windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf))

    @staticmethod
    def vjp(g, out, inputs, needs, kernel, stride, padding):
        (x,) = inputs
        index = _first_argmax(values(x), kernel, stride, padding).reshape(-1)
        grad = call(IndexAdd, (g.reshape((-1,)),), ((size(x.shape),), index))
        return (grad.reshape(x.shape),)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, size(output_shape) * size(params[0]))  # one comparison per element read

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        # The arg-max is found again (a comparison per element read), then g added at it.
        return Cost(0, size(output_shape) * (size(params[0]) + 1))

    @classmethod
    def samples(cls):
        return _samples()


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
