"""Scaled initialization: the output variance of x^T W as the input width d grows.

Lecture 001_7c5c639b47bbde7b.txt, slide 'Scaled initialization': with w_i ~ N(0, 1) i.i.d.,
Var[sum_i x_i w_i] = sum_i x_i^2 Var[w_i] = sum_i x_i^2, which grows like d; dividing by
s = sqrt(d) gives (1/d) sum_i x_i^2, independent of d. For W in R^{d x e}: "Kaiming" N(0, 1/sqrt d)
and Xavier N(0, sqrt(2/(d+e))), where the second argument is the standard deviation (the slide's
own convention, 'alpha w ~ N(0, 1) = w ~ N(0, sigma)').

Two slips on those slides, said here rather than copied: the first build of 'Computing the
variance' writes the sum as Var[x_i^2] w_i^2; it is x_i^2 Var[w_i] (x is fixed, w is random), as the
next build shows. And the slide's "Kaiming init / He init" N(0, 1/sqrt d) is LeCun's scaling; He
et al. use sqrt(2/d) for ReLU. minigrad calls the slide's rule kaiming_normal_(nonlinearity=
'linear') (= lecun_normal_), and kaiming_normal_(nonlinearity='relu') is He's.

The script draws W with each rule through minigrad.nn.init and prints Var[x^T W] / mean(x^2):
about d for N(0, 1), about 1 for the scaled rules (Xavier: 2d/(d+e), 1 when e = d).
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad import nn

RULES = {
    "N(0,1)": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "lecture Kaiming N(0,1/sqrt d)": lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"),
    "Xavier N(0,sqrt(2/(d+e)))": lambda w: nn.init.xavier_normal_(w),
}


def output_variance(rule, d: int, e: int, draws: int) -> float:
    """Var[x^T W] over the e outputs and `draws` fresh W, divided by mean(x^2)."""
    x = mg.randn(1, d)
    outputs = []
    for _ in range(draws):
        weight = mg.zeros(d, e)
        rule(weight)
        outputs.append((x @ weight).numpy().ravel())
    return float(np.var(np.concatenate(outputs)) / np.mean(x.numpy() ** 2))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    mg.manual_seed(0)
    widths = [16, 64, 256] if args.small else [16, 64, 256, 1024, 4096]
    e, draws = 64, 20 if args.small else 40
    table = {name: [] for name in RULES}
    report("d", widths)
    for name, rule in RULES.items():
        for d in widths:
            table[name].append(output_variance(rule, d, e, draws))
        report(f"Var[x^T W]/mean(x^2), {name}", table[name])
    report("Xavier prediction 2d/(d+e)", [2 * d / (d + e) for d in widths])

    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, values in table.items():
        axes.loglog(widths, values, "o-", label=name)
    axes.loglog(widths, widths, "k:", lw=0.8, label="d")
    axes.set(
        xlabel="input width d", ylabel="Var[x^T W] / mean(x^2)", title=f"output variance, e = {e}"
    )
    axes.legend(fontsize=8)
    save(figure, args.out, "scaled_init.png")


if __name__ == "__main__":
    main()
