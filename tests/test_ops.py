"""Every primitive in minigrad.ops, one row each: forward against NumPy, float64 gradcheck and
gradgradcheck, float32 gradients of the input's exact shape, drawn broadcastable shapes for the
binary ops and drawn axes for the reductions, and the numerically delicate ops at +-1000.

Adding an op means adding a row to OPS (and to BROADCASTING or REDUCTIONS when it has those).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad.testing import arrays, axes_and_keepdims, broadcastable_shapes, check_op, shapes


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def log_softmax(x, axis):
    return x - logsumexp(x, axis, keepdims=True)


@dataclass(frozen=True)
class OpCase:
    """One row: how to build the op from tensors, what NumPy says it computes, on what inputs."""

    name: str
    fn: Callable
    reference: Callable
    shapes: tuple
    domain: dict = field(default_factory=dict)  # arrays() options for every input
    domains: tuple = ()  # per-input options, overriding `domain`
    prepare: Callable | None = None  # arrays -> arrays (bool conditions, tie-free grids)

    def options(self, index: int) -> dict:
        if self.domains and self.domains[index] is not None:
            return self.domains[index]
        return self.domain

    def inputs(self, arrays_in) -> list:
        return list(self.prepare(*arrays_in)) if self.prepare else list(arrays_in)


def fixed_array(
    shape: tuple, rng, min_value=-2.0, max_value=2.0, away_from=(), margin=0.1, min_gap=None
) -> np.ndarray:
    """Seeded inputs obeying the same domain options as minigrad.testing.arrays."""
    if min_gap is not None:
        points = int((max_value - min_value) // min_gap) + 1
        size = int(np.prod(shape))
        return min_value + rng.choice(points, size, replace=False).reshape(shape) * min_gap
    values = rng.uniform(min_value, max_value, shape)
    for point in away_from:
        close = np.abs(values - point) < margin
        values = np.where(close, np.where(values >= point, point + margin, point - margin), values)
    return np.asarray(values, dtype=np.float64)


def case_inputs(case: OpCase, dtype=np.float64, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    drawn = [fixed_array(s, rng, **case.options(i)) for i, s in enumerate(case.shapes)]
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in case.inputs(drawn)]


def as_tensors(arrays_in, requires_grad=True) -> list:
    return [
        mg.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f", dtype=a.dtype)
        for a in arrays_in
    ]


def tie_free(a, b):
    """a on a grid of quarters, b on the same grid shifted by an eighth: never equal or close."""
    return np.round(a * 4) / 4, np.round(b * 4) / 4 + 0.125


def condition_first(c, a, b):
    return c > 0, a, b


POSITIVE = {"min_value": 0.2, "max_value": 3.0}
NONZERO = {"away_from": (0.0,), "margin": 0.2}
LABELS = np.array([2, 0, 1, 2])
SOFT_TARGETS = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.7]])
INDEX_2D = np.array([[0, 1], [2, 0]])
MASK = np.array([[True, False, True], [False, False, True], [True, True, False]])

UNARY = [
    OpCase("neg", lambda x: -x, np.negative, ((3, 2),)),
    OpCase("exp", lambda x: x.exp(), np.exp, ((3, 2),)),
    OpCase("log", lambda x: x.log(), np.log, ((3, 2),), POSITIVE),
    OpCase("sqrt", lambda x: x.sqrt(), np.sqrt, ((3, 2),), POSITIVE),
    OpCase("abs", lambda x: x.abs(), np.abs, ((3, 2),), NONZERO),
    OpCase("tanh", lambda x: x.tanh(), np.tanh, ((3, 2),)),
    OpCase("sigmoid", lambda x: x.sigmoid(), sigmoid, ((3, 2),)),
    OpCase("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), ((3, 2),), NONZERO),
    OpCase(
        "leaky_relu",
        lambda x: x.leaky_relu(0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        ((3, 2),),
        NONZERO,
    ),
    OpCase("softplus", lambda x: x.softplus(), lambda x: np.log1p(np.exp(x)), ((3, 2),)),
    OpCase("sin", lambda x: x.sin(), np.sin, ((3, 2),)),
    OpCase("cos", lambda x: x.cos(), np.cos, ((3, 2),)),
    OpCase(
        "clip",
        lambda x: x.clip(-0.5, 0.8),
        lambda x: np.clip(x, -0.5, 0.8),
        ((4, 3),),
        {"away_from": (-0.5, 0.8), "margin": 0.05},
    ),
    OpCase(
        "clip_min_only",
        lambda x: x.clip(min=0.3),
        lambda x: np.maximum(x, 0.3),
        ((4, 3),),
        {"away_from": (0.3,), "margin": 0.05},
    ),
]

BINARY = [
    OpCase("add", lambda a, b: a + b, np.add, ((3, 1), (4,))),
    OpCase("sub", lambda a, b: a - b, np.subtract, ((2, 3), (3,))),
    OpCase("mul", lambda a, b: a * b, np.multiply, ((2, 1, 3), (4, 1))),
    OpCase("div", lambda a, b: a / b, np.divide, ((2, 3), (2, 1)), domains=(None, NONZERO)),
    OpCase(
        "pow",
        lambda a, b: a**b,
        np.power,
        ((3, 2), (2,)),
        domains=(POSITIVE, {"min_value": -2.0, "max_value": 2.0}),
    ),
    OpCase("maximum", mg.maximum, np.maximum, ((3, 2), (2,)), prepare=tie_free),
    OpCase("minimum", mg.minimum, np.minimum, ((1, 3), (2, 1)), prepare=tie_free),
    OpCase("where", mg.where, np.where, ((2, 3), (3,), (2, 1)), prepare=condition_first),
]

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3, 4)),
    ((3, 4), (2, 4, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
]
MATMUL = [OpCase(f"matmul{a}@{b}", lambda a, b: a @ b, np.matmul, (a, b)) for a, b in MATMUL_SHAPES]

SHAPE_OPS = [
    OpCase("reshape", lambda x: x.reshape(3, 4), lambda x: x.reshape(3, 4), ((2, 6),)),
    OpCase("reshape_tuple", lambda x: x.reshape((-1, 2)), lambda x: x.reshape(-1, 2), ((2, 6),)),
    OpCase("transpose", lambda x: x.transpose(), np.transpose, ((2, 3, 4),)),
    OpCase(
        "transpose_axes",
        lambda x: x.transpose(1, 2, 0),
        lambda x: x.transpose(1, 2, 0),
        ((2, 3, 4),),
    ),
    OpCase("T", lambda x: x.T, lambda x: x.T, ((2, 3),)),
    OpCase("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), ((4, 2, 3),)),
    OpCase("flatten", lambda x: x.flatten(), np.ravel, ((2, 3, 2),)),
    OpCase(
        "flatten_from_1",
        lambda x: x.flatten(1),
        lambda x: x.reshape(2, 6),
        ((2, 3, 2),),
    ),
    OpCase("squeeze", lambda x: x.squeeze(), np.squeeze, ((1, 3, 1, 2),)),
    OpCase(
        "squeeze_axis",
        lambda x: x.squeeze(2),
        lambda x: np.squeeze(x, 2),
        ((1, 3, 1, 2),),
    ),
    OpCase(
        "unsqueeze",
        lambda x: x.unsqueeze(1),
        lambda x: np.expand_dims(x, 1),
        ((3, 2),),
    ),
    OpCase(
        "unsqueeze_last",
        lambda x: x.unsqueeze(-1),
        lambda x: np.expand_dims(x, -1),
        ((3, 2),),
    ),
    OpCase(
        "broadcast_to",
        lambda x: x.broadcast_to(4, 3, 2),
        lambda x: np.broadcast_to(x, (4, 3, 2)),
        ((3, 1),),
    ),
    OpCase("getitem_int", lambda x: x[1], lambda x: x[1], ((3, 4),)),
    OpCase("getitem_slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], ((3, 5),)),
    OpCase(
        "getitem_negative_step",
        lambda x: x[::-1, -1],
        lambda x: x[::-1, -1],
        ((3, 5),),
    ),
    OpCase("getitem_ellipsis", lambda x: x[..., 0], lambda x: x[..., 0], ((2, 3, 4),)),
    OpCase("getitem_newaxis", lambda x: x[None, 1], lambda x: x[None, 1], ((2, 3),)),
    OpCase("getitem_int_list", lambda x: x[[0, 2, 0]], lambda x: x[[0, 2, 0]], ((3, 2),)),
    OpCase("getitem_int_array_2d", lambda x: x[INDEX_2D], lambda x: x[INDEX_2D], ((3, 2),)),
    OpCase(
        "getitem_pairs",
        lambda x: x[[0, 1, 1], [2, 0, 0]],
        lambda x: x[[0, 1, 1], [2, 0, 0]],
        ((2, 3),),
    ),
    OpCase(
        "getitem_array_and_slice",
        lambda x: x[[2, 0], 1:],
        lambda x: x[[2, 0], 1:],
        ((3, 3),),
    ),
    OpCase("getitem_bool_mask", lambda x: x[MASK], lambda x: x[MASK], ((3, 3),)),
    OpCase(
        "getitem_tensor_mask",
        lambda x: x[mg.tensor(MASK[0])],
        lambda x: x[MASK[0]],
        ((3, 2),),
    ),
    OpCase(
        "concatenate",
        lambda a, b: mg.concatenate([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], axis=1),
        ((2, 3), (2, 1)),
    ),
    OpCase(
        "concatenate_negative_axis",
        lambda a, b, c: mg.cat([a, b, c], axis=-1),
        lambda a, b, c: np.concatenate([a, b, c], axis=-1),
        ((2, 2), (2, 1), (2, 3)),
    ),
    OpCase(
        "stack",
        lambda a, b: mg.stack([a, b]),
        lambda a, b: np.stack([a, b]),
        ((2, 3), (2, 3)),
    ),
    OpCase(
        "stack_last_axis",
        lambda a, b, c: mg.stack([a, b, c], axis=-1),
        lambda a, b, c: np.stack([a, b, c], axis=-1),
        ((2, 3), (2, 3), (2, 3)),
    ),
]

REDUCTION_ROWS = [
    OpCase("sum", lambda x: x.sum(axis=1), lambda x: x.sum(axis=1), ((3, 4),)),
    OpCase("mean", lambda x: x.mean(axis=(0, 2)), lambda x: x.mean(axis=(0, 2)), ((2, 3, 4),)),
    OpCase("var", lambda x: x.var(axis=0), lambda x: x.var(axis=0, ddof=1), ((4, 3),)),
    OpCase(
        "max",
        lambda x: x.max(axis=-1, keepdims=True),
        lambda x: x.max(axis=-1, keepdims=True),
        ((3, 4),),
        {"min_gap": 0.05},
    ),
    OpCase("min", lambda x: x.min(), lambda x: x.min(), ((3, 4),), {"min_gap": 0.05}),
    OpCase("logsumexp", lambda x: x.logsumexp(axis=1), lambda x: logsumexp(x, 1), ((3, 4),)),
    OpCase("softmax", lambda x: x.softmax(), lambda x: softmax(x, -1), ((3, 4),)),
    OpCase("softmax_axis0", lambda x: x.softmax(axis=0), lambda x: softmax(x, 0), ((3, 4),)),
    OpCase("log_softmax", lambda x: x.log_softmax(), lambda x: log_softmax(x, -1), ((3, 4),)),
]

FUSED_AND_LOSSES = [
    OpCase(
        "linear",
        F.linear,
        lambda x, w, b: x @ w + b,
        ((4, 3), (3, 2), (2,)),
    ),
    OpCase("linear_batched", F.linear, lambda x, w, b: x @ w + b, ((2, 4, 3), (3, 2), (2,))),
    OpCase("linear_no_bias", F.linear, lambda x, w: x @ w, ((4, 3), (3, 2))),
    OpCase("linear_1d", F.linear, lambda x, w, b: x @ w + b, ((3,), (3, 2), (2,))),
    *[
        OpCase(
            f"cross_entropy_{reduction}",
            lambda x, r=reduction: F.cross_entropy(x, LABELS, reduction=r),
            lambda x, r=reduction: {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[r](
                -log_softmax(x, 1)[np.arange(4), LABELS]
            ),
            ((4, 3),),
        )
        for reduction in ("mean", "sum", "none")
    ],
    OpCase(
        "nll_loss",
        lambda x: F.nll_loss(x, LABELS),
        lambda x: -x[np.arange(4), LABELS].mean(),
        ((4, 3),),
    ),
    OpCase(
        "mse_loss",
        F.mse_loss,
        lambda a, b: ((a - b) ** 2).mean(),
        ((2, 3), (2, 3)),
    ),
    OpCase(
        "mse_loss_sum",
        lambda a, b: F.mse_loss(a, b, reduction="sum"),
        lambda a, b: ((a - b) ** 2).sum(),
        ((2, 3), (2, 3)),
    ),
    OpCase(
        "binary_cross_entropy",
        lambda p: F.binary_cross_entropy(p, SOFT_TARGETS.astype(p.dtype)),
        lambda p: -(SOFT_TARGETS * np.log(p) + (1 - SOFT_TARGETS) * np.log(1 - p)).mean(),
        ((2, 3),),
        {"min_value": 0.05, "max_value": 0.95},
    ),
    OpCase(
        "binary_cross_entropy_target",
        F.binary_cross_entropy,
        lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(),
        ((2, 3), (2, 3)),
        domains=(
            {"min_value": 0.05, "max_value": 0.95},
            {"min_value": 0.02, "max_value": 0.98},  # eps steps must stay inside [0, 1]
        ),
    ),
    OpCase(
        "binary_cross_entropy_with_logits",
        lambda x: F.binary_cross_entropy_with_logits(
            x, SOFT_TARGETS.astype(x.dtype), reduction="sum"
        ),
        lambda x: (
            -(SOFT_TARGETS * np.log(sigmoid(x)) + (1 - SOFT_TARGETS) * np.log(1 - sigmoid(x))).sum()
        ),
        ((2, 3),),
    ),
]

ZERO_D = [
    OpCase("mul_0d", lambda a, b: a * b, np.multiply, ((), ())),
    OpCase("mse_loss_0d", F.mse_loss, lambda a, b: (a - b) ** 2, ((), ())),
    OpCase(
        "div_0d",
        lambda a, b: a / b,
        np.divide,
        ((), ()),
        domains=(None, NONZERO),
    ),
    OpCase(
        "pow_0d",
        lambda a, b: a**b,
        np.power,
        ((), ()),
        domains=(POSITIVE, None),
    ),
    OpCase(
        "pow_0d_base_vector_exponent",
        lambda a, b: a**b,
        np.power,
        ((), (3,)),
        domains=(POSITIVE, None),
    ),
    OpCase(
        "binary_cross_entropy_0d",
        F.binary_cross_entropy,
        lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)),
        ((), ()),
        domains=({"min_value": 0.05, "max_value": 0.95}, {"min_value": 0.02, "max_value": 0.98}),
    ),
    # PyTorch takes axis 0 and -1 on a 0-d tensor: a reduction over nothing.
    OpCase("sum_0d_axis", lambda x: x.sum(axis=0) * x, lambda x: x * x, ((),)),
    OpCase("mean_0d_axis", lambda x: x.mean(axis=-1) * x, lambda x: x * x, ((),)),
    OpCase("max_0d_axis", lambda x: x.max(axis=0) * x, lambda x: x * x, ((),)),
    OpCase("logsumexp_0d_axis", lambda x: x.logsumexp(axis=0) * x, lambda x: x * x, ((),)),
    OpCase("softmax_0d", lambda x: x.softmax(axis=0) * x, lambda x: x, ((),)),
    OpCase("log_softmax_0d", lambda x: x.log_softmax(axis=-1) + x * x, lambda x: x * x, ((),)),
    OpCase("transpose_0d", lambda x: x.transpose(0, 0) * x, lambda x: x * x, ((),)),
]


def pair(value) -> tuple:
    return tuple(value) if isinstance(value, tuple) else (value, value)


def conv2d_reference(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """The convolution by its definition: a loop over output channels and pixels."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_channels, per_group, kh, kw = w.shape
    rows = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    cols = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], out_channels, rows, cols))
    for o in range(out_channels):
        first = o // (out_channels // groups) * per_group
        for r in range(rows):
            for q in range(cols):
                patch = xp[
                    :,
                    first : first + per_group,
                    r * sh : r * sh + dh * (kh - 1) + 1 : dh,
                    q * sw : q * sw + dw * (kw - 1) + 1 : dw,
                ]
                out[:, o, r, q] = (patch * w[o]).sum(axis=(1, 2, 3))
    return out if b is None else out + b[None, :, None, None]


def conv1d_reference(x, w, b=None, stride=1, padding=0, dilation=1):
    image = conv2d_reference(x[:, :, None], w[:, :, None], b, (1, stride), (0, padding), dilation)
    return image[:, :, 0]


def pool_reference(x, kernel, stride=None, padding=0, reduce=np.max, fill=-np.inf):
    """Pooling by its definition: `reduce` over each window of x padded with `fill`."""
    (kh, kw) = pair(kernel)
    (sh, sw), (ph, pw) = pair(kernel if stride is None else stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    rows, cols = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (rows, cols))
    for r in range(rows):
        for q in range(cols):
            window = xp[:, :, r * sh : r * sh + kh, q * sw : q * sw + kw]
            out[:, :, r, q] = reduce(window, axis=(2, 3))
    return out


DISTINCT = {"min_gap": 0.05}  # no two elements of a pooling window tie


POOLED_POINT = np.random.default_rng(7).permutation(32).reshape(1, 2, 4, 4) / 4.0
"""Where `max_pool2d_gradient` is taken: distinct values, so no window ties."""


def max_pool2d_gradient(h):
    """max_pool2d's gradient at POOLED_POINT (3x3 windows, stride 1, padding 1) for the upstream
    h, a function of h that can be differentiated again: MaxPool2dGrad, and one order up
    MaxPool2dGather."""
    x = mg.tensor(POOLED_POINT, dtype=h.dtype, requires_grad=True)
    pooled = F.max_pool2d(x, 3, stride=1, padding=1)
    (gradient,) = mg.grad(pooled, x, grad_outputs=h, create_graph=True)
    return gradient


def max_pool2d_gradient_reference(h):
    """Each window's h added at its maximum, found by a loop over the windows."""
    xp = np.pad(POOLED_POINT, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    out = np.zeros(xp.shape)
    for n, c, r, q in np.ndindex(h.shape):
        window = xp[n, c, r : r + 3, q : q + 3]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        out[n, c, r + i, q + j] += h[n, c, r, q]
    return out[:, :, 1:-1, 1:-1]


CONV_AND_POOL = [
    OpCase("conv2d", F.conv2d, conv2d_reference, ((2, 3, 5, 5), (4, 3, 3, 3), (4,))),
    OpCase(
        "conv2d_stride_padding",
        lambda x, w: F.conv2d(x, w, stride=2, padding=1),
        lambda x, w: conv2d_reference(x, w, stride=2, padding=1),
        ((1, 2, 6, 5), (3, 2, 3, 3)),
    ),
    OpCase(
        "conv2d_dilation",
        lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
        lambda x, w: conv2d_reference(x, w, stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
        ((2, 2, 6, 5), (2, 2, 2, 2)),
    ),
    OpCase(
        "conv2d_groups",
        lambda x, w, b: F.conv2d(x, w, b, padding=(0, 1), groups=2),
        lambda x, w, b: conv2d_reference(x, w, b, padding=(0, 1), groups=2),
        ((2, 4, 4, 4), (6, 2, 2, 3), (6,)),
    ),
    OpCase(
        "conv2d_depthwise",
        lambda x, w: F.conv2d(x, w, groups=3),
        lambda x, w: conv2d_reference(x, w, groups=3),
        ((1, 3, 4, 4), (3, 1, 2, 2)),
    ),
    OpCase(
        "conv1d",
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
        lambda x, w, b: conv1d_reference(x, w, b, stride=2, padding=1, dilation=2),
        ((2, 3, 8), (2, 3, 3), (2,)),
    ),
    OpCase(
        "max_pool2d",
        lambda x: F.max_pool2d(x, 2),
        lambda x: pool_reference(x, 2),
        ((2, 2, 4, 5),),
        DISTINCT,
    ),
    OpCase(
        "max_pool2d_overlapping_padded",
        lambda x: F.max_pool2d(x, 3, stride=1, padding=1),
        lambda x: pool_reference(x, 3, stride=1, padding=1),
        ((1, 2, 4, 4),),
        DISTINCT,
    ),
    OpCase(
        "max_pool2d_gradient",
        max_pool2d_gradient,
        max_pool2d_gradient_reference,
        ((1, 2, 4, 4),),
    ),
    OpCase(
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, 2),
        lambda x: pool_reference(x, 2, reduce=np.mean, fill=0.0),
        ((2, 2, 4, 5),),
    ),
    OpCase(
        "avg_pool2d_stride_padding",
        lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1),
        lambda x: pool_reference(x, (3, 2), (2, 1), 1, reduce=np.mean, fill=0.0),
        ((1, 2, 5, 4),),
    ),
]


def batch_norm_reference(x, weight=None, bias=None, mean=None, var=None, eps=1e-5):
    """Per channel (axis 1): batch statistics (biased variance) unless running ones are given."""
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True) if mean is None else mean.reshape(shape)
    var = x.var(axis=axes, keepdims=True) if var is None else var.reshape(shape)
    y = (x - mean) / np.sqrt(var + eps)
    y = y if weight is None else y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def layer_norm_reference(x, weight, bias, axes, eps=1e-5):
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


RUNNING_MEAN, RUNNING_VAR = np.array([0.5, -1.0, 0.0]), np.array([2.0, 0.5, 1.0])
EMBEDDING_INDEX = np.array([[3, 0, 3], [1, 3, 2]])  # row 3 three times: its gradients add up


def running(values, like):
    return mg.tensor(values, dtype=like.dtype)


NORMS_EMBEDDING_PAD = [
    OpCase(
        "batch_norm_training",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        batch_norm_reference,
        ((4, 3), (3,), (3,)),
    ),
    OpCase(
        "batch_norm_training_2d",
        lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
        lambda x: batch_norm_reference(x, eps=1e-3),
        ((2, 3, 2, 2),),
    ),
    OpCase(
        "batch_norm_eval",
        lambda x, w, b: F.batch_norm(
            x, running(RUNNING_MEAN, x), running(RUNNING_VAR, x), w, b, training=False
        ),
        lambda x, w, b: batch_norm_reference(x, w, b, RUNNING_MEAN, RUNNING_VAR),
        ((2, 3, 4), (3,), (3,)),
    ),
    OpCase(
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
        lambda x, w, b: layer_norm_reference(x, w, b, (1, 2)),
        ((2, 3, 4), (3, 4), (3, 4)),
    ),
    OpCase(
        "layer_norm_last_axis_no_affine",
        lambda x: F.layer_norm(x, 4),
        lambda x: layer_norm_reference(x, 1.0, 0.0, -1),
        ((3, 4),),
    ),
    OpCase(
        "embedding",
        lambda w: F.embedding(EMBEDDING_INDEX, w),
        lambda w: w[EMBEDDING_INDEX],
        ((4, 2),),
    ),
    OpCase(
        "pad",
        lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
        lambda x: np.pad(x, ((0, 0), (0, 1), (1, 2)), constant_values=0.5),
        ((2, 2, 3),),
    ),
    OpCase("pad_1d", lambda x: F.pad(x, (2, 0)), lambda x: np.pad(x, (2, 0)), ((3,),)),
]

OPS = (
    UNARY
    + BINARY
    + MATMUL
    + SHAPE_OPS
    + REDUCTION_ROWS
    + FUSED_AND_LOSSES
    + ZERO_D
    + CONV_AND_POOL
    + NORMS_EMBEDDING_PAD
)


def ids(cases):
    return [case.name for case in cases]


def test_every_primitive_has_a_row():
    """Every op class in minigrad.ops is exercised by at least one row (checked on the tape)."""
    seen = set()
    watcher = type("Watcher", (), {})()
    watcher.on_forward = lambda op, arrays_, params, out, node: seen.add(op.name)
    watcher.on_backward = lambda node, grad, input_grads: seen.add(node.op.name)
    mg.autograd.add_watcher(watcher)
    try:
        for case in OPS:
            inputs = as_tensors(case_inputs(case))
            out = case.fn(*inputs)
            out.backward(np.ones(out.shape), retain_graph=True)
            (out * out).sum().backward(create_graph=True)  # IndexAdd runs as GetItem's VJP
        (mg.tensor([1.0], requires_grad=True).to(np.float64) * 1).sum().backward()
    finally:
        mg.autograd.remove_watcher(watcher)
    assert {op.name for op in mg.ops.PRIMITIVES} - seen == set()


def test_the_op_table_lists_every_concrete_op_class():
    """`ops.PRIMITIVES` is what the tracer, gradcheck and these tests read: it must hold every
    op class the package defines but the shared bases."""
    defined = {
        value
        for value in vars(mg.ops).values()
        if isinstance(value, type) and issubclass(value, mg.ops.Op) and not value.__name__[0] == "_"
    }
    bases = {mg.ops.Op, mg.ops.Elementwise, mg.ops.Reduction, mg.ops.ShapeOp}
    assert defined - bases == set(mg.ops.PRIMITIVES)


def sample_function(op, sample: mg.ops.Sample):
    """`op` on one of its samples as a function of the sample's float arrays (float64 tensors
    requiring grad, returned too); the other inputs stay constants."""
    inputs = [mg.Tensor(a, requires_grad=True) if a.dtype.kind == "f" else a for a in sample.inputs]

    def fn(*tensors):
        given = iter(tensors)
        chosen = [next(given) if isinstance(t, mg.Tensor) else t for t in inputs]
        return mg.Tensor.apply_op(op, tuple(chosen), sample.params)

    return fn, [t for t in inputs if isinstance(t, mg.Tensor)]


@pytest.mark.parametrize("op", mg.ops.PRIMITIVES, ids=lambda op: op.name)
def test_every_primitive_holds_its_costs_and_samples(op):
    samples = op.samples()
    assert samples, f"{op.name} has no samples: give its class a `samples` classmethod"
    for sample in samples:
        output = op.forward(*sample.inputs, *sample.params)
        shapes = [a.shape for a in sample.inputs]
        needs = tuple(a.dtype.kind == "f" for a in sample.inputs)
        forward = op.forward_cost(shapes, output.shape, sample.params)
        backward = op.backward_cost(shapes, output.shape, needs, sample.params)
        assert isinstance(forward, mg.ops.Cost), f"{op.name} has no forward cost"
        assert isinstance(backward, mg.ops.Cost), f"{op.name} has no backward cost"
        assert forward.flops >= 0 and backward.flops >= 0


@pytest.mark.parametrize("op", mg.ops.PRIMITIVES, ids=lambda op: op.name)
def test_every_primitive_has_first_and_second_derivatives_on_its_samples(op):
    """The samples an op holds are checked here as `minigrad gradcheck` checks them, and one
    order further: an op without second-order support fails gradgradcheck."""
    for sample in op.samples():
        fn, differentiable = sample_function(op, sample)
        assert mg.gradcheck(fn, differentiable)
        assert mg.gradgradcheck(fn, differentiable)


@pytest.mark.parametrize("case", OPS, ids=ids(OPS))
def test_forward_matches_numpy(case):
    arrays_in = case_inputs(case)
    out = case.fn(*as_tensors(arrays_in, requires_grad=False))
    expected = case.reference(*arrays_in)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", OPS, ids=ids(OPS))
def test_gradcheck_float64(case):
    assert mg.gradcheck(case.fn, as_tensors(case_inputs(case)))


def test_gradgradcheck_of_0d_softmax():
    x = mg.tensor(0.7, dtype=np.float64, requires_grad=True)
    assert x.softmax(axis=0).item() == 1.0
    assert mg.gradcheck(lambda t: t.softmax(axis=0), (x,))
    assert mg.gradgradcheck(lambda t: t.softmax(axis=0), (x,))


@pytest.mark.parametrize("case", OPS, ids=ids(OPS))
def test_gradgradcheck_float64(case):
    """Second derivatives of every row against finite differences of the first, in float64.

    Ops whose second derivative is zero almost everywhere (relu, abs, clip, max, indexing, the
    linear ones) are checked too: their recorded first derivative must then not move with the
    input, which a VJP that reads a value it should treat as a constant would break.
    """
    assert mg.gradgradcheck(case.fn, as_tensors(case_inputs(case)))


@pytest.mark.parametrize("case", OPS, ids=ids(OPS))
def test_float32_inputs_get_float32_gradients_of_their_shape(case):
    inputs = as_tensors(case_inputs(case, dtype=np.float32))
    out = case.fn(*inputs)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    for tensor in inputs:
        if tensor.requires_grad:
            assert tensor.grad.dtype == np.float32
            assert tensor.grad.shape == tensor.shape


@pytest.mark.parametrize("case", OPS, ids=ids(OPS))
def test_second_backward_through_freed_graph_raises(case):
    out = case.fn(*as_tensors(case_inputs(case)))
    out.backward(np.ones(out.shape))
    with pytest.raises(mg.BackwardError, match="second time"):
        out.backward(np.ones(out.shape))


# ---- hand-computed values and gradients -------------------------------------------------------


def grad_of(fn, values, dtype=np.float64):
    x = mg.tensor(values, dtype=dtype, requires_grad=True)
    out = fn(x)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    return out.data, x.grad


@pytest.mark.parametrize(
    "fn, x, value, grad",
    [
        (lambda x: x.exp(), [0.0, 1.0], [1.0, np.e], [1.0, np.e]),
        (lambda x: x.log(), [1.0, 4.0], [0.0, np.log(4)], [1.0, 0.25]),
        (lambda x: x.sqrt(), [4.0, 9.0], [2.0, 3.0], [0.25, 1 / 6]),
        (lambda x: x.abs(), [-2.0, 0.0, 3.0], [2.0, 0.0, 3.0], [-1.0, 0.0, 1.0]),
        (lambda x: x.tanh(), [0.0], [0.0], [1.0]),
        (lambda x: x.sigmoid(), [0.0], [0.5], [0.25]),
        (lambda x: x.relu(), [-1.0, 2.0], [0.0, 2.0], [0.0, 1.0]),
        (lambda x: x.leaky_relu(0.1), [-2.0, 3.0], [-0.2, 3.0], [0.1, 1.0]),
        (lambda x: x.softplus(), [0.0], [np.log(2)], [0.5]),
        (lambda x: x.sin(), [0.0, np.pi / 2], [0.0, 1.0], [1.0, 0.0]),
        (lambda x: x.cos(), [0.0, np.pi / 2], [1.0, 0.0], [0.0, -1.0]),
        (
            lambda x: x.clip(-1, 1),
            [-2.0, -1.0, 0.5, 1.0, 3.0],
            [-1, -1, 0.5, 1, 1],
            [0, 1, 1, 1, 0],
        ),
        (lambda x: -x, [1.5], [-1.5], [-1.0]),
        (lambda x: x**3, [2.0], [8.0], [12.0]),
        (lambda x: x**0.5, [4.0], [2.0], [0.25]),
        (lambda x: 1 / x, [2.0], [0.5], [-0.25]),
        (lambda x: x.sum(), [[1.0, 2.0], [3.0, 4.0]], 10.0, [[1.0, 1.0], [1.0, 1.0]]),
        (lambda x: x.mean(axis=0), [[1.0, 2.0], [3.0, 4.0]], [2.0, 3.0], [[0.5, 0.5], [0.5, 0.5]]),
        (lambda x: x.max(), [1.0, 3.0, 3.0], 3.0, [0.0, 0.5, 0.5]),
        (lambda x: x.min(axis=1), [[1.0, 1.0], [0.0, 2.0]], [1.0, 0.0], [[0.5, 0.5], [1.0, 0.0]]),
        (lambda x: x.logsumexp(), [0.0, 0.0], np.log(2), [0.5, 0.5]),
        (
            lambda x: x.softmax() * mg.tensor([1.0, 0.0], dtype=np.float64),
            [0.0, 0.0],
            [0.5, 0.0],
            [0.25, -0.25],
        ),
        (lambda x: x[[0, 0, 1]].sum(), [5.0, 6.0, 7.0], 16.0, [2.0, 1.0, 0.0]),
        (lambda x: x[x > 5.5], [5.0, 6.0, 7.0], [6.0, 7.0], [0.0, 1.0, 1.0]),
    ],
)
def test_hand_computed_value_and_gradient(fn, x, value, grad):
    out, x_grad = grad_of(fn, x)
    np.testing.assert_allclose(out, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x_grad, grad, rtol=1e-12, atol=1e-12)


def test_maximum_minimum_split_ties_evenly():
    a = mg.tensor([1.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    b = mg.tensor([2.0, 2.0, 1.0], dtype=np.float64, requires_grad=True)
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.5, 0.0])
    a.grad = b.grad = None
    mg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.5, 1.0])


def test_pow_exponent_gradient_is_zero_at_zero_base():
    a = mg.tensor([0.0, 2.0], dtype=np.float64)
    b = mg.tensor([2.0, 3.0], dtype=np.float64, requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(b.grad, [0.0, 8 * np.log(2)])


LN2, LN3 = np.log(2.0), np.log(3.0)
# (a, b, a**b, d/da = b a^(b-1), d/db = a^b ln a), by hand. At a = 0, as PyTorch: d/da = 0 for
# b = 0 (a^0 = 1 for every a), d/db = 0 for b >= 0, d/db = a^b ln a = inf * -inf for b < 0.
POW_FIRST = [
    (3.0, 2.0, 9.0, 6.0, 9 * LN3),
    (4.0, 0.5, 2.0, 0.25, 2 * np.log(4.0)),
    (2.0, 0.0, 1.0, 0.0, LN2),
    (0.0, 0.0, 1.0, 0.0, 0.0),
    (0.0, 2.0, 0.0, 0.0, 0.0),
    (0.0, 1.0, 0.0, 1.0, 0.0),
    (0.0, 0.5, 0.0, np.inf, 0.0),
    (0.0, -1.0, np.inf, -np.inf, -np.inf),
    (-2.0, 2.0, 4.0, -4.0, np.nan),  # ln of a negative base: NaN, as in PyTorch
]
# (a, b, [[d2/da2, d2/da db], [d2/db da, d2/db2]]) with d2/da2 = b (b-1) a^(b-2),
# d2/da db = a^(b-1) (1 + b ln a) (1/a at b = 0) and d2/db2 = a^b (ln a)^2. At a = b = 0 every
# entry is defined as 0; at a = 0, b = 2 the mixed entries are their limit 0.
POW_SECOND = [
    (2.0, 3.0, [[12.0, 4 * (1 + 3 * LN2)], [4 * (1 + 3 * LN2), 8 * LN2**2]]),
    (2.0, 0.0, [[0.0, 0.5], [0.5, LN2**2]]),
    (0.5, 0.0, [[0.0, 2.0], [2.0, np.log(0.5) ** 2]]),
    (0.0, 0.0, [[0.0, 0.0], [0.0, 0.0]]),
    (0.0, 2.0, [[2.0, 0.0], [0.0, 0.0]]),
]


def pow_inputs(a: float, b: float, shape: tuple):
    return (
        mg.tensor(np.full(shape, a), dtype=np.float64, requires_grad=True),
        mg.tensor(np.full(shape, b), dtype=np.float64, requires_grad=True),
    )


@pytest.mark.parametrize("shape", [(), (2,)], ids=["0d", "1d"])
@pytest.mark.parametrize("a, b, value, grad_a, grad_b", POW_FIRST)
def test_pow_known_first_derivatives(a, b, value, grad_a, grad_b, shape):
    base, exponent = pow_inputs(a, b, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = base**exponent
        out.sum().backward()
    np.testing.assert_allclose(out.data, np.full(shape, value), rtol=1e-12)
    np.testing.assert_allclose(base.grad, np.full(shape, grad_a), rtol=1e-12)
    np.testing.assert_allclose(exponent.grad, np.full(shape, grad_b), rtol=1e-12)
    assert base.grad.shape == exponent.grad.shape == shape


@pytest.mark.parametrize("shape", [(), (2,)], ids=["0d", "1d"])
@pytest.mark.parametrize("a, b, hessian", POW_SECOND)
def test_pow_known_second_derivatives(a, b, hessian, shape):
    base, exponent = pow_inputs(a, b, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        first = mg.grad((base**exponent).sum(), [base, exponent], create_graph=True)
        for grad, expected_row in zip(first, hessian):
            row = mg.grad(grad.sum(), [base, exponent], retain_graph=True, allow_unused=True)
            for second, expected in zip(row, expected_row):
                value = np.zeros(shape) if second is None else second.data
                np.testing.assert_allclose(value, np.full(shape, expected), rtol=1e-12, atol=0)


def test_pow_mixed_second_derivative_at_exponent_zero_is_one_over_a():
    """Only a == 0 and b == 0 is masked, so d/db (d/da a^b) = 1/a survives at b = 0."""
    base, exponent = pow_inputs(0.25, 0.0, (3,))
    (grad_a,) = mg.grad((base**exponent).sum(), base, create_graph=True)
    (mixed,) = mg.grad(grad_a.sum(), exponent)
    np.testing.assert_allclose(mixed.data, [4.0, 4.0, 4.0], rtol=1e-12)
    assert mg.gradgradcheck(lambda x, y: x**y, pow_inputs(1.5, 0.0, (3,)))


def test_pow_gradients_at_zero_base_are_finite_through_create_graph():
    """A zero base beside zero and positive exponents: no NaN anywhere in either order."""
    base = mg.tensor([0.0, 0.0, 2.0], dtype=np.float64, requires_grad=True)
    exponent = mg.tensor([0.0, 3.0, 0.0], dtype=np.float64, requires_grad=True)
    first = mg.grad((base**exponent).sum(), [base, exponent], create_graph=True)
    np.testing.assert_allclose(first[0].data, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(first[1].data, [0.0, 0.0, LN2])
    for grad in first:
        for second in mg.grad(grad.sum(), [base, exponent], retain_graph=True):
            assert np.isfinite(second.data).all()


def test_where_routes_gradient_to_the_chosen_branch():
    condition = mg.tensor([True, False, True])
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([10.0], requires_grad=True)
    out = mg.where(condition, a, b)
    np.testing.assert_array_equal(out.data, [1.0, 10.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0])
    assert b.grad.shape == (1,)


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError, match="bool condition, got dtype float32"):
        mg.where(mg.tensor([1.0]), mg.tensor([1.0]), mg.tensor([2.0]))


def test_getitem_gradients_accumulate_over_repeated_indices_in_2d():
    x = mg.tensor(np.zeros((3, 2)), requires_grad=True)
    x[[0, 2, 0, 0]][:, 1].sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 3], [0, 0], [0, 1]])


def test_concatenate_and_stack_split_the_gradient():
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    b = mg.tensor([[3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    joined = mg.concatenate([a, b], axis=0)
    np.testing.assert_array_equal(joined.data, [[1, 2], [3, 4], [5, 6]])
    (joined * mg.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad, [[1, 1]])
    np.testing.assert_array_equal(b.grad, [[2, 2], [3, 3]])
    c = mg.tensor([1.0, 2.0], requires_grad=True)
    d = mg.tensor([3.0, 4.0])
    stacked = mg.stack([c, d], axis=1)
    assert stacked.shape == (2, 2)
    (stacked * mg.tensor([[1.0, 5.0], [2.0, 5.0]])).sum().backward()
    np.testing.assert_array_equal(c.grad, [1.0, 2.0])
    assert d.grad is None


@pytest.mark.parametrize(
    "tensors, axis, message",
    [
        ([(2, 3), (3, 3)], 1, r"shapes \(2, 3\) and \(3, 3\) must agree"),
        ([], 0, "at least one tensor"),
    ],
)
def test_concatenate_errors(tensors, axis, message):
    with pytest.raises(ValueError, match=message):
        mg.concatenate([mg.zeros(s) for s in tensors], axis=axis)


def test_stack_needs_one_shape():
    with pytest.raises(ValueError, match=r"one shape, got \[\(2,\), \(3,\)\]"):
        mg.stack([mg.zeros(2), mg.zeros(3)])


# ---- drawn shapes: broadcasting and axes -----------------------------------------------------

BROADCASTING = [case for case in BINARY]


@pytest.mark.parametrize("case", BROADCASTING, ids=ids(BROADCASTING))
@given(data=st.data())
def test_binary_ops_on_broadcastable_shapes(case, data):
    drawn_shapes = data.draw(broadcastable_shapes(len(case.shapes)), label="shapes")
    drawn = [
        data.draw(arrays(shape, **case.options(i)), label=f"input {i}")
        for i, shape in enumerate(drawn_shapes)
    ]
    check_op(case.fn, *case.inputs(drawn), reference=case.reference)


@given(
    batch=broadcastable_shapes(2, max_dims=2, max_side=3),
    sizes=st.tuples(*[st.integers(1, 3)] * 3),
    data=st.data(),
)
def test_matmul_with_broadcast_batch_dimensions(batch, sizes, data):
    m, k, n = sizes
    a = data.draw(arrays(batch[0] + (m, k)), label="a")
    b = data.draw(arrays(batch[1] + (k, n)), label="b")
    check_op(lambda x, y: x @ y, a, b, reference=np.matmul)


@given(batch=shapes(min_dims=1, max_dims=2, max_side=3), k=st.integers(1, 3), data=st.data())
def test_matmul_one_dimensional_with_batched(batch, k, data):
    vector = data.draw(arrays((k,)), label="vector")
    stack = data.draw(arrays(batch + (k, 2)), label="stack")
    check_op(lambda v, s: v @ s, vector, stack, reference=np.matmul)
    check_op(
        lambda s, v: s.mT @ v, stack, vector, reference=lambda s, v: np.swapaxes(s, -1, -2) @ v
    )


def reduce_reference(name):
    return {
        "sum": np.sum,
        "mean": np.mean,
        "var": lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
        "max": np.max,
        "min": np.min,
        "logsumexp": logsumexp,
    }[name]


REDUCTIONS = ["sum", "mean", "var", "max", "min", "logsumexp"]


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reductions_over_drawn_axes(name, data):
    # var's default correction divides by n - 1: every reduced count must be at least 2.
    shape = data.draw(shapes(min_dims=1, min_side=2 if name == "var" else 1), label="shape")
    axis, keepdims = data.draw(axes_and_keepdims(len(shape)), label="axis, keepdims")
    x = data.draw(arrays(shape, min_gap=0.05 if name in ("max", "min") else None), label="x")

    def reduce(t):
        return getattr(t, name)(axis=axis, keepdims=keepdims)

    check_op(reduce, x, reference=lambda a: reduce_reference(name)(a, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_over_drawn_axes(name, data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    axis, _ = data.draw(axes_and_keepdims(len(shape), single_axis=True), label="axis")
    x = data.draw(arrays(shape), label="x")
    reference = softmax if name == "softmax" else log_softmax
    check_op(lambda t: getattr(t, name)(axis=axis), x, reference=lambda a: reference(a, axis))


# ---- numbers and ndarrays on either side of each operator -------------------------------------

OPERATORS = {
    "+": (lambda a, b: a + b, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "-": (lambda a, b: a - b, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "*": (lambda a, b: a * b, lambda a, b: b * np.ones_like(a), lambda a, b: a * np.ones_like(b)),
    "/": (lambda a, b: a / b, lambda a, b: 1 / b * np.ones_like(a), lambda a, b: -a / b**2),
    "**": (
        lambda a, b: a**b,
        lambda a, b: b * a ** (b - 1),
        lambda a, b: a**b * np.log(a),
    ),
}
OTHERS = {
    "python float": 1.5,
    "python int": 2,
    "ndarray": np.array([0.5, 2.0, 3.0]),
    "float32 ndarray": np.array([0.5, 2.0, 3.0], dtype=np.float32),
}


@pytest.mark.parametrize("other_name", OTHERS)
@pytest.mark.parametrize("symbol", OPERATORS)
def test_tensor_on_the_left_of_a_constant(symbol, other_name):
    op, grad_left, _ = OPERATORS[symbol]
    other = OTHERS[other_name]
    x = mg.tensor([1.0, 2.0, 4.0], requires_grad=True)
    out = op(x, other)
    np.testing.assert_allclose(out.data, op(x.data.astype(np.float64), other), rtol=1e-6)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    assert x.grad.dtype == np.float32 and x.grad.shape == (3,)
    expected = grad_left(np.array([1.0, 2.0, 4.0]), np.asarray(other, dtype=np.float64))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


RIGHT_SIDED = [
    pytest.param(
        symbol,
        other_name,
        id=f"{symbol}-{other_name}",
    )
    for symbol in OPERATORS
    for other_name in OTHERS
]


@pytest.mark.parametrize("symbol, other_name", RIGHT_SIDED)
def test_tensor_on_the_right_of_a_constant(symbol, other_name):
    op, _, grad_right = OPERATORS[symbol]
    other = OTHERS[other_name]
    x = mg.tensor([1.0, 2.0, 4.0], requires_grad=True)
    out = op(other, x)
    np.testing.assert_allclose(out.data, op(other, x.data.astype(np.float64)), rtol=1e-6)
    out.backward(np.ones(out.shape, dtype=out.dtype))
    assert x.grad.dtype == np.float32 and x.grad.shape == (3,)
    expected = grad_right(np.asarray(other, dtype=np.float64), np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_float32_tensor_with_python_numbers_stays_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    out = 2.5 * x + 1 - x / 3.0 + x**2 - 0.5
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2.5 - 1 / 3 + 2 * np.array([1.0, 2.0]), rtol=1e-6)


def test_matmul_with_an_ndarray_on_either_side():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64, requires_grad=True)
    a = np.array([[0.0, 1.0], [2.0, 3.0]])
    left = a @ x
    assert isinstance(left, mg.Tensor)
    np.testing.assert_array_equal(left.data, a @ x.data)
    left.sum().backward()
    np.testing.assert_array_equal(x.grad, a.T @ np.ones((2, 2)))
    x.grad = None
    (x @ a).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 2)) @ a.T)


@pytest.mark.parametrize(
    "compare, numpy_compare",
    [
        (lambda a, b: a < b, np.less),
        (lambda a, b: a <= b, np.less_equal),
        (lambda a, b: a > b, np.greater),
        (lambda a, b: a >= b, np.greater_equal),
        (lambda a, b: a == b, np.equal),
        (lambda a, b: a != b, np.not_equal),
    ],
)
@pytest.mark.parametrize(
    "other", [2.0, np.array([1.0, 2.0, 5.0]), mg.tensor([1.0, 2.0, 5.0])], ids=str
)
def test_comparisons_give_bool_tensors_without_gradient(compare, numpy_compare, other):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other_values = other.data if isinstance(other, mg.Tensor) else other
    for result, expected in [
        (compare(x, other), numpy_compare(x.data, other_values)),
        (compare(other, x), numpy_compare(other_values, x.data)),
    ]:
        assert isinstance(result, mg.Tensor)
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result.data, expected)


# ---- stability at extreme inputs --------------------------------------------------------------

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda x: x.softmax(), [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]),
        (lambda x: x.log_softmax(), [[0.0, -2000.0, -1000.0], [-np.log(3)] * 3]),
        (lambda x: x.logsumexp(axis=1), [1000.0, -1000.0 + np.log(3)]),
        (lambda x: x.sigmoid(), [[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]]),
        (lambda x: x.softplus(), [[1000.0, 0.0, np.log(2)], [0.0, 0.0, 0.0]]),
    ],
    ids=["softmax", "log_softmax", "logsumexp", "sigmoid", "softplus"],
)
def test_stable_at_plus_minus_1000(fn, expected, dtype):
    x = mg.tensor(EXTREME, dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = fn(x)
        weights = np.arange(out.size, dtype=dtype).reshape(out.shape)
        out.backward(weights)
    # Subtracting values near 1000 leaves an absolute rounding error of about 1000 ulp(1).
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1000 * np.finfo(dtype).eps)
    assert np.isfinite(x.grad).all()
    assert x.grad.dtype == dtype


def test_extreme_gradients_have_their_closed_forms():
    x = mg.tensor(EXTREME, dtype=np.float64, requires_grad=True)
    x.logsumexp(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)
    x.grad = None
    x.softplus().sum().backward()  # d softplus = sigmoid
    np.testing.assert_allclose(x.grad, [[1, 0, 0.5], [0, 0, 0]], atol=1e-12)
    x.grad = None
    x.log_softmax().sum().backward()  # 1 - C softmax(x)
    np.testing.assert_allclose(x.grad, [[-2, 1, 1], [0, 0, 0]], atol=1e-12)


# ---- casts -----------------------------------------------------------------------------------


def test_cast_to_float64_and_back_carries_the_gradient():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    y = x.to(np.float64)
    assert y.dtype == np.float64 and y.grad_fn is not None
    assert x.to("float32") is x and x.to(mg.float32) is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, -4.0])
    z = mg.tensor([0.5], dtype=np.float64, requires_grad=True)
    z.float().sum().backward()
    assert z.grad.dtype == np.float64
    assert z.double() is z


def test_cast_to_integer_does_not_require_grad():
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    as_int = x.to(np.int64)
    np.testing.assert_array_equal(as_int.data, [1, 2])
    assert as_int.dtype == np.int64
    assert not as_int.requires_grad
