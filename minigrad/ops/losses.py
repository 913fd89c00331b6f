"""The fused losses: softmax cross-entropy over class indices, mean squared error and binary
cross-entropy.

Each is one op rather than a composite, for a reason its docstring gives: a closed-form gradient
with no (N, C) intermediates, or a gradient that stays finite where the composite's would be
0 * inf.
"""

from __future__ import annotations

import numpy as np

from .base import Cost, Elementwise, Op, Sample, call, is_constant, sample_values, size
from .reductions import _finite_row_max


class SoftmaxCrossEntropy(Op):
    """Mean (or sum) over rows of -log softmax(logits)[target], fused;  d/dlogits = softmax - onehot

    One op instead of log_softmax + gather + mean, so the closed-form gradient needs no
    intermediate (N, C) gradient arrays. `target` holds integer class indices. Recorded for
    backward, the forward keeps softmax(logits) (`saves_residuals`), so the backward is a copy,
    a subtract and a scale, as in a hand-written step (which needs no copy: it never runs its
    backward twice); without them it computes softmax again.
    """

    name, saves_residuals, residuals_name = "SoftmaxCrossEntropy", (True, False), "probabilities"

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        rows = input_shapes[0][0]  # softmax (kept for backward), pick, reduce the rows
        return Cost(0, 5 * size(input_shapes[0]) + 3 * rows)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        rows = input_shapes[0][0]  # the kept softmax minus one-hot, scaled
        return Cost(0, size(input_shapes[0]) + rows)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(3, 4), np.array([0, 3, 1])), ("mean",))]

    @staticmethod
    def forward(logits, target, reduction):
        return _cross_entropy(logits, target, reduction)[0]

    @staticmethod
    def forward_saving(logits, target, reduction):
        """The loss, and softmax(logits) for the gradient."""
        loss, exps, totals = _cross_entropy(logits, target, reduction)
        exps /= totals
        return loss, exps

    @staticmethod
    def vjp(g, probabilities, inputs, needs, reduction):
        logits, target = inputs
        if not is_constant(logits):
            probs = logits.softmax(axis=-1)
            return (
                (probs - _one_hot(target, probs.shape, probs.dtype))
                * _row_scale(g, reduction, logits.shape[0]),
                None,
            )
        if probabilities is not None:
            probs = probabilities.copy()  # the node's: a retained graph's next backward reads them
        else:
            probs = np.exp(logits - _finite_row_max(logits))
            probs /= np.add.reduce(probs, axis=-1, keepdims=True)
        probs[np.arange(len(target)), target] -= 1
        probs *= _row_scale(g, reduction, logits.shape[0])
        return (probs, None)


def _cross_entropy(logits, target, reduction: str) -> tuple:
    """The loss, e^(x - m) and its row sums: softmax's parts, for a forward that keeps it."""
    shifted = logits - _finite_row_max(logits)
    exps = np.exp(shifted)
    totals = np.add.reduce(exps, axis=-1, keepdims=True)
    # -log softmax(x)[t] = log sum_j e^(x_j - m) - (x_t - m): only the picked entries, no (N, C)
    # log-probs.
    picked = np.log(totals[:, 0]) - shifted[np.arange(len(target)), target]
    if reduction == "mean":
        return np.asarray(np.add.reduce(picked) / len(picked), dtype=logits.dtype), exps, totals
    if reduction == "sum":
        return np.asarray(np.add.reduce(picked), dtype=logits.dtype), exps, totals
    return picked, exps, totals


class MseLoss(Op):
    """Mean (or sum) of (input - target)^2, fused;  d/dinput = 2 (input - target) g / N for the
    mean (the gradient of lecture 001's loss (1/N) sum (f(x_i, w) - y_i)^2, slide 'Computational
    complexity'), 2 (input - target) g for the sum;  d/dtarget is its negative

    One op instead of subtract, square and mean, whose backward filled an array with g / N and
    multiplied it into the difference twice (once per factor of the square) and added the two:
    here the forward keeps the difference (`saves_residuals`) and the backward is one scale of
    it, the hand-written step's `difference *= 2 / N`, with the same numbers (2 fl(g/N) d, as
    the composite's sum of two products, is fl(2g/N) d: doubling is exact). On the lecture
    network (benchmark case 2) that is five NumPy calls fewer a step.

    params: the reduction, 'mean' or 'sum' (`functional.mse_loss` keeps 'none' a composite).
    """

    name, saves_residuals, residuals_name = "MseLoss", (True, True), "difference"

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        n = size(input_shapes[0])  # subtract, square and add per element, then one division
        return Cost(0, 3 * n + (params[0] == "mean"))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        n = size(input_shapes[0])  # the scale of g, the difference times it, the target's sign
        return Cost(0, 1 + n + n * int(needs[1]))

    @classmethod
    def samples(cls):
        return [
            Sample((sample_values(3, 4), sample_values(3, 4, low=-1.0, high=1.5)), (reduction,))
            for reduction in ("mean", "sum")
        ]

    @staticmethod
    def forward(input, target, reduction):
        return MseLoss.forward_saving(input, target, reduction)[0]

    @staticmethod
    def forward_saving(input, target, reduction):
        """The loss, and the difference input - target for the gradient."""
        difference = input - target
        total = np.add.reduce(difference * difference, axis=None)
        return (total / difference.size if reduction == "mean" else total), difference

    @staticmethod
    def vjp(g, difference, inputs, needs, reduction):
        if difference is None:  # nothing kept: from the inputs, as recorded ops under create_graph
            difference = inputs[0] - inputs[1]
        count = max(size(difference.shape), 1)  # an empty input's gradient is empty anyway
        scale = g * (2.0 / count) if reduction == "mean" else g * 2.0
        grad = difference * scale
        return (grad if needs[0] else None, -grad if needs[1] else None)


class BinaryCrossEntropy(Elementwise):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 (PyTorch's rule);
    d/dp = (p - y) / max(p (1 - p), 1e-12),  d/dy = log(1 - p) - log p

    One op rather than logs of a clipped input: at p = 0 or 1 the composite would meet a zero
    gradient from the clamp times an infinite one from the log, 0 * inf = NaN.

    The loss is linear in y, so d/dy = L(p, 1) - L(p, 0); under create_graph the VJP builds it
    from this op itself, so it keeps its dependence on p: d/dp of it is -1/p - 1/(1 - p) =
    -1 / (p (1 - p)), the mixed second derivative (with the same 1e-12 floor as d/dp).
    """

    name = "BinaryCrossEntropy"
    # -(y max(log p, -100) + (1 - y) max(log(1 - p), -100)): 10 per element. d/dp:
    # g (p - y) / max(p (1 - p), 1e-12) is 6; d/dy: g (L(p, 1) - L(p, 0)) is two forwards and 2.
    flops, vjp_flops = 10, (0, (6, 22))

    @classmethod
    def samples(cls):
        p, y = sample_values(2, 3, low=0.1, high=0.9), sample_values(2, 3, low=0.05, high=0.95)
        return [Sample((p, y))]

    @staticmethod
    def forward(p, y):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100)
            log_not_p = np.maximum(np.log1p(-p), -100)
        return -(y * log_p + (1 - y) * log_not_p)

    @staticmethod
    def vjp(g, out, inputs, needs):
        p, y = inputs
        grad_p = g * (p - y) / (p * (1 - p)).clip(min=1e-12) if needs[0] else None
        grad_y = g * BinaryCrossEntropy.target_slope(p) if needs[1] else None
        return (grad_p, grad_y)

    @staticmethod
    def target_slope(p):
        """dL/dy = L(p, 1) - L(p, 0) = max(log(1 - p), -100) - max(log p, -100): on an array a
        constant, on a Tensor recorded (through this op), so it can be differentiated in p."""
        return call(BinaryCrossEntropy, (p, 1.0)) - call(BinaryCrossEntropy, (p, 0.0))


def _row_scale(g, reduction: str, rows: int):
    if reduction == "mean":
        return g / rows
    if reduction == "sum":
        return g
    return g.reshape((rows, 1))


def _one_hot(target: np.ndarray, shape: tuple, dtype) -> np.ndarray:
    """Rows of zeros with a 1 at each row's target class: the gradient's constant part."""
    one_hot = np.zeros(shape, dtype=dtype)
    one_hot[np.arange(len(target)), target] = 1
    return one_hot
