"""minigrad.distributed, DistributedSampler and `minigrad train --workers`.

The first half needs no MPI: the sampler's shards, the world of one, the gradient buffer's
arithmetic, the errors. The second half starts real jobs with MPICH's `mpiexec -n 2` and `-n 3`
on this machine, bound to the loopback interface, each under a timeout. Those tests skip when
mpi4py or mpiexec is missing only outside CI (the variable CI unset), or where the environment
says why this suite runs without MPI (MINIGRAD_SKIP_MPI, set by .ci/lowest-deps.sh, whose venv
has no mpi extra; CI runs them in the main suite). Under CI otherwise they fail.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import distributed_job  # tests/ is on the path, as for every test module here
import minigrad as mg
from minigrad import distributed, nn
from minigrad.data import DataLoader, Dataset, DistributedSampler, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
JOB = Path(__file__).resolve().parent / "distributed_job.py"

FLOAT32_ROUNDING = 64 * np.finfo(np.float32).eps  # relative to the largest parameter


@pytest.fixture
def alone(monkeypatch):
    """A fresh world of one: no launcher variables, and no world joined yet."""
    for name in (*distributed.LAUNCHER_VARIABLES, "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distributed, "_world", None)
    distributed.init()


# ---- the sampler -------------------------------------------------------------------------------


@pytest.mark.parametrize("n, world, batch", [(193, 2, 8), (193, 3, 8), (10, 3, 1), (12, 4, 3)])
def test_the_workers_batches_together_are_the_single_process_batches(n, world, batch):
    data = TensorDataset(np.arange(n))
    single = DataLoader(data, batch_size=world * batch, sampler=DistributedSampler(data, 1, 0))
    loaders = [
        DataLoader(data, batch_size=batch, sampler=DistributedSampler(data, world, rank))
        for rank in range(world)
    ]
    assert {len(loader) for loader in loaders} == {len(single)}  # the same steps everywhere
    for _ in range(2):  # two epochs
        steps = zip(single, *loaders)
        for (whole,), *parts in steps:  # a batch of a one-array dataset is a 1-tuple
            together = np.concatenate([part.numpy() for (part,) in parts])
            assert sorted(together.tolist()) == sorted(whole.numpy().tolist())


def test_every_example_once_per_epoch_and_a_new_order_each_epoch():
    data = TensorDataset(np.arange(50))
    samplers = [DistributedSampler(data, 3, rank, seed=4) for rank in range(3)]
    first = [list(sampler) for sampler in samplers]
    second = [list(sampler) for sampler in samplers]
    for epoch in (first, second):
        assert sorted(sum(epoch, [])) == list(range(50))
        assert [len(shard) for shard in epoch] == [17, 17, 16]
    assert first != second
    samplers[0].set_epoch(1)
    assert list(samplers[0]) == second[0]
    assert list(DistributedSampler(data, 3, 0, seed=4)) == first[0]  # from the seed alone
    assert list(DistributedSampler(data, 3, 0, seed=5)) != first[0]


def test_a_short_shard_gets_a_short_or_empty_last_batch():
    data = TensorDataset(np.arange(7.0).reshape(7, 1), np.arange(7))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 3, 1, shuffle=False))
    assert len(loader) == 2  # ceil(ceil(7 / 3) / 2): what rank 0, with 3 examples, takes
    batches = [y.numpy().tolist() for _, y in loader]
    assert batches == [[1, 4], []]
    empty_x, _ = list(loader)[-1]
    assert empty_x.shape == (0, 1)


def test_an_empty_batch_of_a_dataset_read_example_by_example_keeps_its_fields_shapes():
    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return np.full((2, 3), index, np.float32), np.int64(index)

    sampler = DistributedSampler(Squares(), 3, 2, shuffle=False)  # holds example 2 alone
    batches = list(DataLoader(Squares(), batch_size=1, sampler=sampler))
    assert [tuple(field.shape) for field in batches[1]] == [(0, 2, 3), (0,)]
    assert batches[1][0].dtype == np.float32 and batches[0][1].tolist() == [2]


def test_sampler_and_loader_refuse_bad_arguments():
    data = TensorDataset(np.arange(5))
    with pytest.raises(ValueError, match="rank must be below world_size 2, got 2"):
        DistributedSampler(data, 2, 2)
    with pytest.raises(ValueError, match="world_size must be >= 1, got 0"):
        DistributedSampler(data, 0, 0)
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        DistributedSampler(data, 1, 0, seed=1.5)
    with pytest.raises(ValueError, match="either shuffle=True or a sampler"):
        DataLoader(data, shuffle=True, sampler=DistributedSampler(data, 1, 0))


# ---- a world of one, and the arithmetic of the exchange ----------------------------------------


def test_alone_a_world_of_one_changes_nothing(alone):
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    model = nn.Linear(3, 2)
    model(mg.ones(4, 3)).sum().backward()
    before = [p.grad for p in model.parameters()]
    distributed.allreduce_gradients(model.parameters(), 4)
    distributed.broadcast_state(model)
    distributed.barrier()
    assert all(p.grad is g for p, g in zip(model.parameters(), before))
    assert distributed.allreduce(np.array([1.5, 2.0])).tolist() == [1.5, 2.0]
    assert DistributedSampler(TensorDataset(np.arange(4))).world_size == 1


def test_a_world_must_be_joined_first(monkeypatch):
    monkeypatch.setattr(distributed, "_world", None)
    with pytest.raises(RuntimeError, match=r"call minigrad.distributed.init\(\) first"):
        distributed.rank()


def test_under_a_launcher_without_mpi4py_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(distributed, "_world", None)
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(distributed.MPIUnavailable, match="PMI_RANK is set") as raised:
        distributed.init()
    assert "pip install 'minigrad-tape[mpi]'" in str(raised.value)
    assert isinstance(raised.value, ImportError)


def test_tasks_that_srun_started_without_mpi_are_refused(monkeypatch):
    monkeypatch.setattr(distributed, "_world", None)
    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "4")
    with pytest.raises(
        distributed.LaunchError, match="srun started 4 tasks without MPI.*srun --mpi=pmix"
    ):
        distributed.init()
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "1")  # one task: a process alone
    distributed.init()
    assert distributed.world_size() == 1


def test_the_install_command_names_the_distribution_and_its_mpi_extra():
    text = (ROOT / "pyproject.toml").read_text()
    name = re.search(r'^name = "([^"]+)"', text, re.MULTILINE)[1]
    extra = re.search(r"^mpi = \[(.*)\]", text, re.MULTILINE)[1]
    assert distributed.INSTALL == f"pip install '{name}[mpi]'"
    assert '"mpi4py' in extra and '"mpich' in extra


def test_importing_minigrad_never_imports_mpi4py():
    code = "import sys, minigrad, minigrad.distributed; print('mpi4py' in sys.modules)"
    environment = {k: v for k, v in os.environ.items() if k not in distributed.LAUNCHER_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_buffer_sums_weighted_shards_into_the_mean_of_the_whole_batch():
    # Lecture 004, slide "Exercise (*Homework*)": per-example gradients [7,2] [3,1] [2,3]
    # [4,2] [3,3]; the minibatch of examples 2, 4, 5 has gradient [10/3, 2]. Split it unevenly
    # over two workers: {2} and {4, 5}, each holding the mean over its own shard.
    per_example = {2: [3.0, 1.0], 4: [4.0, 2.0], 5: [3.0, 3.0]}
    shards = [[2], [4, 5]]
    parameter = mg.zeros(2, requires_grad=True)
    summed = None
    for shard in shards:
        parameter.grad = np.mean([per_example[i] for i in shard], axis=0).astype(np.float32)
        buffer = distributed._GradientBuffer([parameter])
        buffer.pack([parameter], len(shard))
        summed = buffer.flat.copy() if summed is None else summed + buffer.flat
    buffer.flat[...] = summed  # what the Allreduce hands every worker
    buffer.unpack([parameter], buffer.flat[-1])
    assert parameter.grad.tolist() == pytest.approx([10 / 3, 2.0])
    assert parameter.grad.dtype == np.float32 and parameter.grad.shape == (2,)


def test_a_missing_gradient_and_an_empty_shard_count_as_zeros():
    weight, bias = mg.ones(2, 2, requires_grad=True), mg.ones(2, requires_grad=True)
    weight.grad = np.full((2, 2), 5.0, np.float32)
    buffer = distributed._GradientBuffer([weight, bias])
    buffer.pack([weight, bias], 3)
    assert buffer.flat.tolist() == [15.0] * 4 + [0.0, 0.0] + [3.0]
    buffer.pack([weight, bias], 0)
    assert buffer.flat.tolist() == [0.0] * 7


def test_allreduce_gradients_refuses_a_bad_batch_size(alone):
    parameters = list(nn.Linear(2, 2).parameters())
    with pytest.raises(TypeError, match="batch_size must be an int"):
        distributed.allreduce_gradients(parameters, 2.0)
    with pytest.raises(ValueError, match="batch_size must be >= 0, got -1"):
        distributed.allreduce_gradients(parameters, -1)


def test_train_workers_without_mpi4py_exits_2_naming_the_install(tmp_path, monkeypatch, capsys):
    from minigrad.__main__ import main

    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "--out", str(tmp_path / "run"), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'minigrad-tape[mpi]'" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_train_in_srun_tasks_without_mpi_exits_2(tmp_path, monkeypatch, capsys):
    from minigrad.__main__ import main

    monkeypatch.setattr(distributed, "_world", None)
    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "srun --mpi=pmix" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ---- real jobs under mpiexec -------------------------------------------------------------------


def mpiexec(workers: int, *command: str, env: dict, timeout: float = 60):
    """Run `command` as a job of `workers` processes; the CompletedProcess."""
    launcher = str(Path(sys.executable).parent / "mpiexec")
    return subprocess.run(
        [launcher, "-n", str(workers), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def reference(alone):
    """The parameters of distributed_job's 100 steps in one process, batch of 16 and of 24."""
    return {
        batch: distributed_job.train(batch, 100)
        for batch in (2 * distributed_job.LOCAL_BATCH, 3 * distributed_job.LOCAL_BATCH)
    }


@pytest.mark.parametrize("workers", [2, 3])
def test_a_job_takes_the_steps_of_one_process_on_the_global_batch(
    workers, loopback, reference, tmp_path
):
    job = mpiexec(workers, sys.executable, str(JOB), str(tmp_path), env=loopback)
    assert job.returncode == 0, job.stderr
    ranks = [np.load(tmp_path / f"rank{k}.npz") for k in range(workers)]
    seen = np.concatenate([rank["seen"] for rank in ranks])
    assert sorted(seen.tolist()) == list(range(distributed_job.EXAMPLES))  # once per epoch
    single = reference[workers * distributed_job.LOCAL_BATCH]
    names = [name for name in single if name != "seen"]
    for name in names:
        for other in ranks[1:]:
            assert np.array_equal(other[name], ranks[0][name]), name  # the same on every worker
    scale = max(float(np.abs(single[name]).max()) for name in names)
    difference = max(float(np.abs(ranks[0][name] - single[name]).max()) for name in names)
    print(f"{workers} workers, 100 steps: max |difference| {difference:.2e} (scale {scale:.2f})")
    assert difference <= FLOAT32_ROUNDING * scale


@pytest.mark.parametrize("how", ["kill", "raise"])
def test_a_worker_that_dies_ends_the_whole_job_within_seconds(how, loopback, tmp_path):
    started = time.monotonic()
    command = [sys.executable, str(JOB), str(tmp_path), "--fail-at", "50", "--how", how]
    job = mpiexec(2, *command, env=loopback, timeout=30)
    assert job.returncode != 0
    assert time.monotonic() - started < 15
    assert list(tmp_path.iterdir()) == []  # no worker got to the end
    if how == "raise":
        assert "RuntimeError: rank 1 fails on purpose" in job.stderr


# ---- minigrad train --workers ------------------------------------------------------------------

TRAIN = ["--hidden", "32", "--epochs", "4", "--batch-size", "30", "--optimizer", "sgd", "--quiet"]


def train_command(out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "minigrad", "train", "--out", str(out), *TRAIN, *options]


def run_train(out: Path, *options: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        train_command(out, *options), env=env, capture_output=True, text=True, timeout=120
    )


class FolderWrites:
    """The names created in, and renamed into, one folder while it is watched (Linux inotify),
    with the random part of temporary names cut off: what a run wrote there, and how often."""

    CREATE, MOVED_TO = 0x100, 0x80  # IN_CREATE, IN_MOVED_TO
    EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name

    def __init__(self, folder: Path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        watch = self.libc.inotify_add_watch(self.fd, bytes(folder), self.CREATE | self.MOVED_TO)
        assert self.fd >= 0 and watch >= 0, os.strerror(ctypes.get_errno())

    def events(self) -> list[tuple[str, str]]:
        data = b""
        while True:
            try:
                data += os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
        os.close(self.fd)
        events, offset = [], 0
        while offset < len(data):
            _, mask, _, length = self.EVENT.unpack_from(data, offset)
            name = data[offset + self.EVENT.size : offset + self.EVENT.size + length]
            offset += self.EVENT.size + length
            kind = "created" if mask & self.CREATE else "renamed in"
            events.append(
                (kind, re.sub(r"[.-][0-9a-z_]{6,}(\.tmp)?$", "", name.rstrip(b"\0").decode()))
            )
        return sorted(events)


def watched_run(out: Path, *options: str, env: dict) -> list[tuple[str, str]]:
    """TRAIN into the (new, empty) folder `out`; what it wrote there."""
    out.mkdir()
    writes = FolderWrites(out)
    result = run_train(out, *options, env=env)
    assert result.returncode == 0, result.stderr
    return writes.events()


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, loopback):
    """TRAIN in one process: the reference of the same global batch, and what it wrote."""
    out = tmp_path_factory.mktemp("one") / "run"
    writes = watched_run(out, "--workers", "1", env=loopback)
    return out, writes


def assert_close_runs(out: Path, reference: Path) -> None:
    """Weights equal to float32 rounding, and the same test accuracy."""
    weights, expected = mg.load(out / "model.npz"), mg.load(reference / "model.npz")
    scale = max(float(np.abs(expected[name]).max()) for name in expected)
    difference = max(float(np.abs(weights[name] - expected[name]).max()) for name in expected)
    print(f"{out.name}: max |weight difference| {difference:.2e} (scale {scale:.2f})")
    assert difference <= FLOAT32_ROUNDING * scale
    accuracy = json.loads((out / "model.json").read_text())["test_accuracy"]
    assert accuracy == json.loads((reference / "model.json").read_text())["test_accuracy"]


@pytest.mark.parametrize("workers", [2, 3])
def test_train_workers_agrees_with_one_process_and_writes_the_run_once(
    workers, one_worker, loopback, tmp_path
):
    reference, reference_writes = one_worker
    out = tmp_path / "run"  # the name of the reference's folder, which staging names repeat
    writes = watched_run(out, "--workers", str(workers), env=loopback)
    assert_close_runs(out, reference)
    assert ("renamed in", "checkpoint.npz") in writes and ("renamed in", "model.npz") in writes
    assert writes == reference_writes  # the same files, each as often as one process writes it


def test_mpiexec_minigrad_train_works_too(one_worker, loopback, tmp_path):
    out = tmp_path / "under_mpiexec"
    result = mpiexec(2, *train_command(out), env=loopback, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy") == 1  # rank 0 alone prints
    assert_close_runs(out, one_worker[0])


def test_train_refuses_a_batch_the_workers_cannot_split(loopback, tmp_path):
    result = run_train(tmp_path / "run", "--workers", "2", "--batch-size", "31", env=loopback)
    assert result.returncode == 2
    assert "--batch-size 31 does not split evenly over 2 workers" in result.stderr


def worker_pid(out: Path, rank: int) -> int | None:
    """The process id of the training worker of `rank` writing `out`, found in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(out).encode() in command and f"PMI_RANK={rank}".encode() in environment:
            return int(entry.name)
    return None


def test_a_killed_worker_ends_the_run_which_resumes_under_workers(loopback, tmp_path):
    out, uninterrupted = tmp_path / "killed", tmp_path / "uninterrupted"
    options = ["--workers", "2", "--batch-size", "2", "--epochs", "12"]  # about 0.3 s an epoch
    job = subprocess.Popen(
        train_command(out, *options), env=loopback, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not (out / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    victim = worker_pid(out, 1)
    assert victim is not None, "the worker of rank 1 was not found"
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    job.communicate(timeout=30)
    assert job.returncode != 0
    assert time.monotonic() - killed < 15
    assert not (out / "model.npz").exists()
    assert 1 <= mg.load(out / "checkpoint.npz")["epoch"] < 12
    resumed = run_train(out, "--resume", *options, env=loopback)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} after epoch" in resumed.stdout
    result = run_train(uninterrupted, *options, env=loopback)
    assert result.returncode == 0, result.stderr
    weights, expected = mg.load(out / "model.npz"), mg.load(uninterrupted / "model.npz")
    assert all(np.array_equal(weights[name], expected[name]) for name in expected)


def test_each_worker_draws_its_own_dropout_masks_the_same_after_a_resume(monkeypatch):
    from minigrad.cli import workers

    data = TensorDataset(np.arange(8))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, 0))

    def masks(rank: int, epoch: int) -> list[float]:
        monkeypatch.setattr(distributed, "_world", distributed._World(rank=rank, size=2))
        workers.start_epoch(loader, seed=3, epoch=epoch)
        return mg.random.generator().random(8).tolist()

    assert masks(0, 5) != masks(1, 5)  # not the same mask on every shard
    assert masks(1, 5) == masks(1, 5)  # a resumed epoch draws what it drew before
    assert masks(1, 5) != masks(1, 6)
    assert loader.sampler.epoch == 6
