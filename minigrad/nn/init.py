r"""Weight initialization, in place: constant, uniform, normal and the scaled schemes.

Why scale (lecture 001_7c5c639b47bbde7b.txt, "Scaled initialization"): a unit computes
z = sum_{i=1}^d x_i w_i. With the w_i independent, zero-mean and of variance s^2,

    Var[z | x] = sum_i x_i^2 Var[w_i] = s^2 |x|^2,

which grows with d when |x|^2 does (for inputs of unit variance, |x|^2 ~ d). Choosing
s = 1 / sqrt(d) makes Var[z] = |x|^2 / d, independent of the width, so activations neither
explode nor vanish as layers stack. The gain corrects for what the nonlinearity does to that
variance: ReLU zeroes half its inputs, so it needs s = sqrt(2 / d).

Weights here are laid out (in, out) — the lectures' W in R^{d x e} — so fan_in = d is the FIRST
axis and fan_out = e the second, the reverse of PyTorch's (out, in) layout. Every draw comes from
the engine RNG (`mg.manual_seed`), and each function returns its tensor.
"""

from __future__ import annotations

import math

from ..random import generator
from ..tensor import Tensor

GAINS = ("linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
MODES = ("fan_in", "fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps the variance of activations through `nonlinearity` (PyTorch's
    values): 1 for linear/identity/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 by default), 3/4 for selu."""
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {GAINS}")


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out (in, out); a vector counts as (size, size)."""
    shape = tensor.shape
    if len(shape) < 1:
        raise ValueError("fan_in and fan_out need a tensor with at least one dimension")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    fan_in, fan_out = fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    # Writing into the existing buffer keeps the tensor's dtype (draws come as float64).
    tensor.data[...] = values
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Draw from N(mean, std^2)."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Draw from U(a, b)."""
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    r"""Draw from N(0, std^2) with std = gain / sqrt(fan): He et al.'s scheme.

    From Var[sum_i x_i w_i] = sum_i x_i^2 Var[w_i] (module docstring), std = 1/sqrt(d) keeps a
    unit's variance independent of its d inputs; the gain adapts it to the nonlinearity. The
    lectures' "Kaiming" N(0, 1/sqrt(d)) — read 1/sqrt(d) as the standard deviation — is
    `nonlinearity='linear'`, which is also LeCun's scheme (`lecun_normal_`); PyTorch's ReLU
    default, std = sqrt(2/d), is `nonlinearity='relu'`. `a` is leaky_relu's negative slope.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """Draw from U(-bound, bound) with bound = gain sqrt(3 / fan): the same variance as
    `kaiming_normal_` (a uniform on [-b, b] has variance b^2 / 3)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Draw from N(0, std^2) with std = gain sqrt(2 / (d + e)) (Glorot and Bengio): the average
    of what the forward pass (1/d) and the backward pass (1/e) would each ask for."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Draw from U(-b, b) with b = gain sqrt(6 / (d + e)): Xavier's variance, uniformly."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def lecun_normal_(tensor: Tensor) -> Tensor:
    """Draw from N(0, 1/d): std 1/sqrt(fan_in), the lectures' "Kaiming" initialization."""
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fans(tensor)[0]))


__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
