"""Every primitive op: its forward on ndarrays and its vector-Jacobian product, side by side.

An op is a class with two static methods:

- `forward(*arrays, *params) -> ndarray`
- `vjp(g, out, inputs, needs, *params) -> tuple`: given the upstream gradient `g = dL/d out`,
  return `dL/d input` for each input (None where `needs[i]` is False). `inputs` holds the input
  arrays when the op `saves_inputs` (else None); `out` is the output when it `saves_output`.

The engine reduces each returned gradient to its input's exact shape (`autograd.unbroadcast`) and
dtype, so a VJP may return a gradient in the broadcast output shape. VJPs use only arithmetic
operators and the methods ndarrays and Tensors share (`sum`, `reshape`, `transpose`, `mT`), plus
the few helpers below, so the same code runs on Tensors when `backward(create_graph=True)`
records the backward pass for higher derivatives.

Adding an op means adding a class here and a row in `tests/test_ops.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from math import prod

import numpy as np


class Op:
    name = "Op"
    saves_inputs = True
    saves_output = False
    # Optional `forward_into(x) -> x`: the forward of a one-input elementwise op written into its
    # float input's own buffer, for the in-place methods (`x.relu_()`), which call it only when
    # nothing else can see that buffer. Only ops whose VJP does not read their input have one.
    forward_into = None
    # Per input position: whether, when that input is the op's only constant, the VJP reads
    # nothing but it. Then the node keeps the constant, not the tensor's array: `x * 0.5` keeps
    # 0.5 and lets x's buffer go, as PyTorch saves only what the wanted gradient reads.
    constant_suffices = (False, False)


def is_constant(x) -> bool:
    """An ndarray or a number, not a Tensor: what VJPs see outside create_graph (and what constant
    operands are in both modes), so the NumPy function applies rather than the Tensor method."""
    return isinstance(x, (np.ndarray, np.generic, int, float))


def values(x):
    """The array or number behind `x` (a constant: masks built from it carry no gradient)."""
    return x if is_constant(x) else x.data


def _broadcast_to(g, shape: tuple):
    return np.broadcast_to(g, shape) if is_constant(g) else g.broadcast_to(shape)


def _where(condition: np.ndarray, a, b):
    if is_constant(a) and is_constant(b):
        return np.where(condition, a, b)
    from .functional import where

    return where(condition, a, b)


def _exp(x):
    return np.exp(x) if is_constant(x) else x.exp()


def _sigmoid(x):
    return stable_sigmoid(x) if is_constant(x) else x.sigmoid()


def _cos(x):
    return np.cos(x) if is_constant(x) else x.cos()


def _sin(x):
    return np.sin(x) if is_constant(x) else x.sin()


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^-x is only formed where x >= 0."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


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
    return _broadcast_to(g, shape)


# ---------------------------------------------------------------------------------------------
# elementwise, one input


class Neg(Op):
    """-x;  d/dx = -1"""

    name, saves_inputs = "Neg", False
    forward = staticmethod(np.negative)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (-g,)


class Exp(Op):
    """e^x;  d/dx = e^x (the output, so it is saved instead of the input)"""

    name, saves_inputs, saves_output = "Exp", False, True
    forward = staticmethod(np.exp)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * out,)


class Log(Op):
    """ln x;  d/dx = 1/x"""

    name = "Log"
    forward = staticmethod(np.log)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g / inputs[0],)


class Sqrt(Op):
    """sqrt x;  d/dx = 1 / (2 sqrt x)"""

    name, saves_inputs, saves_output = "Sqrt", False, True
    forward = staticmethod(np.sqrt)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g / (2 * out),)


class Abs(Op):
    """|x|;  d/dx = sign(x), taken as 0 at x = 0 as PyTorch does"""

    name = "Abs"
    forward = staticmethod(np.abs)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * np.sign(values(inputs[0])),)


class Tanh(Op):
    """tanh x;  d/dx = 1 - tanh(x)^2"""

    name, saves_inputs, saves_output = "Tanh", False, True
    forward = staticmethod(np.tanh)

    @staticmethod
    def forward_into(x):
        return np.tanh(x, out=x)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (1 - out * out),)


class Sigmoid(Op):
    """sigma(x) = 1 / (1 + e^-x);  d/dx = sigma(x) (1 - sigma(x))"""

    name, saves_inputs, saves_output = "Sigmoid", False, True
    forward = staticmethod(stable_sigmoid)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (out * (1 - out)),)


class Relu(Op):
    """max(x, 0);  d/dx = 1 where x > 0, else 0

    The VJP multiplies by the 0/1 mask (several times faster than a select); the only difference
    from a select is an infinite upstream gradient at a zeroed unit, which gives NaN, not 0.
    """

    name, saves_inputs, saves_output = "Relu", False, True

    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def forward_into(x):
        return np.maximum(x, 0, out=x)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (values(out) > 0),)


class LeakyRelu(Op):
    """x if x > 0 else slope x;  d/dx = 1 or slope"""

    name = "LeakyRelu"

    @staticmethod
    def forward(x, negative_slope):
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def vjp(g, out, inputs, needs, negative_slope):
        return (_where(values(inputs[0]) > 0, g, g * negative_slope),)


class Softplus(Op):
    """ln(1 + e^x), computed as logaddexp(0, x) so it never overflows;  d/dx = sigma(x)"""

    name = "Softplus"

    @staticmethod
    def forward(x):
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * _sigmoid(inputs[0]),)


class Sin(Op):
    """sin x;  d/dx = cos x"""

    name = "Sin"
    forward = staticmethod(np.sin)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * _cos(inputs[0]),)


class Cos(Op):
    """cos x;  d/dx = -sin x"""

    name = "Cos"
    forward = staticmethod(np.cos)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (-(g * _sin(inputs[0])),)


class Clip(Op):
    """min(max(x, low), high);  d/dx = 1 inside [low, high] (ends included, as PyTorch), else 0"""

    name = "Clip"

    @staticmethod
    def forward(x, low, high):
        return np.clip(x, low, high)

    @staticmethod
    def vjp(g, out, inputs, needs, low, high):
        x = values(inputs[0])
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return (_where(inside, g, 0),)


class Cast(Op):
    """x as another floating dtype;  the gradient is cast back (by the engine)"""

    name, saves_inputs = "Cast", False

    @staticmethod
    def forward(x, dtype):
        return x.astype(dtype)

    @staticmethod
    def fresh_params(node) -> tuple:
        """Replays for gradient checks run in float64; a cast to float32 would blur them."""
        return (np.dtype(np.float64),)

    @staticmethod
    def vjp(g, out, inputs, needs, dtype):
        return (g,)


# ---------------------------------------------------------------------------------------------
# elementwise, two or three inputs, broadcasting (the engine unbroadcasts the results)


class Add(Op):
    """a + b;  d/da = d/db = 1"""

    name, saves_inputs = "Add", False
    forward = staticmethod(np.add)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g, g)


class Sub(Op):
    """a - b;  d/da = 1, d/db = -1"""

    name, saves_inputs = "Sub", False
    forward = staticmethod(np.subtract)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g, -g if needs[1] else None)


class Mul(Op):
    """a * b;  d/da = b, d/db = a"""

    name, constant_suffices = "Mul", (True, True)
    forward = staticmethod(np.multiply)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (g * b if needs[0] else None, g * a if needs[1] else None)


class Div(Op):
    """a / b;  d/da = 1/b, d/db = -a/b^2"""

    name, constant_suffices = "Div", (False, True)  # d/da = 1/b reads b alone
    forward = staticmethod(np.divide)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (g / b if needs[0] else None, -(g * a) / (b * b) if needs[1] else None)


class Pow(Op):
    """a ** b;  d/da = b a^(b-1),  d/db = a^b ln a

    At a = 0 both are defined as PyTorch defines them: d/da = 0 where b = 0 too (a^0 = 1 for
    every a; b a^(b-1) would be 0 * inf), and d/db = 0 where b >= 0 (for b < 0 it stays
    a^b ln a = -inf). Only those elements are masked, so d2(a^b)/da db = a^(b-1) (1 + b ln a),
    which is 1/a at b = 0, is kept everywhere else. The masked elements get a base of 1 before
    the power and the log, so under create_graph no 0 * inf turns a second derivative into NaN;
    at a = b = 0 both mixed second derivatives are 0.
    """

    name, saves_output = "Pow", True
    forward = staticmethod(np.power)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (
            Pow.base_gradient(g, a, b) if needs[0] else None,
            Pow.exponent_gradient(g, out, a, b) if needs[1] else None,
        )

    @staticmethod
    def base_gradient(g, a, b):
        """g b a^(b-1), and 0 where a == 0 and b == 0."""
        zero_exponent = np.equal(values(b), 0)
        if not zero_exponent.any():  # x ** 2 and every other nonzero exponent: no mask at all
            return g * b * a ** (b - 1)
        masked = np.equal(values(a), 0) & zero_exponent
        base = Pow.masked_base(a, masked)
        return _where(masked, 0, g * b * base ** (b - 1))

    @staticmethod
    def exponent_gradient(g, out, a, b):
        """g a^b ln a, and 0 where a == 0 and b >= 0 (PyTorch's rule)."""
        masked = np.equal(values(a), 0) & np.greater_equal(values(b), 0)
        log_a = Pow.log(Pow.masked_base(a, masked))
        return _where(masked, 0, g * out * log_a)

    @staticmethod
    def masked_base(a, masked: np.ndarray):
        """a with 1 wherever `masked` holds (a itself when nowhere)."""
        return _where(masked, 1.0, a) if masked.any() else a

    @staticmethod
    def log(x):
        """ln x: -inf at 0 and NaN below, without NumPy's warnings (a^b ln a is then -inf or
        NaN, as in PyTorch)."""
        if not is_constant(x):
            return x.log()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)


class _Extremum(Op):
    """Shared VJP of maximum/minimum: the gradient goes to the winner, split evenly on ties."""

    compare: Callable  # np.greater or np.less: where the first input wins outright

    @classmethod
    def vjp(cls, g, out, inputs, needs):
        a, b = values(inputs[0]), values(inputs[1])
        dtype = g.dtype
        share_a = np.where(cls.compare(a, b), 1.0, np.where(a == b, 0.5, 0.0)).astype(dtype)
        return (g * share_a if needs[0] else None, g * (1 - share_a) if needs[1] else None)


class Maximum(_Extremum):
    """max(a, b) elementwise"""

    name = "Maximum"
    forward = staticmethod(np.maximum)
    compare = staticmethod(np.greater)


class Minimum(_Extremum):
    """min(a, b) elementwise"""

    name = "Minimum"
    forward = staticmethod(np.minimum)
    compare = staticmethod(np.less)


class Where(Op):
    """where(c, a, b) picks a where c holds, else b;  d/da = c, d/db = not c (c has no gradient)"""

    name = "Where"

    @staticmethod
    def forward(condition, a, b):
        return np.where(condition, a, b)

    @staticmethod
    def vjp(g, out, inputs, needs):
        condition = values(inputs[0])
        return (
            None,
            _where(condition, g, 0) if needs[1] else None,
            _where(condition, 0, g) if needs[2] else None,
        )


# ---------------------------------------------------------------------------------------------
# linear algebra


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


# ---------------------------------------------------------------------------------------------
# reductions (axis is None or a tuple of non-negative ints, normalised by the caller)


class Sum(Op):
    """sum over axis;  d/dx_i = 1, so g is broadcast back over the reduced axes"""

    name = "Sum"

    @staticmethod
    def forward(x, axis, keepdims):
        return np.add.reduce(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        return (_expand(g, inputs[0].shape, axis, keepdims),)


class Mean(Op):
    """mean over axis;  d/dx_i = 1/n for the n elements averaged"""

    name = "Mean"

    @staticmethod
    def forward(x, axis, keepdims):
        return np.add.reduce(x, axis=axis, keepdims=keepdims) / reduced_count(x.shape, axis)

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        shape = inputs[0].shape
        return (_expand(g / reduced_count(shape, axis), shape, axis, keepdims),)


class _Extreme(Op):
    """Shared VJP of max/min reductions: g goes to the extreme elements, split evenly on ties
    (as PyTorch's amax/amin)."""

    saves_output = True

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

    @staticmethod
    def forward(x, axis, keepdims):
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)


class Min(_Extreme):
    """min over axis"""

    name = "Min"

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


class LogSumExp(Op):
    """log sum_i e^(x_i), stable;  d/dx_i = e^(x_i - out) = softmax(x)_i"""

    name, saves_output = "LogSumExp", True

    @staticmethod
    def forward(x, axis, keepdims):
        out = _logsumexp_keepdims(x, axis)
        return out if keepdims else out.reshape(_reduced_shape(x.shape, axis))

    @staticmethod
    def vjp(g, out, inputs, needs, axis, keepdims):
        x = inputs[0]
        shape = keepdims_shape(x.shape, axis)
        return (g.reshape(shape) * _exp(x - out.reshape(shape)),)


class Softmax(Op):
    """s_i = e^(x_i) / sum_j e^(x_j);  vjp: s * (g - sum_j g_j s_j)"""

    name, saves_inputs, saves_output = "Softmax", False, True

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

    @staticmethod
    def forward(x, axis):
        return x - _logsumexp_keepdims(x, axis)

    @staticmethod
    def vjp(g, out, inputs, needs, axis):
        return (g - _exp(out) * g.sum(axis=axis, keepdims=True),)


class KeptSoftmax:
    """Where a SoftmaxCrossEntropy forward leaves softmax(logits) for its own backward."""

    __slots__ = ("probabilities",)

    def __init__(self):
        self.probabilities = None


class SoftmaxCrossEntropy(Op):
    """Mean (or sum) over rows of -log softmax(logits)[target], fused;  d/dlogits = softmax - onehot

    One op instead of log_softmax + gather + mean, so the closed-form gradient needs no
    intermediate (N, C) gradient arrays. `target` holds integer class indices. The forward leaves
    softmax(logits) in its `kept` parameter (a fresh `KeptSoftmax` per call), so the backward is
    a subtract and a scale, as in a hand-written step; without one it computes softmax again.
    """

    name, saves_output = "SoftmaxCrossEntropy", False

    @staticmethod
    def forward(logits, target, reduction, kept=None):
        shifted = logits - _finite_row_max(logits)
        exps = np.exp(shifted)
        totals = np.add.reduce(exps, axis=-1, keepdims=True)
        # -log softmax(x)[t] = log sum_j e^(x_j - m) - (x_t - m): only the picked entries, no
        # (N, C) log-probs.
        picked = np.log(totals[:, 0]) - shifted[np.arange(len(target)), target]
        if kept is not None:
            exps /= totals
            kept.probabilities = exps
        if reduction == "mean":
            return np.asarray(np.add.reduce(picked) / len(picked), dtype=logits.dtype)
        if reduction == "sum":
            return np.asarray(np.add.reduce(picked), dtype=logits.dtype)
        return picked

    @staticmethod
    def vjp(g, out, inputs, needs, reduction, kept=None):
        logits, target = inputs
        if not is_constant(logits):
            from .functional import one_hot_like

            probs = logits.softmax(axis=-1)
            return (
                (
                    (probs - one_hot_like(logits.data, target))
                    * _row_scale(g, reduction, logits.shape[0])
                ),
                None,
            )
        if kept is not None and kept.probabilities is not None:
            # Taken, not copied: a retained graph's next backward recomputes them below.
            probs, kept.probabilities = kept.probabilities, None
        else:
            probs = np.exp(logits - _finite_row_max(logits))
            probs /= np.add.reduce(probs, axis=-1, keepdims=True)
        probs[np.arange(len(target)), target] -= 1
        probs *= _row_scale(g, reduction, logits.shape[0])
        return (probs, None)

    @staticmethod
    def fresh_params(node) -> tuple:
        """The reduction alone, so replaying the forward (gradient checks) keeps nothing."""
        return node.params[:1]


class BinaryCrossEntropy(Op):
    """-(y log p + (1 - y) log(1 - p)), each log clamped at -100 (PyTorch's rule);
    d/dp = (p - y) / max(p (1 - p), 1e-12),  d/dy = log(1 - p) - log p

    One op rather than logs of a clipped input: at p = 0 or 1 the composite would meet a zero
    gradient from the clamp times an infinite one from the log, 0 * inf = NaN.

    The loss is linear in y, so d/dy = L(p, 1) - L(p, 0); under create_graph the VJP builds it
    from this op itself, so it keeps its dependence on p: d/dp of it is -1/p - 1/(1 - p) =
    -1 / (p (1 - p)), the mixed second derivative (with the same 1e-12 floor as d/dp).
    """

    name = "BinaryCrossEntropy"

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
        if is_constant(p):
            return BinaryCrossEntropy.forward(p, 1.0) - BinaryCrossEntropy.forward(p, 0.0)
        from .tensor import apply

        return apply(BinaryCrossEntropy, (p, 1.0)) - apply(BinaryCrossEntropy, (p, 0.0))


def _row_scale(g, reduction: str, rows: int):
    if reduction == "mean":
        return g / rows
    if reduction == "sum":
        return g
    return g.reshape((rows, 1))


# ---------------------------------------------------------------------------------------------
# shape


class Reshape(Op):
    """x viewed with a new shape;  the gradient is reshaped back"""

    name = "Reshape"

    @staticmethod
    def forward(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def vjp(g, out, inputs, needs, shape):
        return (g.reshape(inputs[0].shape),)


class Transpose(Op):
    """x with its axes permuted;  the gradient is permuted back by the inverse permutation"""

    name, saves_inputs = "Transpose", False

    @staticmethod
    def forward(x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def vjp(g, out, inputs, needs, axes):
        inverse = tuple(int(i) for i in np.argsort(axes))
        return (np.transpose(g, inverse) if is_constant(g) else g.permute(*inverse),)


class BroadcastTo(Op):
    """x broadcast to a larger shape;  the engine sums the gradient back (unbroadcast)"""

    name, saves_inputs = "BroadcastTo", False

    @staticmethod
    def forward(x, shape):
        return np.broadcast_to(x, shape)

    @staticmethod
    def vjp(g, out, inputs, needs, shape):
        return (g,)


class GetItem(Op):
    """x[index] (slices, integer arrays, boolean masks);  gradient: scattered back with
    `IndexAdd`, so repeated indices accumulate"""

    name = "GetItem"

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def vjp(g, out, inputs, needs, index):
        shape = inputs[0].shape
        if is_constant(g):
            return (IndexAdd.forward(g, shape, index),)
        from .tensor import apply

        return (apply(IndexAdd, (g,), (shape, index)),)


class IndexAdd(Op):
    """zeros(shape) with g added at index (the VJP of indexing);  its own VJP is indexing again"""

    name, saves_inputs = "IndexAdd", False

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


class Concatenate(Op):
    """concatenate(xs, axis);  each input's gradient is its slice of g along axis"""

    name = "Concatenate"

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
