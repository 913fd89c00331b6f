"""What a run measures and how hard: shared by the parent process and the engines' workers. No
NumPy import here: the parent pins its own threads before it first loads NumPy."""

from __future__ import annotations

from dataclasses import dataclass

CASE_NAMES = {
    "op_overhead": "1",
    "lecture_mlp": "2",
    "mnist_mlp": "3",
    "wide_mlp": "4",
    "long_chain": "5",
    "peak_memory": "6",
    "data_parallel": "7",
    "lenet_cnn": "8",
    "conv_layer": "9",
}
ENGINE_NAMES = ("numpy", "torch", "jax-jit", "minigrad", "minigrad-compiled")
# The workloads an engine builds unless its module lists fewer in `KINDS`.
ALL_KINDS = ("chain", "long chain", "mlp", "cnn", "conv", "traced")
MINIGRAD_FORMS = ("tensors", "modules")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# glibc's malloc serves blocks above a moving threshold with fresh mmaps and gives the top of its
# heap back to the OS once enough of it is free; the next step then page-faults it back in, at a
# few microseconds a page on a VM. How many pages a step faults depends on the heap's layout,
# which any allocation in the process shifts: the same hand-written NumPy step of case 3 took 0
# or 260 faults a step depending on unrelated code run before it. Fixed thresholds keep freed
# memory in the heap, so every engine's step is timed from retained memory (`--system-malloc`
# turns this off; values the user has set are kept).
ALLOCATOR_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": "268435456", "MALLOC_TRIM_THRESHOLD_": "268435456"}


@dataclass
class Settings:
    """How hard to measure: `repeat` samples for cases 1-4, 7 and 8, `long_repeat` for case 5 and
    (as a step of case 9 takes a tenth of a second or more) for case 9."""

    threads: int
    repeat: int
    long_repeat: int
