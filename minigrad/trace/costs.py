"""Exact flop counts of every primitive, forward and backward, as functions of shapes.

Conventions (docs/trace.md lists every constant):

- A matrix product (n, d) @ (d, e) costs 2 n d e flops: one multiply and one add per term, the
  usual multiply-add convention. Its backward costs 2 n d e per input whose gradient is needed
  (g @ b^T and a^T g), so 4 n d e when both are. The fused `Linear` (x @ W + b) counts its
  product the same way; its bias add (N e) and the bias gradient (a sum of N e numbers) are
  counted apart, as elementwise and reduction flops, so the matmul column stays exactly
  2 N d e forward and 4 N d e backward (lecture 001_7c5c639b47bbde7b.txt, slide 'Cost per layer').
- An elementwise op costs 1 flop per output element, a transcendental function (exp, log, tanh,
  sigmoid, softplus, sin, cos, sqrt) included: one call of the maths library counts as one op, as
  the lecture's "activation function: O(1)" does. A backward costs the arithmetic of its VJP
  formula per element (tanh: g (1 - out^2) is 3).
- A reduction over n input elements costs n; summing a broadcast gradient back to its input's
  shape (which the engine does after a VJP) costs the size of the gradient being summed.
- Shape ops (reshape, transpose, broadcast, slicing, concatenation) and casts cost 0 flops.
- An op not in these tables (a user's `Function`) has unknown cost: `None`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """Flops of one op in one direction, the matrix-product part apart from the rest."""

    matmul_flops: int = 0
    other_flops: int = 0

    @property
    def flops(self) -> int:
        return self.matmul_flops + self.other_flops


# Forward: flops per output element of each elementwise op.
ELEMENTWISE_FORWARD = {
    "Neg": 1, "Exp": 1, "Log": 1, "Sqrt": 1, "Abs": 1, "Tanh": 1, "Sigmoid": 1, "Relu": 1,
    "LeakyRelu": 1, "Softplus": 1, "Sin": 1, "Cos": 1, "Clip": 1, "Cast": 0,
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Pow": 1, "Maximum": 1, "Minimum": 1, "Where": 1,
}  # fmt: skip

# Backward: (flops per output element shared by all inputs' gradients, flops per output element
# for each input's own gradient), read off each VJP formula in ops.py.
ELEMENTWISE_BACKWARD = {
    "Neg": (0, (1,)),  # -g
    "Exp": (0, (1,)),  # g * out
    "Log": (0, (1,)),  # g / x
    "Sqrt": (0, (2,)),  # g / (2 out)
    "Abs": (0, (2,)),  # g * sign(x)
    "Tanh": (0, (3,)),  # g * (1 - out * out)
    "Sigmoid": (0, (3,)),  # g * (out * (1 - out))
    "Relu": (0, (2,)),  # g * (out > 0)
    "LeakyRelu": (0, (3,)),  # where(x > 0, g, g * slope)
    "Softplus": (0, (2,)),  # g * sigmoid(x)
    "Sin": (0, (2,)),  # g * cos(x)
    "Cos": (0, (3,)),  # -(g * sin(x))
    "Clip": (0, (3,)),  # two comparisons and a select
    "Cast": (0, (0,)),
    "Add": (0, (0, 0)),  # g, g
    "Sub": (0, (0, 1)),  # g, -g
    "Mul": (0, (1, 1)),  # g * b, g * a
    "Div": (0, (1, 4)),  # g / b, -(g * a) / (b * b)
    "Pow": (0, (4, 5)),  # g b a^(b-1);  where(a == 0, 0, g out ln a)
    "Maximum": (4, (1, 2)),  # the winner's share (2 comparisons, 2 selects); g s, g (1 - s)
    "Minimum": (4, (1, 2)),
    "Where": (0, (0, 1, 1)),  # the condition gets no gradient; a select per branch
}

SHAPE_OPS = {"Reshape", "Transpose", "BroadcastTo", "GetItem", "Concatenate", "IndexAdd"}


def size(shape) -> int:
    return math.prod(shape) if shape else 1


def forward_cost(op: str, input_shapes: list, output_shape: tuple, params: tuple = ()):
    """Flops of `op`'s forward on inputs of `input_shapes` (None: an absent input, e.g. no bias)."""
    out = size(output_shape)
    if op in ELEMENTWISE_FORWARD:
        return Cost(0, ELEMENTWISE_FORWARD[op] * out)
    if op == "MatMul":
        return Cost(2 * out * _contraction(input_shapes), 0)
    if op == "Linear":
        bias_add = out if input_shapes[2] is not None else 0
        return Cost(2 * out * _contraction(input_shapes), bias_add)
    n = size(input_shapes[0]) if input_shapes else 0
    if op in ("Sum", "Max", "Min"):
        return Cost(0, n)
    if op == "Mean":
        return Cost(0, n + out)  # the sums, then one division per result
    if op == "LogSumExp":
        return Cost(0, 4 * n + 2 * out)  # max, subtract, exp, sum; log and add back per result
    if op == "Softmax":
        return Cost(0, 5 * n)  # max, subtract, exp, sum, divide
    if op == "LogSoftmax":
        rows = _rows(input_shapes[0], params)
        return None if rows is None else Cost(0, 5 * n + 2 * rows)  # logsumexp, subtract
    if op == "SoftmaxCrossEntropy":
        rows = input_shapes[0][0]
        return Cost(0, 5 * n + 3 * rows)  # softmax (kept for backward), pick, reduce the rows
    if op == "IndexAdd":
        return Cost(0, n)  # g added into zeros
    if op in SHAPE_OPS:
        return Cost(0, 0)
    return None


def backward_cost(
    op: str, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple = ()
):
    """Flops of `op`'s VJP for the inputs flagged in `needs`, plus the engine's summing of
    broadcast gradients back to their inputs' shapes."""
    out = size(output_shape)
    if op in ELEMENTWISE_BACKWARD:
        shared, per_input = ELEMENTWISE_BACKWARD[op]
        flops = shared * out if any(needs) else 0
        for shape, needed, cost in zip(input_shapes, needs, per_input):
            if needed:
                flops += cost * out + (out if tuple(shape) != tuple(output_shape) else 0)
        return Cost(0, flops)
    if op == "MatMul":
        return _matmul_backward(input_shapes, output_shape, needs)
    if op == "Linear":
        matmul = 2 * out * _contraction(input_shapes) * (int(needs[0]) + int(needs[1]))
        return Cost(matmul, out if len(needs) > 2 and needs[2] else 0)
    n = size(input_shapes[0]) if input_shapes else 0
    if op in ("Sum", "BroadcastTo", "Reshape", "Transpose", "Concatenate", "IndexAdd", "Cast"):
        extra = out if op == "BroadcastTo" and tuple(input_shapes[0]) != tuple(output_shape) else 0
        return Cost(0, extra)
    if op == "Mean":
        return Cost(0, out)  # g / count
    if op in ("Max", "Min"):
        return Cost(0, 4 * n)  # which elements hit the extreme, how many, share, times g
    if op == "LogSumExp":
        return Cost(0, 3 * n)  # g * exp(x - out)
    if op == "Softmax":
        return Cost(0, 4 * n)  # out * (g - sum(g * out))
    if op == "LogSoftmax":
        return Cost(0, 4 * n)  # g - exp(out) * sum(g)
    if op == "SoftmaxCrossEntropy":
        rows = input_shapes[0][0]
        return Cost(0, n + rows)  # the kept softmax minus one-hot, scaled
    if op == "GetItem":
        return Cost(0, out)  # g scattered back with an add per element
    return None


def _rows(shape: tuple, params: tuple):
    """How many rows a softmax-like op reduces over (None when its axis is no longer known)."""
    if not params:
        return None
    axis = params[0] % max(len(shape), 1) if shape else 0
    return size(shape) // shape[axis] if shape else 1


def _contraction(input_shapes: list) -> int:
    """The summed dimension d of (.., d) @ (d, ..), from whichever operand's shape is known
    (a constant operand's array is released by backward, and with it its shape)."""
    a, b = input_shapes[0], input_shapes[1]
    if a is not None:
        return a[-1]
    return b[-2] if len(b) > 1 else b[0]


def _matmul_backward(input_shapes: list, output_shape: tuple, needs: tuple) -> Cost:
    # A released constant operand (shape None) is taken as a matrix, the usual case.
    a, b = (tuple(s) if s is not None else (1, 1) for s in input_shapes[:2])
    out = size(output_shape)
    contraction = _contraction(input_shapes)
    batch = size(output_shape[:-2]) if len(a) > 1 and len(b) > 1 else size(output_shape[:-1])
    matmul, other = 0, 0
    for shape, needed in ((a, needs[0]), (b, needs[1])):
        if not needed:
            continue
        matmul += 2 * out * contraction
        computed = batch * (size(shape[-2:]) if len(shape) > 1 else shape[0])
        if computed != size(shape):  # broadcast batch dimensions are summed back
            other += computed
    return Cost(matmul, other)
