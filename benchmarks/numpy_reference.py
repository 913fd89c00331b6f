"""Hand-written NumPy: the forward, the backward derived by hand and the update, with no tape.

This is the floor an engine over NumPy can reach: the same array calls with none of the
bookkeeping. Temporaries are reused in place where that is the natural way to write it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .problems import CHAIN_ADD, CHAIN_SCALE, LEARNING_RATE, MLPProblem, chain_ops

name = "numpy"


def mlp_gradients(
    parameters: list[np.ndarray], problem: MLPProblem
) -> tuple[float, list[np.ndarray]]:
    """The loss and [dW1, db1, ...] of one full forward and backward pass."""
    layers = len(parameters) // 2
    activations = [problem.inputs]  # each layer's input h_i, then the output
    for i in range(layers):
        z = activations[-1] @ parameters[2 * i]
        z += parameters[2 * i + 1]
        if i < layers - 1:
            z = np.tanh(z, out=z) if problem.activation == "tanh" else np.maximum(z, 0, out=z)
        activations.append(z)
    loss, upstream = _loss_and_gradient(activations[-1], problem)
    gradients: list[np.ndarray] = [None] * len(parameters)
    for i in range(layers - 1, -1, -1):
        if i < layers - 1:
            upstream *= _activation_derivative(activations[i + 1], problem.activation)
        gradients[2 * i] = activations[i].T @ upstream
        gradients[2 * i + 1] = upstream.sum(axis=0)
        if i > 0:
            upstream = upstream @ parameters[2 * i].T
    return loss, gradients


def _activation_derivative(output: np.ndarray, activation: str) -> np.ndarray:
    """sigma'(z) from sigma(z): tanh' = 1 - tanh^2; relu' = [relu(z) > 0]."""
    if activation == "tanh":
        return 1.0 - output * output
    return output > 0


def _loss_and_gradient(output: np.ndarray, problem: MLPProblem) -> tuple[float, np.ndarray]:
    """Mean loss and its gradient with respect to the network's output."""
    if problem.loss == "mse":
        difference = output - problem.targets
        loss = float(np.mean(difference * difference))
        difference *= 2.0 / difference.size
        return loss, difference
    # Softmax cross-entropy: the gradient is (softmax - onehot) / N.
    rows = np.arange(len(problem.targets))
    shifted = output - output.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    normalizer = probabilities.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(normalizer[:, 0]) - shifted[rows, problem.targets]))
    probabilities /= normalizer
    probabilities[rows, problem.targets] -= 1.0
    probabilities /= len(rows)
    return loss, probabilities


def mlp_trainer(problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
    """One SGD step per call on a private copy of the weights; returns that step's gradients."""
    parameters = [p.copy() for p in problem.parameters]

    def step() -> list[np.ndarray]:
        _, gradients = mlp_gradients(parameters, problem)
        for parameter, gradient in zip(parameters, gradients):
            parameter -= LEARNING_RATE * gradient
        return gradients

    return step


def chain_phases(start: np.ndarray, length: int) -> tuple[Callable, Callable]:
    """The chain's forward (keeping every intermediate, as a tape would) and its backward."""
    ops = chain_ops(length)

    def forward() -> list[np.ndarray]:
        values = [start]
        value = start
        for op in ops:
            if op == "add":
                value = value + CHAIN_ADD
            elif op == "mul":
                value = value * CHAIN_SCALE
            else:
                value = np.tanh(value)
            values.append(value)
        values.append(value.sum())
        return values

    def backward(values: list[np.ndarray]) -> np.ndarray:
        gradient = np.ones_like(values[-2])
        for k in range(length - 1, -1, -1):
            op = ops[k]
            if op == "mul":
                gradient = gradient * CHAIN_SCALE
            elif op == "tanh":
                output = values[k + 1]
                gradient = gradient * (1.0 - output * output)
        return gradient

    return forward, backward
