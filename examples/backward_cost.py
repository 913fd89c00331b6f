"""The cost of backpropagation: O(d) per neuron, O(d^2) per layer, O(N L d^2) per step.

Lecture 001_7c5c639b47bbde7b.txt, slides 'Computing a single neuron' (given dLoss/dphi:
dLoss/dz = dLoss/dphi sigma'(z) in O(1), then dLoss/dw_i = dLoss/dz x_i and dLoss/dx_i =
dLoss/dz w_i, O(1) per entry, O(d) in all), 'Cost per layer' (d neurons: O(d^2); L layers:
O(L d^2); N examples: O(N L d^2) per gradient-descent step) and 'Computational complexity' (the
example network: d = 8 neurons, L = 6 layers, N ~ 100 observations). The tracer counts the flops
the engine really performs: the matmul part of backward is exactly 4 N L d^2 (dLoss/dW and
dLoss/dx, 2 N d^2 each per layer), so doubling d multiplies it by 4, doubling L or N by 2.
The AlexNet slide's one-step arithmetic, (10)(10,000,000)(4000 x 4000), is 1.6e15.
"""

from __future__ import annotations

from _common import parse_args, report

import minigrad as mg
from minigrad import trace


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    d = 8
    layer = ((mg.randn(d, 4) / d**0.5).requires_grad_(), mg.zeros(4, requires_grad=True))
    explanation = trace.explain_neuron(
        layer, mg.randn(d).numpy(), j=1, upstream=0.5, activation="tanh"
    )
    report(
        "neuron backward flops dz dw dx",
        [explanation.operations[k] for k in ("dLoss/dz", "dLoss/dw", "dLoss/dx")],
    )
    report("neuron matches the engine", float(explanation.matches))

    lecture = trace.complexity(widths=(8,), depths=(6,), batches=(100,), activation="tanh")
    row = lecture.row(8, 6, 100)
    report("lecture network d=8 L=6 N=100: N L d^2", row["NLd2"])
    report(
        "lecture network: backward flops, matmul part",
        row["backward_flops"],
        row["backward_matmul_flops"],
    )

    widths, depths, batches = (
        ((8, 16), (2, 4), (16, 32)) if args.small else ((16, 32, 64), (2, 4, 8), (32, 64, 128))
    )
    measured = trace.complexity(
        widths=widths,
        depths=depths,
        batches=batches,
        activation="tanh",
        plot=args.out / "backward_cost.png",
    )
    print(measured)
    d0, L0, N0 = widths[0], depths[0], batches[0]
    base = measured.row(d0, L0, N0)["backward_matmul_flops"]
    report("backward matmul flops / (N L d^2)", base / (N0 * L0 * d0 * d0))
    report("x when d doubles", measured.row(2 * d0, L0, N0)["backward_matmul_flops"] / base)
    report("x when L doubles", measured.row(d0, 2 * L0, N0)["backward_matmul_flops"] / base)
    report("x when N doubles", measured.row(d0, L0, 2 * N0)["backward_matmul_flops"] / base)
    report("full-batch step / SGD step", measured.gd_vs_sgd[(d0, L0, max(batches))])
    report("AlexNet one step L N d^2", 10 * 10_000_000 * 4000 * 4000)


if __name__ == "__main__":
    main()
