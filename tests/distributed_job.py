"""A data-parallel training job for tests/test_distributed.py, started under `mpiexec`.

    mpiexec -n W python tests/distributed_job.py OUT [--steps 100] [--fail-at STEP --how kill|raise]

Every worker trains the same small MLP on its shard of each batch for `--steps` SGD steps, then
writes OUT/rank<k>.npz: its final parameters and the indices it saw in the first epoch. With
`--fail-at`, rank 1 dies at that step (SIGKILL, or an uncaught exception), to show the job then
ends instead of waiting. `train(...)` is also what the test calls, alone, for the reference.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import distributed, nn, optim
from minigrad.data import DataLoader, DistributedSampler, TensorDataset

EXAMPLES = 193  # leaves 1 example for the last batch of 16 or 24: the other workers get none
FEATURES, HIDDEN, CLASSES = 12, 32, 5
LOCAL_BATCH = 8
SEED = 7


def dataset() -> TensorDataset:
    rng = np.random.default_rng(0)
    features = rng.standard_normal((EXAMPLES, FEATURES)).astype(np.float32)
    labels = rng.integers(0, CLASSES, EXAMPLES)
    return TensorDataset(features, labels, np.arange(EXAMPLES))  # each example's own index


def train(batch_size: int, steps: int, fail_at: int | None = None, how: str = "kill") -> dict:
    """`steps` SGD steps at `batch_size` per worker; the final parameters, by name, and the
    indices this worker saw in epoch 0 (under "seen")."""
    mg.manual_seed(SEED + distributed.rank())  # different draws per worker: broadcast unifies
    model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, CLASSES))
    distributed.broadcast_state(model)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = dataset()
    sampler = DistributedSampler(data, seed=SEED)
    loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
    seen: list[int] = []
    step = 0
    while step < steps:
        epoch = sampler.epoch
        for batch_x, batch_y, batch_indices in loader:
            if step == fail_at and distributed.rank() == 1:
                fail(how)
            optimizer.zero_grad()
            if len(batch_y):
                nn.functional.cross_entropy(model(batch_x), batch_y).backward()
            distributed.allreduce_gradients(model.parameters(), len(batch_y))
            optimizer.step()
            if epoch == 0:
                seen += batch_indices.numpy().tolist()
            step += 1
            if step == steps:
                break
    return {**model.state_dict(), "seen": np.array(seen, dtype=np.int64)}


def fail(how: str) -> None:
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise RuntimeError("rank 1 fails on purpose")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--fail-at", type=int)
    parser.add_argument("--how", choices=("kill", "raise"), default="kill")
    arguments = parser.parse_args()
    distributed.init()
    result = train(LOCAL_BATCH, arguments.steps, arguments.fail_at, arguments.how)
    np.savez(arguments.out / f"rank{distributed.rank()}.npz", **result)
    distributed.barrier()


if __name__ == "__main__":
    sys.exit(main())
