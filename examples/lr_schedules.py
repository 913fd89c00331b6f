"""Learning-rate schedules: the lectures' three decays, and why SGD needs one.

Lecture 003_3976390fb7f3ce43.txt, slide 'Decay and momentum': "decrease alpha according to a decay
parameter rho", with three examples: linear interpolation from alpha_0 to alpha_rho over rho steps
(then constant), an inverse-time decay, and alpha_0 e^(-rho t). And slide 'Mini-batches': "SGD
does not stop at the minimum. Oscillations are due to the noise induced by the random sampling."

The slide writes the inverse-time decay as the recursion alpha^(t+1) = alpha^(t) / (1 + rho t),
which compounds: alpha_t = alpha_0 / prod_{k<t} (1 + rho k) falls faster than any exponential.
The usual inverse-time decay, and minigrad's InverseTimeLR, is alpha_t = alpha_0 / (1 + rho t);
the script prints both so the difference is visible.

Then each schedule drives SGD with batch size 1 on the noisy secret-number game (lecture 002,
optimum theta = 2): at a constant rate theta keeps jumping around 2; a decaying rate lets it settle.
"""

from __future__ import annotations

import numpy as np
from _common import parse_args, pyplot, report, save

import minigrad as mg
from minigrad import optim
from minigrad.data import DataLoader, TensorDataset, datasets
from minigrad.optim import lr_scheduler

ALPHA_0, RHO_STEPS, ALPHA_RHO, RHO = 0.2, 20, 0.02, 0.1


def schedules(optimizer) -> dict:
    return {
        "constant": None,
        "linear": lr_scheduler.LectureLinearLR(optimizer, rho=RHO_STEPS, final_lr=ALPHA_RHO),
        "inverse time": lr_scheduler.InverseTimeLR(optimizer, rho=RHO),
        "exponential": lr_scheduler.LectureExponentialLR(optimizer, rho=RHO),
    }


def learning_rates(name: str, steps: int) -> list[float]:
    optimizer = optim.SGD([mg.zeros(1, requires_grad=True)], lr=ALPHA_0)
    schedule = schedules(optimizer)[name]
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if schedule is not None:
            schedule.step()
    return rates


def sgd_path(name: str, loader, epochs: int) -> list[float]:
    theta = mg.tensor([5.0], requires_grad=True)
    optimizer = optim.SGD([theta], lr=ALPHA_0)
    schedule = schedules(optimizer)[name]
    path = [theta.item()]
    for _ in range(epochs):
        for x, y in loader:
            loss = ((x + theta - y) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            path.append(theta.item())
        if schedule is not None:
            schedule.step()
    return path


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    steps = 30
    t = np.arange(steps)
    closed = {
        "linear": np.where(
            t < RHO_STEPS, (1 - t / RHO_STEPS) * ALPHA_0 + t / RHO_STEPS * ALPHA_RHO, ALPHA_RHO
        ),
        "inverse time": ALPHA_0 / (1 + RHO * t),
        "exponential": ALPHA_0 * np.exp(-RHO * t),
    }
    for name, formula in closed.items():
        rates = learning_rates(name, steps)
        report(f"lr {name}", rates[:8])
        report(f"max |scheduler - formula|, {name}", np.abs(np.array(rates) - formula).max())
    recursion = ALPHA_0 / np.cumprod(np.concatenate([[1.0], 1 + RHO * t[:-1]]))
    report("slide recursion alpha_t/(1+rho t)", recursion[:8])

    mg.manual_seed(0)
    x, y = (mg.tensor(a) for a in datasets.noisy_secret_number())
    loader = DataLoader(TensorDataset(x, y), batch_size=1, shuffle=True)
    epochs = 15 if args.small else 40
    paths = {}
    for name in ("constant", "linear", "inverse time", "exponential"):
        paths[name] = sgd_path(name, loader, epochs)
        last_epoch = np.array(paths[name][-len(loader) :])
        report(f"SGD last-epoch spread of theta, {name}", last_epoch.max() - last_epoch.min())
        report(f"SGD final theta, {name}", paths[name][-1])

    plt = pyplot()
    if plt is None:
        return
    figure, (rates_axes, path_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for name, formula in closed.items():
        rates_axes.plot(formula, label=name)
    rates_axes.plot(recursion, "k:", label="slide's recursion")
    rates_axes.set(xlabel="step t", ylabel="learning rate", title="decay schedules")
    rates_axes.legend()
    for name, path in paths.items():
        path_axes.plot(path, lw=1, label=name)
    path_axes.axhline(2, color="grey", lw=0.8)
    path_axes.set(xlabel="SGD update (batch size 1)", ylabel="theta", title="noisy game, SGD")
    path_axes.legend()
    save(figure, args.out, "lr_schedules.png")


if __name__ == "__main__":
    main()
