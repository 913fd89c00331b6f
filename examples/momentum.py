"""Momentum on an ill-conditioned quadratic, its two update forms, and its unrolled sum.

Lecture 003_3976390fb7f3ce43.txt, slides 'Decay and momentum' (v <- lambda v - alpha grad f(x),
x <- x + v; step length -> alpha ||grad f|| / (1 - lambda) when gradients align) and
'First-order acceleration methods' (the unrolled form x^(t+1) = x^(0) - alpha sum_i
(1 - lambda^(t+1-i)) / (1 - lambda) grad f(x^(i))); lecture 004_a7d0a04e340c1d1f.txt, slide
'Adding Momentum' (g_t = beta g_(t-1) + grad f(x_t), x_(t+1) = x_t - eta g_t, PyTorch's form,
which `optim.SGD(momentum=...)` implements). At a constant learning rate the two forms give the
same iterates (v = -alpha g); this script checks that, and the unrolled sum, to float64 precision.

The loss is f(x) = (x_1^2 + kappa x_2^2) / 2 with kappa = 25: plain gradient descent at its best
fixed step 2 / (1 + kappa) shrinks the error by (kappa - 1)/(kappa + 1) = 0.923 a step; heavy-ball
momentum with alpha = (2 / (1 + sqrt kappa))^2 and lambda = ((sqrt kappa - 1)/(sqrt kappa + 1))^2
shrinks it by (sqrt kappa - 1)/(sqrt kappa + 1) = 0.667 a step.
"""

from __future__ import annotations

import numpy as np
from _common import contour, parse_args, pyplot, report, save

import minigrad as mg
from minigrad import optim

KAPPA = 25.0
START = (10.0, 1.0)


def loss(x: mg.Tensor) -> mg.Tensor:
    return (x[0] ** 2 + KAPPA * x[1] ** 2) / 2


def lecture_form(alpha: float, lam: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """v <- lambda v - alpha grad, x <- x + v; returns the iterates and the gradients used."""
    x = mg.tensor(START, dtype=np.float64, requires_grad=True)
    v = np.zeros(2)
    path, grads = [x.numpy().copy()], []
    for _ in range(steps):
        (grad,) = mg.grad(loss(x), x)
        grads.append(grad.numpy())
        v = lam * v - alpha * grad.numpy()
        with mg.no_grad():
            x.data += v
        path.append(x.numpy().copy())
    return np.array(path), np.array(grads)


def optimizer_path(alpha: float, momentum: float, steps: int) -> np.ndarray:
    """The same descent through optim.SGD (momentum=0 is plain gradient descent)."""
    x = mg.tensor(START, dtype=np.float64, requires_grad=True)
    optimizer = optim.SGD([x], lr=alpha, momentum=momentum)
    path = [x.numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss(x).backward()
        optimizer.step()
        path.append(x.numpy().copy())
    return np.array(path)


def unrolled(alpha: float, lam: float, grads: np.ndarray) -> np.ndarray:
    """x^(t+1) = x^(0) - alpha sum_{i<=t} (1 - lambda^(t+1-i)) / (1 - lambda) grad f(x^(i))."""
    start = np.array(START)
    path = [start]
    for t in range(len(grads)):
        weights = (1 - lam ** (t + 1 - np.arange(t + 1))) / (1 - lam)
        path.append(start - alpha * (weights[:, None] * grads[: t + 1]).sum(axis=0))
    return np.array(path)


def steps_to(path: np.ndarray, tolerance: float) -> int:
    close = np.flatnonzero(np.linalg.norm(path, axis=1) < tolerance)
    return int(close[0]) if len(close) else -1


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps = 150 if args.small else 300
    root = np.sqrt(KAPPA)
    alpha_gd = 2 / (1 + KAPPA)
    alpha, lam = (2 / (1 + root)) ** 2, ((root - 1) / (root + 1)) ** 2

    heavy_ball, grads = lecture_form(alpha, lam, steps)
    pytorch_form = optimizer_path(alpha, lam, steps)
    plain = optimizer_path(alpha_gd, 0.0, steps)
    report("alpha lambda", alpha, lam)
    report("max |lecture form - optim.SGD|", np.abs(heavy_ball - pytorch_form).max())
    report(
        "max |lecture form - unrolled sum|", np.abs(heavy_ball - unrolled(alpha, lam, grads)).max()
    )
    report("steps to |x| < 1e-3, gradient descent", steps_to(plain, 1e-3))
    report("steps to |x| < 1e-3, momentum", steps_to(heavy_ball, 1e-3))
    report(
        "contraction per step, theory GD momentum",
        (KAPPA - 1) / (KAPPA + 1),
        (root - 1) / (root + 1),
    )

    # On a constant slope the velocity settles at alpha |grad| / (1 - lambda).
    slope = mg.tensor([1.0, 0.0], dtype=np.float64)
    x = mg.tensor([0.0, 0.0], dtype=np.float64, requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1, momentum=0.9)
    for _ in range(200):
        previous = x.numpy().copy()
        optimizer.zero_grad()
        (x * slope).sum().backward()
        optimizer.step()
    report(
        "step length / (alpha |grad|) on a slope, lambda=0.9", np.abs(x.numpy() - previous)[0] / 0.1
    )

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    contour(axes[0], lambda a, b: (a**2 + KAPPA * b**2) / 2, (-11, 11), (-3, 3))
    axes[0].plot(*plain[:40].T, "o-", ms=3, label="gradient descent")
    axes[0].plot(*heavy_ball[:40].T, "s-", ms=3, label="momentum")
    axes[0].set(title=f"f = (x1^2 + {KAPPA:g} x2^2)/2", xlabel="x1", ylabel="x2")
    axes[0].legend()
    axes[1].semilogy(np.linalg.norm(plain, axis=1), label="gradient descent")
    axes[1].semilogy(np.linalg.norm(heavy_ball, axis=1), label="momentum")
    axes[1].set(xlabel="step", ylabel="|x - x*|", title="distance to the minimum")
    axes[1].legend()
    save(figure, args.out, "momentum.png")


if __name__ == "__main__":
    main()
