"""Layers: Linear, Dropout, Identity, Flatten, and the containers Sequential and ModuleList."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W + b, with W of shape (in_features, out_features) and b of shape (out_features,).

    This is the lectures' layer x^T W with W in R^{d x e} (lecture 001_7c5c639b47bbde7b.txt,
    slides "Computing a single neuron" and "Scaled initialization"): column j of W holds neuron
    j's d weights. PyTorch stores the transpose, (out_features, in_features); minigrad keeps the
    lectures' layout, so `fan_in` is the FIRST axis, and a PyTorch weight loads as `weight.T`.
    Any leading batch dimensions pass through; the forward is the fused `functional.linear`.

    Initialization: W ~ N(0, 2 / in_features), i.e. `init.kaiming_normal_(W, nonlinearity="relu")`:
    Kaiming (He) initialization with the ReLU gain, since ReLU is what most layers feed. For
    tanh, sigmoid or linear networks use `init.kaiming_normal_(W, nonlinearity="linear")` (the
    lectures' N(0, 1/sqrt(d))) or `init.xavier_normal_`. PyTorch's own default, uniform with
    bound 1/sqrt(in_features), has variance 1 / (3 in_features), a sixth of this one. The bias
    starts at zero: random weights already break the symmetry between units (slide
    "Symmetry-breaking").

    Args:
        in_features: d, the size of each input's last dimension.
        out_features: e, the number of units.
        bias: whether to add a learnable b.
        dtype: of the parameters; the default dtype (float32) if None.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Linear: {name} must be a non-negative integer, got {value!r}")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.in_features, self.out_features = int(in_features), int(out_features)
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
    r"""Zero each element with probability p while training; the mask comes from the engine RNG.

    Lecture 001_7c5c639b47bbde7b.txt, slide "Dropout": DO_r(X) = D * X with d_ij ~ Bernoulli(1 - r)
    (the lecture's rate r is `p` here). Slide "Dropout at evaluation time" shows why the kept
    units must be rescaled somewhere: for a unit fed through dropout,

        E[DO_r(x)^T w] = sum_i E[d_i] x_i w_i = (1 - r) sum_i x_i w_i,

    so a network trained with dropout and evaluated without it sees pre-activations (1 - r) times
    smaller in training than at evaluation. (The slide writes "< sum_i x_i w_i": that holds only
    when the sum is positive; for a negative sum the dropout output is larger. What is true for
    every sign is that the expectation is shrunk by the factor 1 - r.) Two cures:

    - rule='inverted' (default, PyTorch's; the lecture's "Correct solution"): multiply kept units
      by 1 / (1 - p) in training, so E[output] = x, and evaluate as the identity.
    - rule='scale_at_eval' (the lecture's "Simple (but not quite correct) solution"): no scaling
      in training; multiply by (1 - p) at evaluation, matching the training expectation (1 - p) x.

    Both make the evaluation output equal the expected training output of the layer they feed,
    whose pre-activation is linear in the dropped units. Neither is exact through a nonlinearity
    (E[sigma(z)] != sigma(E[z])); the inverted rule is preferred because evaluation is then the
    plain network, with nothing to remember at test time.

    Args:
        p: probability of zeroing an element, in [0, 1).
        rule: 'inverted' or 'scale_at_eval'.
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

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied in order; indexable (`model[0]`, `model[-1]`, `model[1:]`), with len and
    iteration. Built from modules (named 0, 1, 2, ...) or from one OrderedDict of name -> module.
    """

    def __init__(self, *modules: Module | OrderedDict):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named = list(modules[0].items())
        else:
            named = [(str(index), module) for index, module in enumerate(modules)]
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential takes Modules, got {type(module).__name__} at position {name}"
                )
            self.add_module(name, module)

    def forward(self, x):
        modules = self.__dict__
        for name in self._module_names:
            x = modules[name](x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self.named_children())[index]))
        return self.__dict__[self._module_names[_position(self, index)]]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[Module]:
        return self.children()


class ModuleList(Module):
    """A list of modules whose parameters the parent registers (names 0, 1, 2, ...); it has no
    forward of its own: the parent's forward decides how to use them."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end (named by its index, as in PyTorch) and return the list."""
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds Modules, got {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules` in turn and return the list."""
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return ModuleList(list(self.children())[index])
        return self.__dict__[self._module_names[_position(self, index)]]

    def __len__(self) -> int:
        return len(self._module_names)

    def __iter__(self) -> Iterator[Module]:
        return self.children()


def _position(container: Sequential | ModuleList, index: int) -> int:
    size = len(container)
    if not -size <= index < size:
        raise IndexError(
            f"index {index} is out of range for a {type(container).__name__} of length {size}"
        )
    return index % size
