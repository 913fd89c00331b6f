"""The same steps in PyTorch, written as a PyTorch user would, with raw tensors; activations
in place (`torch.relu_`), as in the hand-written NumPy step.

Importing this module imports torch; the caller treats an ImportError as "torch not installed".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .problems import LEARNING_RATE, MLPProblem, chain_ops, run_chain

# The cases' workloads this engine builds: all but "traced" (tracemalloc cannot see its memory).
KINDS = ("chain", "long chain", "mlp", "cnn", "conv")
name = "torch"
version = torch.__version__


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def mlp_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    """One SGD step per call on a private copy of the weights; returns that step's gradients."""
    parameters = [torch.tensor(p, requires_grad=True) for p in problem.parameters]
    inputs = torch.from_numpy(problem.inputs)
    targets = torch.from_numpy(problem.targets)
    layers = len(parameters) // 2
    activation = torch.tanh_ if problem.activation == "tanh" else torch.relu_
    loss_function = F.mse_loss if problem.loss == "mse" else F.cross_entropy

    def step() -> list[np.ndarray]:
        for parameter in parameters:
            parameter.grad = None
        h = inputs
        for i in range(layers):
            h = h @ parameters[2 * i] + parameters[2 * i + 1]
            if i < layers - 1:
                h = activation(h)
        loss_function(h, targets).backward()
        with torch.no_grad():
            for parameter in parameters:
                parameter.add_(parameter.grad, alpha=-LEARNING_RATE)
        return [parameter.grad.numpy() for parameter in parameters]

    return step


def chain_phases(start: np.ndarray, length: int) -> tuple[Callable, Callable]:
    """The chain's forward (ending in a sum) and its backward, returning d sum / d start."""
    ops = chain_ops(length)
    leaf = torch.tensor(start, requires_grad=True)

    def forward() -> torch.Tensor:
        leaf.grad = None
        return run_chain(leaf, ops, torch.tanh)

    def backward(total: torch.Tensor) -> np.ndarray:
        total.backward()
        return leaf.grad.numpy()

    return forward, backward


def cnn_trainer(problem) -> Callable[[], list[np.ndarray]]:
    """The LeNet step with raw tensors: F.conv2d, F.max_pool2d, h @ W + b, in-place ReLUs."""
    parameters = [torch.tensor(p, requires_grad=True) for p in problem.parameters]
    inputs = torch.from_numpy(problem.inputs)
    targets = torch.from_numpy(problem.targets)
    k1, c1, k2, c2, *linear = parameters

    def step() -> list[np.ndarray]:
        for parameter in parameters:
            parameter.grad = None
        h = F.max_pool2d(torch.relu_(F.conv2d(inputs, k1, c1)), 2)
        h = F.max_pool2d(torch.relu_(F.conv2d(h, k2, c2)), 2).flatten(1)
        for i in range(3):
            h = h @ linear[2 * i] + linear[2 * i + 1]
            if i < 2:
                h = torch.relu_(h)
        F.cross_entropy(h, targets).backward()
        with torch.no_grad():
            for parameter in parameters:
                parameter.add_(parameter.grad, alpha=-LEARNING_RATE)
        return [parameter.grad.numpy() for parameter in parameters]

    return step


def conv_gradients(problem) -> Callable[[], list[np.ndarray]]:
    """F.conv2d(x, kernel, padding=1) and its backward for the problem's upstream gradient."""
    inputs = torch.tensor(problem.inputs, requires_grad=True)
    kernel = torch.tensor(problem.kernel, requires_grad=True)
    upstream = torch.from_numpy(problem.upstream)

    def call() -> list[np.ndarray]:
        inputs.grad = kernel.grad = None
        F.conv2d(inputs, kernel, padding=1).backward(upstream)
        return [inputs.grad.numpy(), kernel.grad.numpy()]

    return call
