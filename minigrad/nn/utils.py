"""Gradient utilities."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..tensor import Tensor


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0
) -> float:
    """Scale all gradients together so their joint norm is at most `max_norm`; returns the norm
    they had before.

    total = (sum over every gradient entry g of |g|^norm_type)^(1 / norm_type) (the largest |g|
    for norm_type=inf); if total > max_norm, every gradient is multiplied in place by
    max_norm / (total + 1e-6), PyTorch's rule. The update keeps its direction; only its length is
    capped. Parameters without a gradient are skipped.
    """
    if max_norm < 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    if not (norm_type == math.inf or norm_type > 0):
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(abs(g).max(initial=0.0)) for g in grads)
    else:
        total = sum(float((abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total
