"""`explain_neuron`: the lecture's backward pass for one neuron, with the numbers, checked
against the engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import autograd
from ..functional import linear
from .. import ops
from ..tensor import Tensor

LECTURE = "Lecture 001 'Initialization', slides 'Computing a single neuron'"

# name -> (its op in the op table, None for the identity; sigma'(z) as the lecture writes it)
ACTIVATIONS: dict[str, tuple[type[ops.Op] | None, str]] = {
    "tanh": (ops.Tanh, "1 - tanh(z)^2"),
    "sigmoid": (ops.Sigmoid, "sigma(z) (1 - sigma(z))"),
    "relu": (ops.Relu, "1 if z > 0 else 0"),
    "identity": (None, "1"),
}


def _activate(activation: str, z: float) -> tuple[float, float]:
    """phi = sigma(z) and sigma'(z), read off the op table: the op's forward, and its VJP with
    upstream gradient 1 (the lecture's formula for sigma' is that VJP's)."""
    op = ACTIVATIONS[activation][0]
    if op is None:
        return z, 1.0
    z_array = np.array(z)
    phi = op.forward(z_array)
    (sigma_prime,) = op.vjp(np.array(1.0), phi, (z_array,), (True,))
    return float(phi), float(sigma_prime)


def _dloss_dz_flops(activation: str) -> int:
    """Flops of dLoss/dz = dLoss/dphi sigma'(z) for one neuron: its op's VJP per element (the
    identity's is the one multiply)."""
    op = ACTIVATIONS[activation][0]
    if op is None:
        return 1
    cost = op.backward_cost([()], (), (True,), ())
    assert cost is not None, f"{op.name} has no backward cost"
    return cost.flops


@dataclass
class NeuronExplanation:
    """The numbers of one neuron's forward and backward pass, the engine's, and their agreement.

    `operations` counts the flops of each backward step as the formulas are written: the
    activation's O(1), then d multiplies for dLoss/dw and d for dLoss/dx.
    """

    j: int
    activation: str
    x: np.ndarray
    w: np.ndarray
    b: float
    z: float
    phi: float
    upstream: float
    sigma_prime: float
    dloss_dz: float
    dloss_dw: np.ndarray
    dloss_dx: np.ndarray
    dloss_db: float | None
    engine_dw: np.ndarray
    engine_dx: np.ndarray
    engine_db: float | None
    operations: dict
    max_difference: float
    matches: bool
    text: str = ""

    def __str__(self) -> str:
        return self.text


def _layer_parameters(layer) -> tuple:
    """(weight, bias or None) of a Linear layer or of a (weight, bias) pair, else TypeError."""
    if isinstance(layer, (tuple, list)) and len(layer) == 2:
        weight, bias = layer
    elif isinstance(getattr(layer, "weight", None), Tensor):
        weight, bias = layer.weight, getattr(layer, "bias", None)
    else:
        raise TypeError(
            "explain_neuron needs a Linear layer (with .weight of shape (d, e) and .bias) or a "
            f"(weight, bias) pair, got {type(layer).__name__}"
        )
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise TypeError(
            f"explain_neuron needs a 2-D weight Tensor of shape (d, e), got {type(weight).__name__}"
            + (f" of shape {weight.shape}" if isinstance(weight, Tensor) else "")
        )
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != weight.shape[1:]):
        raise TypeError(f"the bias must be a Tensor of shape {weight.shape[1:]} or None")
    return weight, bias


def _check_arguments(weight: Tensor, x, j, activation: str) -> np.ndarray:
    d, e = weight.shape
    x = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if x.shape != (d,):
        raise ValueError(f"x must be one example of shape ({d},), got shape {x.shape}")
    if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < e:
        raise IndexError(
            f"neuron j={j!r} is out of range: the layer has {e} neurons (0 to {e - 1})"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {list(ACTIVATIONS)}")
    return x


def _engine_gradients(weight: Tensor, bias, x: np.ndarray, j: int, upstream: float, activation):
    """The engine's own backward through the layer, with dLoss/dphi = upstream on neuron j only
    (`mg.grad`, so the layer's `.grad` is untouched)."""
    x_tensor = Tensor(x.astype(weight.dtype), requires_grad=True)
    z = linear(x_tensor, weight, bias)
    phi = z if activation == "identity" else getattr(z, activation)()
    seed = np.zeros(weight.shape[1], dtype=weight.dtype)
    seed[j] = upstream
    inputs = [x_tensor, weight] + ([bias] if bias is not None and bias.requires_grad else [])
    if not weight.requires_grad:
        raise ValueError(
            "the layer's weight does not require grad: there is no backward to explain"
        )
    grads = autograd.grad(phi, inputs, grad_outputs=[seed])
    return [g.data.astype(np.float64) for g in grads]


def explain_neuron(
    layer, x, j: int, upstream: float, activation: str | None = None, verbose: bool = True
) -> NeuronExplanation:
    """The backward pass of neuron j of `phi(x) = sigma(x^T W + b)`, step by step with numbers.

    Following lecture 001 ('Initialization'), slides 'Computing a single neuron':
    z = x^T w_j + b_j, phi = sigma(z); given dLoss/dphi, dLoss/dz = dLoss/dphi sigma'(z) (all
    scalars: O(1)); then dLoss/dw_ij = dLoss/dz x_i and dLoss/dx_i = dLoss/dz w_ij, O(1) per entry,
    O(d) in all. The numbers are checked against the engine's backward with dLoss/dphi applied to
    neuron j alone. (dLoss/dx_i here is neuron j's share; a layer adds up its e neurons' shares,
    which is why a layer costs O(d e) = O(d^2), slide 'Cost per layer'.)

    Args:
        layer: a Linear layer (weight (d, e), bias (e,)) or a (weight, bias) pair; bias
            may be None.
        x: one example, shape (d,).
        j: the neuron, 0 <= j < e.
        upstream: dLoss/dphi_j.
        activation: 'tanh', 'sigmoid', 'relu' or 'identity'. None (the default) means the
            layer as given: 'identity' (phi = z) for a `Linear` layer, which has no activation of
            its own (name the one that follows it in the network to see sigma'(z) at work), and
            the lecture's 'tanh' for a (weight, bias) pair.
        verbose: print the derivation (it is returned either way, as `.text`).
    """
    if activation is None:
        activation = "tanh" if isinstance(layer, (tuple, list)) else "identity"
    weight, bias = _layer_parameters(layer)
    x = _check_arguments(weight, x, j, activation)
    upstream = float(upstream)
    w = weight.data[:, j].astype(np.float64)
    b = float(bias.data[j]) if bias is not None else 0.0
    z = float(x @ w + b)
    phi, sigma_prime = _activate(activation, z)
    dloss_dz = upstream * sigma_prime
    engine = _engine_gradients(weight, bias, x, j, upstream, activation)
    engine_dx, engine_dw_full = engine[0], engine[1]
    engine_db = float(engine[2][j]) if len(engine) > 2 else None
    explanation = NeuronExplanation(
        j, activation, x, w, b, z, phi, upstream, sigma_prime, dloss_dz,
        dloss_dz * x, dloss_dz * w, dloss_dz if bias is not None and bias.requires_grad else None,
        engine_dw_full[:, j], engine_dx, engine_db, _operations(activation, len(x)), 0.0, False,
    )  # fmt: skip
    _compare(explanation, engine_dw_full, weight.dtype)
    explanation.text = _describe(explanation)
    if verbose:
        print(explanation.text)
    return explanation


def _operations(activation: str, d: int) -> dict:
    return {
        "dLoss/dz": _dloss_dz_flops(activation),  # sigma'(z), then one multiply
        "dLoss/dw": d,
        "dLoss/dx": d,
        "dLoss/db": 0,  # it is dLoss/dz itself
    }


def _compare(explanation: NeuronExplanation, engine_dw_full: np.ndarray, dtype) -> None:
    """Fill in the largest difference from the engine and whether they agree; the engine's other
    columns of dLoss/dW must be zero, since the upstream gradient touched neuron j alone."""
    others = np.delete(engine_dw_full, explanation.j, axis=1)
    pairs: list[tuple[np.ndarray | np.float64, np.ndarray | np.float64]] = [
        (explanation.dloss_dw, explanation.engine_dw),
        (explanation.dloss_dx, explanation.engine_dx),
        (others, np.zeros_like(others)),
    ]
    if explanation.dloss_db is not None:
        pairs.append((np.float64(explanation.dloss_db), np.float64(explanation.engine_db)))
    difference = max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in pairs)
    scale = max(float(np.max(np.abs(a), initial=0.0)) for a, _ in pairs) + 1.0
    tolerance = (1e-12 if np.dtype(dtype) == np.float64 else 1e-5) * scale
    explanation.max_difference = difference
    explanation.matches = difference <= tolerance


def _numbers(values: np.ndarray) -> str:
    return np.array2string(
        values, precision=4, separator=", ", threshold=6, edgeitems=2, floatmode="maxprec"
    )


def _describe(e: NeuronExplanation) -> str:
    d = len(e.x)
    _, formula = ACTIVATIONS[e.activation]
    bias = f" + b_{e.j}" if e.dloss_db is not None or e.b else ""
    ops = e.operations
    lines = [
        f"neuron j = {e.j} of a layer with d = {d} inputs, sigma = {e.activation}",
        f"({LECTURE})",
        "forward:",
        f"  z   = x^T w_{e.j}{bias} = {e.z:.6g}      [d multiply-adds: {2 * d} flops]",
        f"  phi = sigma(z) = {e.phi:.6g}",
        f"backward, given dLoss/dphi = {e.upstream:.6g}:",
        f"  dLoss/dz    = dLoss/dphi * sigma'(z), sigma'(z) = {formula} = {e.sigma_prime:.6g}",
        f"              = {e.upstream:.6g} * {e.sigma_prime:.6g} = {e.dloss_dz:.6g}"
        f"      [O(1): {ops['dLoss/dz']} flops]",
        f"  dLoss/dw_i{e.j} = dLoss/dz * x_i  = {_numbers(e.dloss_dw)}",
        f"                [O(d): {ops['dLoss/dw']} multiplies]",
        f"  dLoss/dx_i  = dLoss/dz * w_i{e.j} = {_numbers(e.dloss_dx)}",
        f"                [O(d): {ops['dLoss/dx']} multiplies]",
    ]
    if e.dloss_db is not None:
        lines.append(f"  dLoss/db_{e.j} = dLoss/dz = {e.dloss_db:.6g}      [0 flops]")
    lines.append(
        f"total: {sum(ops.values())} flops = 2 d + {ops['dLoss/dz']}, O(d); a layer of e neurons "
        "repeats this e times\n       and adds up the dLoss/dx_i shares: O(d e)"
    )
    verdict = "agree with" if e.matches else "DISAGREE with"
    lines.append(
        f"check: these numbers {verdict} the engine's backward for neuron {e.j} "
        f"(largest difference {e.max_difference:.3g})"
    )
    return "\n".join(lines)
