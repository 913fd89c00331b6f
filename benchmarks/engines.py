"""The parent's side of the engines' processes: start one per engine, ask, read the answer.

Each engine runs in its own process (`benchmarks.worker`), started with the thread count pinned
in its environment. Only one of them works at a time: the parent sends one request and waits for
its answer before it sends the next, so the engines take turns on the cores as they did in one
process, without sharing an interpreter, a heap or a garbage collector.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from .settings import ALLOCATOR_VARIABLES, THREAD_VARIABLES

REPO_ROOT = Path(__file__).resolve().parent.parent
# OpenBLAS's idle workers spin for about 2^28 cycles (~0.1 s) after each call. With engines taking
# turns on a machine with few cores, they steal the cores from PyTorch's OpenMP workers: here
# that made PyTorch's 2-thread steps up to twice as slow, and thirty times after a short pause.
# 2^4 cycles makes them sleep at once; a value the user has set is kept.
OPENBLAS_QUIET_TIMEOUT = "4"


class EngineError(RuntimeError):
    """An engine's process failed a request, or ended without answering."""


class EngineUnavailable(RuntimeError):
    """The engine cannot be imported on this machine (PyTorch not installed)."""


def worker_cpus(threads: int) -> set[int]:
    """The CPUs every engine's process runs on for `threads`: the first `threads` this process may
    use. The same set for every engine, so none gets a faster core than another: on the 2-core
    VM the benchmarks were written on, one core ran a 16-element NumPy add in 1.2 us and the
    other in 1.3 to 2.1 us, and an unpinned 1-thread worker landed on either."""
    allowed = sorted(os.sched_getaffinity(0))
    return set(allowed[: max(1, threads)])


def worker_environment(threads: int, system_malloc: bool) -> dict[str, str]:
    """This process's environment with the thread count pinned and, unless `system_malloc`, the
    fixed malloc thresholds of `settings.ALLOCATOR_VARIABLES`."""
    environment = dict(os.environ)
    environment.update({name: str(threads) for name in THREAD_VARIABLES})
    if threads > 1:
        environment.setdefault("OPENBLAS_THREAD_TIMEOUT", OPENBLAS_QUIET_TIMEOUT)
    if not system_malloc:
        for name, value in ALLOCATOR_VARIABLES.items():
            environment.setdefault(name, value)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    return environment


class EngineProcess:
    """One engine's process; every method is one request, answered before it returns."""

    def __init__(
        self,
        name: str,
        threads: int,
        minigrad_form: str,
        system_malloc: bool,
        python: str | None = None,
    ):
        self.name = name
        ours, theirs = socket.socketpair()
        command = [
            python or sys.executable,
            "-m",
            "benchmarks.worker",
            f"--engine={name}",
            f"--threads={threads}",
            f"--minigrad-form={minigrad_form}",
            f"--channel={theirs.fileno()}",
        ]
        cpus = worker_cpus(threads)
        self.process = subprocess.Popen(
            command,
            env=worker_environment(threads, system_malloc),
            cwd=REPO_ROOT,
            pass_fds=(theirs.fileno(),),
            # Before the engine starts, so every thread its BLAS or PyTorch starts inherits it.
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        status, self.meta = self._receive("start")
        if status == "unavailable":
            self.close()
            raise EngineUnavailable(self.meta)

    def _receive(self, command: str) -> tuple[str, object]:
        try:
            return self.connection.recv()
        except EOFError:
            code = self.process.wait()
            raise EngineError(
                f"{self.name}'s process ended (exit {code}) before answering {command!r}"
            ) from None

    def request(self, command: str, *arguments):
        """Send one request and return its answer; raise EngineError with the worker's
        traceback if it failed."""
        self.connection.send((command, arguments))
        status, value = self._receive(command)
        if status != "ok":
            raise EngineError(f"{self.name} failed {command}{arguments}:\n{value}")
        return value

    def takes(self, kind: str) -> bool:
        """Whether this engine builds workloads of `kind` ('chain', 'long chain', 'mlp', 'cnn',
        'conv', or 'traced': its memory is visible to tracemalloc)."""
        return kind in self.meta.get("kinds", ())

    def prepare(self, key: str, kind: str, argument) -> None:
        self.request("prepare", key, kind, argument)

    def run(self, key: str) -> list:
        return self.request("run", key)

    def warm_up(self, key: str, times: int) -> None:
        self.request("warm_up", key, times)

    def time(self, key: str, number: int) -> float:
        return self.request("time", key, number)

    def time_phases(self, key: str) -> tuple[float, float]:
        return self.request("time_phases", key)

    def peak_bytes(self, key: str) -> int:
        return self.request("peak_bytes", key)

    def drop(self, key: str) -> None:
        self.request("drop", key)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.connection.send(("stop", ()))
            except OSError:
                pass
        self.connection.close()
        self.process.wait()


def start_engines(
    names: list[str],
    threads: int,
    minigrad_form: str,
    system_malloc: bool,
    pythons: dict[str, str] | None = None,
) -> tuple[dict[str, EngineProcess], list[str]]:
    """A process per engine that imports, in the order given; a note for each one that does not.
    `pythons` maps an engine to the interpreter that runs it (this one by default): PyTorch or
    jax may live in a virtual environment of their own, which needs only NumPy besides."""
    engines, notes = {}, []
    pythons = pythons or {}
    try:
        for name in names:
            try:
                engines[name] = EngineProcess(
                    name, threads, minigrad_form, system_malloc, pythons.get(name)
                )
            except EngineUnavailable as why:
                if name == "numpy":
                    raise
                notes.append(f"{why}; the {name} column is left empty")
    except BaseException:
        stop_engines(engines)
        raise
    return engines, notes


def stop_engines(engines: dict[str, EngineProcess]) -> None:
    for engine in engines.values():
        engine.close()
