"""The noisy secret-number game: batch gradient descent finds theta = 2, and the loss stays > 0.

Lecture 002_aa120863d57339f7.txt, slides 'Adding noise to the game', 'Global loss function' and
'Batch Gradient Descent': data {(2, 3), (3, 6), (5, 5), (8, 12)}, y_hat = x + theta. No theta fits
every point (the differences y - x are 1, 3, 0, 4), so the loss is defined over the whole data set,
L(theta) = 1/N sum_i (x_i + theta - y_i)^2, whose minimum is the mean difference, theta = 2, where
L = (1 + 1 + 4 + 4) / 4 = 2.5 > 0 (the slide's "optimal loss is > 0").
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad.data import datasets


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    x, y = (mg.tensor(array) for array in datasets.noisy_secret_number())
    report("differences y - x", (y - x).numpy())

    lr, steps = 0.25, 8 if args.small else 20
    theta = mg.tensor(5.0, requires_grad=True)
    thetas, losses = [theta.item()], []
    for _ in range(steps):
        loss = ((x + theta - y) ** 2).mean()  # the global (batch) loss over all four points
        loss.backward()
        losses.append(loss.item())
        with mg.no_grad():
            theta.data -= lr * theta.grad
        theta.grad = None
        thetas.append(theta.item())
    with mg.no_grad():
        final_loss = ((x + theta - y) ** 2).mean().item()
    report("theta lr=0.25", thetas)
    report("loss lr=0.25", losses)
    report("theta final", thetas[-1])
    report("loss final", final_loss)
    report("per-point loss at theta=2", ((x + 2 - y) ** 2).numpy())

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    grid = np.linspace(-1, 5, 200)
    for xi, yi in zip(x.numpy(), y.numpy()):
        axes.plot(grid, (xi + grid - yi) ** 2, lw=0.8, label=f"point ({xi:g}, {yi:g})")
    total = np.mean([(xi + grid - yi) ** 2 for xi, yi in zip(x.numpy(), y.numpy())], axis=0)
    axes.plot(grid, total, color="black", lw=2, label="mean loss L(theta)")
    path = np.array(thetas[:6])
    axes.plot(
        path, np.mean([(xi + path - yi) ** 2 for xi, yi in zip(x.numpy(), y.numpy())], 0), "ko"
    )
    axes.set(
        xlabel=r"$\theta$",
        ylabel="loss",
        ylim=(0, 12),
        title="noisy game: minimum 2.5 at theta = 2",
    )
    axes.legend(fontsize=8)
    save(figure, args.out, "noisy_secret_number.png")


if __name__ == "__main__":
    main()
