"""Constant padding: x surrounded by `value` along each axis, the primitive behind `F.pad`.

Padding moves elements and computes none, so it costs no flops either way; its gradient is the
slice of g where x sits (the padding's places are constants, so they send nothing back), and the
slice's own VJP puts h back into zeros of the padded shape, which is `Pad` with value 0 again:
gradients of any order stay within Pad, GetItem and IndexAdd.
"""

from __future__ import annotations

import numpy as np

from .base import Sample, ShapeOp, call, sample_values
from .shape import GetItem


def _inside(widths: tuple) -> tuple:
    """The slices of the padded array where x sits: (before, before + size) along each axis,
    written as slice(before, -after or None)."""
    return tuple(slice(before, -after if after else None) for before, after in widths)


class Pad(ShapeOp):
    """y = x with widths[k] = (before, after) elements of `value` on either side of axis k;
    dx = g[before_k : size_k + before_k, ...], the part of g that x became

    params: widths, one (before, after) pair of non-negative ints per axis of x, and value.
    """

    name, saves_inputs = "Pad", False

    @staticmethod
    def forward(x, widths, value):
        if not any(before or after for before, after in widths):
            return np.array(x)  # np.pad refuses a 0-d array, even with nothing to add
        return np.pad(x, widths, constant_values=np.asarray(value, dtype=x.dtype))

    @staticmethod
    def vjp(g, out, inputs, needs, widths, value):
        return (call(GetItem, (g,), (_inside(widths),)),)

    @classmethod
    def samples(cls):
        return [
            Sample((sample_values(2, 3),), (((1, 0), (2, 1)), 0.5)),
            Sample((sample_values(1, 2, 2, 3),), (((0, 0), (0, 0), (1, 1), (0, 2)), 0.0)),
        ]
