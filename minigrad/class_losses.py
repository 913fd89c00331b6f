"""The classification losses, `cross_entropy` and `nll_loss`, with PyTorch's options.

Both take class scores with the classes on axis 1 (or axis 0 of an unbatched input) and integer
class labels:

    input (C,)                  target ()                   one example
    input (N, C)                target (N,)                 a batch
    input (N, C, d1, ..., dK)   target (N, d1, ..., dK)     a label per position (per pixel)

and these options, defined as in PyTorch:

- `weight` (C,): a rescaling per class; example n's loss is w[y_n] times its own, and the mean
  divides by the sum of the weights of the targets counted, sum_n w[y_n], not by N.
- `ignore_index`: a label whose examples count for nothing, in the loss, the gradient and the
  mean's denominator. (If every target is ignored, the mean is 0 / 0: NaN, as in PyTorch.)
- `label_smoothing` eps in [0, 1] (cross_entropy only): the target becomes (1 - eps) onehot(y) +
  eps / C, so with log-probabilities l_nc and weights w_c,

      loss_n = (1 - eps) (-w[y_n] l_{n, y_n}) + (eps / C) sum_c (-w_c l_nc)

  and the mean divides both terms by sum_n w[y_n] (PyTorch's rule, ignored targets excluded).

`cross_entropy` also takes class probabilities for target, as PyTorch does: a float array p of
the input's shape. Then loss_n = -sum_c w_c p_nc l_nc, label smoothing makes p (1 - eps) p +
eps / C, the mean divides by the number of examples (positions), not by the weights, and
`ignore_index` has nothing to ignore (giving one is an error).

The plain case (no weight, no ignored target, no smoothing) keeps the fused softmax-cross-entropy
op, whose gradient softmax - onehot is formed in one pass; the rest is composed from log_softmax,
indexing and arithmetic, so it is differentiable twice.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .loss_reduction import check_reduction, reduce_loss
from .tensor import Tensor, _is_integer, apply


def cross_entropy(
    input: Tensor,
    target,
    weight=None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """-log softmax(input)[target] from logits and integer labels, or -sum_c p_c log
    softmax(input)_c from class probabilities p (shapes and options in the module doc).

    Lecture 003's cross-entropy of a softmax classifier; its gradient in the logits is
    softmax(x) - onehot(y) (scaled by the options). PyTorch's third positional argument is
    `weight`, so `reduction` and the others go by keyword.
    """
    check_reduction(reduction)
    if not (isinstance(label_smoothing, (int, float)) and 0.0 <= label_smoothing <= 1.0):
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}"
        )
    if _holds_probabilities(input, target):
        return _soft_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
    logits, labels, shape = _rows_of_classes("cross_entropy", input, target)
    kept = _counted_targets("cross_entropy", labels, logits.shape[1], ignore_index)
    weights = _class_weights("cross_entropy", weight, logits.shape[1], logits.dtype)
    if weights is None and label_smoothing == 0 and kept.all():
        loss = apply(ops.SoftmaxCrossEntropy, (logits, labels), (reduction,))
        return loss.reshape(shape) if reduction == "none" else loss
    log_probs = logits.log_softmax(axis=1)
    return _weighted(log_probs, labels, kept, weights, label_smoothing, reduction, shape)


def nll_loss(
    input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """-w[y] input[y] for log-probabilities input (e.g. from log_softmax) and integer labels y,
    with the shapes and options above (all but label smoothing)."""
    check_reduction(reduction)
    log_probs, labels, shape = _rows_of_classes("nll_loss", input, target)
    kept = _counted_targets("nll_loss", labels, log_probs.shape[1], ignore_index)
    weights = _class_weights("nll_loss", weight, log_probs.shape[1], log_probs.dtype)
    if weights is None and kept.all():
        picked = -log_probs[np.arange(len(labels)), labels]
        return picked.reshape(shape) if reduction == "none" else reduce_loss(picked, reduction)
    return _weighted(log_probs, labels, kept, weights, 0.0, reduction, shape)


def _holds_probabilities(input: Tensor, target) -> bool:
    """Whether `target` is class probabilities rather than labels: a float array of the input's
    shape (PyTorch's rule)."""
    values = target.data if isinstance(target, Tensor) else np.asarray(target)
    return values.dtype.kind == "f" and values.shape == input.shape and input.ndim > 0


def _soft_cross_entropy(input: Tensor, target, weight, ignore_index, reduction, smoothing):
    """PyTorch's cross-entropy with class probabilities p: loss = -sum_c w_c p_c log softmax(x)_c
    over the class axis, p smoothed to (1 - eps) p + eps / C; the mean divides by the number of
    examples (positions), not by the weights."""
    if ignore_index != -100:
        raise ValueError(
            "cross_entropy: ignore_index is for class-index targets; a target of class "
            f"probabilities (a float tensor of the input's shape {input.shape}) takes none"
        )
    axis = 0 if input.ndim == 1 else 1
    classes = input.shape[axis]
    probabilities = target if isinstance(target, Tensor) else np.asarray(target, input.dtype)
    if smoothing:
        probabilities = probabilities * (1 - smoothing) + smoothing / classes
    weights = _class_weights("cross_entropy", weight, classes, input.dtype)
    if weights is not None:
        probabilities = probabilities * weights.reshape((classes,) + (1,) * (input.ndim - 1 - axis))
    loss = -(input.log_softmax(axis=axis) * probabilities).sum(axis=axis)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if loss.numel() == 0:  # the mean over no examples: NaN, as in PyTorch
        return loss.sum() * float("nan")
    return loss.sum() / loss.numel()


def _weighted(log_probs, labels, kept, weights, smoothing: float, reduction: str, shape):
    """The options' loss from log-probabilities (M, C): per row, then reduced (module doc)."""
    rows, classes = log_probs.shape
    dtype = log_probs.dtype
    safe = np.where(kept, labels, 0)  # an ignored row's label may be any number: pick class 0
    row_weights = (kept if weights is None else weights[safe] * kept).astype(dtype)
    loss = -log_probs[np.arange(rows), safe] * row_weights
    if smoothing:
        class_weights = np.ones(classes, dtype) if weights is None else weights
        spread = -(log_probs * class_weights).sum(axis=1) * kept.astype(dtype)
        loss = loss * (1 - smoothing) + spread * (smoothing / classes)
    if reduction == "none":
        return loss.reshape(shape)
    if reduction == "sum":
        return loss.sum()
    total_weight = float(row_weights.sum())
    return loss.sum() * float("nan") if total_weight == 0 else loss.sum() / total_weight


def _rows_of_classes(name: str, input: Tensor, target) -> tuple:
    """(scores as rows (M, C), labels (M,), the target's shape): the classes moved to the last
    axis and every other axis flattened into rows."""
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: target must hold integer class indices, got dtype {labels.dtype} "
            "(cast with .astype(int) if the values are whole numbers)"
        )
    batch_shape = (input.shape[:1] + input.shape[2:]) if input.ndim >= 2 else ()
    if input.ndim == 0 or labels.shape != batch_shape:
        raise ValueError(
            f"{name}: expected {_expected_shapes(input.ndim)}, got input {input.shape} and "
            f"target {labels.shape}"
        )
    scores = input.reshape(1, -1) if input.ndim == 1 else input
    if scores.ndim > 2:
        scores = scores.permute(0, *range(2, scores.ndim), 1).reshape(-1, scores.shape[1])
    # A batch's labels stay the very array given, so `viz` can name the target node.
    rows = labels if labels.ndim == 1 else labels.reshape(-1)
    return scores, rows.astype(np.intp, copy=False), labels.shape


def _expected_shapes(ndim: int) -> str:
    if ndim == 1:
        return "input of shape (C,) and target of shape ()"
    if ndim == 2:
        return "input of shape (N, C) and target of shape (N,)"
    return (
        "input of shape (C,), (N, C) or (N, C, d1, ..., dK) and target of shape (), (N,) or "
        "(N, d1, ..., dK)"
    )


def _counted_targets(name: str, labels: np.ndarray, classes: int, ignore_index) -> np.ndarray:
    """Where the target is counted (not `ignore_index`), once every counted label is a class."""
    if not _is_integer(ignore_index):
        raise TypeError(f"{name}: ignore_index must be an int, got {ignore_index!r}")
    kept = labels != ignore_index
    counted = labels[kept]
    # One pass finds both faults: read as unsigned, a negative label is a huge one.
    if counted.size and np.maximum.reduce(counted.view(np.uintp), axis=None) >= classes:
        bad = counted.min() if counted.min() < 0 else counted.max()
        raise IndexError(
            f"{name}: target holds class {bad} but input has {classes} classes (0..{classes - 1})"
        )
    return kept


def _class_weights(name: str, weight, classes: int, dtype) -> np.ndarray | None:
    """`weight` as an array of the input's dtype, one number per class, or None."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(
            f"{name}: weight must hold one number per class, got the string {weight!r}; pass "
            "reduction= by keyword (PyTorch's third argument is weight)"
        )
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise ValueError(
            f"{name}: weight requires grad, but no gradient flows to class weights (as in "
            "PyTorch); pass weight.detach()"
        )
    values = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if values.shape != (classes,) or values.dtype.kind not in "biuf":
        raise ValueError(
            f"{name}: weight must be {classes} numbers, one per class, got shape {values.shape} "
            f"and dtype {values.dtype}"
        )
    return values.astype(dtype)
