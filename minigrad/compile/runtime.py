"""The engine steps a generated program calls by name, besides the op classes' own methods.

Each repeats what the eager backward walk does at that point (`autograd._propagate` and
`autograd._store_leaf_grads`), on the same arrays in the same order; the recorder checks, while
it traces, that the walk's results equal these, so a change in the walk fails the trace loudly
instead of replaying old arithmetic.
"""

from __future__ import annotations

import numpy as np

from ..autograd import BackwardError, unbroadcast
from ..tensor import Tensor, wrap


def result(array) -> Tensor:
    """A tensor owning a copy of `array`, as `Tensor(array)` makes, without the constructor's
    checks of the value's kind: the trace made this array's dtype already, and the copy keeps a
    returned tensor from sharing a buffer the program or a parameter still holds. About 1 us
    less than `Tensor(array)` on a 0-d loss, a call's returned tensor (benchmark case 2)."""
    return wrap(np.array(array), None)


def conform(grad, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An input's gradient brought to that input's shape (summing broadcast axes) and dtype."""
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
        if grad.shape != shape:
            raise BackwardError(
                f"a gradient of shape {grad.shape} does not reduce to its input's shape {shape}"
            )
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def store_grads(entries: tuple) -> None:
    """Add each `(leaf, grad, fresh)` into `leaf.grad`, as backward does: `fresh` says the walk
    made `grad` itself; any other array is copied if it is a view, read-only, or already given
    to another leaf, so every `.grad` owns its buffer.

    It writes the slot behind `.grad` rather than through its checked setter: the program was
    traced for these shapes and dtypes, and its guards hold them. That took benchmark case 2's
    compiled step from 1.33-1.34x to 1.25-1.26x the hand-written step (two runs each, idle
    machine)."""
    handed_out: set = set()
    for leaf, grad, fresh in entries:
        if not fresh and (
            grad.base is not None or id(grad) in handed_out or not grad.flags.writeable
        ):
            grad = grad.copy()
        handed_out.add(id(grad))
        current = leaf._grad
        if current is None:
            leaf._grad = grad  # its shape and dtype were checked when the step was traced
        else:
            current += grad  # into the buffer .grad holds, as backward adds
