"""Minibatch gradients: unbiased, with variance falling as 1/B.

Lecture 001_7c5c639b47bbde7b.txt, slides 'Estimating gradients' and 'Minibatch SGD': with
b_1..b_B ~ Uniform(1, N) drawn independently, E[(1/B) sum_i grad Loss(w, x_bi, y_bi)] is the full
gradient, and Var[(1/B) sum_i ...] = (1/B^2) sum_i Var[...] = (1/B) Var[grad Loss(w, x_i, y_i)]:
"the variance decreases with the size of the batch". The script computes every per-example
gradient of a linear model's squared error with minigrad (one backward through a weight repeated
per example), then draws many minibatches of each size B and prints their mean and variance;
B * Var stays flat, which is the 1/B law. One minibatch gradient is also computed directly by
backward through that minibatch's loss, to show it is the mean of its per-example gradients.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad.data import datasets
from minigrad.random import generator


def per_example_gradients(x: mg.Tensor, y: mg.Tensor, w: np.ndarray) -> np.ndarray:
    """Row i: the gradient of (x_i^T w - y_i)^2 with respect to w."""
    repeated = mg.tensor(np.tile(w, (len(x), 1)), requires_grad=True)
    (((x * repeated).sum(axis=1) - y) ** 2).sum().backward()
    return repeated.grad


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    features, targets = datasets.make_regression(n=500, d=3, noise=0.5)
    x = mg.tensor(np.asarray(features, dtype=np.float64))
    y = mg.tensor(np.asarray(targets, dtype=np.float64).reshape(-1))
    w = np.zeros(x.shape[1])
    grads = per_example_gradients(x, y, w)
    full = grads.mean(axis=0)
    report("full gradient", full)

    batch = generator().integers(0, len(x), size=8)
    weight = mg.tensor(w, requires_grad=True)
    (((x[batch] @ weight) - y[batch]) ** 2).mean().backward()
    report(
        "minibatch gradient by backward - mean of its rows",
        np.abs(weight.grad - grads[batch].mean(axis=0)).max(),
    )

    sizes = [1, 2, 4, 8, 16, 32, 64]
    draws = 400 if args.small else 4000
    variances, errors = [], []
    for size in sizes:
        picks = generator().integers(0, len(x), size=(draws, size))
        estimates = grads[picks].mean(axis=1)  # (draws, features)
        variances.append(estimates.var(axis=0).sum())  # total variance over the components
        errors.append(np.abs(estimates.mean(axis=0) - full).max())
    variances = np.array(variances)
    report("draws per B", draws)
    report("B", sizes)
    report("total variance of the minibatch gradient", variances)
    report("B * variance", variances * np.array(sizes))
    report("per-example variance (the B = 1 law's constant)", grads.var(axis=0).sum())
    report("|mean of estimates - full gradient|", errors)

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.loglog(sizes, variances, "o-", label="measured")
    axes.loglog(sizes, grads.var(axis=0).sum() / np.array(sizes), "k--", label="Var_1 / B")
    axes.set(xlabel="batch size B", ylabel="variance of the gradient estimate", title="the 1/B law")
    axes.legend()
    save(figure, args.out, "minibatch_variance.png")


if __name__ == "__main__":
    main()
