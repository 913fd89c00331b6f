"""Timing, gradient comparison and peak-memory measurement shared by every case.

Runs inside the worker process, after the thread variables are set, so importing NumPy here is
safe.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Timing:
    """The seconds one call took: median and quartiles over the repeats."""

    median: float
    low_quartile: float
    high_quartile: float

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median: how noisy the figure is."""
        return (self.high_quartile - self.low_quartile) / self.median if self.median else 0.0


def summarize(samples: Sequence[float]) -> Timing:
    if len(samples) < 4:
        return Timing(statistics.median(samples), min(samples), max(samples))
    low, _, high = statistics.quantiles(samples, n=4)
    return Timing(statistics.median(samples), low, high)


def interleaved_timings(
    calls: dict[str, Callable[[], object]], repeat: int, number: int = 1, warmup: int = 2
) -> dict[str, Timing]:
    """Time every call `repeat` times, taking turns between engines within each repeat.

    One sample is the mean of `number` back-to-back calls. The engines' order rotates from one
    repeat to the next, so none always runs right after the same neighbour. A full garbage
    collection before each sample (untimed) starts every engine from the same clean heap; the
    collections an engine triggers during its own sample are part of its cost.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            call = calls[name]
            gc.collect()
            start = time.perf_counter()
            for _ in range(number):
                call()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: summarize(values) for name, values in samples.items()}


def interleaved_phase_timings(
    phases: dict[str, tuple[Callable[[], object], Callable[[object], object]]], repeat: int
) -> dict[str, tuple[Timing, Timing]]:
    """Like `interleaved_timings` for a call in two phases, forward then backward, timed apart.

    `phases[name] = (forward, backward)`; `backward` receives what `forward` returned. One
    untimed warm-up run per engine.
    """
    for forward, backward in phases.values():
        backward(forward())
    names = list(phases)
    forward_samples: dict[str, list[float]] = {name: [] for name in names}
    backward_samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            forward, backward = phases[name]
            gc.collect()
            start = time.perf_counter()
            state = forward()
            middle = time.perf_counter()
            backward(state)
            end = time.perf_counter()
            del state
            forward_samples[name].append(middle - start)
            backward_samples[name].append(end - middle)
    return {
        name: (summarize(forward_samples[name]), summarize(backward_samples[name]))
        for name in names
    }


@dataclass(frozen=True)
class GradientCheck:
    """Whether an engine's gradients equal the reference ones, and by how much they differ."""

    ok: bool
    max_relative_error: float


def compare_gradients(
    got: Sequence[np.ndarray], reference: Sequence[np.ndarray], rtol: float = 1e-4
) -> GradientCheck:
    """allclose of every gradient, with the absolute tolerance scaled to the reference's size.

    float32 sums taken in a different order (another BLAS, another fusion) differ by a few ulps
    of the largest term, so `atol` is `rtol * max|reference|` per array; a wrong formula is off
    by far more than that.
    """
    ok = len(got) == len(reference)
    worst = 0.0
    for value, expected in zip(got, reference):
        value = np.asarray(value)
        if value.shape != expected.shape:
            return GradientCheck(False, float("inf"))
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        atol = rtol * max(scale, np.finfo(np.float32).tiny)
        ok = ok and bool(np.allclose(value, expected, rtol=rtol, atol=atol))
        error = float(np.max(np.abs(value.astype(np.float64) - expected))) if value.size else 0.0
        worst = max(worst, error / scale if scale else error)
    return GradientCheck(ok, worst)


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
