"""The cost of `mg.compile`'s first call (record, generate, compile, check), in eager steps.

`python -m benchmarks.first_call [problem]` (default mnist_mlp, case 3) times the median eager
step of the module form, then the first call of a fresh compiled step on its own copy of the
weights, and prints the ratio. Run it in a process of its own: nothing else warms its caches.
"""

from __future__ import annotations

import statistics
import sys
import time

import minigrad as mg

from . import minigrad_compiled_steps, minigrad_steps, problems


def first_call_in_eager_steps(problem_name: str, eager_steps: int = 15) -> tuple[float, float]:
    """(seconds of the first compiled call, that over the median eager step)."""
    problem = problems.MLP_PROBLEMS[problem_name]()
    eager = minigrad_steps.mlp_trainer(problem)
    eager()  # warm: NumPy's and the allocator's first-touch costs are not the recorder's
    samples = []
    for _ in range(eager_steps):
        started = time.perf_counter()
        eager()
        samples.append(time.perf_counter() - started)
    compiled = minigrad_compiled_steps.mlp_trainer(problem)
    started = time.perf_counter()
    compiled()
    first = time.perf_counter() - started
    return first, first / statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "mnist_mlp"
    first, ratio = first_call_in_eager_steps(name)
    print(
        f"{name}: first compiled call {first * 1e3:.1f} ms = {ratio:.1f} eager steps "
        f"(minigrad {mg.__version__})"
    )


if __name__ == "__main__":
    main()
