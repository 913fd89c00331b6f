"""Picking elements by index, mask or bound: gather, topk, masked_fill and clamp with Tensor bounds.

PyTorch's selection methods, composed from the primitives (advanced-index `GetItem`, `Where`), so
each is differentiable, twice, with no VJP of its own: indexing scatters its gradient back with
`IndexAdd`, which accumulates where an index repeats, and `Where` routes each element's gradient
to the operand it picked. The masks and indices are constants: no gradient flows to them.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import (
    ShapeError,
    Tensor,
    ValuesIndices,
    _broadcasts_to,
    _is_integer,
    _single_axis,
    apply,
    wrap,
)


def _constant(value, dtype) -> Tensor:
    """A number (or ndarray) as a constant tensor of `dtype`."""
    return wrap(np.asarray(value, dtype=dtype), None)


def _where(condition: np.ndarray, a: Tensor, b: Tensor) -> Tensor:
    """a where the bool array `condition` holds, else b: the `Where` primitive."""
    return apply(ops.Where, (condition, a, b))


def _values(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


# ---- gather -----------------------------------------------------------------------------------


def gather(x: Tensor, dim: int, index) -> Tensor:
    """x's elements along `dim` at `index`, as `torch.gather`: for a 3-D x and dim 1,
    out[i, j, k] = x[i, index[i, j, k], k].

    `index` holds integers, has x's number of dimensions and, off `dim`, sizes no larger than
    x's; the result has index's shape. The gradient is scattered back into x's shape and adds up
    where an index repeats (d out[i, j, k] / d x[i, index[i, j, k], k] = 1).
    """
    indices = _gather_index(x, dim, index)
    if x.ndim == 0:  # one element, at index 0, picked `indices.size` times (0 or 1)
        return x.reshape(1)[indices.reshape(1)].reshape(indices.shape)
    axis = _single_axis(dim, x.ndim)
    grids = np.ogrid[tuple(slice(n) for n in indices.shape)] if indices.ndim else []
    picks = tuple(indices if a == axis else grid for a, grid in enumerate(grids))
    return x[picks]


def _gather_index(x: Tensor, dim, index) -> np.ndarray:
    """`index` as an intp array, once it fits x (raising, naming what does not)."""
    indices = _values(index)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"gather: index must hold integers, got dtype {indices.dtype}")
    if not _is_integer(dim):
        raise TypeError(f"gather: dim must be an int, got {type(dim).__name__} {dim!r}")
    axis = _single_axis(dim, x.ndim) if x.ndim else _single_axis(dim, 1)
    if indices.ndim != x.ndim:
        raise ShapeError(
            f"gather: index has {indices.ndim} dimensions (shape {indices.shape}) but the input "
            f"has {x.ndim} (shape {x.shape}); they must have the same number"
        )
    shape = x.shape or (1,)
    for a, (n, m) in enumerate(zip(indices.shape, x.shape)):
        if a != axis and n > m:
            raise ShapeError(
                f"gather: index shape {indices.shape} is larger than the input shape {x.shape} "
                f"in dimension {a}, which is not dim {axis}"
            )
    if indices.size and (indices.min() < 0 or indices.max() >= shape[axis]):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(
            f"gather: index {bad} is out of range for dimension {axis} of size {shape[axis]} "
            f"(valid: 0..{shape[axis] - 1})"
        )
    return indices.astype(np.intp, copy=False)


# ---- topk -------------------------------------------------------------------------------------


def topk(
    x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesIndices:
    """The k largest (or, with largest=False, smallest) elements along `dim`, as `torch.topk`:
    the pair (values, indices), in order from the most extreme; NaN counts as the largest.

    `values` is `gather(x, dim, indices)`, so its gradient flows back to the picked elements;
    `indices` is an int64 tensor without gradient. `sorted=False` is accepted and gives the
    same sorted order (PyTorch leaves the order unspecified then).
    """
    if not _is_integer(k) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__} {k!r}")
    if x.ndim == 0:
        _single_axis(dim, 1)
        flat = topk(x.reshape(1), k, 0, largest, sorted)
        return ValuesIndices(flat.values.reshape(()), flat.indices.reshape(()))
    axis = _single_axis(dim, x.ndim)
    if not 0 <= k <= x.shape[axis]:
        raise ValueError(
            f"topk: k={k} is out of range for dimension {axis} of size {x.shape[axis]} "
            f"(0 <= k <= {x.shape[axis]})"
        )
    order = np.argsort(x.data, axis=axis, kind="stable")  # NaN sorts last: the largest
    if largest:
        order = np.flip(order, axis=axis)
    chosen = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    return ValuesIndices(gather(x, axis, chosen), wrap(chosen, None))


# ---- masked_fill ------------------------------------------------------------------------------


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """x with `value` where `mask` is True, as `torch.masked_fill`.

    `mask` is a bool tensor or array broadcastable to x's shape (the result keeps x's shape and
    dtype); `value` is a number or a 0-d tensor, which then receives the gradient of the filled
    elements, as x receives the rest's: out = where(mask, value, x).
    """
    condition = _values(mask)
    if condition.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {condition.dtype}")
    if not _broadcasts_to(condition.shape, x.shape):
        raise ShapeError(
            f"masked_fill: a mask of shape {condition.shape} does not broadcast to the input's "
            f"shape {x.shape}"
        )
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(
                f"masked_fill: a tensor value must be 0-d (one number), got shape {value.shape}"
            )
        fill = value if value.dtype == x.dtype else value.to(x.dtype)
    else:
        fill = _constant(value, x.dtype)
    return _where(condition, fill, x)


# ---- clamp with Tensor bounds -----------------------------------------------------------------


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """min(max(x, low), high) elementwise for bounds that are tensors (broadcast with x), as
    `torch.clamp`: differentiable in x and in each bound that requires grad.

    The gradient follows PyTorch's rule: x's where low <= x <= high; low's where x < low < high;
    high's where x > high or high < low (then every element is high). Where low == high > x,
    neither bound nor x gets one, as in PyTorch. Each element's value is exactly `np.clip`'s.
    """
    low, high = _bound(min, x.dtype), _bound(max, x.dtype)
    low_values = None if low is None else low.data
    high_values = None if high is None else high.data
    inside, below, above = _clamp_masks(x.data, low_values, high_values)
    clipped = np.clip(x.data, low_values, high_values)
    result = _constant(clipped, clipped.dtype)  # NaN, and a low == high tie: no gradient
    if high is not None:
        result = _where(above, high, result)
    if low is not None:
        result = _where(below, low, result)
    return _where(inside, x, result)


def _clamp_masks(values: np.ndarray, low, high) -> tuple:
    """(inside, below, above): where x, the low bound and the high bound take the gradient."""
    everywhere = np.ones(np.broadcast_shapes(*(np.shape(a) for a in (values, low, high))), bool)
    inside, below, above = everywhere, ~everywhere, ~everywhere
    if low is not None:
        inside = inside & (values >= low)
        below = values < low if high is None else (values < low) & (low < high)
    if high is not None:
        inside = inside & (values <= high)
        above = values > high if low is None else (values > high) | (high < low)
    return inside, below, above


def _bound(bound, dtype) -> Tensor | None:
    if bound is None or isinstance(bound, Tensor):
        return bound
    return _constant(bound, dtype)
