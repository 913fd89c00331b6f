"""The nine cases: what each measures, the gradient check before it, and its target.

Every case takes the engines' processes ({name: EngineProcess}, 'numpy' always present) and the
run's settings, has each engine build the case's workload, checks the gradients, has the engines
measure in turns, prints one line per figure as it goes, and returns table rows. A row's values
are in the row's unit, one per engine (None where an engine does not take part).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import problems
from .engines import EngineProcess
from .harness import (
    Timing,
    compare_gradients,
    interleaved_phase_samples,
    interleaved_timings,
    summarize,
)
from .settings import ENGINE_NAMES, Settings

OP_CHAIN_LENGTH = 200
LONG_CHAINS = (10_000, 100_000)


@dataclass
class Row:
    """One line of the final table."""

    case: str
    unit: str
    threads: int
    values: dict[str, float | None]
    target: str = ""
    met: str = ""
    ratios: bool = True  # False where minigrad/engine means nothing (a ratio of ratios)


@dataclass
class Target:
    """minigrad's figure against each reference engine: at most (or at least) `limit` x it."""

    limits: dict[str, float]
    higher_is_better: bool = False
    missing: list[str] = field(default_factory=list)

    def text(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        return ", ".join(f"{sign} {limit:g}x {engine}" for engine, limit in self.limits.items())

    def met(self, values: dict[str, float | None]) -> str:
        mine = values.get("minigrad")
        if mine is None:
            return "n/a"
        verdicts, missing = [], []
        for engine, limit in self.limits.items():
            reference = values.get(engine)
            if reference is None:
                missing.append(engine)
                continue
            ratio = mine / reference
            verdicts.append(ratio >= limit if self.higher_is_better else ratio <= limit)
        if not verdicts:
            return "n/a"
        answer = "yes" if all(verdicts) else "NO"
        return answer + (f" ({', '.join(missing)} n/a)" if missing else "")


def _row(case: str, unit: str, settings: Settings, values: dict, target: Target | None) -> Row:
    row = Row(case, unit, settings.threads, {e: values.get(e) for e in ENGINE_NAMES})
    if target is not None:
        row.target, row.met = target.text(), target.met(row.values)
    return row


def _taking(engines: dict[str, EngineProcess], kind: str) -> dict[str, EngineProcess]:
    """The engines that build workloads of `kind` (the jax-jit engine takes only some)."""
    return {name: engine for name, engine in engines.items() if engine.takes(kind)}


@contextmanager
def _workload(engines: dict[str, EngineProcess], key: str, kind: str, argument) -> Iterator[str]:
    """Every engine builds the workload `key` for the block, and frees it after."""
    for engine in engines.values():
        engine.prepare(key, kind, argument)
    try:
        yield key
    finally:
        for engine in engines.values():
            engine.drop(key)


def _report_gradients(case: str, engines: dict[str, EngineProcess], key: str) -> None:
    """Print, per engine, whether its gradients equal the hand-written NumPy ones."""
    gradients = {name: engine.run(key) for name, engine in engines.items()}
    reference = gradients.pop("numpy")
    for engine, got in gradients.items():
        check = compare_gradients(got, reference)
        verdict = "match" if check.ok else "DO NOT MATCH"
        print(
            f"  check {case}: {engine} gradients {verdict} the NumPy reference "
            f"(max relative difference {check.max_relative_error:.1e})",
            flush=True,
        )


def _print_timings(case: str, timings: dict[str, Timing], scale: float, unit: str) -> None:
    parts = [
        f"{engine} {t.median * scale:.4g} {unit} (IQR {100 * t.spread:.0f}%)"
        for engine, t in timings.items()
    ]
    print(f"  {case}: " + "; ".join(parts), flush=True)


def op_overhead(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 1: a 200-op add/mul/tanh chain on 16 float32 elements, then sum and backward."""
    engines = _taking(engines, "chain")
    with _workload(engines, "op chain", "chain", OP_CHAIN_LENGTH) as key:
        _report_gradients("1 op overhead", engines, key)
        timings = interleaved_timings(engines, key, settings.repeat, number=5)
    _print_timings("1 op overhead (whole chain)", timings, 1e3, "ms")
    per_op = {e: t.median / OP_CHAIN_LENGTH * 1e6 for e, t in timings.items()}
    target = Target({"torch": 1.0, "numpy": 3.0})
    return [_row("1 op overhead, fw+bw per op", "us", settings, per_op, target)]


def _mlp_case(
    label: str, problem: str, engines: dict[str, EngineProcess], settings: Settings, number: int
) -> dict[str, Timing]:
    engines = _taking(engines, "mlp")
    with _workload(engines, problem, "mlp", problem) as key:
        _report_gradients(label, engines, key)
        timings = interleaved_timings(engines, key, settings.repeat, number=number)
    _print_timings(label + " step", timings, 1e3, "ms")
    return timings


def lecture_mlp(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 2: lecture 001's network, d = 8, L = 6, N = 100, tanh, MSE, one GD step."""
    timings = _mlp_case("2 lecture MLP", "lecture_mlp", engines, settings, number=10)
    values = {e: t.median * 1e6 for e, t in timings.items()}
    target = Target({"torch": 0.8, "numpy": 2.0})
    return [_row("2 lecture MLP d=8 L=6 N=100, step", "us", settings, values, target)]


def mnist_mlp(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 3: 784-256-256-10, ReLU, softmax cross-entropy, batch 128, one SGD step."""
    timings = _mlp_case("3 MNIST MLP", "mnist_mlp", engines, settings, number=5)
    values = {e: t.median * 1e3 for e, t in timings.items()}
    target = Target({"numpy": 1.15})  # eager; the tighter 1.03x belongs to the compiled step
    return [_row("3 MLP 784-256-256-10 b128, step", "ms", settings, values, target)]


def wide_mlp(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 4: 1024-1024-1024-10, ReLU, cross-entropy, batch 256: time and achieved GFLOP/s."""
    flops = problems.wide_mlp().flops_per_step
    timings = _mlp_case("4 wide MLP", "wide_mlp", engines, settings, number=1)
    milliseconds = {e: t.median * 1e3 for e, t in timings.items()}
    gigaflops = {e: flops / t.median / 1e9 for e, t in timings.items()}
    print(f"  4 wide MLP: {flops / 1e9:.3f} GFLOP per step", flush=True)
    return [
        _row(
            "4 MLP 1024-1024-1024-10 b256, step",
            "ms",
            settings,
            milliseconds,
            Target({"numpy": 1.1}),
        ),
        _row(
            "4 same, achieved",
            "GFLOP/s",
            settings,
            gigaflops,
            Target({"numpy": 0.9}, higher_is_better=True),
        ),
    ]


def long_chain(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 5: 10,000- and 100,000-op chains on a tiny tensor, forward and backward timed apart."""
    short_length, long_length = LONG_CHAINS
    engines = _taking(engines, "long chain")
    with _workload(engines, "short chain", "chain", short_length) as short:
        _report_gradients(f"5 chain {short_length}", engines, short)
        with _workload(engines, "long chain", "chain", long_length) as long:
            # Both lengths take turns in one loop, so a change in the machine's speed during the
            # run moves both sides of the ratio alike.
            workloads = {
                (name, length): (engine, key)
                for length, key in ((short_length, short), (long_length, long))
                for name, engine in engines.items()
            }
            samples = interleaved_phase_samples(workloads, settings.long_repeat)
    rows = []
    for length in LONG_CHAINS:
        label = f"5 chain {length // 1000}k ops"
        for phase, index in (("forward", 0), ("backward", 1)):
            timings = {e: summarize([s[index] for s in samples[(e, length)]]) for e in engines}
            _print_timings(f"{label} {phase}", timings, 1e3, "ms")
            values = {e: t.median * 1e3 for e, t in timings.items()}
            rows.append(_row(f"{label}, {phase}", "ms", settings, values, None))
    growths = {
        e: summarize(_round_growths(samples[(e, short_length)], samples[(e, long_length)]))
        for e in engines
    }
    _print_timings("5 growth 100k / 10k, median of rounds", growths, 1, "x")
    growth = {e: g.median for e, g in growths.items()}
    # Every engine's time grows about tenfold from memory effects alone on this machine, so the
    # floor is measured, not assumed: minigrad's growth against the hand-written chain's.
    target = Target({"numpy": 1.15})
    return rows + [_row("5 fw+bw time 100k / 10k", "x", settings, growth, target)]


def _round_growths(
    short: list[tuple[float, float]], long: list[tuple[float, float]]
) -> list[float]:
    """Per round, (long fw + bw) / (short fw + bw): the table shows their median.

    Within a round the two lengths ran within a few seconds of each other; the machine's speed
    drifts more than that between rounds (here, by up to twice), and a ratio of two medians
    taken over different rounds carries that drift into the ratio.
    """
    return [sum(b) / sum(a) for a, b in zip(short, long)]


def peak_memory(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 6: tracemalloc peak of one case-3 training step, minigrad against NumPy by hand."""
    traced = _taking(engines, "traced")
    peaks = {}
    with _workload(traced, "mnist_mlp", "mlp", "mnist_mlp") as key:
        _report_gradients("6 peak memory", traced, key)
        for name, engine in traced.items():
            engine.warm_up(key, 1)  # a second step first, so only a steady-state step is traced
            peaks[name] = max(engine.peak_bytes(key) for _ in range(3)) / 2**20
    untraced = [name for name in engines if name not in traced]
    unseen = f" ({', '.join(untraced)}: invisible to tracemalloc)" if untraced else ""
    print(
        "  6 peak memory: " + "; ".join(f"{e} {mib:.2f} MiB" for e, mib in peaks.items()) + unseen,
        flush=True,
    )
    return [_row("6 peak memory, case-3 step", "MiB", settings, peaks, Target({"numpy": 1.3}))]


DATA_PARALLEL_BATCHES = (256, 1024)
DATA_PARALLEL_ROUNDS = 3
SPEEDUP_TARGET = 1.6  # 2 workers against 1 at the largest batch, on an idle 2-core machine


def data_parallel(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 7: steps/s of the 784-256-256-10 MLP at global batch 256 and 1024 on 1 and 2 MPI
    workers, one BLAS thread each, beside a control (two unrelated half-batch processes at
    once), and the time of the gradients' Allreduce alone.

    minigrad only (its own processes, started under mpiexec: `benchmarks.data_parallel`), once,
    at threads=1 (a worker's threads are always 1). Targets, on an idle 2-core machine: 2
    workers at least 1.6x the steps/s of 1 at batch 1024, and the Allreduce under 5% of a step.
    """
    from . import data_parallel as job

    if settings.threads != 1:
        return []
    why = job.unavailable()
    if why is not None:
        print(f"  7 data-parallel: skipped, {why}", flush=True)
        return []
    rows, largest = [], max(DATA_PARALLEL_BATCHES)
    for batch in DATA_PARALLEL_BATCHES:
        step_rows, speedup, two_workers = _data_parallel_batch(job, batch, settings)
        if batch == largest:
            fast_enough = speedup.values["minigrad"] >= SPEEDUP_TARGET
            speedup.target, speedup.met = f">= {SPEEDUP_TARGET}", "yes" if fast_enough else "NO"
            step, exchange = summarize(two_workers["step"]), summarize(two_workers["allreduce"])
            megabytes = two_workers["bytes"] / 1e6
        rows += step_rows + [speedup]
    share = exchange.median / step.median
    print(
        f"  7 allreduce of {megabytes:.2f} MB: {exchange.median * 1e3:.3f} ms (IQR "
        f"{100 * exchange.spread:.0f}%), {100 * share:.1f}% of a b{largest} 2-worker step",
        flush=True,
    )
    label = f"7 allreduce {megabytes:.2f} MB, 2 workers"
    rows.append(_figure_row(label, "ms", settings, exchange.median * 1e3))
    row = _figure_row(f"7 allreduce share of a b{largest} step", "%", settings, 100 * share)
    row.target, row.met = "< 5", "yes" if share < 0.05 else "NO"
    return rows + [row]


def _data_parallel_batch(job, batch: int, settings: Settings) -> tuple[list[Row], Row, dict]:
    """1 worker, 2 workers, and 2 unrelated 1-worker processes on half the batch each computing
    at the same time (the bound for 2 workers, with no exchange), in DATA_PARALLEL_ROUNDS
    alternating rounds of about repeat / rounds samples each, so a change in the machine's load
    lands on all three.

    Returns the steps/s rows, the speed-up row (the median over rounds of each round's ratio of
    medians, as case 5's growth) and the 2 workers' pooled samples."""
    per_round = max(1, settings.repeat // DATA_PARALLEL_ROUNDS)
    pooled: dict[str, dict] = {name: {"step": [], "allreduce": []} for name in SETUPS}
    ratios = []
    for _ in range(DATA_PARALLEL_ROUNDS):
        results = {
            "1 worker": job.measure(1, batch, per_round, number=5),
            "2 workers": job.measure(2, batch, per_round, number=5),
            # the slower of the two: a step of 2 workers waits for the slower one
            "2 lone halves at once": max(
                job.measure_side_by_side(batch // 2, per_round, number=5),
                key=lambda result: summarize(result["step"]).median,
            ),
        }
        for name, result in results.items():
            for key in ("step", "allreduce"):
                pooled[name][key] += result[key]
            pooled[name]["bytes"] = result["bytes"]
        medians = {name: summarize(result["step"]).median for name, result in results.items()}
        ratios.append(medians["1 worker"] / medians["2 workers"])
    rows = []
    for name in SETUPS:
        timing = summarize(pooled[name]["step"])
        _print_timings(f"7 b{batch} {name}, step", {"minigrad": timing}, 1e3, "ms")
        rows.append(_figure_row(f"7 MLP b{batch}, {name}", "steps/s", settings, 1 / timing.median))
    speedup = summarize(ratios)
    _print_timings(f"7 b{batch} speed-up 2 / 1, median of rounds", {"minigrad": speedup}, 1, "x")
    row = _figure_row(f"7 b{batch} speed-up, 2 workers / 1", "x", settings, speedup.median)
    return rows, row, pooled["2 workers"]


SETUPS = ("1 worker", "2 workers", "2 lone halves at once")


def _figure_row(case: str, unit: str, settings: Settings, value: float) -> Row:
    """A row with minigrad's figure alone, no ratios to other engines."""
    return Row(case, unit, settings.threads, {"minigrad": value}, ratios=False)


def lenet_cnn(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 8: a LeNet-5-sized CNN (1x28x28, conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, 10),
    batch 64, one SGD step; then the tracemalloc peak of one step, minigrad against NumPy."""
    engines = _taking(engines, "cnn")
    with _workload(engines, "lenet", "cnn", None) as key:
        _report_gradients("8 LeNet CNN", engines, key)
        timings = interleaved_timings(engines, key, settings.repeat, number=2)
        _print_timings("8 LeNet CNN step", timings, 1e3, "ms")
        traced = _taking(engines, "traced")
        peaks = {}
        for name, engine in traced.items():
            engine.warm_up(key, 1)
            peaks[name] = max(engine.peak_bytes(key) for _ in range(3)) / 2**20
    print("  8 peak memory: " + "; ".join(f"{e} {m:.2f} MiB" for e, m in peaks.items()), flush=True)
    values = {e: t.median * 1e3 for e, t in timings.items()}
    return [
        _row("8 LeNet-5 CNN b64, SGD step", "ms", settings, values, Target(_CNN_LIMITS)),
        _row("8 peak memory, LeNet step", "MiB", settings, peaks, Target({"numpy": 1.5})),
    ]


_CNN_LIMITS = {"torch": 2.0, "numpy": 1.2}


def conv_layer(engines: dict[str, EngineProcess], settings: Settings) -> list[Row]:
    """Case 9: F.conv2d alone, 64 -> 64 channels, 3x3, padding 1, 32x32, batch 32: the forward
    and both gradients per call, and the GFLOP/s that makes."""
    flops = problems.conv_layer().flops
    engines = _taking(engines, "conv")
    with _workload(engines, "conv", "conv", None) as key:
        _report_gradients("9 conv2d", engines, key)
        timings = interleaved_timings(engines, key, settings.long_repeat, number=1)
    _print_timings("9 conv2d fw+bw", timings, 1e3, "ms")
    milliseconds = {e: t.median * 1e3 for e, t in timings.items()}
    gigaflops = {e: flops / t.median / 1e9 for e, t in timings.items()}
    return [
        _row("9 conv2d 64->64 3x3 32x32 b32, fw+bw", "ms", settings, milliseconds,
             Target(_CNN_LIMITS)),
        _row("9 same, achieved", "GFLOP/s", settings, gigaflops,
             Target({"numpy": 1 / 1.2}, higher_is_better=True)),
    ]  # fmt: skip


CASES: dict[str, Callable[[dict[str, EngineProcess], Settings], list[Row]]] = {
    "1": op_overhead,
    "2": lecture_mlp,
    "3": mnist_mlp,
    "4": wide_mlp,
    "5": long_chain,
    "6": peak_memory,
    "7": data_parallel,
    "8": lenet_cnn,
    "9": conv_layer,
}
