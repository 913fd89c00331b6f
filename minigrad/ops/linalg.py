"""Matrix products: `MatMul` for 1-D, 2-D and batched operands, and the fused `Linear` layer.

A product (n, d) @ (d, e) costs 2 n d e flops (one multiply and one add per term, the usual
multiply-add convention); its backward 2 n d e per input whose gradient is wanted (g @ b^T and
a^T g), so 4 n d e when both are (lecture 001, slide 'Cost per layer').
"""

from __future__ import annotations

import numpy as np

from .base import Cost, Op, Sample, sample_values, size


def _contraction(input_shapes: list) -> int:
    """The summed dimension d of (.., d) @ (d, ..), from whichever operand's shape is known
    (a constant operand's array is released by backward, and with it its shape)."""
    a, b = input_shapes[0], input_shapes[1]
    if a is not None:
        return a[-1]
    return b[-2] if len(b) > 1 else b[0]


class MatMul(Op):
    """a @ b for 1-D, 2-D and batched N-D operands;  d/da = g b^T,  d/db = a^T g

    A 1-D operand is treated as a row (left) or column (right) vector, as in NumPy; batch
    dimensions broadcast, and the engine sums the gradient back over them.
    """

    name = "MatMul"
    forward = staticmethod(np.matmul)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if needs[0] else None, a.T @ g if needs[1] else None)
        if a.ndim == 1:
            a = a.reshape((1, a.shape[0]))
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
        if b.ndim == 1:
            b = b.reshape((b.shape[0], 1))
            g = g.reshape(g.shape + (1,))
        grad_a = g @ b.mT if needs[0] else None
        grad_b = a.mT @ g if needs[1] else None
        if needs[0] and inputs[0].ndim == 1:
            grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if needs[1] and inputs[1].ndim == 1:
            grad_b = grad_b.reshape(grad_b.shape[:-1])
        return (grad_a, grad_b)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(2 * size(output_shape) * _contraction(input_shapes), 0)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
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

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(3, 4)))]


class Linear(Op):
    """x @ W + b in one op (fused, so the product x @ W is never kept);  W of shape (d, e)

    d/dx = g W^T,  d/dW = x^T g (summed over every leading batch dimension),  d/db = sum of g.
    This is the lectures' layer x^T W with W in R^{d x e} (lecture 001, "Computing a single
    neuron"); its backward costs 2 x 2 N d e flops against the forward's 2 N d e.
    """

    name = "Linear"

    @staticmethod
    def forward(x, weight, bias):
        out = x @ weight
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def vjp(g, out, inputs, needs):
        x, weight, _ = inputs
        grad_x = g @ weight.mT if needs[0] else None
        if x.ndim != 2:  # fold leading batch dimensions into rows
            x, g = x.reshape((-1, x.shape[-1])), g.reshape((-1, g.shape[-1]))
        grad_w = x.mT @ g if needs[1] else None
        grad_b = g.sum(axis=0) if needs[2] else None
        return (grad_x, grad_w, grad_b)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        """The product as MatMul's; the bias add (N e) apart, as elementwise flops, so the matmul
        column stays exactly 2 N d e forward and 4 N d e backward."""
        out = size(output_shape)
        bias_add = out if input_shapes[2] is not None else 0
        return Cost(2 * out * _contraction(input_shapes), bias_add)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        out = size(output_shape)
        matmul = 2 * out * _contraction(input_shapes) * (int(needs[0]) + int(needs[1]))
        return Cost(matmul, out if len(needs) > 2 and needs[2] else 0)  # the bias: a sum of g

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(3, 4), sample_values(4)))]
