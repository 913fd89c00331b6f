"""Dropout's expected value, and the two ways of evaluating a network trained with it.

Lecture 001_7c5c639b47bbde7b.txt, slides 'Dropout' and 'Dropout at evaluation time': with
d_i ~ Bernoulli(1 - r), E[DO_r(x)^T w] = (1 - r) sum_i x_i w_i, so a network evaluated without
dropout sees inputs 1/(1 - r) times larger than in training. Two rules fix the mismatch:

- inverted dropout (PyTorch's, the slides' 'Correct solution'): scale kept units by 1/(1 - r) in
  training, evaluate with the identity;
- the slides' 'Simple (but not quite correct) solution': no scaling in training, multiply by
  (1 - r) at evaluation.

For a linear function both rules match the training expectation exactly. Through a nonlinearity
neither does: E[sigma(z)] != sigma(E[z]), and this script prints the size of that gap.
"""

from __future__ import annotations

import numpy as np
from _common import note, parse_args, pyplot, report, save

import minigrad as mg
from minigrad.functional import dropout


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    rate, d = 0.5, 8
    draws = 2000 if args.small else 20000
    x = mg.randn(d)
    w = mg.randn(d)
    exact = float((x * w).sum().item())
    report("r", rate)
    report("x^T w", exact)

    # Many masks at once: one row per draw.
    xs = x.reshape(1, d).broadcast_to(draws, d)
    plain = (dropout(xs, rate, training=True, inverted=False) @ w).numpy()
    inverted = (dropout(xs, rate, training=True, inverted=True) @ w).numpy()
    report("mean DO_r(x)^T w, no scaling", plain.mean())
    report("(1-r) x^T w", (1 - rate) * exact)
    report("mean DO_r(x)^T w, inverted", inverted.mean())
    report(
        "eval rule (1-r) x, linear", (dropout(x, rate, training=False, inverted=False) @ w).item()
    )
    report("eval rule identity, linear", (dropout(x, rate, training=False) @ w).item())
    report("standard error, no scaling", plain.std() / np.sqrt(draws))
    report("standard error, inverted", inverted.std() / np.sqrt(draws))

    # Through a sigmoid the rules are approximations (Jensen's inequality).
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    report("mean sigmoid(DO_r(x)^T w), no scaling", sigmoid(plain).mean())
    report("sigmoid((1-r) x^T w)", sigmoid((1 - rate) * exact))
    report("mean sigmoid(DO_r(x)^T w), inverted", sigmoid(inverted).mean())
    report("sigmoid(x^T w)", sigmoid(exact))
    note("linear: both rules match the training mean; sigmoid: both are off by the Jensen gap")

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.hist(plain, bins=40, alpha=0.6, label="training, no scaling")
    axes.hist(inverted, bins=40, alpha=0.6, label="training, inverted (x 1/(1-r))")
    axes.axvline((1 - rate) * exact, color="C0", ls="--", label="(1-r) x^T w: eval rule 2")
    axes.axvline(exact, color="C1", ls="--", label="x^T w: eval with identity")
    axes.set(xlabel="DO_r(x)^T w", ylabel="count", title=f"dropout r = {rate}, {draws} masks")
    axes.legend(fontsize=8)
    save(figure, args.out, "dropout.png")


if __name__ == "__main__":
    main()
