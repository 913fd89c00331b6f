"""Normalization layers: BatchNorm1d, BatchNorm2d and LayerNorm (PyTorch's arguments).

Initialization, PyTorch's: the scale gamma (`weight`) starts at ones and the shift beta (`bias`)
at zeros, so a new layer is exactly the normalization x_hat = (x - mu) / sqrt(sigma^2 + eps).
That is the lectures' variance argument (lecture 001, slides "Scaled initialization") done by
measurement instead of by the weights' scale: the slides pick Var[w] = 1/d so that
f(x) = sum_i x_i w_i keeps a variance independent of d; x_hat has mean 0 and variance 1 per
channel (or per example) whatever d and the weights before it are, and gamma = 1, beta = 0 leave
it so until training learns otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..factories import ones, tensor, zeros
from ..tensor import ShapeError, Tensor
from .module import Module, Parameter


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share: parameters, buffers and the forward.

    Buffers: `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (an int64
    count), saved and loaded with the state dict, never stepped by an optimizer.
    """

    input_dims: tuple[int, ...] = ()
    layout = ""
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)):
            raise TypeError(f"{name}: num_features must be an int, got {num_features!r}")
        if num_features < 1:
            raise ValueError(f"{name}: num_features must be at least 1, got {num_features}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=np.int64))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.input_dims:
            raise ShapeError(
                f"{type(self).__name__}: input must be {self.layout}, got shape {x.shape}"
            )
        momentum, count = self.momentum, self.num_batches_tracked
        if self.training and count is not None:
            count.data += 1
            if momentum is None:  # PyTorch's cumulative average of every batch so far
                momentum = 1.0 / int(count.data)
        # Without running statistics (buffers None) both modes normalize by the batch's.
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if momentum is None else momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) per channel: `functional.batch_norm`, with
    the formula, over N (and L).

    In training (`model.train()`) it normalizes with the batch's mean and biased variance and
    moves the running statistics toward them (the unbiased variance into running_var); in
    evaluation (`model.eval()`) it normalizes with the running statistics.

    Args:
        num_features: C.
        eps: added to the variance under the square root.
        momentum: the running statistics' update rate; None for the plain average of every
            batch seen (rate 1 / num_batches_tracked).
        affine: whether to learn the scale `weight` (ones) and shift `bias` (zeros), shape (C,).
        track_running_stats: keep running statistics; without them evaluation also uses the
            batch's.
        dtype: of the parameters and running statistics; the default dtype if None.
    """

    input_dims, layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) per channel, over N, H and W: `functional.batch_norm`.
    Arguments and modes as BatchNorm1d's."""

    input_dims, layout = (4,), "(N, C, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing axes `normalized_shape` of each example:
    `functional.layer_norm`, y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias, the same in
    training and evaluation.

    Args:
        normalized_shape: an int (the last axis) or the shape of the trailing axes.
        eps: added to the variance under the square root.
        elementwise_affine: whether to learn `weight` (ones) and `bias` (zeros) of
            normalized_shape.
        dtype: of the parameters; the default dtype if None.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype=None,
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        if not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape) or not shape:
            raise ValueError(
                f"LayerNorm: normalized_shape must be a positive int or a non-empty tuple of "
                f"them, got {normalized_shape!r}"
            )
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
