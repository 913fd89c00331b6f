"""`python -m benchmarks`: run the cases once per thread count, each engine in its own process.

For each thread count this process starts one worker per engine (`benchmarks.worker`, with the
thread variables already in its environment, so NumPy and PyTorch read them at import), runs the
cases by asking the workers for samples in turns, and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict

from .report import markdown_table
from .settings import CASE_NAMES, ENGINE_NAMES, MINIGRAD_FORMS, THREAD_VARIABLES, Settings


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time minigrad against hand-written NumPy and PyTorch on the same steps.",
    )
    parser.add_argument(
        "--threads", default="1,2", help="comma-separated thread counts, one process each (1,2)"
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASE_NAMES.values()),
        help="comma-separated case numbers or names: 1 op_overhead, 2 lecture_mlp, 3 mnist_mlp, "
        "4 wide_mlp, 5 long_chain, 6 peak_memory, 7 data_parallel, 8 lenet_cnn, 9 conv_layer (all)",
    )
    parser.add_argument(
        "--repeat", type=int, help="timed samples per engine, cases 1-4, 7 and 8 (100)"
    )
    parser.add_argument(
        "--long-repeat",
        type=int,
        help="timed samples per engine and length, case 5; per engine, case 9 (15)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="few samples (5, and 1 for case 5): a smoke check"
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINE_NAMES), help="engines to compare; numpy always runs"
    )
    parser.add_argument(
        "--torch-python",
        metavar="PATH",
        help="the Python interpreter that runs the torch engine (a virtual environment with "
        "torch and numpy; default: this one)",
    )
    parser.add_argument(
        "--jax-python",
        metavar="PATH",
        help="the Python interpreter that runs the jax-jit engine (default: this one)",
    )
    parser.add_argument(
        "--minigrad-form",
        choices=MINIGRAD_FORMS,
        default="modules",
        help="minigrad's MLP steps as nn.Linear + optim.SGD (what users write) or as raw tensors "
        "(h @ W + b, the update on .data)",
    )
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave glibc's malloc thresholds at their defaults (page faults then depend on the "
        "heap's layout; see benchmarks/settings.py)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every row and setting here")
    arguments = parser.parse_args(argv)
    if arguments.repeat is None:
        arguments.repeat = 5 if arguments.quick else 100
    if arguments.long_repeat is None:
        arguments.long_repeat = 1 if arguments.quick else 15
    if arguments.repeat < 1 or arguments.long_repeat < 1:
        parser.error("--repeat and --long-repeat must be at least 1")
    arguments.case_list = _case_list(parser, arguments.cases)
    arguments.engine_list = _engine_list(parser, arguments.engines)
    arguments.thread_list = _thread_list(parser, arguments.threads)
    arguments.pythons = {
        engine: path
        for engine, path in (("torch", arguments.torch_python), ("jax-jit", arguments.jax_python))
        if path
    }
    return arguments


def _case_list(parser: argparse.ArgumentParser, text: str) -> list[str]:
    cases = []
    for part in text.split(","):
        case = CASE_NAMES.get(part.strip(), part.strip())
        if case not in CASE_NAMES.values():
            parser.error(f"unknown case {part!r}; expected 1-9 or one of {', '.join(CASE_NAMES)}")
        cases.append(case)
    return cases


def _engine_list(parser: argparse.ArgumentParser, text: str) -> list[str]:
    engines = [part.strip() for part in text.split(",")]
    unknown = [e for e in engines if e not in ENGINE_NAMES]
    if unknown:
        parser.error(f"unknown engine {unknown[0]!r}; expected some of {', '.join(ENGINE_NAMES)}")
    return ["numpy"] + [e for e in engines if e != "numpy"]


def _thread_list(parser: argparse.ArgumentParser, text: str) -> list[int]:
    try:
        threads = [int(part) for part in text.split(",")]
    except ValueError:
        parser.error(f"--threads takes whole numbers like 1,2; got {text!r}")
    if any(n < 1 for n in threads):
        parser.error(f"--threads must be at least 1; got {text!r}")
    return threads


def run_thread_count(arguments: argparse.Namespace, threads: int) -> dict:
    """Start the engines' processes for `threads`, run every case, stop them; return the rows."""
    from .cases import CASES
    from .engines import start_engines, stop_engines

    engines, notes = start_engines(
        arguments.engine_list,
        threads,
        arguments.minigrad_form,
        arguments.system_malloc,
        arguments.pythons,
    )
    try:
        meta = {name: engine.meta for name, engine in engines.items()}
        print(f"threads={threads}: " + ", ".join(_version(m) for m in meta.values()), flush=True)
        for note in notes:
            print(f"  note: {note}", flush=True)
        settings = Settings(threads, arguments.repeat, arguments.long_repeat)
        rows = []
        for case in arguments.case_list:
            rows += CASES[case](engines, settings)
    finally:
        stop_engines(engines)
    return {"meta": meta, "notes": notes, "rows": [asdict(row) for row in rows]}


def _version(meta: dict) -> str:
    form = f" (MLP as {meta['minigrad_mlp_form']})" if meta["minigrad_mlp_form"] else ""
    return f"{meta['engine']} {meta['version']}{form}"


def interleave_rows(runs: list[dict]) -> list[dict]:
    """Rows grouped by case, one per thread count, in the order the cases ran."""
    rows = []
    for group in zip(*(run["rows"] for run in runs)):
        rows.extend(group)
    return rows


def _allocator(meta: dict) -> str:
    fixed = {k: v for k, v in meta["allocator_variables"].items() if v is not None}
    if not fixed:
        return "glibc malloc defaults"
    return ", ".join(f"{name}={value}" for name, value in fixed.items())


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    # This process compares gradients with NumPy and computes nothing else: one BLAS thread, so
    # it starts no idle ones beside the engines'.
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    busy = os.getloadavg()[0]
    if busy > 0.5:
        print(
            f"note: the load average is {busy:.1f} before the run; other processes compete for "
            "the cores and the figures will be noisy",
            flush=True,
        )
    began = time.perf_counter()
    runs = [run_thread_count(arguments, threads) for threads in arguments.thread_list]
    meta = runs[0]["meta"]
    reference = meta["numpy"]
    versions = {name: m["version"] for name, m in meta.items()}
    form = meta["minigrad"]["minigrad_mlp_form"] if "minigrad" in meta else "-"
    print()
    print(
        f"{reference['machine']}, Python {reference['python']}, numpy {versions['numpy']}, "
        f"torch {versions.get('torch', 'absent')}, jax {versions.get('jax-jit', 'absent')}, "
        f"minigrad {versions.get('minigrad', 'absent')} "
        f"(MLP steps as {form}); each engine in its own process, all on CPUs "
        f"{_cpu_sets(runs)}; medians of {arguments.repeat} "
        f"samples (cases 5 and 9: {arguments.long_repeat}); {_allocator(reference)}; "
        f"{time.perf_counter() - began:.0f} s"
    )
    print()
    print(markdown_table(interleave_rows(runs)))
    for note in runs[0]["notes"]:
        print(f"\nnote: {note}")
    if arguments.json:
        with open(arguments.json, "w") as stream:
            json.dump({"arguments": sys.argv[1:], "runs": runs}, stream, indent=1)


def _cpu_sets(runs: list[dict]) -> str:
    """The CPUs the workers were pinned to, per thread count: '0 (1 thread), 0,1 (2 threads)'."""
    parts = []
    for run in runs:
        text = ",".join(str(cpu) for cpu in run["meta"]["numpy"]["cpus"])
        threads = run["meta"]["numpy"]["threads"]
        parts.append(f"{text} ({threads} thread{'s' if threads > 1 else ''})")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
