"""The same steps under `jax.jit`: forward, loss, gradients and the SGD update as one compiled
function, the counterpart of `mg.compile`'s whole step (the `jax-jit` engine).

Optional and for the benchmarks only: importing this module imports jax, and the caller treats
an ImportError as "jax not installed". It takes the MLP steps (cases 2-4) and the short chain
(case 1, forward and backward compiled together, as the compiled minigrad engine does); the
long chains, convolutions and memory cases leave its column empty. XLA's CPU threads are held to
the run's thread count through XLA_FLAGS, set before jax is imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .problems import LEARNING_RATE, MLPProblem, chain_ops, run_chain

# The cases' workloads this engine builds (see benchmarks.worker.Server.prepare).
KINDS = ("chain", "mlp")


def _hold_threads() -> None:
    threads = os.environ.get("OMP_NUM_THREADS", "1")
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        single = " --xla_cpu_multi_thread_eigen=false" if threads == "1" else ""
        os.environ["XLA_FLAGS"] = f"{flags}{single} intra_op_parallelism_threads={threads}"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


_hold_threads()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

name = "jax-jit"
version = jax.__version__


def set_threads(threads: int) -> None:
    """Nothing more to do: XLA read its thread count from XLA_FLAGS at import."""


def _mlp_loss(problem: MLPProblem) -> Callable:
    layers = len(problem.parameters) // 2
    activation = jnp.tanh if problem.activation == "tanh" else jax.nn.relu

    def loss(parameters, inputs, targets):
        h = inputs
        for i in range(layers):
            h = h @ parameters[2 * i] + parameters[2 * i + 1]
            if i < layers - 1:
                h = activation(h)
        if problem.loss == "mse":
            return jnp.mean((h - targets) ** 2)
        picked = jnp.take_along_axis(jax.nn.log_softmax(h), targets[:, None], axis=1)
        return -jnp.mean(picked)

    return loss


def mlp_trainer(problem: MLPProblem) -> Callable[[], list]:
    """One jitted SGD step per call on a private copy of the weights; returns its gradients
    (computed, not only dispatched: the call waits for them)."""
    gradient = jax.grad(_mlp_loss(problem))

    @jax.jit
    def step(parameters, inputs, targets):
        grads = gradient(parameters, inputs, targets)
        updated = [p - LEARNING_RATE * g for p, g in zip(parameters, grads)]
        return updated, grads

    state = {"parameters": [jnp.asarray(p) for p in problem.parameters]}
    inputs, targets = jnp.asarray(problem.inputs), jnp.asarray(problem.targets)

    def train() -> list:
        state["parameters"], grads = step(state["parameters"], inputs, targets)
        return jax.block_until_ready(grads)

    return train


def chain_phases(start: np.ndarray, length: int) -> tuple[Callable, Callable]:
    """The chain's forward and backward jitted as one function (the 'forward' phase), returning
    d sum / d start; the 'backward' phase hands that gradient on."""
    ops = chain_ops(length)

    def total(value):
        return run_chain(value, ops, jnp.tanh)

    gradient = jax.jit(jax.grad(total))
    leaf = jnp.asarray(start)

    def forward_and_backward():
        return jax.block_until_ready(gradient(leaf))

    return forward_and_backward, lambda result: result
