"""The networks, weights and data every engine trains on, as plain float32 NumPy arrays.

Each engine copies these arrays into its own tensors, so all of them start from the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEARNING_RATE = 0.01

# The op-overhead chain: ops in rotation, constants kept as Python numbers so the tensor stays
# float32 and the chain's values stay bounded (tanh every third op).
CHAIN_ELEMENTS = 16
CHAIN_ADD = 0.5
CHAIN_SCALE = 0.75
CHAIN_ROTATION = ("add", "mul", "tanh")


@dataclass(frozen=True)
class MLPProblem:
    """A fully connected network y = f(x) with its weights, one batch of data and its loss.

    `parameters` is the flat list [W1, b1, W2, b2, ...], W of shape (in, out) as in minigrad.
    `loss` is 'mse' (targets of the output's shape) or 'cross_entropy' (integer class labels).
    """

    name: str
    sizes: tuple[int, ...]
    batch: int
    activation: str
    loss: str
    parameters: tuple[np.ndarray, ...]
    inputs: np.ndarray
    targets: np.ndarray

    @property
    def flops_per_step(self) -> int:
        """6 x batch x sum(in x out): forward 2, backward 4 flops per weight per example."""
        return 6 * self.batch * sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))


def mlp_problem(
    name: str, sizes: tuple[int, ...], batch: int, activation: str, loss: str, seed: int = 0
) -> MLPProblem:
    """Weights drawn N(0, 1/in) (the lectures' init, so activations stay O(1)), zero biases."""
    rng = np.random.default_rng(seed)
    parameters = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weight = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        parameters += [weight.astype(np.float32), np.zeros(fan_out, np.float32)]
    inputs = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if loss == "cross_entropy":
        targets = rng.integers(0, sizes[-1], batch).astype(np.int64)
    else:
        targets = rng.standard_normal((batch, sizes[-1])).astype(np.float32)
    return MLPProblem(name, sizes, batch, activation, loss, tuple(parameters), inputs, targets)


def lecture_mlp() -> MLPProblem:
    """Lecture 001's example (slide 'Computational complexity'): d = 8 neurons, L = 6 layers,
    N = 100 observations, MSE against a scalar y_i: five tanh layers 8 -> 8, then 8 -> 1."""
    return mlp_problem("lecture_mlp", (8, 8, 8, 8, 8, 8, 1), 100, "tanh", "mse")


def mnist_mlp() -> MLPProblem:
    return mlp_problem("mnist_mlp", (784, 256, 256, 10), 128, "relu", "cross_entropy")


def wide_mlp() -> MLPProblem:
    return mlp_problem("wide_mlp", (1024, 1024, 1024, 10), 256, "relu", "cross_entropy")


MLP_PROBLEMS = {"lecture_mlp": lecture_mlp, "mnist_mlp": mnist_mlp, "wide_mlp": wide_mlp}


@dataclass(frozen=True)
class CNNProblem:
    """LeNet-5's shape on 1x28x28 images: conv 6@5x5 -> ReLU -> 2x2 max pool -> conv 16@5x5 ->
    ReLU -> 2x2 max pool -> 256 -> 120 -> 84 -> 10 (ReLU between the Linears), softmax
    cross-entropy, one SGD step on a batch.

    `parameters` is [K1, c1, K2, c2, W3, b3, W4, b4, W5, b5]: conv kernels (C_out, C_in, 5, 5)
    with biases (C_out,), then Linear weights (in, out) as in minigrad.
    """

    name: str
    batch: int
    parameters: tuple[np.ndarray, ...]
    inputs: np.ndarray
    targets: np.ndarray
    loss: str = "cross_entropy"  # as MLPProblem's, for the loss helpers they share


def lenet() -> CNNProblem:
    """Weights drawn N(0, 1/fan_in) (fan_in = C_in 5 5 for a kernel), zero biases, batch 64."""
    rng = np.random.default_rng(0)
    parameters = []
    for shape in ((6, 1, 5, 5), (16, 6, 5, 5)):
        kernel = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        parameters += [kernel.astype(np.float32), np.zeros(shape[0], np.float32)]
    for fan_in, fan_out in ((256, 120), (120, 84), (84, 10)):
        weight = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        parameters += [weight.astype(np.float32), np.zeros(fan_out, np.float32)]
    inputs = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    targets = rng.integers(0, 10, 64).astype(np.int64)
    return CNNProblem("lenet", 64, tuple(parameters), inputs, targets)


@dataclass(frozen=True)
class ConvProblem:
    """One 3x3 convolution (padding 1, no bias), forward and both gradients for an upstream
    gradient: d <upstream, conv2d(x, kernel)> / d x and / d kernel."""

    inputs: np.ndarray
    kernel: np.ndarray
    upstream: np.ndarray

    @property
    def flops(self) -> int:
        """2 N C_out H W C_in 3 3 per product; the forward and the two gradients are three."""
        n, c_in, height, width = self.inputs.shape
        return 3 * 2 * n * self.kernel.shape[0] * height * width * c_in * 9


def conv_layer() -> ConvProblem:
    """64 -> 64 channels, 3x3, on 32x32 images, batch 32."""
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    kernel = (rng.standard_normal((64, 64, 3, 3)) / np.sqrt(64 * 9)).astype(np.float32)
    upstream = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    return ConvProblem(inputs, kernel, upstream)


def chain_input(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(CHAIN_ELEMENTS).astype(np.float32)


def chain_ops(length: int) -> list[str]:
    """The chain's op names in order; every engine walks the same list with `run_chain`."""
    return [CHAIN_ROTATION[k % len(CHAIN_ROTATION)] for k in range(length)]


def run_chain(value, ops: list[str], tanh: Callable):
    """`value` through the chain's `ops` in order (+ CHAIN_ADD, * CHAIN_SCALE, or `tanh`, the
    engine's own), then summed: the one loop every engine's chain runs (the hand-written NumPy
    chain keeps each value for its backward, so it spells the loop out)."""
    for op in ops:
        if op == "add":
            value = value + CHAIN_ADD
        elif op == "mul":
            value = value * CHAIN_SCALE
        else:
            value = tanh(value)
    return value.sum()
