"""Line search against a fixed learning rate on an ill-conditioned quadratic.

Lecture 003_3976390fb7f3ce43.txt, slide 'Gradient descent: Learning rate': "optimal alpha can be
found via line search, argmin_alpha f(x^(t) - alpha grad f(x^(t)))"; and slide 'Gradient descent:
Orthogonality': the gradient is orthogonal to the level curves. With the exact step, the new point
is where the search line touches a level curve, so each gradient is orthogonal to the previous
one: the path zigzags at right angles. On f(x) = x^T A x / 2 the exact step has a closed form,
alpha* = g^T g / g^T A g, which the script compares with what optim.LineSearch found.

On a quadratic the best fixed step, 2 / (lambda_min + lambda_max) = 0.18 here, converges as fast
as the exact search, but choosing it needs the curvatures; a step picked blind (0.05) crawls. The
line search finds its step at every iteration from function values alone.
"""

from __future__ import annotations

import numpy as np
from _common import contour, parse_args, pyplot, report, save

import minigrad as mg
from minigrad import optim

A = np.diag([1.0, 10.0])
START = (9.0, 1.5)


def f(x: mg.Tensor) -> mg.Tensor:
    return (x * (x @ mg.tensor(A))).sum() / 2


def gradient(point: np.ndarray) -> np.ndarray:
    x = mg.tensor(point, dtype=np.float64, requires_grad=True)
    return mg.grad(f(x), x)[0].numpy()


def descend(make_optimizer, steps: int) -> np.ndarray:
    x = mg.tensor(START, dtype=np.float64, requires_grad=True)
    optimizer = make_optimizer([x])

    def closure():
        optimizer.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    path = [x.numpy().copy()]
    for _ in range(steps):
        optimizer.step(closure)
        path.append(x.numpy().copy())
    return np.array(path)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps = 60 if args.small else 100
    methods = {
        "fixed alpha=0.05": lambda p: optim.SGD(p, lr=0.05),
        "fixed alpha=0.18": lambda p: optim.SGD(p, lr=0.18),
        "backtracking": lambda p: optim.LineSearch(p, method="backtracking"),
        "exact (golden)": lambda p: optim.LineSearch(p, method="golden"),
    }
    paths = {}
    for name, make in methods.items():
        path = descend(make, steps)
        paths[name] = path
        values = [f(mg.tensor(p)).item() for p in path]
        below = np.flatnonzero(np.array(values) < 1e-6)
        report(f"steps to f < 1e-6, {name}", below[0] if len(below) else -1)
        report(f"f after 10 steps, {name}", values[10])
        if name.startswith("exact"):
            grads = [gradient(point) for point in path[:7]]
            g0 = grads[0]
            report(
                "first step: exact alpha*, line search's alpha",
                g0 @ g0 / (g0 @ A @ g0),
                np.linalg.norm(path[1] - path[0]) / np.linalg.norm(g0),
            )
            cosines = [
                a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
                for a, b in zip(grads[:5], grads[1:6])
            ]
            report("cos between consecutive gradients, exact search", cosines)

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(7, 4))
    contour(axes, lambda a, b: (a**2 + 10 * b**2) / 2, (-10, 10), (-3, 3))
    for name, path in paths.items():
        axes.plot(*path[:15].T, "o-", ms=3, lw=1, label=name)
    axes.set_aspect("equal")
    axes.set(xlabel="x1", ylabel="x2", title="f = (x1^2 + 10 x2^2)/2")
    axes.legend(fontsize=8)
    save(figure, args.out, "line_search.png")


if __name__ == "__main__":
    main()
