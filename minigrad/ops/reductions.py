"""Reductions over axes: sum, mean, max, min and the stable log-sum-exp.

`axis` is None (every axis) or a tuple of non-negative ints, normalised by the caller; each VJP
puts the reduced axes back and broadcasts g over them.
"""

from __future__ import annotations

from math import prod

import numpy as np

from .base import Reduction, Sample, call, is_constant, sample_values, values
from .elementwise import Exp
from .shape import BroadcastTo


def keepdims_shape(shape: tuple, axis) -> tuple:
    """`shape` with the reduced axes kept as 1 (axis is None or a tuple of non-negative ints)."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def reduced_count(shape: tuple, axis) -> int:
    """How many elements a reduction over `axis` combines into each output element."""
    return prod(shape) if axis is None else prod(shape[i] for i in axis)


def _reduced_shape(shape: tuple, axis) -> tuple:
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)


def _expand(g, shape: tuple, axis, keepdims: bool):
    """Undo a reduction's shape change: put back the reduced axes, then broadcast to `shape`."""
    if axis is None and is_constant(g):
        # Full reduction (a loss's mean): filling is far cheaper than np.broadcast_to's view setup.
        return np.full(shape, g, dtype=g.dtype)
    if not keepdims:
        g = g.reshape(keepdims_shape(shape, axis))
    return call(BroadcastTo, (g,), (shape,))


class Sum(Reduction):
    """sum over axis;  d/dx_i = 1, so g is broadcast back over the reduced axes"""

    name = "Sum"
    flops, vjp_flops = (1, 0), (0, 0)  # n adds; g broadcast back

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((1,), False))]

    @staticmethod
    def forward(x, axis, keepdims):
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        return (_expand(g, inputs[0].shape, axis, keepdims),)


class Mean(Reduction):
    """mean over axis;  d/dx_i = 1/n for the n elements averaged"""

    name = "Mean"
    flops, vjp_flops = (1, 1), (0, 1)  # the sums, one division per result; g / n

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((0,), True))]

    @staticmethod
    def forward(x, axis, keepdims):
        return np.add.reduce(x, axis=axis, keepdims=keepdims) / reduced_count(x.shape, axis)

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        shape = inputs[0].shape
        return (_expand(g / reduced_count(shape, axis), shape, axis, keepdims),)


class _Extreme(Reduction, abstract=True):
    """Shared VJP of max/min reductions: g goes to the extreme elements, split evenly on ties
    (as PyTorch's amax/amin)."""

    saves_output = True
    flops, vjp_flops = (1, 0), (4, 0)  # which elements hit the extreme, how many, share, g

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        x = values(inputs[0])
        extreme = values(out) if keepdims else values(out).reshape(keepdims_shape(x.shape, axis))
        hits = x == extreme
        share = (hits / hits.sum(axis=axis, keepdims=True)).astype(g.dtype)
        return (_expand(g, x.shape, axis, keepdims) * share,)


class Max(_Extreme):
    """max over axis"""

    name = "Max"

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((1,), False))]

    @staticmethod
    def forward(x, axis, keepdims):
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)


class Min(_Extreme):
    """min over axis"""

    name = "Min"

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((0,), False))]

    @staticmethod
    def forward(x, axis, keepdims):
        return np.minimum.reduce(x, axis=axis, keepdims=keepdims)


def _finite_row_max(x: np.ndarray, axis=-1) -> np.ndarray:
    """The max over `axis` (kept), or 0 where it is infinite: the shift that keeps e^(x - shift)
    from overflowing without turning an all -inf (or a +inf) row into NaN. An empty row's max
    is -inf (`initial`), so it is 0 too."""
    shift = np.maximum.reduce(x, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(shift), shift, 0)


def _logsumexp_keepdims(x: np.ndarray, axis) -> np.ndarray:
    """log sum e^x with the max subtracted first, so no term overflows; keeps reduced axes."""
    shift = _finite_row_max(x, axis)
    with np.errstate(divide="ignore"):  # log 0 = -inf: an empty or all -inf row
        return np.log(np.add.reduce(np.exp(x - shift), axis=axis, keepdims=True)) + shift


class LogSumExp(Reduction):
    """log sum_i e^(x_i), stable;  d/dx_i = e^(x_i - out) = softmax(x)_i"""

    name, saves_output = "LogSumExp", True
    # max, subtract, exp, sum; log and add back per result;  g * exp(x - out)
    flops, vjp_flops = (4, 2), (3, 0)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((1,), False))]

    @staticmethod
    def forward(x, axis, keepdims):
        out = _logsumexp_keepdims(x, axis)
        return out if keepdims else out.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        x = inputs[0]
        shape = keepdims_shape(x.shape, axis)
        return (g.reshape(shape) * call(Exp, (x - out.reshape(shape),)),)
