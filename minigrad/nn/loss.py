"""Loss modules: each holds its `reduction` and calls the function of the same name.

All take (input, target) and reduce with 'mean' (default), 'sum' or 'none'. They are numerically
stable: cross-entropy works from logits through a fused log-softmax, BCE-with-logits through
softplus, and BCE clamps its logs at -100 as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    # The loss function of `nn.functional` each subclass wraps, called as a plain function.
    function: Callable[..., Tensor]

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input: Tensor, target) -> Tensor:
        return type(self).function(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """(input - target)^2, for regression; with 'mean' over N predictions it is the lectures'
    Loss_MSE = (1/N) sum_i (f(x_i, w) - y_i)^2 (lecture 001_7c5c639b47bbde7b.txt, slide
    "Computational complexity")."""

    function = staticmethod(F.mse_loss)


class BCELoss(_Loss):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p and targets y in [0, 1]; a value
    outside [0, 1] (or NaN) in either is a ValueError, as in PyTorch."""

    function = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """BCE on logits x, softplus(x) - x y: stable for any x, gradient sigma(x) - y."""

    function = staticmethod(F.binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """-log softmax(logits)[class], from logits (N, C) and integer class labels (N,); float
    labels are refused rather than truncated."""

    function = staticmethod(F.cross_entropy)


class NLLLoss(_Loss):
    """-input[n, class_n] for log-probabilities (N, C), e.g. from LogSoftmax."""

    function = staticmethod(F.nll_loss)
