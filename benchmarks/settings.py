"""What a run measures and how hard: shared by the parent process and the workers (no NumPy
import here, so the parent never loads a BLAS)."""

from __future__ import annotations

from dataclasses import dataclass

CASE_NAMES = {
    "op_overhead": "1",
    "lecture_mlp": "2",
    "mnist_mlp": "3",
    "wide_mlp": "4",
    "long_chain": "5",
    "peak_memory": "6",
}
ENGINE_NAMES = ("numpy", "torch", "minigrad")
MINIGRAD_FORMS = ("tensors", "modules")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class Settings:
    """How hard to measure: `repeat` samples for cases 1-4, `long_repeat` for case 5; and how
    minigrad's MLP steps are written ('tensors' or 'modules')."""

    threads: int
    repeat: int
    long_repeat: int
    minigrad_form: str = "modules"
