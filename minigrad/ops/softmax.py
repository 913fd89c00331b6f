"""Softmax and log-softmax along one axis, each stable against overflow (the row's max is
subtracted first, as `reductions._finite_row_max` explains)."""

from __future__ import annotations

import numpy as np

from .base import Cost, Op, Sample, call, sample_values, size
from .elementwise import Exp
from .reductions import _finite_row_max, _logsumexp_keepdims


def _rows(shape: tuple, axis: int) -> int:
    """How many rows a softmax along `axis` normalises (1 for a 0-d input)."""
    return size(shape) // shape[axis % len(shape)] if shape else 1


class Softmax(Op):
    """s_i = e^(x_i) / sum_j e^(x_j);  vjp: s * (g - sum_j g_j s_j)"""

    name, saves_inputs, saves_output = "Softmax", False, True

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, 5 * size(output_shape))  # max, subtract, exp, sum, divide

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return Cost(0, 4 * size(output_shape))  # out * (g - sum(g * out))

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), (-1,))]

    @staticmethod
    def forward(x, axis):
        shifted = np.exp(x - _finite_row_max(x, axis))
        shifted /= np.add.reduce(shifted, axis=axis, keepdims=True)
        return shifted

    @staticmethod
    def vjp(g, out, inputs, needs, axis):
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    """x_i - logsumexp(x);  vjp: g - softmax(x) * sum_j g_j"""

    name, saves_inputs, saves_output = "LogSoftmax", False, True

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        # logsumexp (max, subtract, exp, sum per element; log and add back per row), subtract
        return Cost(0, 5 * size(output_shape) + 2 * _rows(output_shape, params[0]))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return Cost(0, 4 * size(output_shape))  # g - exp(out) * sum(g)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), (-1,))]

    @staticmethod
    def forward(x, axis):
        return x - _logsumexp_keepdims(x, axis)

    @staticmethod
    def vjp(g, out, inputs, needs, axis):
        return (g - call(Exp, (out,)) * g.sum(axis=axis, keepdims=True),)
