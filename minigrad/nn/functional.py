"""`nn.functional`: the activations, dropout, linear, convolution, pooling and losses under
PyTorch's names.

Everything is `minigrad.functional`'s, except `softmax` and `log_softmax`, which also take
PyTorch's `dim=` for the axis, so `F.softmax(x, dim=1)` ports unchanged.
"""

from __future__ import annotations

from .. import functional as _core
from ..functional import (
    avg_pool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv1d,
    conv2d,
    cross_entropy,
    dropout,
    leaky_relu,
    linear,
    max_pool2d,
    mse_loss,
    nll_loss,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from ..tensor import Tensor


def resolve_axis(axis: int | None, dim: int | None) -> int:
    """The axis given as `axis` (minigrad's name) or `dim` (PyTorch's), -1 if neither."""
    if axis is not None and dim is not None and axis != dim:
        raise ValueError(f"got axis={axis} and dim={dim}; give one of them (dim is axis's alias)")
    if axis is not None:
        return axis
    return -1 if dim is None else dim


def softmax(x: Tensor, axis: int | None = None, *, dim: int | None = None, dtype=None) -> Tensor:
    """e^x_i / sum_j e^x_j along `axis` (alias `dim`, default the last), numerically stable;
    `dtype` casts x first, as in PyTorch."""
    return _core.softmax(x, resolve_axis(axis, dim), dtype=dtype)


def log_softmax(
    x: Tensor, axis: int | None = None, *, dim: int | None = None, dtype=None
) -> Tensor:
    """x_i - logsumexp(x) along `axis` (alias `dim`, default the last), numerically stable;
    `dtype` casts x first, as in PyTorch."""
    return _core.log_softmax(x, resolve_axis(axis, dim), dtype=dtype)


__all__ = [
    "avg_pool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
