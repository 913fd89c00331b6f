"""`minigrad train --workers N`: the same run, data-parallel over N processes on MPI.

`minigrad train --workers N` outside an MPI job starts one, `mpiexec -n N python -m minigrad
train ...` with the same arguments, and exits with its status; `mpiexec -n N minigrad train`
(or `srun --mpi=pmix minigrad train` on a cluster) starts the workers directly. Each worker trains
on its shard of every batch (`DistributedSampler`) and averages the gradients with the others
before each step (`distributed.allreduce_gradients`), so the run takes the steps of one process
on the same global `--batch-size`. Only rank 0 prints and writes the run folder; a worker that
fails ends the whole job, since the others would wait for it forever.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

import minigrad as mg

from .. import distributed
from ..data import DataLoader, DistributedSampler
from .common import UsageError, positive_int

INTERRUPTED = 130  # the shell's status for a program stopped by SIGINT (128 + 2)
# One BLAS thread per worker unless the user chose otherwise: N workers on N cores each
# starting N threads would fight over the cores.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def add_option(parser: argparse.ArgumentParser) -> None:
    """The --workers option of `minigrad train`."""
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="train data-parallel on N processes over MPI (needs "
        f"{distributed.INSTALL}); starts `mpiexec -n N` unless already under an MPI launcher. "
        "--batch-size stays the global batch, split over the workers",
    )


def launch_needed(args: argparse.Namespace) -> bool:
    """True when --workers asks for more than one process and no MPI launcher started this one."""
    return args.workers is not None and args.workers > 1 and not distributed.launched()


def launch(args: argparse.Namespace) -> int:
    """Run this command as an MPI job of `args.workers` processes; return the job's status."""
    command = [mpiexec(), "-n", str(args.workers), sys.executable, "-m", "minigrad", *args.argv]
    environment = dict(os.environ)
    if not any(name in environment for name in THREAD_VARIABLES):
        environment["OMP_NUM_THREADS"] = "1"
    job = subprocess.Popen(command, env=environment)
    while True:
        try:
            status = job.wait()
            break
        except KeyboardInterrupt:
            continue  # mpiexec forwards Ctrl-C to the workers; their status follows
    return 128 - status if status < 0 else status


def mpiexec() -> str:
    """The mpiexec beside this Python (the MPICH wheel installs it there), else the PATH's."""
    check_mpi4py()
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if found is None:
        raise UsageError(
            f"--workers needs the MPI launcher `mpiexec`, found neither beside {sys.executable} "
            f"nor on the PATH: {distributed.INSTALL}"
        )
    return found


def check_mpi4py() -> None:
    """Raise a usage error naming the install command when mpi4py is missing."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise UsageError(str(distributed.MPIUnavailable("--workers asks for MPI"))) from None


def join(args: argparse.Namespace) -> None:
    """Join the job's world (a world of one when run alone); on every rank but 0, silence the
    progress bar and standard output, so that the job prints once."""
    try:
        distributed.init()
    except (distributed.MPIUnavailable, distributed.LaunchError) as error:
        raise UsageError(str(error)) from None
    size = distributed.world_size()
    if args.workers is not None and args.workers != size:
        raise UsageError(
            f"--workers {args.workers} disagrees with the {size} processes the MPI launcher "
            "started; leave out --workers under mpiexec, or give the same number"
        )
    if size > 1 and args.batch_size % size:
        raise UsageError(
            f"--batch-size {args.batch_size} does not split evenly over {size} workers; give a "
            f"multiple of {size} (it is the global batch)"
        )
    if not distributed.is_main():
        args.quiet = True
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # for the rest of this process


def local_batch_size(global_batch_size: int) -> int:
    """This worker's share of each batch."""
    return global_batch_size // distributed.world_size()


def as_one_worker(body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run `body(args)`; in a job of several workers, a failure (an exception or a status other
    than 0) aborts all of them with its status, since the others would wait forever for this
    one in their next allreduce."""
    alone = distributed.world_size() == 1
    try:
        status = body(args)
    except UsageError as error:
        if alone:
            raise
        print(f"minigrad train: error: {error}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        if alone:
            raise
        status = INTERRUPTED
    except BaseException:
        if alone:
            raise
        traceback.print_exc()
        status = 1
    if status != 0 and not alone:
        distributed.abort(status)
    return status


def start_epoch(loader: DataLoader, seed: int, epoch: int) -> None:
    """Set up epoch `epoch` (from 0) of a run: its permutation of the examples, the same on every
    worker, and the engine RNG that draws its dropout masks, seeded from (seed, epoch, rank). The
    workers then draw masks of their own, not the same ones for every shard, and a resumed run
    draws what the uninterrupted run drew, on any number of workers."""
    sampler = loader.sampler
    if not isinstance(sampler, DistributedSampler):
        raise TypeError(f"the run's loader needs a DistributedSampler, got {sampler!r}")
    sampler.set_epoch(epoch)
    draws = np.random.default_rng([seed, epoch, distributed.rank()])
    mg.random.set_state(draws.bit_generator.state)


def epoch_totals(loss_sum: float, correct: int, seen: int) -> tuple[float, int, int]:
    """The epoch's summed loss, correct predictions and examples over every worker, the same
    numbers on all of them (so all stop together if the loss diverged)."""
    totals = distributed.allreduce(np.array([loss_sum, correct, seen], dtype=np.float64))
    return float(totals[0]), int(totals[1]), int(totals[2])
