"""SGD, momentum, Nesterov, Adagrad, RMSprop and Adam: escaping a saddle, and on Rosenbrock.

Lecture 004_a7d0a04e340c1d1f.txt, slides 'Modern Optimizers' ("we see how some of these
optimizers are able to escape saddle points") and 'When Gradient Descent is suboptimal' (local
minima and saddle points). Two surfaces:

- the saddle f(x, y) = x^2 - y^2 + y^4 / 4, started at (1, 1e-3) right beside the ridge: the
  gradient in y is tiny there, so plain gradient descent lingers near the saddle point (0, 0)
  before it falls to one of the minima (0, +-sqrt 2), where f = -1;
- Rosenbrock's valley f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2), minimum f = 0 at (1, 1).

Each optimizer runs with its own learning rate (chosen so that none diverges); the script prints
how many steps each needs to leave the saddle (|y| > 1) and the Rosenbrock loss it reaches.
"""

from __future__ import annotations

import numpy as np
from _common import contour, parse_args, pyplot, report, save

import minigrad as mg
from minigrad import optim

OPTIMIZERS = {
    # name: (factory, learning rate on the saddle, learning rate on Rosenbrock)
    "SGD": (lambda p, lr: optim.SGD(p, lr=lr), 0.05, 1e-3),
    "momentum": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9), 0.05, 1e-3),
    "Nesterov": (lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.05, 1e-3),
    "Adagrad": (lambda p, lr: optim.Adagrad(p, lr=lr), 0.5, 0.5),
    "RMSprop": (lambda p, lr: optim.RMSprop(p, lr=lr), 0.01, 0.01),
    "Adam": (lambda p, lr: optim.Adam(p, lr=lr), 0.05, 0.05),
}


def saddle(p: mg.Tensor) -> mg.Tensor:
    return p[0] ** 2 - p[1] ** 2 + p[1] ** 4 / 4


def rosenbrock(p: mg.Tensor) -> mg.Tensor:
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def descend(make, lr: float, f, start: tuple, steps: int) -> np.ndarray:
    point = mg.tensor(start, dtype=np.float64, requires_grad=True)
    optimizer = make([point], lr)
    path = [point.numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        f(point).backward()
        optimizer.step()
        path.append(point.numpy().copy())
    return np.array(path)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    saddle_steps, rosenbrock_steps = (150, 500) if args.small else (300, 3000)
    saddle_paths, valley_paths = {}, {}
    for name, (make, lr_saddle, lr_valley) in OPTIMIZERS.items():
        path = descend(make, lr_saddle, saddle, (1.0, 1e-3), saddle_steps)
        escaped = np.flatnonzero(np.abs(path[:, 1]) > 1)
        saddle_paths[name] = path
        report(f"saddle steps to |y|>1, {name}", escaped[0] if len(escaped) else -1)
        report(f"saddle final f, {name}", saddle(mg.tensor(path[-1])).item())
        path = descend(make, lr_valley, rosenbrock, (-1.5, 2.0), rosenbrock_steps)
        valley_paths[name] = path
        report(
            f"rosenbrock final f, {name}", rosenbrock(mg.tensor(path[-1], dtype=np.float64)).item()
        )
        report(f"rosenbrock distance to (1,1), {name}", np.linalg.norm(path[-1] - 1))

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(1, 2, figsize=(12, 5))
    contour(axes[0], lambda x, y: x**2 - y**2 + y**4 / 4, (-1.2, 1.2), (-2, 2))
    contour(
        axes[1],
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        (-2, 2),
        (-1, 3),
        levels=np.logspace(-1, 3.5, 25),
    )
    for name in OPTIMIZERS:
        axes[0].plot(*saddle_paths[name].T, lw=1.2, label=name)
        axes[1].plot(*valley_paths[name].T, lw=1.2, label=name)
    axes[0].plot(0, 0, "kx")
    axes[1].plot(1, 1, "k*", ms=10)
    axes[0].set(title="saddle x^2 - y^2 + y^4/4 from (1, 0.001)", xlabel="x", ylabel="y")
    axes[1].set(title="Rosenbrock from (-1.5, 2)", xlabel="x", ylabel="y")
    axes[0].legend(fontsize=8)
    save(figure, args.out, "optimizers.png")


if __name__ == "__main__":
    main()
