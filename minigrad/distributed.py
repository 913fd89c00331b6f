"""Data-parallel training over MPI: every worker holds the whole model and a shard of each batch.

The rule that lets training leave one process is lecture 004_a7d0a04e340c1d1f.txt, slide "Going
back to Neural Networks": the gradient of the mean loss is the mean of the per-example gradients,

    grad L(theta) = (1/n) sum_i grad L_i(theta).

Split a batch of B examples into shards of n_1 + ... + n_W = B, one per worker; worker k computes
g_k, the gradient of the mean loss over its n_k examples. Then

    (1/B) sum_i grad L_i = (1/B) sum_k n_k g_k,

so one allreduce (a sum over workers that every worker receives) of n_k g_k, followed by a
division by B, gives every worker the gradient a single process would compute on the whole batch,
for uneven shards too. Every worker then applies the same update to the same weights.

The processes are started by an MPI launcher (`mpiexec -n 4 python train.py`, `srun --mpi=pmix`
on Slurm) and talk through mpi4py. Without a launcher, `init()` makes a world of one and
everything here returns at once, so the same script runs alone; mpi4py is imported only when a
launcher started the process (`pip install 'minigrad-tape[mpi]'` installs it with MPICH).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .nn.module import Module
from .tensor import Tensor

INSTALL = "pip install 'minigrad-tape[mpi]'"
# Set in a process's environment by the launchers that start MPI jobs: MPICH's and Intel's
# hydra (PMI_RANK), PMIx launchers such as Slurm's `srun --mpi=pmix` and Open MPI's (PMIX_RANK),
# Open MPI's older ones (OMPI_COMM_WORLD_RANK).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")

__all__ = [
    "LaunchError",
    "MPIUnavailable",
    "abort",
    "allreduce",
    "allreduce_gradients",
    "barrier",
    "broadcast_state",
    "init",
    "is_main",
    "launched",
    "rank",
    "world_size",
]


class MPIUnavailable(ImportError):
    """MPI is needed (a launcher started this process, or more than one worker was asked for)
    but mpi4py or its MPI library cannot be loaded."""

    def __init__(self, why: str):
        super().__init__(
            f"{why}, but mpi4py cannot be imported; install it with an MPI library: {INSTALL} "
            "(or, on a cluster, build mpi4py against the site's MPI: see docs/distributed.md)"
        )


class LaunchError(RuntimeError):
    """The processes were started in a way that does not make them one job (Slurm tasks
    started by `srun` without an MPI plugin)."""


@dataclass
class _World:
    """The processes of the job: this one's rank, their number, and the MPI communicator
    (None in a world of one without MPI)."""

    rank: int
    size: int
    comm: Any = None


_world: _World | None = None


def launched() -> bool:
    """Whether an MPI launcher started this process (one of LAUNCHER_VARIABLES is set)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def init() -> None:
    """Join the job's world: read this process's rank and the world size from MPI.

    Without a launcher it makes a world of one (rank 0), imports nothing and changes nothing.
    Under a launcher it needs mpi4py (MPIUnavailable says how to install it): running copies of
    a script that each think they are alone would train several different models, silently.
    Under MPI an uncaught exception in any worker aborts the whole job, since the others would
    wait for it forever in their next collective call. Calling it again does nothing.
    """
    global _world
    if _world is not None:
        return
    if not launched():
        _refuse_tasks_without_mpi()
        _world = _World(rank=0, size=1)
        return
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise MPIUnavailable(
            f"this process was started by an MPI launcher ({_launcher_variable()} is set)"
        ) from error
    comm = MPI.COMM_WORLD
    _world = _World(rank=comm.Get_rank(), size=comm.Get_size(), comm=comm)
    if _world.size > 1:
        sys.excepthook = _abort_on_uncaught_exception


def _refuse_tasks_without_mpi() -> None:
    """Slurm's `srun` without an MPI plugin starts its tasks as unrelated copies: each would
    train a model of its own while looking like part of a job."""
    tasks = os.environ.get("SLURM_STEP_NUM_TASKS", "1")
    if tasks.isdigit() and int(tasks) > 1:
        raise LaunchError(
            f"srun started {tasks} tasks without MPI (no PMI_RANK or PMIX_RANK is set), so each "
            "would train alone; launch them with `srun --mpi=pmix`"
        )


def _launcher_variable() -> str:
    return next(name for name in LAUNCHER_VARIABLES if name in os.environ)


def _abort_on_uncaught_exception(kind, value, trace) -> None:
    """Print the traceback as Python would, then end every worker of the job with status 1."""
    traceback.print_exception(kind, value, trace)
    abort(1)


def _joined() -> _World:
    if _world is None:
        raise RuntimeError("call minigrad.distributed.init() first: this process has no world yet")
    return _world


def rank() -> int:
    """This worker's number, 0 to world_size() - 1."""
    return _joined().rank


def world_size() -> int:
    """The number of workers in the job (1 when run without a launcher)."""
    return _joined().size


def is_main() -> bool:
    """True on rank 0, the worker that prints and writes files."""
    return _joined().rank == 0


def barrier() -> None:
    """Wait until every worker has called barrier()."""
    world = _joined()
    if world.comm is not None:
        world.comm.Barrier()


def abort(status: int = 1) -> None:
    """End every worker of the job now with exit status `status`.

    A worker that leaves on its own (an error, a non-zero exit) would leave the others waiting
    forever in their next collective call; MPI_Abort ends them all, and the launcher exits with
    `status`. In a world of one it exits this process.
    """
    world = _joined()
    sys.stdout.flush()
    sys.stderr.flush()
    if world.comm is None:
        raise SystemExit(status)
    world.comm.Abort(status)


def allreduce(values: np.ndarray) -> np.ndarray:
    """The elementwise sum of `values` over every worker, returned to each (a new array).

    For small totals, such as an epoch's summed loss and example count; gradients go through
    allreduce_gradients, which packs them into one message.
    """
    world = _joined()
    array = np.ascontiguousarray(values)
    if world.comm is None:
        return array.copy()
    total = np.empty_like(array)
    world.comm.Allreduce(array, total)
    return total


def allreduce_gradients(parameters: Iterable[Tensor], batch_size: int) -> None:
    """Replace every parameter's `.grad` by its mean over the global batch, on every worker.

    `batch_size` is n_k, the number of examples this worker's loss averaged over (0 when its
    shard of this step is empty). With g_k the worker's gradient, every worker receives

        grad = (sum_k n_k g_k) / (sum_k n_k),

    the gradient of the mean loss over all sum_k n_k examples (the module docstring derives it),
    so uneven shards stay unbiased. The n_k g_k of every parameter and n_k itself travel in one
    flat buffer, allocated once per set of shapes and reused, through one MPI Allreduce. A
    parameter whose `.grad` is None takes part as zeros and has a `.grad` afterwards. The buffer
    has the gradients' dtype (float32 for the default dtype, at least float32).

    In a world of one it changes nothing. Every worker must call it with the same parameters
    in the same order (the model's `parameters()` is).
    """
    world = _joined()
    batch_size = _example_count(batch_size)
    params = [p for p in parameters if p.requires_grad]
    if world.size == 1:
        return
    buffer = _GRADIENT_BUFFERS.get(params)
    buffer.pack(params, batch_size)
    world.comm.Allreduce(_MPI().IN_PLACE, buffer.flat)
    total = buffer.flat[-1]
    if total == 0:
        raise ValueError("allreduce_gradients: every worker passed batch_size 0; no gradient")
    buffer.unpack(params, total)


def _example_count(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(
            f"allreduce_gradients: batch_size must be an int (the examples this worker's loss "
            f"averaged over), got {type(batch_size).__name__}"
        )
    if batch_size < 0:
        raise ValueError(f"allreduce_gradients: batch_size must be >= 0, got {batch_size}")
    if batch_size >= 2**24:
        raise ValueError(
            f"allreduce_gradients: batch_size {batch_size} is not exact in float32 (at most 2**24)"
        )
    return int(batch_size)


def _MPI():
    from mpi4py import MPI

    return MPI


class _GradientBuffer:
    """One flat array holding every parameter's weighted gradient, then the example count."""

    def __init__(self, params: list[Tensor]):
        dtype = np.result_type(np.float32, *(p.dtype for p in params))
        self.sizes = [p.size for p in params]
        self.flat = np.empty(sum(self.sizes) + 1, dtype=dtype)
        offsets = np.cumsum([0, *self.sizes])
        self.views = [self.flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def pack(self, params: list[Tensor], batch_size: int) -> None:
        """Write n_k g_k of every parameter (zeros for a None grad), then n_k."""
        for view, param in zip(self.views, params):
            if param.grad is None or batch_size == 0:
                view[...] = 0
            else:
                np.multiply(param.grad.reshape(-1), batch_size, out=view)
        self.flat[-1] = batch_size

    def unpack(self, params: list[Tensor], total) -> None:
        """Set every parameter's grad to its summed slice divided by the summed count."""
        for view, param in zip(self.views, params):
            param.grad = (view / total).astype(param.dtype, copy=False).reshape(param.shape)


class _BufferCache:
    """The buffer of the last set of parameter shapes seen: a training loop asks for the same
    one every step, so it is allocated once."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.buffer: _GradientBuffer | None = None

    def get(self, params: list[Tensor]) -> _GradientBuffer:
        key = tuple((p.shape, p.dtype) for p in params)
        if key != self.key or self.buffer is None:
            self.key, self.buffer = key, _GradientBuffer(params)
        return self.buffer


_GRADIENT_BUFFERS = _BufferCache()


def broadcast_state(module: Module) -> None:
    """Copy rank 0's parameter values into every worker's `module`, so all start from the same
    weights whatever each worker's random initialization drew. In a world of one it changes
    nothing. Every worker must call it with a module of the same structure."""
    world = _joined()
    if world.size == 1:
        return
    for parameter in module.parameters():
        values = np.ascontiguousarray(parameter.data)
        world.comm.Bcast(values, root=0)
        if values is not parameter.data:
            parameter.data[...] = values
        parameter._bump_version()  # changed in place: a graph that saved it must not backward
