"""What an engine's process measures of one call: its time, its two phases' times, its peak memory.

Runs inside the engine's own process. The parent decides the order of the samples; this file only
takes them.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable


def seconds_per_call(call: Callable[[], object], number: int) -> float:
    """The mean of `number` back-to-back calls.

    A full garbage collection before the sample (untimed) starts from the same clean heap every
    time; the collections the calls themselves trigger are part of their cost.
    """
    gc.collect()
    start = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - start) / number


def seconds_per_phase(
    forward: Callable[[], object], backward: Callable[[object], object]
) -> tuple[float, float]:
    """The seconds `forward()` took and the seconds `backward(forward())` took after it."""
    gc.collect()
    start = time.perf_counter()
    state = forward()
    middle = time.perf_counter()
    backward(state)
    end = time.perf_counter()
    del state
    return middle - start, end - middle


def peak_traced_bytes(call: Callable[[], object]) -> int:
    """The peak of memory allocated through Python's and NumPy's allocators during `call`.

    tracemalloc sees NumPy's data buffers as well as Python objects; whatever existed before
    tracing starts (data, weights) is not counted, and neither is memory PyTorch allocates.
    """
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak
