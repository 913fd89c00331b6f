"""Layers: Linear, Dropout, Identity, Flatten, and the containers Sequential and ModuleList."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W + b, with W of shape (in_features, out_features) and b of shape (out_features,).

    This is the lectures' layer x^T W with W in R^{d x e} (lecture 001_7c5c639b47bbde7b.txt,
    "Computing a single neuron"): column j of W holds neuron j's weights w_j. PyTorch stores the
    transpose, (out_features, in_features); minigrad keeps the lectures' layout, so `fan_in` is
    the first axis. Any leading batch dimensions pass through. The weight starts Kaiming-normal
    for ReLU (std sqrt(2 / in_features)), the bias at zero.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((in_features, out_features), dtype=dtype))
        init.kaiming_normal_(self.weight, nonlinearity="relu")
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Dropout(Module):
    """Zero each element with probability p while training.

    Lecture 001_7c5c639b47bbde7b.txt, "Dropout": a unit kept with probability 1 - p has expected
    output E[m x] = (1 - p) x, so a network trained with dropout and evaluated without it sees
    inputs (1 - p) times smaller in training than at test time. Two cures, both available:

    - rule='inverted' (default, PyTorch's; the lecture's "correct solution"): scale kept units by
      1 / (1 - p) in training, so E[output] = x, and evaluate as the identity.
    - rule='scale_at_eval' (the lecture's other rule): no scaling in training; multiply by
      (1 - p) at evaluation, matching the training expectation (1 - p) x.
    """

    RULES = ("inverted", "scale_at_eval")

    def __init__(self, p: float = 0.5, rule: str = "inverted"):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got p={p}")
        if rule not in self.RULES:
            raise ValueError(f"unknown dropout rule {rule!r}; expected one of {self.RULES}")
        self.p, self.rule = p, rule

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, inverted=self.rule == "inverted")

    def extra_repr(self) -> str:
        return f"p={self.p}, rule={self.rule!r}"


class Identity(Module):
    """Returns its input."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Flattens dimensions start_dim..end_dim (by default all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)


class Sequential(Module):
    """Modules applied in order; indexable (`model[0]`, `model[1:]`), named 0, 1, 2, ..."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def forward(self, x):
        modules = self.__dict__
        for name in self._module_names:
            x = modules[name](x)
        return x

    def __getitem__(self, index):
        modules = list(self.children())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self):
        return self.children()


class ModuleList(Module):
    """A list of modules whose parameters the parent registers; it has no forward of its own."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self.children())
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self):
        return self.children()
