"""What every primitive is made of: the `Op` class, the flop `Cost` of one call, the `Sample`
inputs its checks run on, and `call`, the one way a VJP applies another op.

A VJP runs in two modes. Outside `create_graph` it sees ndarrays and numbers. Under
`backward(create_graph=True)` the engine hands it Tensors, so that every op it applies is recorded
and the gradient can be differentiated again. One VJP serves both because it touches its operands
only through this interface:

- arithmetic operators and the methods ndarrays and Tensors share (`sum`, `reshape`, `mT`,
  `clip`, `astype`-free comparisons on `values(x)`);
- `call(op, inputs, params)` for anything else: the op's forward on arrays, the recorded op on
  Tensors (through the Tensor's `apply_op`, so this layer never imports the Tensor's);
- `values(x)` where only the numbers are wanted (masks, ties), which carry no gradient.

A NumPy function given a Tensor that requires grad raises (`Tensor.__array__`), so a VJP that
breaks the rule fails loudly under create_graph instead of cutting the graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


@dataclass(frozen=True)
class Cost:
    """Flops of one op in one direction, the matrix-product part apart from the rest."""

    matmul_flops: int = 0
    other_flops: int = 0

    @property
    def flops(self) -> int:
        """All flops: matrix products plus the rest."""
        return self.matmul_flops + self.other_flops


class Sample(NamedTuple):
    """One input case of an op for its checks: float64 arrays in `inputs` are differentiated, the
    rest (integer indices, boolean masks) are constants; `params` follow the arrays."""

    inputs: tuple
    params: tuple = ()


def _forward(*arrays_and_params):
    """The output ndarray, from the input arrays followed by the op's params."""
    raise NotImplementedError


def _vjp(g, out, inputs, needs, *params) -> tuple:
    """dL/d input for each input, given g = dL/d out (None where `needs[i]` is False); the op's
    class says what `out` and `inputs` hold, and its docstring gives the derivative."""
    raise NotImplementedError


PRIMITIVES: list[type[Op]] = []
"""Every primitive of the op table, in definition order (filled as the classes are defined)."""


class Op:
    """A primitive: its forward on ndarrays and its vector-Jacobian product, side by side, with
    the facts the rest of the package reads about it.

    - `forward(*arrays, *params) -> ndarray`.
    - `vjp(g, out, inputs, needs, *params) -> tuple`: given the upstream gradient g = dL/d out,
      dL/d input for each input (None where `needs[i]` is False). `inputs` holds the input arrays
      when the op `saves_inputs` (else None); `out` is the output when it `saves_output`, what
      its forward kept when it `saves_residuals` (None where nothing was kept), else None. The
      engine reduces each result to its input's exact shape (summing broadcast axes) and dtype.
    - `forward_saving(*arrays, *params) -> (ndarray, residuals)`, for an op that
      `saves_residuals`: the forward, and an array it found on the way that its VJP would
      otherwise compute again (a convolution's im2col matrix, a max pool's arg-max taps).
      `saves_residuals` says, per input, whether that input's gradient reads them; the engine
      calls `forward_saving` when it records a node wanting one of those gradients, and the node
      keeps the residuals for the VJP. The VJP gets None instead where none were kept (under
      `create_graph`, where it must apply recorded ops to its inputs, and in the gradient
      checks' replays), and computes what it needs from its inputs. `residuals_name` says what
      they are, for the compiled step's code (`conv2d_columns`).
    - `forward_cost` / `backward_cost`: its exact flops for given shapes (the tracer's numbers).
    - `samples()`: small float64 cases away from kinks and ties, which `minigrad gradcheck` and
      the op tests check first and second derivatives on.

    A subclass defined in `minigrad.ops` joins `PRIMITIVES` unless it says `abstract=True` (a
    shared base such as `Elementwise`).
    """

    name = "Op"
    saves_inputs = True
    saves_output = False
    saves_residuals: tuple[bool, ...] = ()
    residuals_name = "kept"
    # Per input position: whether, when that input is the op's only constant, the VJP reads
    # nothing but it. Then the node keeps the constant, not the tensor's array: `x * 0.5` keeps
    # 0.5 and lets x's buffer go, as PyTorch saves only what the wanted gradient reads.
    constant_suffices = (False, False)

    forward: Callable[..., Any] = staticmethod(_forward)
    vjp: Callable[..., Any] = staticmethod(_vjp)

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not abstract and cls.__module__.startswith(__package__ + "."):
            PRIMITIVES.append(cls)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost | None:
        """Flops of the forward on inputs of `input_shapes` (None for an absent or released
        input); None means unknown, as for an op defined outside the package."""
        return None

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost | None:
        """Flops of the VJP for the inputs flagged in `needs`, plus the engine's summing of
        broadcast gradients back to their inputs' shapes; None means unknown."""
        return None

    @classmethod
    def samples(cls) -> list[Sample]:
        """The cases the gradient checks run this op on (none for an op outside the package)."""
        return []


class Elementwise(Op, abstract=True):
    """An op applied element by element, costed per output element.

    `flops` is the forward's per element (a maths-library call such as exp counts 1, as the
    lecture's "activation function: O(1)"); `vjp_flops = (shared, per_input)` is the VJP
    formula's arithmetic per element: `shared` once if any gradient is wanted, `per_input[i]`
    for input i's own (tanh's g (1 - out^2) is 3). A broadcast input's gradient is then summed
    back, one flop per element of the broadcast gradient.
    """

    flops = 1
    vjp_flops: tuple[int, tuple[int, ...]] = (0, (1,))

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, cls.flops * size(output_shape))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        out = size(output_shape)
        shared, per_input = cls.vjp_flops
        flops = shared * out if any(needs) else 0
        for shape, needed, cost in zip(input_shapes, needs, per_input):
            if needed:
                flops += cost * out + (out if tuple(shape) != tuple(output_shape) else 0)
        return Cost(0, flops)


class ShapeOp(Op, abstract=True):
    """An op that only moves elements (reshape, transpose, broadcast, slicing, concatenation):
    no arithmetic forward or backward, except the summing of a broadcast gradient."""

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        return Cost(0, 0)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        return Cost(0, 0)


def size(shape) -> int:
    """How many elements an array of `shape` holds (1 for the 0-d shape ())."""
    return prod(shape) if shape else 1


def is_constant(x) -> bool:
    """An ndarray or a number, not a Tensor: what VJPs see outside create_graph (and what constant
    operands are in both modes), so the NumPy function applies rather than the Tensor method."""
    return isinstance(x, (np.ndarray, np.generic, int, float))


def values(x):
    """The array or number behind `x` (a constant: masks built from it carry no gradient)."""
    return x if is_constant(x) else x.data


def call(op: type[Op], inputs: tuple, params: tuple = ()):
    """`op` applied to `inputs`: its forward when they are arrays and numbers, the recorded op
    when one is a Tensor (under create_graph), so a VJP can use another op in both modes."""
    for x in inputs:
        if x is not None and not is_constant(x):
            return x.apply_op(op, tuple(inputs), tuple(params))
    return op.forward(*inputs, *params)


def sample_values(
    *shape: int, low: float = -2.0, high: float = 2.0, gap: float = 0.0
) -> np.ndarray:
    """Distinct float64 values in [low, high] with |x| >= gap, in a fixed shuffled order: inputs
    away from kinks (gap) and ties (distinct), the same on every run."""
    count = int(np.prod(shape))
    magnitudes = np.linspace(max(gap, low if low > 0 else gap), high, count)
    signs = np.where(np.arange(count) % 2 == 0, 1.0, -1.0) if low < 0 else 1.0
    order = np.random.default_rng(count).permutation(count)
    return (magnitudes * signs)[order].reshape(shape)


class Reduction(Op, abstract=True):
    """An op over `axis` (None or a tuple of non-negative ints, normalised by the caller),
    costed `a n + b m` for n input and m output elements: `flops = (a, b)` forward,
    `vjp_flops = (a, b)` for its VJP (broadcasting g back over the reduced axes is free)."""

    flops = (1, 0)
    vjp_flops = (0, 0)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost:
        per_input, per_output = cls.flops
        return Cost(0, per_input * size(input_shapes[0]) + per_output * size(output_shape))

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost:
        per_input, per_output = cls.vjp_flops
        return Cost(0, per_input * size(input_shapes[0]) + per_output * size(output_shape))
