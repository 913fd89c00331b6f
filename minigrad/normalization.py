"""Batch and layer normalization, composed from recorded ops (mean, subtraction, square root,
division, products), so each is differentiable to any order for free and the tracer counts its
flops op by op.

They are compositions, not primitives, because the composition is the formula itself and is
exact: a fused primitive would earn a hand-written VJP and second-order VJP for a few elementwise
passes over arrays that the convolutions around them dwarf.

Both normalize to  x_hat = (x - mu) / sqrt(sigma^2 + eps)  with the biased (population) variance
sigma^2 = mean((x - mu)^2), then scale and shift, y = x_hat * weight + bias. They differ in the
axes mu and sigma^2 run over: batch norm over the batch and every spatial axis, per channel;
layer norm over the trailing `normalized_shape` axes, per example.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .autograd import no_grad
from .tensor import ShapeError, Tensor


def _normalize(x: Tensor, axes: tuple, eps: float) -> Tensor:
    """(x - mu) / sqrt(sigma^2 + eps) over `axes`, sigma^2 the biased variance."""
    deviation = x - x.mean(axis=axes, keepdims=True)
    variance = (deviation * deviation).mean(axis=axes, keepdims=True)
    return deviation / (variance + eps).sqrt()


def _affine(x_hat: Tensor, scale: Tensor | None, shift: Tensor | None) -> Tensor:
    """x_hat * scale + shift, either left out when None."""
    if scale is not None:
        x_hat = x_hat * scale
    return x_hat if shift is None else x_hat + shift


def _viewed(weight, bias, shape: tuple) -> tuple:
    """weight and bias viewed as `shape` to broadcast (None stays None). Taken before the
    statistics, so a layer's ops sit between reads of its parameters on the tape and
    `viz.draw_graph(collapse_modules=True)` draws them as one box."""
    return (
        None if weight is None else weight.reshape(shape),
        None if bias is None else bias.reshape(shape),
    )


def _check_per_channel(fn: str, role: str, value, channels: int) -> None:
    if value is not None and tuple(value.shape) != (channels,):
        raise ShapeError(
            f"{fn}: {role} must have shape ({channels},), one per channel, got {tuple(value.shape)}"
        )


def _update_running(running: Tensor | None, batch_value: Tensor, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum batch_value, in place and without gradient.

    Written with Tensor ops and `copy_`, not on `.data`, so that `mg.compile` sees the write:
    it then runs a step holding it eagerly rather than replay one that skips it."""
    if running is None:
        return
    with no_grad():
        batch = batch_value.reshape(running.shape).to(running.dtype)
        running.copy_(running * (1 - momentum) + batch * momentum)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization over (N, C, *) per channel c, as PyTorch's `batch_norm`:

        y = (x - mu_c) / sqrt(sigma_c^2 + eps) * weight_c + bias_c

    In training, mu_c and sigma_c^2 are the batch's mean and biased variance over N and every
    spatial axis (m = N * spatial size values per channel), and the running statistics, when
    given, move toward the batch's: running_mean <- (1 - momentum) running_mean + momentum mu_c,
    running_var <- (1 - momentum) running_var + momentum sigma_c^2 m / (m - 1), the unbiased
    variance (PyTorch's rule). In evaluation (training=False) mu_c and sigma_c^2 are the running
    statistics, so y is an affine map of x with no dependence across the batch.

    Args:
        x: (N, C) or (N, C, L) or (N, C, H, W), any number of spatial axes.
        running_mean, running_var: (C,) tensors updated in place in training (None: not
            tracked, which training allows and evaluation does not).
        weight, bias: (C,) or None, the learned scale gamma and shift beta.
        training: use and update batch statistics (True) or use the running ones (False).
        momentum: the running statistics' update rate, in [0, 1].
        eps: added to the variance under the square root.
    """
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: input must be (N, C, *) with at least 2 axes, got {x.shape}")
    channels = x.shape[1]
    for role, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):  # fmt: skip
        _check_per_channel("batch_norm", role, value, channels)
    if not 0 <= momentum <= 1:
        raise ValueError(f"batch_norm: momentum must be in [0, 1], got {momentum}")
    shape = (1, channels) + (1,) * (x.ndim - 2)
    axes = (0, *range(2, x.ndim))
    scale, shift = _viewed(weight, bias, shape)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: evaluation (training=False) normalizes with the running statistics, "
                "so running_mean and running_var must be given"
            )
        spread = (running_var.reshape(shape) + eps).sqrt()
        return _affine((x - running_mean.reshape(shape)) / spread, scale, shift)
    count = x.size // channels
    if count <= 1:
        raise ValueError(
            f"batch_norm: training needs more than 1 value per channel to take a variance, got "
            f"input shape {x.shape}"
        )
    x_hat = _normalize(x, axes, eps)
    if running_mean is not None or running_var is not None:
        detached = x.detach()
        mean = detached.mean(axis=axes)
        _update_running(running_mean, mean, momentum)
        _update_running(running_var, detached.var(axis=axes, correction=1), momentum)
    return _affine(x_hat, scale, shift)


def layer_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalization over the trailing axes `normalized_shape`, as PyTorch's:

        y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias

    mu and sigma^2 the mean and biased variance of each example's last len(normalized_shape)
    axes; weight and bias (of shape normalized_shape) scale and shift element by element. The
    same in training and evaluation: no statistics cross the batch.
    """
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k :]) != normalized_shape:
        raise ShapeError(
            f"layer_norm: normalized_shape {normalized_shape} must be the input's trailing axes "
            f"(non-empty), got input shape {x.shape}"
        )
    for role, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized_shape:
            raise ShapeError(
                f"layer_norm: {role} must have shape {normalized_shape}, got {tuple(value.shape)}"
            )
    axes = tuple(range(x.ndim - k, x.ndim))
    scale, shift = _viewed(weight, bias, normalized_shape)
    return _affine(_normalize(x, axes, eps), scale, shift)
