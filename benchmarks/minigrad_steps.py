"""The same steps in minigrad, through its public API.

Two forms of the MLP step: 'tensors' (`h @ W + b`, the update written on `.data`), which needs
only the core, and 'modules' (`nn.Linear` in an `nn.Sequential`, `optim.SGD`), what a user
writes, the default. `use_form` picks one (`python -m benchmarks --minigrad-form tensors`).
Activations after a layer run in place (`nn.ReLU(inplace=True)`, `h.relu_()`), as in the
hand-written step's `np.maximum(z, 0, out=z)` and the PyTorch step's `torch.relu_`; `nn.Tanh`
has no such option in PyTorch, so the module form keeps it out of place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import minigrad as mg

from .problems import LEARNING_RATE, MLPProblem, chain_ops, run_chain

try:
    from minigrad.nn import functional as F
except ImportError:
    from minigrad import functional as F

name = "minigrad"
version = mg.__version__

FORMS = ("tensors", "modules")
form = "modules"


def use_form(chosen: str) -> None:
    """Build MLP steps in `chosen` form from now on; raise if it is unknown, or is 'modules'
    while nn or optim lack what it needs."""
    global form
    if chosen not in FORMS:
        raise ValueError(f"unknown minigrad form {chosen!r}; expected one of {FORMS}")
    if chosen == "modules":
        try:
            from minigrad.nn import Linear, ReLU, Sequential, Tanh  # noqa: F401
            from minigrad.optim import SGD  # noqa: F401
        except ImportError as error:
            raise ImportError(
                "the 'modules' form needs minigrad.nn (Linear, Sequential, ReLU, Tanh) and "
                f"minigrad.optim.SGD: {error}"
            ) from error
    form = chosen


def mlp_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    """One SGD step per call on a private copy of the weights; returns that step's gradients."""
    if form == "modules":
        return _module_trainer(problem)
    return _tensor_trainer(problem)


def _loss_function(problem: MLPProblem) -> Callable:
    return F.mse_loss if problem.loss == "mse" else F.cross_entropy


def _tensor_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    parameters = [mg.Tensor(p, requires_grad=True) for p in problem.parameters]
    inputs = mg.Tensor(problem.inputs)
    targets = problem.targets if problem.loss == "cross_entropy" else mg.Tensor(problem.targets)
    layers = len(parameters) // 2
    tanh = problem.activation == "tanh"
    loss_function = _loss_function(problem)

    def step() -> list[np.ndarray]:
        for parameter in parameters:
            parameter.grad = None
        h = inputs
        for i in range(layers):
            h = h @ parameters[2 * i] + parameters[2 * i + 1]
            if i < layers - 1:
                h = h.tanh_() if tanh else h.relu_()
        loss_function(h, targets).backward()
        for parameter in parameters:
            parameter.data -= LEARNING_RATE * parameter.grad
        return [parameter.grad for parameter in parameters]

    return step


def module_layers(problem: MLPProblem, dropout: float = 0.0):
    """The module form's `nn.Sequential` for `problem` on a private copy of its weights, with
    dropout after each hidden activation if asked (the compile tests use it)."""
    from minigrad import nn

    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(problem.sizes[:-1], problem.sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        linear.weight.data = problem.parameters[2 * i].copy()
        linear.bias.data = problem.parameters[2 * i + 1].copy()
        layers.append(linear)
        if i < len(problem.sizes) - 2:
            layers.append(nn.Tanh() if problem.activation == "tanh" else nn.ReLU(inplace=True))
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def module_network(problem: MLPProblem) -> tuple:
    """The module form's network for `problem` on a private copy of its weights: (model,
    optimizer, inputs, targets, loss function)."""
    from minigrad import optim

    model = module_layers(problem)
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs = mg.Tensor(problem.inputs)
    targets = problem.targets if problem.loss == "cross_entropy" else mg.Tensor(problem.targets)
    return model, optimizer, inputs, targets, _loss_function(problem)


def _module_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    model, optimizer, inputs, targets, loss_function = module_network(problem)
    parameters = list(model.parameters())

    def step() -> list[np.ndarray]:
        optimizer.zero_grad()
        loss_function(model(inputs), targets).backward()
        optimizer.step()
        return [parameter.grad for parameter in parameters]

    return step


def chain(start: np.ndarray, length: int) -> tuple[mg.Tensor, Callable[[], mg.Tensor]]:
    """The chain's leaf and its forward, which clears the leaf's gradient and ends in a sum."""
    ops = chain_ops(length)
    leaf = mg.Tensor(start, requires_grad=True)

    def forward() -> mg.Tensor:
        leaf.grad = None
        return run_chain(leaf, ops, mg.Tensor.tanh)

    return leaf, forward


def chain_phases(start: np.ndarray, length: int) -> tuple[Callable, Callable]:
    """The chain's forward (ending in a sum) and its backward, returning d sum / d start."""
    leaf, forward = chain(start, length)

    def backward(total: mg.Tensor) -> np.ndarray:
        total.backward()
        return leaf.grad

    return forward, backward


def cnn_network(problem) -> tuple:
    """The LeNet network as a user writes it, holding the problem's weights: nn.Conv2d,
    nn.MaxPool2d and nn.Linear in an nn.Sequential with in-place ReLUs; its optim.SGD; the
    input batch. (The compiled engine compiles a step of the same network.)"""
    from minigrad import nn, optim

    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.ReLU(inplace=True),
        nn.Linear(120, 84), nn.ReLU(inplace=True),
        nn.Linear(84, 10),
    )  # fmt: skip
    for parameter, value in zip(model.parameters(), problem.parameters):
        parameter.data = value.copy()
    return model, optim.SGD(model.parameters(), lr=LEARNING_RATE), mg.Tensor(problem.inputs)


def cnn_trainer(problem) -> Callable[[], list[np.ndarray]]:
    """One SGD step of the LeNet network per call; returns that step's gradients."""
    model, optimizer, inputs = cnn_network(problem)
    parameters = list(model.parameters())

    def step() -> list[np.ndarray]:
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), problem.targets).backward()
        optimizer.step()
        return [parameter.grad for parameter in parameters]

    return step


def conv_gradients(problem) -> Callable[[], list[np.ndarray]]:
    """F.conv2d(x, kernel, padding=1) and its backward for the problem's upstream gradient."""
    inputs = mg.Tensor(problem.inputs, requires_grad=True)
    kernel = mg.Tensor(problem.kernel, requires_grad=True)

    def call() -> list[np.ndarray]:
        inputs.grad = kernel.grad = None
        F.conv2d(inputs, kernel, padding=1).backward(problem.upstream)
        return [inputs.grad, kernel.grad]

    return call
