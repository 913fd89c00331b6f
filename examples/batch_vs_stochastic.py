"""Batch, stochastic and minibatch gradient descent: their paths on a 2-D loss, their cost.

Lecture 002_aa120863d57339f7.txt, slides 'Batch Gradient Descent', 'Stochastic Gradient Descent'
and 'Mini-batch Gradient Descent'; lecture 004_a7d0a04e340c1d1f.txt, slides 'GD vs SGD' ("SGD made
more progress than GD using each datapoint only once") and 'Exercise (Homework)'; lecture
003_3976390fb7f3ce43.txt, slide 'Asymptotic upper bounds' (cost per iteration O(n d) for GD,
O(d) for SGD). The model is a line y = w x + b, so the loss is a surface over (w, b) and each
method's path can be drawn on its contours. All three see every example once per epoch; they
differ in how many updates they make from it (N / B).

The homework numbers are printed too: a step from x = [4, 3] with gradient [1, 2] and eta = 0.5
lands at [3.5, 2]; the gradients [7, 2], [3, 1], [2, 3], [4, 2], [3, 3] average to [3.8, 2.2],
and the minibatch {2, 4, 5} to [10/3, 2]; 1200 points give 24 updates per epoch at B = 50, 6 at
B = 200, and 38 at B = 32 (the last batch holds 16; 37 with drop_last).
"""

from __future__ import annotations

import time

import numpy as np
from _common import contour, parse_args, pyplot, report, save

import minigrad as mg
from minigrad import optim
from minigrad.data import DataLoader, TensorDataset, datasets

METHODS = {"batch": None, "minibatch B=16": 16, "stochastic B=1": 1}


def run(loader, x_all, y_all, epochs: int, lr: float) -> tuple[np.ndarray, list[float], float]:
    """(path of (w, b) after each update, full loss after each epoch, seconds per epoch)."""
    w = mg.tensor(-2.0, dtype=np.float64, requires_grad=True)
    b = mg.tensor(3.0, dtype=np.float64, requires_grad=True)
    optimizer = optim.SGD([w, b], lr=lr)
    path, losses = [(w.item(), b.item())], []
    started = time.perf_counter()
    for _ in range(epochs):
        for x, y in loader:
            loss = ((w * x + b - y) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            path.append((w.item(), b.item()))
        with mg.no_grad():
            losses.append(((w * x_all + b - y_all) ** 2).mean().item())
    return np.array(path), losses, (time.perf_counter() - started) / epochs


def homework() -> None:
    x, grad = mg.tensor([4.0, 3.0]), mg.tensor([1.0, 2.0])
    report("homework step x - 0.5 grad", (x - 0.5 * grad).numpy())
    grads = mg.tensor([[7.0, 2.0], [3.0, 1.0], [2.0, 3.0], [4.0, 2.0], [3.0, 3.0]])
    report("homework full gradient", grads.mean(axis=0).numpy())
    report("homework minibatch {2,4,5} gradient", grads[[1, 3, 4]].mean(axis=0).numpy())
    points = TensorDataset(mg.zeros(1200, 1), mg.zeros(1200))
    report(
        "updates per epoch, n=1200, B=50 200 32",
        [len(DataLoader(points, batch_size=b)) for b in (50, 200, 32)],
    )
    report(
        "updates per epoch, B=32 drop_last", len(DataLoader(points, batch_size=32, drop_last=True))
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    homework()
    mg.manual_seed(0)
    features, targets = datasets.make_regression(n=200 if args.small else 400, d=1, noise=0.3)
    x_all = mg.tensor(np.asarray(features, dtype=np.float64).reshape(-1))
    y_all = mg.tensor(np.asarray(targets, dtype=np.float64).reshape(-1))
    dataset = TensorDataset(x_all, y_all)
    epochs = 3 if args.small else 5
    results = {}
    for name, size in METHODS.items():
        loader = DataLoader(dataset, batch_size=size or len(dataset), shuffle=True)
        path, losses, seconds = run(loader, x_all, y_all, epochs, lr=0.05)
        results[name] = path
        report(f"updates per epoch, {name}", len(loader))
        report(f"examples per update, {name}", size or len(dataset))
        report(f"full loss after each epoch, {name}", losses)
        report(f"seconds per epoch, {name}", seconds)

    plt = pyplot()
    if plt is None:
        return
    xs, ys = x_all.numpy(), y_all.numpy()
    figure, axes = plt.subplots(figsize=(6, 5))
    contour(axes, np.vectorize(lambda w, b: np.mean((w * xs + b - ys) ** 2)), (-3, 3), (-2, 4))
    for name, path in results.items():
        axes.plot(*path.T, "-", lw=1, marker="." if len(path) < 50 else None, label=name)
    axes.set(xlabel="w", ylabel="b", title=f"{epochs} epochs, learning rate 0.05")
    axes.legend()
    save(figure, args.out, "batch_vs_stochastic.png")


if __name__ == "__main__":
    main()
