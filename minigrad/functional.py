"""Composites built from the primitives in `ops`: selection, joining, statistics, dropout, losses.

Each is differentiable (twice, where its primitives are) because it is made of recorded ops.
`nn.functional` re-exports these under PyTorch's names.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .random import generator
from .tensor import ShapeError, Tensor, _normalize_axis, _one_of, apply

REDUCTIONS = ("mean", "sum", "none")


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


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance sum (x - mean)^2 / (n - correction), as `Tensor.var`: correction=1 (unbiased) as
    in PyTorch, 0 for NumPy's population variance (lecture 001, 'Expectation and variance')."""
    return x.var(axis, keepdims, correction)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ W + b with W of shape (in_features, out_features): the lectures' x^T W."""
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


# ---- activations ------------------------------------------------------------------------------


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); with `inplace`, x itself becomes the result (`x.relu_()`)."""
    return x.relu_() if inplace else x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return x.leaky_relu(negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softplus(x: Tensor) -> Tensor:
    return x.softplus()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return x.softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return x.log_softmax(axis)


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


# ---- losses -----------------------------------------------------------------------------------


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, input: Tensor, target) -> None:
    target_shape = np.shape(target.data if isinstance(target, Tensor) else target)
    if tuple(input.shape) != target_shape:
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target_shape} must be equal "
            "(no silent broadcast)"
        )


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (input - target)^2, averaged (or summed) over every element."""
    _check_reduction(reduction)
    _check_same_shape("mse_loss", input, target)
    difference = input - target
    return _reduce(difference * difference, reduction)


def _check_probabilities(name: str, role: str, values) -> None:
    """ValueError unless every element of `values` lies in [0, 1] (NaN does not)."""
    values = np.asarray(values.data if isinstance(values, Tensor) else values)
    inside = (values >= 0) & (values <= 1)
    if not inside.all():
        bad = float(values[~inside].flat[0])
        raise ValueError(f"{name}: all elements of {role} should be between 0 and 1, got {bad:.6g}")


def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for probabilities p and targets y, both in [0, 1] (as in
    PyTorch, anything else, NaN included, is a ValueError: outside [0, 1] the log is NaN or the
    loss is no cross-entropy); each log is clamped at -100, as PyTorch does, so p = 0 or 1 gives
    a finite loss. dL/dp = (p - y) / (p (1 - p)), dL/dy = log((1 - p) / p), and the second
    derivatives, mixed d2L/dp dy = -1 / (p (1 - p)) included, are recorded with create_graph."""
    _check_reduction(reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    _check_probabilities("binary_cross_entropy", "input", input)
    _check_probabilities("binary_cross_entropy", "target", target)
    return _reduce(apply(ops.BinaryCrossEntropy, (input, target)), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """BCE on logits x: softplus(x) - x y = -(y log sigma(x) + (1 - y) log(1 - sigma(x))),
    stable for any x; its gradient is sigma(x) - y (logistic regression, lecture 003)."""
    _check_reduction(reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce(input.softplus() - input * target, reduction)


def _class_targets(name: str, input: Tensor, target) -> np.ndarray:
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: target must hold integer class indices, got dtype {labels.dtype} "
            "(cast with .astype(int) if the values are whole numbers)"
        )
    if input.ndim != 2 or labels.shape != input.shape[:1]:
        raise ValueError(
            f"{name}: expected input of shape (N, C) and target of shape (N,), got input "
            f"{input.shape} and target {labels.shape}"
        )
    classes = input.shape[1]
    labels = labels.astype(np.intp, copy=False)
    # One pass finds both faults: read as unsigned, a negative label is a huge one.
    if labels.size and np.maximum.reduce(labels.view(np.uintp), axis=None) >= classes:
        raise IndexError(
            f"{name}: target holds class {labels.min() if labels.min() < 0 else labels.max()} "
            f"but input has {classes} classes (0..{classes - 1})"
        )
    return labels


def cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-log softmax(logits)[target], from logits (N, C) and integer labels (N,), fused and stable:
    the gradient is softmax(logits) - onehot(target), formed in one pass."""
    _check_reduction(reduction)
    labels = _class_targets("cross_entropy", input, target)
    return apply(ops.SoftmaxCrossEntropy, (input, labels), (reduction, ops.KeptSoftmax()))


def nll_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """-input[n, target[n]] for log-probabilities input (N, C), e.g. from log_softmax."""
    _check_reduction(reduction)
    labels = _class_targets("nll_loss", input, target)
    return _reduce(-input[np.arange(len(labels)), labels], reduction)
