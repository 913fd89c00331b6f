"""Symmetry breaking: two hidden neurons started equal stay equal; started at random they differ.

Lecture 001_7c5c639b47bbde7b.txt, slide 'Symmetry-breaking': the network
f(x) = sigma(x^T W_1)^T w_0 = sigma(x_1 w_11) w_01 + sigma(x_1 w_12) w_02 has
d f / d w_01 = sigma(x_1 w_11) and d f / d w_02 = sigma(x_1 w_12); if w_11 = w_12 = a the two are
equal, so are the updates, and the neurons never become different: "when the network is
initialized with symmetry, the two neurons will always have the same output and our solution is
poor. When initialized randomly, the two neurons can create different transforms and a much
better solution is found."

The script builds exactly that network (no biases, one input, two sigmoid neurons) and fits the
target 2 sigma(3x) - 2 sigma(x/2), which rises and falls again: two different sigmoids fit it
exactly, one sigmoid (what two identical neurons amount to) cannot.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad import nn, optim


def network(constant: bool) -> nn.Sequential:
    model = nn.Sequential(nn.Linear(1, 2, bias=False), nn.Sigmoid(), nn.Linear(2, 1, bias=False))
    if constant:
        for parameter in model.parameters():
            nn.init.constant_(parameter, 0.5)
    return model


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    grid = np.linspace(-4, 4, 81).reshape(-1, 1)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    x = mg.tensor(grid.astype(np.float32))
    y = mg.tensor((2 * sigmoid(3 * grid) - 2 * sigmoid(0.5 * grid)).astype(np.float32))
    steps = 600 if args.small else 1500
    fits = {}
    for name, constant in (("constant", True), ("random", False)):
        model = network(constant)
        nn.functional.mse_loss(model(x), y).backward()
        first = model[2].weight.grad.ravel()  # d loss / d w_01 and d loss / d w_02
        report(f"initial gradients w_01 w_02, {name}", first)
        optimizer = optim.Adam(model.parameters(), lr=0.05)
        for _ in range(steps):
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        hidden, output = model[0].weight.numpy().ravel(), model[2].weight.numpy().ravel()
        report(f"hidden weights w_11 w_12, {name}", hidden)
        report(f"output weights w_01 w_02, {name}", output)
        report(f"final loss, {name}", loss.item())
        with mg.no_grad():
            fits[name] = model(x).numpy().ravel()

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(grid, y.numpy(), "k.", ms=4, label="target 2 sigma(3x) - 2 sigma(x/2)")
    for name, fit in fits.items():
        axes.plot(grid, fit, lw=2, label=f"{name} initialization")
    axes.set(xlabel="x", ylabel="f(x)", title="two hidden sigmoid neurons")
    axes.legend(fontsize=8)
    save(figure, args.out, "symmetry_breaking.png")


if __name__ == "__main__":
    main()
