"""Activation modules: each wraps the op of the same name.

Softmax and LogSoftmax take the axis as `axis` or as PyTorch's `dim`; the default is the last.
"""

from __future__ import annotations

from ..tensor import Tensor
from .functional import resolve_axis
from .module import Module


class ReLU(Module):
    """max(x, 0); with `inplace=True` the input tensor itself becomes the result, as in PyTorch,
    which spares a buffer per layer (`Tensor.relu_`)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return x.relu_() if self.inplace else x.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise (0.01 by default, as in PyTorch)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return x.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Tanh(Module):
    """tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Softplus(Module):
    """ln(1 + e^x), a smooth ReLU."""

    def forward(self, x: Tensor) -> Tensor:
        return x.softplus()


class _AlongAxis(Module):
    def __init__(self, axis: int | None = None, dim: int | None = None):
        super().__init__()
        self.axis = resolve_axis(axis, dim)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Softmax(_AlongAxis):
    """e^x_i / sum_j e^x_j along `axis` (numerically stable)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.softmax(self.axis)


class LogSoftmax(_AlongAxis):
    """x_i - logsumexp(x) along `axis` (numerically stable)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.log_softmax(self.axis)
