"""Composites built from the primitives in `ops`: selection, joining, statistics, convolution
and pooling (their arguments checked here, where they enter), padding, embedding, normalization
(from `normalization`), dropout, losses.

Each is differentiable (twice, where its primitives are) because it is made of recorded ops.
`nn.functional` re-exports these under PyTorch's names. The classification losses,
`cross_entropy` and `nll_loss`, live in `class_losses` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import ops
from .class_losses import cross_entropy as cross_entropy
from .class_losses import nll_loss as nll_loss
from .loss_reduction import check_reduction, reduce_loss

# Defined in `normalization`, offered here beside the other composites.
from .normalization import batch_norm as batch_norm
from .normalization import layer_norm as layer_norm
from .random import generator
from .tensor import ShapeError, Tensor, _broadcasts_to, _normalize_axis, _one_of, apply


def _tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def _condition(condition) -> np.ndarray:
    values = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if values.dtype != np.bool_:
        raise TypeError(f"where() needs a bool condition, got dtype {values.dtype}")
    return values


def where(condition, a, b) -> Tensor:
    """a where `condition` holds, else b (broadcasting all three); gradient flows to the pick."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a, b = Tensor(a), Tensor(b)  # numbers and lists take the default dtype
    return apply(ops.Where, (_condition(condition), a, b))


def maximum(a, b) -> Tensor:
    """Elementwise max; on ties the gradient is split evenly between a and b."""
    return apply(ops.Maximum, (_tensor(a), _tensor(b)))


def minimum(a, b) -> Tensor:
    """Elementwise min; on ties the gradient is split evenly between a and b."""
    return apply(ops.Minimum, (_tensor(a), _tensor(b)))


def concatenate(tensors, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (`torch.cat`; `dim` is `axis`'s alias, default 0)."""
    axis = _one_of("axis", axis, "dim", dim, default=0)
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    first = tensors[0]
    axis = _normalize_axis(axis, first.ndim)[0]
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
            i != axis and n != m for i, (n, m) in enumerate(zip(t.shape, first.shape))
        ):
            raise ValueError(
                f"concatenate along axis {axis}: shapes {first.shape} and {t.shape} must agree "
                "in every other dimension"
            )
    return apply(ops.Concatenate, tuple(tensors), (axis,))


cat = concatenate


def stack(tensors, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (`dim` is `axis`'s alias, default 0)."""
    axis = _one_of("axis", axis, "dim", dim, default=0)
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    return concatenate([t.unsqueeze(axis) for t in tensors], axis)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Axes start_dim..end_dim merged into one, as `torch.flatten` (`x.flatten`): all of them by
    default; `nn.Flatten` uses start_dim=1, keeping the batch axis for a Linear head."""
    return x.flatten(start_dim, end_dim)


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance sum (x - mean)^2 / (n - correction), as `Tensor.var`: correction=1 (unbiased) as
    in PyTorch, 0 for NumPy's population variance (lecture 001, 'Expectation and variance')."""
    return x.var(axis, keepdims, correction)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ W + b with W of shape (in_features, out_features): the lectures' x^T W.

    x, W and b must share one dtype, as in PyTorch (a float64 input to float32 weights is a
    TypeError, not a silent computation in float64 that a float32 model would not expect).
    """
    if x.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise _dtype_mismatch(x, weight, bias)
    try:
        return apply(ops.Linear, (x, weight, bias))
    except ShapeError:  # looked into only on failure, so a layer's calls pay nothing for it
        if x.shape[-1:] != weight.shape[:1]:
            raise ValueError(
                f"linear: input has {x.shape[-1] if x.ndim else 'no'} features in its last "
                f"dimension (shape {x.shape}) but the weight expects {weight.shape[0]} (weight "
                f"shape {weight.shape})"
            ) from None
        raise


# PyTorch's names for dtypes, which its error messages use.
_TORCH_DTYPE_NAMES = {
    "float64": "Double",
    "float32": "Float",
    "float16": "Half",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _dtype_mismatch(x: Tensor, weight: Tensor, bias: Tensor | None) -> TypeError:
    """PyTorch's error for operands of different dtypes, with the remedy."""
    first, second = (x, weight) if x.dtype != weight.dtype else (weight, bias)
    assert second is not None
    names = [_TORCH_DTYPE_NAMES.get(t.dtype.name, t.dtype.name) for t in (first, second)]
    what = "input and weight" if first is x else "weight and bias"
    return TypeError(
        f"linear: mat1 and mat2 must have the same dtype, but got {names[0]} and {names[1]} "
        f"({what} are {first.dtype} and {second.dtype}); convert one to the other's dtype, "
        f"as x.to(mg.{weight.dtype}) or layer.to(mg.{first.dtype})"
    )


# ---- activations ------------------------------------------------------------------------------


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); with `inplace`, x itself becomes the result (`x.relu_()`)."""
    return x.relu_() if inplace else x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope x (PyTorch's default slope 0.01)."""
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^-x), computed without overflow; its derivative is sigma (1 - sigma)."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """tanh x, the lectures' activation; its derivative is 1 - tanh(x)^2."""
    return x.tanh()


def softplus(x: Tensor) -> Tensor:
    """ln(1 + e^x), a smooth relu, without overflow; its derivative is sigmoid(x)."""
    return x.softplus()


def softmax(x: Tensor, axis: int = -1, *, dtype=None) -> Tensor:
    """e^x_i / sum_j e^x_j along `axis`; `dtype` casts x first, as in PyTorch."""
    return x.softmax(axis, dtype=dtype)


def log_softmax(x: Tensor, axis: int = -1, *, dtype=None) -> Tensor:
    """x_i - logsumexp(x) along `axis`; `dtype` casts x first, as in PyTorch."""
    return x.log_softmax(axis, dtype=dtype)


# ---- convolution and pooling ------------------------------------------------------------------


def _ints(fn: str, name: str, value, dims: int, minimum: int) -> tuple[int, ...]:
    """`value`, an int or `dims` ints, as a tuple of `dims` ints each at least `minimum`."""
    items = (value,) * dims if not isinstance(value, (tuple, list)) else tuple(value)
    if len(items) != dims or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in items
    ):
        kind = "an int at least" if dims == 1 else "an int or a pair of ints, each at least"
        raise ValueError(f"{fn}: {name} must be {kind} {minimum}, got {value!r}")
    return tuple(int(v) for v in items)


def _check_input(fn: str, x, dims: int) -> None:
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if x.ndim != dims + 2:
        raise ShapeError(f"{fn}: input must be {dims + 2}-D {layout}, got shape {x.shape}")


def _check_fits(fn: str, x_shape, kernel, padding, dilation) -> None:
    """ShapeError unless each (dilated) kernel extent fits in the padded input."""
    axes = ("L",) if len(kernel) == 1 else ("H", "W")
    for axis, size, k, p, d in zip(axes, x_shape[2:], kernel, padding, dilation):
        span = d * (k - 1) + 1
        if span > size + 2 * p:
            raise ShapeError(
                f"{fn}: the kernel {tuple(kernel)} with dilation {tuple(dilation)} spans {span} "
                f"along {axis}, where the padded input has only {size} + 2 x {p} = "
                f"{size + 2 * p} (input shape {tuple(x_shape)}, padding {tuple(padding)})"
            )


def _conv_arguments(fn: str, x, weight, bias, stride, padding, dilation, groups, dims: int):
    """The checked (stride, padding, dilation, groups) of a convolution with `dims` spatial
    axes, after ShapeErrors for a mismatch of input, weight and bias."""
    _check_input(fn, x, dims)
    if weight.ndim != dims + 2:
        layout = "(C_out, C_in / groups, kL)" if dims == 1 else "(C_out, C_in / groups, kH, kW)"
        raise ShapeError(f"{fn}: weight must be {dims + 2}-D {layout}, got shape {weight.shape}")
    stride = _ints(fn, "stride", stride, dims, 1)
    padding = _ints(fn, "padding", padding, dims, 0)
    dilation = _ints(fn, "dilation", dilation, dims, 1)
    (groups,) = _ints(fn, "groups", groups, 1, 1)
    channels, out_channels = x.shape[1], weight.shape[0]
    if channels % groups or out_channels % groups:
        raise ShapeError(
            f"{fn}: groups={groups} must divide both the input's {channels} channels and the "
            f"weight's {out_channels} output channels"
        )
    if weight.shape[1] * groups != channels:
        raise ShapeError(
            f"{fn}: input has {channels} channels (shape {x.shape}) but the weight (shape "
            f"{weight.shape}) expects {weight.shape[1]} x groups={groups} = "
            f"{weight.shape[1] * groups}"
        )
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(f"{fn}: bias must have shape ({out_channels},), got {bias.shape}")
    _check_fits(fn, x.shape, weight.shape[2:], padding, dilation)
    return stride, padding, dilation, groups


def _conv(x, weight, bias, params: tuple) -> Tensor:
    out = apply(ops.Conv2d, (x, weight), params)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation over NCHW, as PyTorch's `conv2d`:

        y[n, o, h, w] = b[o] + sum_{c, i, j} x_padded[n, c, h sH + i dH, w sW + j dW] W[o, c, i, j]

    with the sum over group g's input channels for an output channel o of group g.

    Args:
        x: (N, C_in, H, W).
        weight: (C_out, C_in / groups, kH, kW), PyTorch's layout.
        bias: (C_out,) or None; added by broadcasting, so its gradient is g summed over
            (N, H_out, W_out).
        stride, padding, dilation: an int or a pair (along H, along W); padding is zeros.
        groups: channels split into this many independent convolutions.

    Returns (N, C_out, H_out, W_out), H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1.
    """
    params = _conv_arguments("conv2d", x, weight, bias, stride, padding, dilation, groups, 2)
    return _conv(x, weight, bias, params)


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D cross-correlation over (N, C_in, L) with weight (C_out, C_in / groups, kL), as
    PyTorch's `conv1d`: `conv2d` on images of height 1, so the same primitive and VJPs.

    Returns (N, C_out, L_out), L_out = floor((L + 2 padding - dilation (kL - 1) - 1) / stride) + 1.
    """
    (s,), (p,), (d,), g = _conv_arguments(
        "conv1d", x, weight, bias, stride, padding, dilation, groups, 1
    )
    (n, channels, length), (out_channels, per_group, kernel) = x.shape, weight.shape
    image = x.reshape(n, channels, 1, length)
    out = _conv(
        image, weight.reshape(out_channels, per_group, 1, kernel), bias, ((1, s), (0, p), (1, d), g)
    )
    return out.reshape(n, out_channels, out.shape[-1])


def _pool_sizes(fn: str, kernel_size, stride, padding) -> tuple:
    """The checked (kernel, stride, padding) pairs of a 2-D pooling; stride None is the kernel."""
    kernel = _ints(fn, "kernel_size", kernel_size, 2, 1)
    stride = kernel if stride is None else _ints(fn, "stride", stride, 2, 1)
    padding = _ints(fn, "padding", padding, 2, 0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{fn}: padding {padding} must be at most half the kernel {kernel}, so that every "
            "window holds an element of the input (as PyTorch requires)"
        )
    return kernel, stride, padding


def _pool_arguments(fn: str, x, kernel_size, stride, padding) -> tuple:
    """`_pool_sizes`, after a ShapeError unless x is NCHW and the kernel fits its padding."""
    _check_input(fn, x, 2)
    kernel, stride, padding = _pool_sizes(fn, kernel_size, stride, padding)
    _check_fits(fn, x.shape, kernel, padding, (1, 1))
    return kernel, stride, padding


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
) -> Tensor:
    """The maximum of each kernel_size window of x (N, C, H, W), padded with -inf, as PyTorch's
    `max_pool2d`; stride None means stride = kernel_size (windows side by side).

    The gradient goes to each window's arg-max element; on a tie, to the first one in row-major
    order within the window (as PyTorch), and it adds up where overlapping windows share one.
    Output (N, C, H_out, W_out), H_out = floor((H + 2 pH - kH) / sH) + 1.
    """
    params = _pool_arguments("max_pool2d", x, kernel_size, stride, padding)
    return apply(ops.MaxPool2d, (x,), params)


def avg_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, ...],
    stride: int | tuple[int, ...] | None = None,
    padding: int | tuple[int, ...] = 0,
) -> Tensor:
    """The mean of each kernel_size window of x (N, C, H, W), padded with zeros that count in
    the mean (PyTorch's default count_include_pad=True); stride None means stride = kernel_size.

    Each window sends g / (kH kW) to every element it holds. Output as `max_pool2d`'s.
    """
    params = _pool_arguments("avg_pool2d", x, kernel_size, stride, padding)
    return apply(ops.AvgPool2d, (x,), params)


# ---- padding and embedding -------------------------------------------------------------------


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """x padded with `value`, as PyTorch's `F.pad`: `pad` lists (before, after) widths from the
    LAST axis backwards, (left, right) or (left, right, top, bottom) and so on, so
    F.pad(x, (1, 1, 2, 0)) adds a column on each side and two rows on top of an image.

    Only the constant mode is provided. The gradient is g cut back to x's place (`ops.Pad`).
    """
    if mode != "constant":
        raise ValueError(f"pad: mode must be 'constant' (the only one provided), got {mode!r}")
    widths = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if (
        widths is None
        or len(widths) % 2
        or len(widths) > 2 * x.ndim
        or not all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in widths)
        or any(w < 0 for w in widths)
    ):
        raise ValueError(
            f"pad: pad must be a tuple of an even number, at most 2 x {x.ndim} (twice the "
            f"input's axes), of non-negative ints, got {pad!r}"
        )
    pairs = [(int(widths[i]), int(widths[i + 1])) for i in range(0, len(widths), 2)]
    pairs = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    return apply(ops.Pad, (x,), (tuple(pairs), float(value)))


def embedding(
    indices: Tensor | np.ndarray | Sequence, weight: Tensor, padding_idx: int | None = None
) -> Tensor:
    """The rows of weight (num_embeddings, embedding_dim) picked by integer `indices` of any
    shape, as PyTorch's `F.embedding`: out[..., :] = weight[indices[...], :], of shape
    indices.shape + (embedding_dim,).

    It is indexing (`weight[indices]`, `ops.GetItem`), whose gradient scatters g back with
    `np.add.at`, so a row picked k times receives the sum of its k gradients. The row
    `padding_idx` (negative counts from the end), if given, is picked like any other but gets no
    gradient, as in PyTorch: the places that picked it take their values from a detached copy.
    """
    index = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    if weight.ndim != 2:
        raise ShapeError(
            f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}"
        )
    rows = weight.shape[0]
    if index.size and (index.min() < 0 or index.max() >= rows):
        bad = index.min() if index.min() < 0 else index.max()
        raise IndexError(f"embedding: index {bad} is out of range for {rows} rows (0..{rows - 1})")
    picked = weight[index.astype(np.intp, copy=False)]
    if padding_idx is None:
        return picked
    padding = _padding_row(padding_idx, rows, "embedding")
    return where((index != padding)[..., None], picked, picked.detach())


def _padding_row(padding_idx, rows: int, fn: str) -> int:
    """`padding_idx` as a row number in 0..rows - 1 (negative counts from the end, as in
    PyTorch); ValueError outside -rows..rows - 1."""
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{fn}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(
            f"{fn}: padding_idx must be within -{rows}..{rows - 1} (the weight's rows), got "
            f"{padding_idx}"
        )
    return int(padding_idx) % rows


# ---- dropout ----------------------------------------------------------------------------------


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inverted: bool = True) -> Tensor:
    """Zero each element with probability p (mask from the engine RNG).

    Lecture 001, 'Dropout': a unit kept with probability 1 - p has E[mask * x] = (1 - p) x, so
    train and test outputs differ in expectation unless one side rescales. `inverted=True`
    (PyTorch's rule, the lecture's 'correct solution') scales kept units by 1/(1 - p) in training
    and leaves evaluation alone; `inverted=False` is the lecture's other rule: no scaling in
    training, multiply by (1 - p) at evaluation. Both give the same expected output.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got p={p}")
    if not training:
        return x if inverted or p == 0 else x * (1 - p)
    if p == 0:
        return x
    keep = generator().random(x.shape) >= p
    scale = 1 / (1 - p) if inverted else 1.0
    return x * (keep * np.asarray(scale, dtype=x.dtype))


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each whole channel of x (N, C, H, W) with probability p and scale the kept ones by
    1/(1 - p), as PyTorch's `dropout2d`: neighbouring pixels of a feature map are strongly
    correlated, so dropping single pixels barely regularizes a convolution (Tompson et al. 2015);
    dropping the channel does. One draw per (n, c), broadcast over (H, W)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout2d probability must be in [0, 1), got p={p}")
    if x.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: input must be (N, C, H, W) or (C, H, W), got {x.shape}")
    if not training or p == 0:
        return x
    keep = generator().random(x.shape[:-2] + (1, 1)) >= p
    return x * (keep * np.asarray(1 / (1 - p), dtype=x.dtype))


# ---- losses -----------------------------------------------------------------------------------


def _check_same_shape(name: str, input: Tensor, target) -> None:
    target_shape = np.shape(target.data if isinstance(target, Tensor) else target)
    if tuple(input.shape) != target_shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target_shape} must be equal "
            "(no silent broadcast)"
        )


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2, averaged (or summed) over every element: one op,
    `ops.MseLoss`, whose backward is 2 (input - target) / N (`reduction='none'` gives the
    squares themselves)."""
    check_reduction(reduction)
    _check_same_shape("mse_loss", input, target)
    if reduction == "none":
        difference = input - target
        return difference * difference
    return apply(ops.MseLoss, (input, target), (reduction,))


def _check_probabilities(name: str, role: str, values) -> None:
    """ValueError unless every element of `values` lies in [0, 1] (NaN does not)."""
    values = np.asarray(values.data if isinstance(values, Tensor) else values)
    inside = (values >= 0) & (values <= 1)
    if not inside.all():
        bad = float(values[~inside].flat[0])
        raise ValueError(f"{name}: all elements of {role} should be between 0 and 1, got {bad:.6g}")


def binary_cross_entropy(input: Tensor, target, weight=None, *, reduction: str = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p and targets y, both in [0, 1] (as in
    PyTorch, anything else, NaN included, is a ValueError: outside [0, 1] the log is NaN or the
    loss is no cross-entropy); each log is clamped at -100, as PyTorch does, so p = 0 or 1 gives
    a finite loss. dL/dp = (p - y) / (p (1 - p)), dL/dy = log((1 - p) / p), and the second
    derivatives, mixed d2L/dp dy = -1 / (p (1 - p)) included, are recorded with create_graph.

    `weight` (broadcast to p's shape) rescales each element's loss, as in PyTorch, whose third
    positional argument it is: `reduction` goes by keyword."""
    name = "binary_cross_entropy"
    check_reduction(reduction)
    _check_same_shape(name, input, target)
    _check_probabilities(name, "input", input)
    _check_probabilities(name, "target", target)
    loss = apply(ops.BinaryCrossEntropy, (input, target))
    if weight is not None:
        _check_broadcasts_to(name, "weight", weight, input.shape)
        loss = loss * weight
    return reduce_loss(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, *, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """BCE on logits x: softplus(x) - x y = -(y log sigma(x) + (1 - y) log(1 - sigma(x))),
    stable for any x; its gradient is sigma(x) - y (logistic regression, lecture 003).

    As in PyTorch, `weight` (broadcast to x's shape) rescales each element's loss, and
    `pos_weight` p (broadcast along the last axis, one number per class) weighs the positive
    term: -w (p y log sigma(x) + (1 - y) log(1 - sigma(x))), computed as
    w ((1 - y) softplus(x) + p y softplus(-x)) = w (softplus(x) - x y + (p - 1) y softplus(-x)).
    PyTorch's third positional argument is `weight`, so `reduction` goes by keyword.
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(reduction)
    _check_same_shape(name, input, target)
    loss = input.softplus() - input * target
    if pos_weight is not None:
        _check_broadcasts_to(name, "pos_weight", pos_weight, input.shape)
        loss = loss + (pos_weight - 1) * target * (-input).softplus()
    if weight is not None:
        _check_broadcasts_to(name, "weight", weight, input.shape)
        loss = loss * weight
    return reduce_loss(loss, reduction)


def _check_broadcasts_to(name: str, role: str, value, shape: tuple) -> None:
    """A loss's rescaling `value` must broadcast to the input's `shape`, not beyond it."""
    if isinstance(value, str):
        raise TypeError(
            f"{name}: {role} must be numbers, got the string {value!r}; pass reduction= by "
            "keyword (PyTorch's third argument is weight)"
        )
    value_shape = np.shape(value.data if isinstance(value, Tensor) else value)
    if not _broadcasts_to(value_shape, shape):
        raise ValueError(
            f"{name}: {role} of shape {value_shape} does not broadcast to the input's shape {shape}"
        )
