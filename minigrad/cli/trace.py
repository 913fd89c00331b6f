"""`minigrad trace`: the cost of one backward pass, op by op, and the N L d^2 law.

Lecture 001 ('Initialization'), slides 'Computing a single neuron' (O(d) per neuron), 'Cost per
layer' (O(d^2)) and 'Computational complexity' (O(N L d^2) per gradient-descent step). The command
traces one forward and backward pass of an L-layer, width-d MLP on N examples (the cost table),
then measures the backward flops again with d, L and N each doubled and sets them beside
N L d^2: doubling d multiplies the matmul flops by 4, doubling L or N by 2.
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
from minigrad import trace
from minigrad.functional import linear

from .common import UsageError, positive_int

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
MEMORY_LIMIT = 2 * 1024**3  # bytes the traced passes may take, so a typo cannot exhaust memory


def memory_needed(d: int, L: int, N: int) -> int:
    """Bytes of float64 arrays held by the largest traced pass, that of the doubled sizes 2d, 2L
    and 2N: per layer the weight, its gradient and a temporary ((2d)^2 each), and about eight
    activation-sized arrays (2N x 2d: input, output, activation, their gradients)."""
    width, depth, batch = 2 * d, 2 * L, 2 * N
    return 8 * depth * (3 * width * width + 8 * batch * width)


def check_sizes(d: int, L: int, N: int) -> None:
    """UsageError, before any work, when the sizes would need more than MEMORY_LIMIT bytes."""
    needed = memory_needed(d, L, N)
    if needed > MEMORY_LIMIT:
        raise UsageError(
            f"--d {d} --L {L} --N {N} needs about {needed / 1024**3:,.1f} GiB of memory "
            f"(the comparison also traces 2d, 2L and 2N), more than the "
            f"{MEMORY_LIMIT // 1024**3} GiB limit; choose smaller sizes (d * d * L and "
            "N * d * L set the memory)"
        )


def add_parser(subparsers) -> None:
    """Add the `trace` command and its options to the command line."""
    parser = subparsers.add_parser(
        "trace",
        help="trace the cost of backward for an MLP and compare it with N L d^2",
        description="Trace one forward and backward pass of an L-layer, width-d MLP on N "
        "examples: a table of calls, flops and bytes per op, then the backward flops with d, L "
        "and N doubled beside N L d^2. Sizes whose passes would need more than 2 GiB are refused "
        "up front.",
    )
    parser.add_argument("--d", type=positive_int, default=64, help="layer width d (default 64)")
    parser.add_argument("--L", type=positive_int, default=3, help="number of layers L (default 3)")
    parser.add_argument("--N", type=positive_int, default=128, help="examples N (default 128)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="tanh", help="default tanh")
    parser.add_argument(
        "--explain",
        type=int,
        metavar="J",
        help="also print the lecture's derivation for neuron J of the first layer",
    )
    parser.set_defaults(run=run)


def random_layer(d: int) -> tuple[mg.Tensor, mg.Tensor]:
    """(weight, bias) of a width-d layer: N(0, 1/sqrt d) weights, zero bias, both trainable."""
    return (mg.randn(d, d) / np.sqrt(d)).requires_grad_(), mg.zeros(d, requires_grad=True)


def traced_step(d: int, L: int, N: int, activation: str) -> trace.Tracer:
    """Trace forward and backward of the MLP with random weights (the input requires grad, as a
    layer deep in a network would see it, so each layer computes dLoss/dW and dLoss/dx)."""
    x = mg.randn(N, d, requires_grad=True)
    layers = [random_layer(d) for _ in range(L)]
    with trace.Tracer() as tracer:
        h = x
        for weight, bias in layers:
            h = linear(h, weight, bias)
            h = h if activation == "identity" else getattr(h, activation)()
        (h**2).mean().backward()
    return tracer


def run(args: argparse.Namespace) -> int:
    """Trace one training step of the lectures' network, print its costs; the exit status."""
    if args.explain is not None and not 0 <= args.explain < args.d:
        raise UsageError(f"--explain {args.explain}: the layer has neurons 0 to {args.d - 1}")
    d, L, N = args.d, args.L, args.N
    check_sizes(d, L, N)
    mg.manual_seed(0)
    print(f"one forward and backward pass: {L} layers of width d = {d}, N = {N} examples,")
    print(f"{args.activation} activations, loss = mean of squares")
    print(traced_step(d, L, N, args.activation).summary())
    print()
    report = trace.complexity(
        widths=(d, 2 * d), depths=(L, 2 * L), batches=(N, 2 * N), activation=args.activation
    )
    print(report)
    base = report.row(d, L, N)["backward_matmul_flops"]
    print()
    for label, (dd, ll, nn) in (("d", (2 * d, L, N)), ("L", (d, 2 * L, N)), ("N", (d, L, 2 * N))):
        ratio = report.row(dd, ll, nn)["backward_matmul_flops"] / base
        print(f"doubling {label}: backward matmul flops x {ratio:g}")
    if args.explain is not None:
        print()
        layer = random_layer(d)
        trace.explain_neuron(layer, mg.randn(d).numpy(), args.explain, 1.0, args.activation)
    return 0
