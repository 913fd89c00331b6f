"""Backpropagation step by step: one picture of the graph per backward step of a tiny network.

Lecture 001_7c5c639b47bbde7b.txt, slides 'Computing a single neuron' and 'Backward pass?': given
dLoss/dphi, each node turns the gradient of its output into gradients of its inputs, in reverse
order of the forward pass. `viz.backward_frames` runs the engine's real backward and yields one
picture per node it processes (the node in red, every gradient known so far shown), and
`viz.save_frames` writes them as frame_000.svg, frame_001.svg, ... The network is the lecture's
f(x) = sigma(x^T W_1)^T w_0 with two inputs and two hidden neurons, under a squared error.
"""

from __future__ import annotations

import numpy as np
from _common import note, parse_args, report

import minigrad as mg
from minigrad import viz


def tiny_network():
    x = mg.Tensor([[1.0, -2.0]], name="x")
    w1 = mg.Tensor([[0.5, -0.3], [0.2, 0.8]], requires_grad=True, name="W1")
    w0 = mg.Tensor([[1.0], [-1.0]], requires_grad=True, name="w0")
    prediction = (x @ w1).sigmoid() @ w0
    loss = ((prediction - 1.0) ** 2).sum()
    return loss, w1, w0


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    loss, w1, w0 = tiny_network()
    ops = len(mg.autograd.graph_nodes(loss.grad_fn))
    frames = viz.save_frames(loss, args.out / "frames", format="svg")
    for path in frames:
        print(f"wrote {path}")
    if frames and frames[0].suffix == ".dot":
        note("the Graphviz `dot` program is missing: wrote DOT sources instead of pictures")
    report("ops in the graph", ops)
    report("frames written", len(frames))
    report("loss", loss.item())
    report("dLoss/dw0", w0.grad)
    report("dLoss/dW1", w1.grad)

    # The same gradients from a fresh graph through mg.grad, which leaves .grad alone.
    again, w1_again, w0_again = tiny_network()
    check = mg.grad(again, [w1_again, w0_again])
    report(
        "max |frames' backward - mg.grad|",
        max(np.abs(w1.grad - check[0].numpy()).max(), np.abs(w0.grad - check[1].numpy()).max()),
    )


if __name__ == "__main__":
    main()
