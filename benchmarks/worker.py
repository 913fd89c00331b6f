"""One engine's process: it loads that engine alone, then measures what the parent asks, in the
order the parent asks, until told to stop.

Started by `benchmarks.engines.EngineProcess` as `python -m benchmarks.worker` with the thread
variables already in its environment, so NumPy's BLAS and PyTorch read them at import (importing
NumPy at the top of this file is therefore safe; PyTorch is imported only if asked for). An engine
in a process of its own carries none of another engine's weight: importing PyTorch alone adds
about 144,000 objects that every full garbage collection walks, which in a shared process made
minigrad's 100,000-op chain pay for PyTorch's objects.

The protocol, over a socket the parent passes down: the worker first sends ("ok", meta) or
("unavailable", why); then each request is (command, arguments), a `Server` method name and its
arguments, answered with ("ok", value) or ("error", traceback). ("stop", ()) ends the process.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import ModuleType

import numpy

from . import problems
from .measure import peak_traced_bytes, seconds_per_call, seconds_per_phase
from .settings import (
    ALL_KINDS,
    ALLOCATOR_VARIABLES,
    ENGINE_NAMES,
    MINIGRAD_FORMS,
    THREAD_VARIABLES,
)


def load_engine(name: str, threads: int, minigrad_form: str) -> ModuleType:
    """The engine's module, imported only now and only in this process."""
    if name == "numpy":
        from . import numpy_reference

        return numpy_reference
    if name == "torch":
        from . import torch_reference

        torch_reference.set_threads(threads)
        return torch_reference
    if name == "jax-jit":
        from . import jax_reference

        return jax_reference
    from . import minigrad_steps

    minigrad_steps.use_form(minigrad_form)
    if name == "minigrad-compiled":
        from . import minigrad_compiled_steps

        return minigrad_compiled_steps
    return minigrad_steps


def describe(engine: ModuleType, threads: int) -> dict:
    """The versions and settings the run's header and its JSON record."""
    return {
        "engine": engine.name,
        "version": str(getattr(engine, "version", numpy.__version__)),  # torch's is a subclass
        "threads": threads,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "cpus": sorted(os.sched_getaffinity(0)),
        "numpy": numpy.__version__,
        "minigrad_mlp_form": getattr(engine, "form", None),
        "kinds": list(getattr(engine, "KINDS", ALL_KINDS)),
        "thread_variables": {
            name: os.environ.get(name) for name in THREAD_VARIABLES + ("OPENBLAS_THREAD_TIMEOUT",)
        },
        "allocator_variables": {name: os.environ.get(name) for name in ALLOCATOR_VARIABLES},
    }


@dataclass
class Workload:
    """Something to measure: the whole call, and for a chain its forward and backward apart."""

    call: object
    phases: tuple | None = None


class Server:
    """The requests an engine's process answers; each method is one command of the protocol."""

    def __init__(self, engine: ModuleType):
        self.engine = engine
        self.workloads: dict[str, Workload] = {}

    def prepare(self, key: str, kind: str, argument) -> None:
        """Build a workload: kind 'chain' (argument: its length), 'mlp' (a problem's name),
        'cnn' (the LeNet step) or 'conv' (one convolution's forward and gradients)."""
        if kind == "chain":
            forward, backward = self.engine.chain_phases(problems.chain_input(), argument)
            self.workloads[key] = Workload(lambda: [backward(forward())], (forward, backward))
        elif kind == "cnn":
            self.workloads[key] = Workload(self.engine.cnn_trainer(problems.lenet()))
        elif kind == "conv":
            self.workloads[key] = Workload(self.engine.conv_gradients(problems.conv_layer()))
        else:
            problem = problems.MLP_PROBLEMS[argument]()
            self.workloads[key] = Workload(self.engine.mlp_trainer(problem))

    def run(self, key: str) -> list:
        """One call, answered with its gradients as NumPy arrays, for the parent to compare."""
        return [numpy.asarray(gradient) for gradient in self.workloads[key].call()]

    def warm_up(self, key: str, times: int) -> None:
        for _ in range(times):
            self.workloads[key].call()

    def time(self, key: str, number: int) -> float:
        return seconds_per_call(self.workloads[key].call, number)

    def time_phases(self, key: str) -> tuple[float, float]:
        return seconds_per_phase(*self.workloads[key].phases)

    def peak_bytes(self, key: str) -> int:
        """The call's peak, and the buffers a compiled step keeps between calls: made before
        tracing starts, they are invisible to it, but the step holds them all the while."""
        call = self.workloads[key].call
        return peak_traced_bytes(call) + getattr(call, "kept_bytes", lambda: 0)()

    def drop(self, key: str) -> None:
        del self.workloads[key]


def serve(connection: Connection, server: Server) -> None:
    while True:
        command, arguments = connection.recv()
        if command == "stop":
            return
        try:
            reply = ("ok", getattr(server, command)(*arguments))
        except Exception:
            reply = ("error", traceback.format_exc())
        connection.send(reply)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--engine", choices=ENGINE_NAMES, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--minigrad-form", choices=MINIGRAD_FORMS, default="modules")
    parser.add_argument("--channel", type=int, required=True, help="the socket's descriptor")
    arguments = parser.parse_args(argv)
    connection = Connection(arguments.channel)
    unpinned = [name for name in THREAD_VARIABLES if os.environ.get(name) != str(arguments.threads)]
    if unpinned:
        sys.exit(f"{arguments.engine}'s process started without {', '.join(unpinned)} set")
    try:
        engine = load_engine(arguments.engine, arguments.threads, arguments.minigrad_form)
    except ImportError as error:
        connection.send(("unavailable", f"{arguments.engine} is not installed ({error})"))
        return
    connection.send(("ok", describe(engine, arguments.threads)))
    serve(connection, Server(engine))


if __name__ == "__main__":
    main()
