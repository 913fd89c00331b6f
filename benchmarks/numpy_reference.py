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


# ---- convolution by im2col ------------------------------------------------------------------


def im2col(x: np.ndarray, size: int) -> np.ndarray:
    """x (N, C, H, W) as the matrix (C size size, H_out W_out N) of its size x size windows,
    read from a batch-last copy (C, H, W, N) of x, so the copy moves W_out N values at a time."""
    image = np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(1, 2))
    channels, rows, cols, n = windows.shape[:4]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(channels * size * size, rows * cols * n)


def col2im(columns: np.ndarray, shape: tuple, size: int) -> np.ndarray:
    """The adjoint of im2col: (C size size, H_out W_out N) added back into zeros of `shape`."""
    n, channels, height, width = shape
    rows, cols = height - size + 1, width - size + 1
    blocks = columns.reshape(channels, size, size, rows, cols, n)
    out = np.zeros((channels, height, width, n), dtype=columns.dtype)
    for i in range(size):
        for j in range(size):
            out[:, i : i + rows, j : j + cols] += blocks[:, i, j]
    return out.transpose(3, 0, 1, 2)


def conv_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None):
    """The valid convolution (N, C_out, H_out, W_out) and the im2col matrix it read."""
    size = kernel.shape[-1]
    columns = im2col(x, size)
    out = kernel.reshape(len(kernel), -1) @ columns
    if bias is not None:
        out += bias[:, None]
    rows, cols = x.shape[2] - size + 1, x.shape[3] - size + 1
    return out.reshape(-1, rows, cols, len(x)).transpose(3, 0, 1, 2), columns


def conv_backward(upstream, kernel, columns, input_shape, need_input: bool = True):
    """(d input or None, d kernel, d bias) of a valid convolution, from its im2col matrix."""
    flat = np.ascontiguousarray(upstream.transpose(1, 2, 3, 0)).reshape(len(kernel), -1)
    grad_kernel = (columns @ flat.T).T.reshape(kernel.shape)  # faster than flat @ columns.T
    grad_bias = flat.sum(axis=1)
    if not need_input:
        return None, grad_kernel, grad_bias
    size = kernel.shape[-1]
    grad = col2im(kernel.reshape(len(kernel), -1).T @ flat, input_shape, size)
    return grad, grad_kernel, grad_bias


def _pool_taps(x: np.ndarray) -> list[np.ndarray]:
    """The four (N, C, H/2, W/2) views of x's 2x2 windows, one per tap in row-major order."""
    n, channels, height, width = x.shape
    windows = x.reshape(n, channels, height // 2, 2, width // 2, 2)
    return [windows[:, :, :, i, :, j] for i in range(2) for j in range(2)]


def pool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max pooling and, per window, the position (0..3) of its first maximum: the number of
    taps before it, each of which missed (a masked write per tap was four times slower)."""
    taps = _pool_taps(x)
    pooled = np.maximum(np.maximum(taps[0], taps[1]), np.maximum(taps[2], taps[3]))
    missed = taps[0] != pooled
    where = missed.astype(np.intp)
    for tap in (1, 2):
        missed &= taps[tap] != pooled
        where += missed
    return pooled, where


def pool_backward(upstream: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Each window's gradient to its first maximum, back in the (N, C, H, W) shape, laid out
    batch-last as the convolution's output it is multiplied with."""
    n, channels, rows, cols = upstream.shape
    grad = np.empty((channels, 2 * rows, 2 * cols, n), dtype=upstream.dtype).transpose(3, 0, 1, 2)
    for tap, view in enumerate(_pool_taps(grad)):
        np.multiply(upstream, where == tap, out=view)
    return grad


def lenet_gradients(parameters: list[np.ndarray], problem) -> list[np.ndarray]:
    """The LeNet step's forward, and its backward derived by hand: [dK1, dc1, ..., db5]."""
    k1, c1, k2, c2, *linear = parameters
    z1, columns1 = conv_forward(problem.inputs, k1, c1)
    h1, where1 = pool_forward(np.maximum(z1, 0, out=z1))
    z2, columns2 = conv_forward(h1, k2, c2)
    h2, where2 = pool_forward(np.maximum(z2, 0, out=z2))
    activations = [h2.reshape(len(h2), -1)]
    for i in range(3):
        z = activations[-1] @ linear[2 * i]
        z += linear[2 * i + 1]
        activations.append(np.maximum(z, 0, out=z) if i < 2 else z)
    _, upstream = _loss_and_gradient(activations[-1], problem)
    grads: list[np.ndarray] = [None] * 6
    for i in range(2, -1, -1):
        if i < 2:
            upstream *= activations[i + 1] > 0
        grads[2 * i], grads[2 * i + 1] = activations[i].T @ upstream, upstream.sum(axis=0)
        upstream = upstream @ linear[2 * i].T
    upstream = pool_backward(upstream.reshape(h2.shape), where2) * (z2 > 0)
    upstream, dk2, dc2 = conv_backward(upstream, k2, columns2, h1.shape)
    upstream = pool_backward(upstream, where1) * (z1 > 0)
    _, dk1, dc1 = conv_backward(upstream, k1, columns1, problem.inputs.shape, need_input=False)
    return [dk1, dc1, dk2, dc2, *grads]


def cnn_trainer(problem) -> Callable[[], list[np.ndarray]]:
    """One SGD step per call of the LeNet problem on a private copy of the weights."""
    parameters = [p.copy() for p in problem.parameters]

    def step() -> list[np.ndarray]:
        gradients = lenet_gradients(parameters, problem)
        for parameter, gradient in zip(parameters, gradients):
            parameter -= LEARNING_RATE * gradient
        return gradients

    return step


def conv_gradients(problem) -> Callable[[], list[np.ndarray]]:
    """The padded 3x3 convolution's forward and its two gradients, per call: [dx, dkernel]."""
    shape = problem.inputs.shape
    padded_shape = (shape[0], shape[1], shape[2] + 2, shape[3] + 2)

    def call() -> list[np.ndarray]:
        padded = np.pad(problem.inputs, ((0, 0), (0, 0), (1, 1), (1, 1)))
        _, columns = conv_forward(padded, problem.kernel, None)
        grad_padded, grad_kernel, _ = conv_backward(
            problem.upstream, problem.kernel, columns, padded_shape
        )
        return [grad_padded[:, :, 1:-1, 1:-1], grad_kernel]

    return call
