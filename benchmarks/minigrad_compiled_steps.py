"""The minigrad steps of `minigrad_steps`, each run through `mg.compile`: the first call records
the step, later calls run its generated NumPy code (docs/compile.md).

The chain (cases 1 and 5) compiles forward and backward together, so its phases are not timed
apart; the MLP steps (cases 2-4) are the module form's, compiled whole, update included, and so
is the LeNet step (case 8); case 9 compiles the convolution's forward and backward.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg

from . import minigrad_steps
from .problems import MLPProblem

name = "minigrad-compiled"
version = mg.__version__
form = "modules"


def mlp_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    """One compiled SGD step per call on a private copy of the weights; returns its gradients."""
    model, optimizer, inputs, targets, loss_function = minigrad_steps.module_network(problem)
    return _compiled_trainer(model, optimizer, lambda: loss_function(model(inputs), targets))


def _compiled_trainer(model, optimizer, loss: Callable) -> Callable[[], list[np.ndarray]]:
    """`mg.compile` of one SGD step on `model` minimizing `loss()`; each call of the result runs
    it and returns the gradients. Its `.compiled` is the compiled step (its code, for a reader);
    `.kept_bytes()` the buffers it keeps between calls, which a peak-memory figure counts."""
    parameters = list(model.parameters())

    def step():
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        return value

    compiled = mg.compile(step)

    def train() -> list[np.ndarray]:
        compiled()
        return [parameter.grad for parameter in parameters]

    train.compiled = compiled  # type: ignore[attr-defined]
    train.kept_bytes = lambda: compiled.kept_bytes  # type: ignore[attr-defined]
    return train


def chain_phases(start: np.ndarray, length: int) -> tuple[Callable, Callable]:
    """The chain's forward and backward compiled as one step (the 'forward' phase), returning
    d sum / d start; the 'backward' phase hands that gradient on."""
    leaf, forward = minigrad_steps.chain(start, length)

    def step() -> None:
        forward().backward()

    compiled = mg.compile(step)

    def forward_and_backward() -> np.ndarray:
        compiled()
        return leaf.grad

    return forward_and_backward, lambda gradient: gradient


def cnn_trainer(problem) -> Callable[[], list[np.ndarray]]:
    """One compiled SGD step of the LeNet network per call; returns its gradients."""
    model, optimizer, inputs = minigrad_steps.cnn_network(problem)
    return _compiled_trainer(
        model, optimizer, lambda: minigrad_steps.F.cross_entropy(model(inputs), problem.targets)
    )


def conv_gradients(problem) -> Callable[[], list[np.ndarray]]:
    """The convolution's forward and backward, compiled; returns [dx, dkernel]. A compiled
    backward starts from a scalar, so it is that of sum(conv2d(x, kernel) * upstream), whose
    gradients are the eager engine's (one product and a sum more)."""
    inputs = mg.Tensor(problem.inputs, requires_grad=True)
    kernel = mg.Tensor(problem.kernel, requires_grad=True)
    upstream = mg.Tensor(problem.upstream)

    def step() -> None:
        inputs.grad = kernel.grad = None
        (minigrad_steps.F.conv2d(inputs, kernel, padding=1) * upstream).sum().backward()

    compiled = mg.compile(step)

    def call() -> list[np.ndarray]:
        compiled()
        return [inputs.grad, kernel.grad]

    return call
