"""The worker: one process, one thread count, every engine; writes its rows as JSON.

The parent process sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS in this
process's environment before it starts, so NumPy's BLAS and PyTorch read them at import.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict

from .cases import CASES
from .settings import ALLOCATOR_VARIABLES, THREAD_VARIABLES, Settings


def load_engines(requested: list[str], threads: int, minigrad_form: str) -> tuple[dict, list[str]]:
    """The engine modules that import, 'numpy' always first (it is every case's reference)."""
    from . import numpy_reference

    engines, notes = {"numpy": numpy_reference}, []
    if "torch" in requested:
        try:
            from . import torch_reference
        except ImportError as error:
            notes.append(f"torch is not installed ({error}); the torch column is left empty")
        else:
            torch_reference.set_threads(threads)
            engines["torch"] = torch_reference
    if "minigrad" in requested:
        from . import minigrad_steps

        minigrad_steps.use_form(minigrad_form)
        engines["minigrad"] = minigrad_steps
    return engines, notes


def describe(engines: dict, threads: int) -> dict:
    import numpy

    meta = {
        "threads": threads,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
        "numpy": numpy.__version__,
        "torch": getattr(engines.get("torch"), "version", None),
        "minigrad": getattr(engines.get("minigrad"), "version", None),
        "thread_variables": {
            name: os.environ.get(name) for name in THREAD_VARIABLES + ("OPENBLAS_THREAD_TIMEOUT",)
        },
        "allocator_variables": {name: os.environ.get(name) for name in ALLOCATOR_VARIABLES},
    }
    if "minigrad" in engines:
        meta["minigrad_mlp_form"] = engines["minigrad"].form
    return meta


def run_worker(
    threads: int, cases: list[str], engine_names: list[str], settings: Settings, result_file: str
) -> None:
    unpinned = [name for name in THREAD_VARIABLES if os.environ.get(name) != str(threads)]
    if unpinned:
        sys.exit(f"worker for {threads} thread(s) started without {', '.join(unpinned)} set")
    try:
        engines, notes = load_engines(engine_names, threads, settings.minigrad_form)
    except ImportError as error:
        sys.exit(f"cannot run the benchmarks: {error}")
    meta = describe(engines, threads)
    timeout = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    print(
        f"threads={threads}: numpy {meta['numpy']}, torch {meta['torch'] or 'absent'}, "
        f"minigrad {meta['minigrad'] or 'absent'} (MLP as {meta.get('minigrad_mlp_form', '-')})"
        + (f", OPENBLAS_THREAD_TIMEOUT={timeout}" if timeout else ""),
        flush=True,
    )
    for note in notes:
        print(f"  note: {note}", flush=True)
    rows = []
    for case in cases:
        rows += CASES[case](engines, settings)
    with open(result_file, "w") as stream:
        json.dump({"meta": meta, "notes": notes, "rows": [asdict(r) for r in rows]}, stream)
