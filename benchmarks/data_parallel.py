"""Case 7's workers: data-parallel SGD steps of the 784-256-256-10 MLP under MPI.

    python -m benchmarks.data_parallel --batch 1024                      # one worker
    mpiexec -n 2 python -m benchmarks.data_parallel --batch 1024          # two, 512 each

Every worker builds the same network and weights (`problems.mlp_problem`) and takes its 1/W of
the global batch; a step is the forward and backward on that shard, `allreduce_gradients`, and
the SGD update, as `minigrad train --workers` does. Rank 0 prints one JSON line: the seconds of
each timed sample of `--number` steps, and the seconds of an Allreduce of a buffer the size
of the one `allreduce_gradients` sends, alone. The parent side, `measure`, starts the job with
one BLAS thread per worker and reads that line; it computes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .settings import THREAD_VARIABLES

SIZES = (784, 256, 256, 10)
REPO_ROOT = Path(__file__).resolve().parent.parent


def build_step(batch: int):
    """This worker's training step on its shard of a global batch of `batch` examples."""
    import minigrad as mg
    from minigrad import distributed, nn, optim
    from minigrad.nn import functional as F

    from . import problems

    problem = problems.mlp_problem("data_parallel", SIZES, batch, "relu", "cross_entropy")
    layers: list = []
    for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        linear = nn.Linear(fan_in, fan_out)
        linear.weight.data = problem.parameters[2 * i].copy()
        linear.bias.data = problem.parameters[2 * i + 1].copy()
        layers += [linear, nn.ReLU(inplace=True)] if i < len(SIZES) - 2 else [linear]
    model = nn.Sequential(*layers)
    optimizer = optim.SGD(model.parameters(), lr=problems.LEARNING_RATE)
    shard = slice(distributed.rank(), None, distributed.world_size())
    inputs, targets = mg.Tensor(problem.inputs[shard]), problem.targets[shard]

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(inputs), targets).backward()
        distributed.allreduce_gradients(model.parameters(), len(targets))
        optimizer.step()

    return step, list(model.parameters())


def gradient_buffer(parameters: list) -> np.ndarray:
    """A buffer like the one `allreduce_gradients` sends: every gradient, then the count."""
    return np.zeros(sum(p.size for p in parameters) + 1, dtype=np.float32)


def allreduce_seconds(buffer: np.ndarray, repeat: int) -> list[float]:
    """The seconds of each of `repeat` Allreduce calls on `buffer` alone."""
    from mpi4py import MPI

    samples = []
    for _ in range(repeat):
        MPI.COMM_WORLD.Barrier()
        start = time.perf_counter()
        MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, buffer)
        samples.append(time.perf_counter() - start)
    return samples


def job_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.data_parallel")
    parser.add_argument("--batch", type=int, required=True, help="the global batch")
    parser.add_argument("--repeat", type=int, default=20, help="timed samples")
    parser.add_argument("--number", type=int, default=5, help="steps per sample")
    parser.add_argument(
        "--start-at", type=float, help="after the warm-up, wait for this time.time() to start"
    )
    arguments = parser.parse_args(argv)
    from minigrad import distributed

    distributed.init()
    step, parameters = build_step(arguments.batch)
    for _ in range(2):
        step()
    if arguments.start_at is not None:
        time.sleep(max(0.0, arguments.start_at - time.time()))
    samples = []
    for _ in range(arguments.repeat):
        distributed.barrier()
        start = time.perf_counter()
        for _ in range(arguments.number):
            step()
        samples.append((time.perf_counter() - start) / arguments.number)
    buffer = gradient_buffer(parameters)
    exchange = allreduce_seconds(buffer, 10 * arguments.repeat) if distributed.launched() else []
    if distributed.is_main():
        print(json.dumps({"step": samples, "allreduce": exchange, "bytes": buffer.nbytes}))


def job_environment() -> dict[str, str]:
    """One BLAS thread per worker, workers started on this machine by fork, this checkout first
    on the path."""
    environment = dict(os.environ)
    environment.update({name: "1" for name in THREAD_VARIABLES})
    environment.setdefault("HYDRA_LAUNCHER", "fork")
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    return environment


def measure(workers: int, batch: int, repeat: int, number: int) -> dict:
    """Run the job on `workers` processes (2 or more under the mpiexec beside this Python);
    rank 0's samples: {"step": [seconds per step], "allreduce": [seconds], "bytes": n}."""
    return _finish(_start(workers, batch, repeat, number))


def measure_side_by_side(batch: int, repeat: int, number: int, copies: int = 2) -> list[dict]:
    """`copies` jobs of one worker each, unrelated, timed over the same seconds: what the
    machine gives processes that compute at once and never exchange anything, the bound of a
    job of `copies` workers on batch `copies * batch`. Each copy's samples, as `measure`'s."""
    start_at = time.time() + SIDE_BY_SIDE_DELAY
    started = [_start(1, batch, repeat, number, start_at) for _ in range(copies)]
    return [_finish(job) for job in started]


SIDE_BY_SIDE_DELAY = 4.0  # seconds for every copy to import and warm up before the timing


def _start(
    workers: int, batch: int, repeat: int, number: int, start_at: float | None = None
) -> subprocess.Popen:
    command = [sys.executable, "-m", "benchmarks.data_parallel", f"--batch={batch}"]
    command += [f"--repeat={repeat}", f"--number={number}"]
    if start_at is not None:
        command.append(f"--start-at={start_at}")
    if workers > 1:
        command = [str(Path(sys.executable).parent / "mpiexec"), "-n", str(workers), *command]
    return subprocess.Popen(
        command,
        env=job_environment(),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(job: subprocess.Popen) -> dict:
    out, err = job.communicate(timeout=600)
    if job.returncode != 0:
        raise RuntimeError(f"{' '.join(job.args)} failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def unavailable() -> str | None:
    """Why case 7 cannot run here (no mpi4py, no mpiexec beside this Python), or None."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install 'minigrad-tape[mpi]')"
    if not (Path(sys.executable).parent / "mpiexec").is_file():
        return f"no mpiexec beside {sys.executable}"
    return None


if __name__ == "__main__":
    job_main()
