"""The in-class exercise: five steps of gradient descent on f(x) = x^2 + 2 from x_0 = 4, eta = 0.25.

Lecture 004_a7d0a04e340c1d1f.txt, slide 'Exercises (In pairs)', with the update of 'Gradient
Descent in 1D', x_{t+1} = x_t - eta f'(x_t). Here f'(x) = 2x, so x_{t+1} = x_t (1 - 2 eta) = x_t / 2
and x_t = 4 * 0.5^t: 4, 2, 1, 0.5, 0.25, 0.125, with f(x_t) = 18, 6, 3, 2.25, 2.0625, 2.015625.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    eta = 0.25
    x = mg.tensor(4.0, requires_grad=True)
    xs, fs, slopes = [], [], []
    for _ in range(6):  # x_0 .. x_5
        f = x**2 + 2
        f.backward()
        xs.append(x.item())
        fs.append(f.item())
        slopes.append(float(x.grad))
        with mg.no_grad():
            x.data -= eta * x.grad
        x.grad = None
    report("x_t", xs)
    report("f(x_t)", fs)
    report("df/dx(x_t)", slopes)
    report("x_t closed form 4*0.5^t", 4 * 0.5 ** np.arange(6))

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(5, 4))
    grid = np.linspace(-4.5, 4.5, 200)
    axes.plot(grid, grid**2 + 2, color="grey")
    axes.plot(xs, fs, "o-", color="C3")
    for t, (xt, ft) in enumerate(zip(xs, fs)):
        axes.annotate(f"t={t}", (xt, ft), textcoords="offset points", xytext=(6, 4))
    axes.set(xlabel="x", ylabel="f(x) = x^2 + 2", title="GD from x0 = 4, eta = 0.25")
    save(figure, args.out, "parabola_exercise.png")


if __name__ == "__main__":
    main()
