"""The secret-number game by gradient descent: lr 1 bounces, lr 0.75 converges.

Lecture 002_aa120863d57339f7.txt, slides 'Process', 'Loss function', 'Gradient Descent (first
try)' and 'Gradient Descent (second try)': data {(2, 4), (3, 5), (5, 7), (8, 10)}, model
y_hat = x + theta, squared error, so every point gives the same loss (theta - 2)^2 with slope
2 theta - 4. From theta_0 = 5:

- lr 1 gives 5, -1, 5, -1, ... forever (the first try);
- lr 0.75 gives 0.5, 2.75, 1.625, ... -> 2. The second-try slide prints theta_2 = 2.25 and
  theta_3 = 1.875: it writes the update 0.75 * 3 = 2.25 down as theta_2 (theta_2 is
  0.5 + 2.25 = 2.75). This script prints the correct values and says so.
"""

from __future__ import annotations

import numpy as np
from _common import note, parse_args, pyplot, report, save

import minigrad as mg
from minigrad.data import datasets


def descend(x: mg.Tensor, y: mg.Tensor, theta0: float, lr: float, steps: int) -> tuple:
    """theta_t, loss and slope per step of theta <- theta - lr dL/dtheta, L = mean (x+theta-y)^2."""
    theta = mg.tensor(theta0, requires_grad=True)
    thetas, losses, slopes = [theta0], [], []
    for _ in range(steps):
        loss = ((x + theta - y) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        slopes.append(float(theta.grad))
        with mg.no_grad():
            theta.data -= lr * theta.grad
        theta.grad = None
        thetas.append(theta.item())
    return np.array(thetas), np.array(losses), np.array(slopes)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    x, y = (mg.tensor(array) for array in datasets.secret_number())
    steps = 6 if args.small else 12
    report("data x", x.numpy())
    report("data y", y.numpy())

    bouncing, bouncing_loss, bouncing_slope = descend(x, y, 5.0, 1.0, steps)
    report("theta lr=1", bouncing)
    report("slope lr=1", bouncing_slope)
    report("loss lr=1", bouncing_loss)

    converging, converging_loss, converging_slope = descend(x, y, 5.0, 0.75, steps)
    report("theta lr=0.75", converging)
    report("slope lr=0.75", converging_slope)
    report("loss lr=0.75", converging_loss)
    note(
        "lecture 002, slide 'Gradient Descent (second try)' prints theta_2 = 2.25 and "
        "theta_3 = 1.875; 2.25 is the update 0.75 * 3, so theta_2 = 0.5 + 2.25 = "
        f"{converging[2]:g} and theta_3 = {converging[3]:g}"
    )

    plt = pyplot()
    if plt is None:
        return
    figure, (curve, history) = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.linspace(-2, 6, 200)
    curve.plot(grid, (grid - 2) ** 2, color="grey", label=r"$(\theta - 2)^2$")
    for thetas, lr, style in ((bouncing, 1.0, "o--"), (converging, 0.75, "s-")):
        curve.plot(thetas[:5], (thetas[:5] - 2) ** 2, style, label=f"lr {lr}")
        history.plot(thetas, style, label=f"lr {lr}")
    curve.set(xlabel=r"$\theta$", ylabel="loss", title="loss curve and the first steps")
    history.axhline(2, color="grey", lw=0.8)
    history.set(xlabel="step t", ylabel=r"$\theta_t$", title="secret number: theta per step")
    curve.legend()
    history.legend()
    save(figure, args.out, "secret_number.png")


if __name__ == "__main__":
    main()
