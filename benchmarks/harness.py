"""The parent's side of the measurements: whose turn it is, the medians, the gradient check.

The engines' processes take the samples (`benchmarks.measure`); this file decides their order and
sums them up. NumPy is imported here only to compare gradients; the parent computes nothing else.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from .engines import EngineProcess


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


def in_turns(takers: dict[Hashable, Callable[[], object]], repeat: int) -> dict[Hashable, list]:
    """Call every taker `repeat` times, taking turns, and collect what each returned.

    The order rotates from one round to the next, so no engine always runs right after the same
    neighbour, and a slow moment of the machine lands on all of them.
    """
    names = list(takers)
    samples: dict[Hashable, list] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(takers[name]())
    return samples


def interleaved_timings(
    engines: dict[str, EngineProcess], key: str, repeat: int, number: int = 1, warmup: int = 2
) -> dict[str, Timing]:
    """Each engine's seconds per call of its workload `key`, `repeat` samples taken in turns.

    One sample is the mean of `number` back-to-back calls, after a full garbage collection.
    """
    for engine in engines.values():
        engine.warm_up(key, warmup)
    takers = {name: (lambda e=engine: e.time(key, number)) for name, engine in engines.items()}
    return {name: summarize(values) for name, values in in_turns(takers, repeat).items()}


def interleaved_phase_samples(
    workloads: dict[Hashable, tuple[EngineProcess, str]], repeat: int
) -> dict[Hashable, list[tuple[float, float]]]:
    """Like `interleaved_timings` for workloads in two phases, forward and backward, timed apart;
    the raw (forward, backward) seconds of each round, in round order.

    `workloads[label] = (engine, key)`; one engine may own several of them, and all take turns.
    One untimed warm-up call each.
    """
    for engine, key in workloads.values():
        engine.warm_up(key, 1)
    takers = {label: (lambda e=e, k=k: e.time_phases(k)) for label, (e, k) in workloads.items()}
    return in_turns(takers, repeat)


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
