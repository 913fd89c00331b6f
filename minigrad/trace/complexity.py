"""`complexity`: measured backward flops of L-layer, width-d MLPs on N examples beside N L d^2."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from .. import factories
from ..functional import linear
from .tracer import Tracer

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")


@dataclass
class ComplexityReport:
    """Rows of measured flops per (d, L, N), the N L d^2 law beside them, and the GD/SGD ratios.

    Each row: d, L, N, forward_flops, backward_flops, backward_matmul_flops, NLd2 (= N L d^2) and
    ratio (= backward_flops / N L d^2). `gd_vs_sgd` maps (d, L, N) to the backward flops of a
    full-batch step on N examples over those of an SGD step on one example: exactly N.
    """

    activation: str
    rows: list = field(default_factory=list)
    gd_vs_sgd: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def row(self, d: int, L: int, N: int) -> dict:
        """The measured row for width d, depth L and batch N."""
        for row in self.rows:
            if (row["d"], row["L"], row["N"]) == (d, L, N):
                return row
        raise KeyError(f"no measurement for d={d}, L={L}, N={N}")

    def table(self) -> str:
        """Every row as a text table: measured flops beside the lecture's N L d^2."""
        header = (
            f"{'d':>6} {'L':>4} {'N':>6} {'forward flops':>15} {'backward flops':>15} "
            f"{'bwd matmul':>14} {'N L d^2':>12} {'bwd / NLd^2':>12}"
        )
        lines = [header]
        for r in self.rows:
            lines.append(
                f"{r['d']:>6} {r['L']:>4} {r['N']:>6} {r['forward_flops']:>15,} "
                f"{r['backward_flops']:>15,} {r['backward_matmul_flops']:>14,} "
                f"{r['NLd2']:>12,} {r['ratio']:>12.3f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        lines = [
            f"backward flops of L layers x^T W + b -> {self.activation}, width d, N examples",
            "(Lecture 001 'Initialization', slides 'Cost per layer' and "
            "'Computational complexity')",
            self.table(),
            "the matmul part is exactly 4 N L d^2 (dLoss/dW and dLoss/dx, 2 N d^2 each per layer);",
            f"the rest, bias and activation gradients, is {self._per_unit():g} N L d, which fades "
            "as d grows.",
        ]
        for (d, L, N), ratio in self.gd_vs_sgd.items():
            lines.append(
                f"full-batch GD step (N = {N}) / SGD step (N = 1) at d = {d}, L = {L}: "
                f"{ratio:g} = N"
            )
        return "\n".join(lines + self.notes)

    def _per_unit(self) -> float:
        """Backward flops outside matmuls per unit per example (1 for the bias sum, plus the
        activation's derivative: 3 for tanh and sigmoid, 2 for relu, 0 for identity)."""
        r = self.rows[0]
        return (r["backward_flops"] - r["backward_matmul_flops"]) / (r["N"] * r["L"] * r["d"])

    def plot(self, path) -> str | None:
        """Backward flops against N L d^2 on log axes, written to `path`; returns a note instead
        when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from matplotlib.ticker import NullFormatter
        except ImportError:
            return "matplotlib is not installed (pip install matplotlib): no plot written"
        law = [r["NLd2"] for r in self.rows]
        figure, axes = plt.subplots(figsize=(5, 4))
        axes.loglog(law, [r["backward_flops"] for r in self.rows], "o", label="measured backward")
        axes.loglog(sorted(law), [4 * n for n in sorted(law)], "-", label="4 N L d^2")
        axes.set(xlabel="N L d^2", ylabel="flops", title=f"backward cost, {self.activation} MLP")
        for axis in (axes.xaxis, axes.yaxis):  # minor-tick labels overlap on a short log range
            axis.set_minor_formatter(NullFormatter())
        axes.legend()
        figure.tight_layout()
        figure.savefig(Path(path), dpi=110)
        plt.close(figure)
        return None


def measure(d: int, L: int, N: int, activation: str = "tanh") -> dict:
    """Trace one forward and backward of an L-layer, width-d MLP on N examples.

    The input requires grad, as a layer inside a deeper network would see it, so every layer
    computes both dLoss/dW and dLoss/dx. The loss is the sum of the outputs, whose backward is a
    broadcast (0 flops), so the backward count is the layers' alone. The weights are constant
    1/d: values do not change a flop count, and the engine's random stream is left alone.
    """
    x = factories.full((N, d), 0.5, requires_grad=True)
    layers = [
        (
            factories.full((d, d), 1.0 / d, requires_grad=True),
            factories.zeros(d, requires_grad=True),
        )
        for _ in range(L)
    ]
    with Tracer() as tracer:
        h = x
        for weight, bias in layers:
            h = linear(h, weight, bias)
            h = h if activation == "identity" else getattr(h, activation)()
        h.sum().backward()
    totals = tracer.totals()
    return {
        "d": d,
        "L": L,
        "N": N,
        "forward_flops": totals["forward_flops"],
        "backward_flops": totals["backward_flops"],
        "backward_matmul_flops": totals["backward_matmul_flops"],
        "NLd2": N * L * d * d,
        "ratio": totals["backward_flops"] / (N * L * d * d),
    }


def complexity(
    widths=(16, 32, 64),
    depths=(1, 2, 4),
    batches=(1, 8, 16),
    activation: str = "tanh",
    plot: str | Path | None = None,
    verbose: bool = False,
) -> ComplexityReport:
    """Measure backward flops over every (d, L, N) and set them beside N L d^2.

    The lecture (001_7c5c639b47bbde7b.txt, 'Computing a single neuron', 'Cost per layer',
    'Computational complexity') derives O(d) per neuron, O(d^2) per layer, O(L d^2) per example
    and O(N L d^2) per full-batch gradient-descent step, against O(L d^2) for an SGD step on one
    example. Measured, doubling d multiplies the matmul flops by exactly 4, doubling L or N by
    exactly 2, and a full-batch step costs exactly N SGD steps.

    Args:
        widths, depths, batches: the d, L and N to measure (every combination).
        activation: 'tanh', 'sigmoid', 'relu' or 'identity'.
        plot: a path for a log-log plot of the measurements (needs matplotlib).
        verbose: print the report.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")
    for name, values in (("widths", widths), ("depths", depths), ("batches", batches)):
        if not values or any(not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {values}")
    report = ComplexityReport(activation)
    for d, L, N in itertools.product(widths, depths, batches):
        report.rows.append(measure(d, L, N, activation))
    largest = max(batches)
    for d, L in itertools.product(widths, depths):
        full = report.row(d, L, largest)["backward_flops"]
        single = measure(d, L, 1, activation)["backward_flops"]
        report.gd_vs_sgd[(d, L, largest)] = full / single
    if plot is not None:
        note = report.plot(plot)
        report.notes.append(note if note else f"plot written to {plot}")
    if verbose:
        print(report)
    return report
