"""Learning rate too small, good, and too large, on the same loss.

Lecture 001_7c5c639b47bbde7b.txt, slide 'Visualizing learning rates' ("a small learning rate means
we will move slowly ... a too-large learning rate means that steps may take us flying past the
minimum"); lecture 002_aa120863d57339f7.txt, slide 'Learning Rate'; lecture
004_a7d0a04e340c1d1f.txt, second question of 'Exercises (In pairs)'. On f(x) = x^2 + 2 the update
is x <- (1 - 2 eta) x, so eta = 0.05 shrinks the distance by 0.9 a step (slow), eta = 0.45 by 0.1
(fast), eta = 0.5 lands on the minimum in one step, 0.5 < eta < 1 overshoots but converges, and
eta = 1.05 multiplies the distance by -1.1 each step: it flies past the minimum and diverges.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg

RATES = {"too small": 0.05, "good": 0.45, "overshooting": 0.9, "too large": 1.05}


def descend(eta: float, steps: int) -> list[float]:
    x = mg.tensor(4.0, requires_grad=True)
    path = [x.item()]
    for _ in range(steps):
        (x**2 + 2).backward()
        with mg.no_grad():
            x.data -= eta * x.grad
        x.grad = None
        path.append(x.item())
    return path


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps = 10 if args.small else 20
    paths = {}
    for label, eta in RATES.items():
        paths[label] = descend(eta, steps)
        report(f"x_t eta={eta}", paths[label])
        report(f"factor per step eta={eta}", 1 - 2 * eta)
        report(f"f final eta={eta}", paths[label][-1] ** 2 + 2)

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(1, len(RATES), figsize=(14, 3.5), sharey=True)
    grid = np.linspace(-6, 6, 200)
    for ax, (label, path) in zip(axes, paths.items()):
        shown = np.clip(np.array(path[:8]), -6, 6)
        ax.plot(grid, grid**2 + 2, color="grey")
        ax.plot(shown, shown**2 + 2, "o-", ms=4)
        ax.set(title=f"{label}: eta = {RATES[label]}", xlabel="x", ylim=(0, 40))
    axes[0].set_ylabel("f(x) = x^2 + 2")
    save(figure, args.out, "learning_rates.png")


if __name__ == "__main__":
    main()
