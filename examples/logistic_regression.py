"""Logistic regression on the speeding-ticket data, by gradient descent.

Data: lecture 002_aa120863d57339f7.txt, slide 'Supervised Learning Basics': speed -> ticket,
{(30, F), (33, F), (35, F), (37, T), (39, T)}. Model and loss: lecture 003_3976390fb7f3ce43.txt,
slide 'Recap: Logistic regression', l(a, b) = -sum_i y_i ln sigma(a x_i + b) + (1 - y_i)
ln(1 - sigma(a x_i + b)), with d/da ln sigma(a x_i + b) = (1 - sigma(a x_i + b)) x_i (the slide's
formula, checked here against the engine's gradient). Setting the gradient to zero is a
transcendental equation with no closed form, hence gradient descent.

Speeds are standardised first (an affine change of x: the same model, a better-conditioned
loss). The data are separable (no ticket at 35, a ticket at 37), so the loss keeps falling
towards 0 as |a| grows, and the decision boundary (where sigma = 1/2) settles between 35 and 37.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import datasets


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    speed, ticket = (np.asarray(a, dtype=np.float64) for a in datasets.speeding_tickets())
    mean, std = speed.mean(), speed.std()
    x = mg.tensor((speed - mean) / std)
    y = mg.tensor(ticket)
    report("speeds", speed)
    report("tickets", ticket)

    a = mg.tensor(0.5, dtype=np.float64, requires_grad=True)
    b = mg.tensor(0.0, dtype=np.float64, requires_grad=True)
    # The slide's partial derivative of the i-th log-likelihood term, against the engine's.
    (engine,) = mg.grad(((a * x + b).sigmoid().log() * y).sum(), a)
    slide = (((1 - (a * x + b).sigmoid()) * x) * y).sum()
    report("d/da sum y_i ln sigma: engine, slide formula", engine.item(), slide.item())

    optimizer = optim.SGD([a, b], lr=0.5)
    steps = 200 if args.small else 2000
    losses = []
    for _ in range(steps):
        loss = nn.functional.binary_cross_entropy_with_logits(a * x + b, y, reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    boundary = mean - b.item() / a.item() * std
    with mg.no_grad():
        probability = (a * x + b).sigmoid().numpy()
    report("loss first last", losses[0], losses[-1])
    report("a b (standardised speed)", a.item(), b.item())
    report("decision boundary speed", boundary)
    report("P(ticket)", probability)
    report("accuracy", np.mean((probability > 0.5) == (ticket > 0.5)))

    plt = pyplot()
    if plt is None:
        return
    figure, (fit, curve) = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.linspace(28, 41, 200)
    fit.plot(
        grid, 1 / (1 + np.exp(-(a.item() * (grid - mean) / std + b.item()))), label="sigma(a x + b)"
    )
    fit.plot(speed, ticket, "ko", label="data")
    fit.axvline(boundary, color="grey", ls="--", label=f"boundary {boundary:.1f}")
    fit.set(xlabel="speed", ylabel="P(ticket)", title="logistic regression")
    fit.legend()
    curve.semilogy(losses)
    curve.set(xlabel="step", ylabel="loss (sum of cross-entropies)", title="training loss")
    save(figure, args.out, "logistic_regression.png")


if __name__ == "__main__":
    main()
