r"""Weight initialization, in place: constant, uniform, normal and the scaled schemes.

Why scale (lecture 001_7c5c639b47bbde7b.txt, slides "Scaled initialization"): a unit computes
f(x) = sum_{i=1}^d x_i w_i. With the w_i independent and zero-mean, E[f(x)] = 0 and

    Var[f(x)] = sum_i Var[x_i w_i] = sum_i x_i^2 Var[w_i],

so with w_i ~ N(0, 1) the output's variance is |x|^2, which grows with d (for inputs of unit
size, |x|^2 ~ d). Scaling by 1/s gives sum_i x_i^2 Var[w_i] / s^2, and s = sqrt(d) makes it
(1/d) sum_i x_i^2, the mean squared input, independent of the width: activations neither explode
nor vanish as layers stack. The gain corrects for what the nonlinearity does to the variance:
ReLU zeroes half its inputs, so it needs sqrt(2) more.

Two slips on those slides, fixed here: the first "Computing the variance" slide writes
(1/d) sum_i Var[x_i^2] w_i^2, with the Var on the wrong factor (x is fixed, w is random; the next
slide has it right: sum_i x_i^2 (1/sqrt(d))^2 Var[w_i]); and N(0, 1/sqrt(d)) only makes sense
with the second argument read as the standard deviation (as a variance it would be 1/sqrt(d),
not the 1/d the derivation asks for).

Weights here are laid out (in, out) — the lectures' W in R^{d x e} — so fan_in = d is the FIRST
axis and fan_out = e the second, the reverse of PyTorch's (out, in) layout. The functions write
into the tensor's array (no graph is recorded, the dtype is kept), draw from the engine RNG
(`mg.manual_seed` repeats them), and return the tensor.
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
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, 0.01 if None), 3/4 for selu."""
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"leaky_relu's negative slope must be a number, got {slope!r}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}; expected one of {', '.join(GAINS)}")


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out (in, out, *kernel): in and out times the size of
    any trailing kernel dimensions; a vector counts as (size, size)."""
    shape = tensor.shape
    if len(shape) < 1:
        raise ValueError("fan_in and fan_out need a tensor with at least one dimension")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    fan_in, fan_out = fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor: Tensor, values) -> Tensor:
    if tensor.dtype.kind != "f":
        raise TypeError(f"initialization needs a floating-point tensor, got dtype {tensor.dtype}")
    # Writing into the existing buffer keeps the tensor's dtype (draws come as float64).
    tensor.data[...] = values
    tensor._bump_version()  # changed in place: a graph that saved it must not backward
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _fill(tensor, 1)


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with `value`. Equal weights in a layer stay equal under training (lecture 001,
    slide "Symmetry-breaking"), so this is for biases and experiments, not hidden weights."""
    return _fill(tensor, value)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Draw from N(mean, std^2): the lectures' "Standard normal" for mean 0, std 1."""
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Draw from U(a, b), variance (b - a)^2 / 12."""
    if b < a:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    r"""Draw from N(0, std^2) with std = gain / sqrt(fan): He et al.'s scheme.

    Lecture 001_7c5c639b47bbde7b.txt, slides "Scaled initialization": for a unit
    f(x) = sum_{i=1}^d x_i w_i with independent zero-mean weights,

        Var[sum_i x_i w_i] = sum_i x_i^2 Var[w_i],

    which for Var[w_i] = 1 is |x|^2 and grows with d. With std 1/sqrt(d) it is
    (1/d) sum_i x_i^2, the mean squared input, whatever the width d. The gain adapts this to the
    nonlinearity that follows (`calculate_gain`).

    The lectures' "Kaiming" N(0, 1/sqrt(d)) — read 1/sqrt(d) as the standard deviation — is
    `nonlinearity='linear'` (gain 1), which is LeCun's scheme (`lecun_normal_`); He et al. and
    PyTorch's ReLU setting, std sqrt(2/d), is `nonlinearity='relu'`. With the defaults
    (leaky_relu, a=0) the gain is sqrt(2), as in PyTorch.

    Args:
        tensor: the weight, laid out (in, out): fan_in is its FIRST axis.
        a: leaky_relu's negative slope (used only for nonlinearity='leaky_relu').
        mode: 'fan_in' keeps the forward variance, 'fan_out' the backward one.
        nonlinearity: one of `GAINS`.
    """
    # An empty weight has fan 0 but receives no draws, so any finite std will do.
    std = calculate_gain(nonlinearity, a) / math.sqrt(max(_fan(tensor, mode), 1))
    return _fill(tensor, generator().normal(0.0, std, tensor.shape))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """Draw from U(-bound, bound) with bound = gain sqrt(3 / fan): the same variance as
    `kaiming_normal_`, since U(-b, b) has variance b^2 / 3. Arguments as `kaiming_normal_`."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / max(_fan(tensor, mode), 1))
    return _fill(tensor, generator().uniform(-bound, bound, tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Draw from N(0, std^2) with std = gain sqrt(2 / (d + e)) (Glorot and Bengio; lecture 001,
    slide "Scaled initialization"): the harmonic mean of what the forward pass (1/d) and the
    backward pass (1/e) each ask for."""
    fan_in, fan_out = fans(tensor)
    std = gain * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return _fill(tensor, generator().normal(0.0, std, tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Draw from U(-b, b) with b = gain sqrt(6 / (d + e)): Xavier's variance, uniformly."""
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return _fill(tensor, generator().uniform(-bound, bound, tensor.shape))


def lecun_normal_(tensor: Tensor) -> Tensor:
    """Draw from N(0, 1/d): std 1/sqrt(fan_in), the lectures' "Kaiming normal" (slide "Scaled
    initialization") and `kaiming_normal_(nonlinearity='linear')`."""
    std = 1.0 / math.sqrt(max(fans(tensor)[0], 1))
    return _fill(tensor, generator().normal(0.0, std, tensor.shape))


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
