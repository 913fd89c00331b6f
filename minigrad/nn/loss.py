"""Loss modules: each holds its options and calls the function of the same name.

All take (input, target) and reduce with 'mean' (default), 'sum' or 'none'; the class losses and
BCE-with-logits take PyTorch's other options too (`weight`, `ignore_index`, `label_smoothing`,
`pos_weight`), held by the module as PyTorch's are. They are numerically stable: cross-entropy
works from logits through a fused log-softmax, BCE-with-logits through softplus, and BCE clamps
its logs at -100 as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import functional as F
from ..loss_reduction import check_reduction
from ..tensor import Tensor
from .module import Module


class _Loss(Module):
    # The loss function of `nn.functional` each subclass wraps, called as a plain function.
    function: Callable[..., Tensor]

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def options(self) -> dict:
        """The keyword arguments passed to the function besides (input, target)."""
        return {"reduction": self.reduction}

    def forward(self, input: Tensor, target) -> Tensor:
        return type(self).function(input, target, **self.options())

    def extra_repr(self) -> str:
        """The reduction, and each other option given a value other than its default."""
        shown = []
        for key, value in self.options().items():
            if value is None or (key in _NUMBER_DEFAULTS and value == _NUMBER_DEFAULTS[key]):
                continue
            shown.append(f"{key}={value!r}")
        return ", ".join(shown)


def _checked_weight(weight):
    """A loss module's `weight`, refused at construction when it is a reduction's name (PyTorch's
    first argument of these modules is weight)."""
    if isinstance(weight, str):
        raise TypeError(
            f"weight must be numbers, got the string {weight!r}; pass reduction= by keyword "
            "(the first argument of this loss is weight, as in PyTorch)"
        )
    return weight


# The options whose default is a number, left out of a loss's repr when they have it.
_NUMBER_DEFAULTS = {"ignore_index": -100, "label_smoothing": 0.0}


class MSELoss(_Loss):
    """(input - target)^2, for regression; with 'mean' over N predictions it is the lectures'
    Loss_MSE = (1/N) sum_i (f(x_i, w) - y_i)^2 (lecture 001_7c5c639b47bbde7b.txt, slide
    "Computational complexity")."""

    function = staticmethod(F.mse_loss)


class BCELoss(_Loss):
    """-w (y log p + (1 - y) log(1 - p)) for probabilities p and targets y in [0, 1]; a value
    outside [0, 1] (or NaN) in either is a ValueError, as in PyTorch. `weight` rescales each
    element (broadcast to p's shape)."""

    function = staticmethod(F.binary_cross_entropy)

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = _checked_weight(weight)

    def options(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction}


class BCEWithLogitsLoss(_Loss):
    """BCE on logits x, softplus(x) - x y: stable for any x, gradient sigma(x) - y; `weight`
    rescales each element and `pos_weight` the positive term, as in PyTorch
    (`functional.binary_cross_entropy_with_logits`)."""

    function = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = _checked_weight(weight), pos_weight

    def options(self) -> dict:
        return {"weight": self.weight, "reduction": self.reduction, "pos_weight": self.pos_weight}


class NLLLoss(_Loss):
    """-w[y] input[y] for log-probabilities (C,), (N, C) or (N, C, d1, ..., dK), e.g. from
    LogSoftmax, with PyTorch's `weight` and `ignore_index` (see `class_losses`)."""

    function = staticmethod(F.nll_loss)

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = _checked_weight(weight), ignore_index

    def options(self) -> dict:
        return {
            "weight": self.weight,
            "ignore_index": self.ignore_index,
            "reduction": self.reduction,
        }


class CrossEntropyLoss(NLLLoss):
    """-log softmax(logits)[class], from logits (C,), (N, C) or (N, C, d1, ..., dK) and integer
    class labels; float labels are refused rather than truncated. PyTorch's `weight`,
    `ignore_index` and `label_smoothing` as in `class_losses`."""

    function = staticmethod(F.cross_entropy)

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def options(self) -> dict:
        return {**super().options(), "label_smoothing": self.label_smoothing}
