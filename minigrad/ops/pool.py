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


def _first_argmax(x: np.ndarray, kernel, stride, padding) -> np.ndarray:
    """Per window of x (N, C, H, W), the flat index into x of its maximum; on ties the first
    in row-major window order, as PyTorch. Only a window whose elements are all -inf (so tied
    with the padding) could pick a padded place: `clip` moves it to the nearest element of x,
    which lies in the same window and is -inf too, so still a maximum."""
    view = windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf)
    n, channels, rows, cols, kh, kw = view.shape
    tap = view.reshape(n, channels, rows, cols, kh * kw).argmax(axis=-1)
    row = np.arange(rows)[:, None] * stride[0] + tap // kw - padding[0]
    col = np.arange(cols)[None, :] * stride[1] + tap % kw - padding[1]
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(channels)[None, :, None, None]
    return np.ravel_multi_index((batch, channel, row, col), x.shape, mode="clip")


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
        return windows(x, kernel, stride, padding, _NO_DILATION, value=-np.inf).max(axis=(-2, -1))

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
