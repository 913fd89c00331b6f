"""Shape primitives: they move elements and compute nothing (reshape, transpose, broadcast,
indexing and its scatter-back, concatenation), so they cost no flops but summing and scattering."""

from __future__ import annotations

import numpy as np

from .base import Cost, Sample, ShapeOp, call, sample_values, size

_REPEATED_INDEX = np.array([0, 2, 2, 1])  # a repeated index, so accumulation is checked too


class Reshape(ShapeOp):
    """x viewed with a new shape;  the gradient is reshaped back"""

    name = "Reshape"

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), ((3, 2),))]

    @staticmethod
    def forward(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def vjp(g, out, inputs, needs, shape):
        return (g.reshape(inputs[0].shape),)


class Transpose(ShapeOp):
    """x with its axes permuted;  the gradient is permuted back by the inverse permutation"""

    name, saves_inputs = "Transpose", False

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, 2),), ((2, 0, 1),))]

    @staticmethod
    def forward(x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def vjp(g, out, inputs, needs, axes):
        inverse = tuple(int(i) for i in np.argsort(axes))
        return (call(Transpose, (g,), (inverse,)),)


class BroadcastTo(ShapeOp):
    """x broadcast to a larger shape;  the engine sums the gradient back (unbroadcast)"""

    name, saves_inputs = "BroadcastTo", False

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        summed = tuple(input_shapes[0]) != tuple(output_shape)  # the engine sums g back
        return Cost(0, size(output_shape) if summed else 0)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(1, 3),), ((2, 3),))]

    @staticmethod
    def forward(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def vjp(g, out, inputs, needs, shape):
        return (g,)


class GetItem(ShapeOp):
    """x[index] (slices, integer arrays, boolean masks);  gradient: scattered back with
    `IndexAdd`, so repeated indices accumulate"""

    name = "GetItem"

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return Cost(0, size(output_shape))  # g scattered back with an add per element

    @classmethod
    def samples(cls):
        return [Sample((sample_values(3, 2),), (_REPEATED_INDEX,))]

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def vjp(g, out, inputs, needs, index):
        shape = inputs[0].shape
        return (call(IndexAdd, (g,), (shape, index)),)


class IndexAdd(ShapeOp):
    """zeros(shape) with g added at index (the VJP of indexing);  its own VJP is indexing again"""

    name, saves_inputs = "IndexAdd", False

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, size(input_shapes[0]))  # g added into zeros

    @classmethod
    def samples(cls):
        return [Sample((sample_values(4, 2),), ((3, 2), _REPEATED_INDEX))]

    @staticmethod
    def forward(g, shape, index):
        grad = np.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            grad[index] = g
        else:
            np.add.at(grad, index, g)
        return grad

    @staticmethod
    def vjp(g, out, inputs, needs, shape, index):
        return (g[index],)


def _is_basic_index(index) -> bool:
    """True for slices, ints, None and Ellipsis only: then no element is picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(part, (slice, int, np.integer)) or part is None or part is Ellipsis
        for part in parts
    )


class Concatenate(ShapeOp):
    """concatenate(xs, axis);  each input's gradient is its slice of g along axis"""

    name = "Concatenate"

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(1, 3)), (0,))]

    @staticmethod
    def forward(*arrays_and_axis):
        *arrays, axis = arrays_and_axis
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def vjp(g, out, inputs, needs, axis):
        grads, start = [], 0
        prefix = (slice(None),) * axis
        for piece, needed in zip(inputs, needs):
            stop = start + piece.shape[axis]
            grads.append(g[prefix + (slice(start, stop),)] if needed else None)
            start = stop
        return tuple(grads)
