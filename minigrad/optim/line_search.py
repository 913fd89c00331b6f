"""Gradient descent whose step size is chosen afresh at every step by a line search."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer

GOLDEN = (math.sqrt(5) - 1) / 2  # 1/phi: each golden-section step keeps this share of the bracket


class LineSearch(Optimizer):
    r"""x <- x - alpha g, with alpha picked by a search along -g at every step.

    Lecture 003_3976390fb7f3ce43.txt, slide "Gradient descent: Learning rate": "optimal alpha
    can be found via line search", argmin_alpha f(x^(t) - alpha grad f(x^(t))). With
    phi(alpha) = f(x - alpha g) and g the gradient at x:

    - method='backtracking' (Armijo): alpha = alpha0, alpha0 beta, alpha0 beta^2, ... until
      phi(alpha) <= f(x) - c alpha |g|^2, a decrease at least c times the one the slope
      promises. If none of `max_evaluations` tries passes, x stays put (alpha = 0).
    - method='golden': golden-section search of argmin phi over [0, alpha_max] until the bracket
      is narrower than tol * alpha_max. Exact for a phi that is unimodal on the interval (a
      quadratic is); the best point seen wins, and alpha = 0 if none beats f(x).

    All parameters share one alpha: the search runs along the whole gradient, so param groups
    with their own options are refused.

    `step(closure)`: the closure recomputes the loss and returns it. The search computes the
    gradient itself (one backward at x) and evaluates phi under `no_grad`. A closure in
    PyTorch's style, which calls zero_grad and backward itself, works as well, but then every
    trial point records a graph and runs backward, because the closure asks for it. The chosen
    step is `last_alpha`; `.grad` holds the gradient at the starting point afterwards.

    Args:
        params: Tensors (one group).
        method: 'backtracking' or 'golden'.
        alpha0: first trial step of backtracking, > 0.
        beta: backtracking's shrink factor, in (0, 1).
        c: Armijo's sufficient-decrease constant, in (0, 1).
        alpha_max: the golden search interval [0, alpha_max], > 0.
        tol: the golden search's relative bracket width, in (0, 1).
        max_evaluations: the most evaluations of phi per step, >= 1.
    """

    def __init__(
        self,
        params: Iterable,
        method: str = "backtracking",
        alpha0: float = 1.0,
        beta: float = 0.5,
        c: float = 1e-4,
        alpha_max: float = 1.0,
        tol: float = 1e-6,
        max_evaluations: int = 60,
    ):
        if method not in ("backtracking", "golden"):
            raise ValueError(f"method must be 'backtracking' or 'golden', got {method!r}")
        _check_positive("alpha0", alpha0)
        _check_positive("alpha_max", alpha_max)
        for name, value in (("beta", beta), ("c", c), ("tol", tol)):
            if not 0 < value < 1:
                raise ValueError(f"{name} must be in (0, 1), got {value}")
        if not (isinstance(max_evaluations, int) and max_evaluations >= 1):
            raise ValueError(f"max_evaluations must be an int >= 1, got {max_evaluations!r}")
        defaults = dict(
            method=method,
            alpha0=alpha0,
            beta=beta,
            c=c,
            alpha_max=alpha_max,
            tol=tol,
            max_evaluations=max_evaluations,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) > 1:
            raise ValueError(
                "LineSearch takes one group of parameters: they share one step size alpha"
            )
        self.last_alpha: float | None = None

    def step(self, closure: Callable | None = None):
        """One gradient step with the searched alpha; returns the loss at the starting point."""
        if closure is None:
            raise ValueError(
                "LineSearch.step needs a closure that recomputes and returns the loss: the "
                "search evaluates the loss at trial points"
            )
        group = self.param_groups[0]
        params = [p for p in group["params"]]
        loss, closure_runs_backward = self._loss_and_gradient(closure, params)
        moving = [p for p in params if p.grad is not None]
        start = [p.data.copy() for p in moving]
        grads = [p.grad.copy() for p in moving]

        def phi(alpha: float) -> float:
            _move(moving, start, grads, alpha)
            if closure_runs_backward:
                with enable_grad():
                    return float(closure().item())
            with no_grad():
                return float(closure().item())

        f0 = float(loss.item())
        if group["method"] == "backtracking":
            slope = sum(float(np.vdot(g, g)) for g in grads)
            alpha = _backtrack(phi, f0, slope, group)
        else:
            alpha = _golden(phi, f0, group)
        _move(moving, start, grads, alpha)
        for p, g in zip(moving, grads):
            p.grad = g
        self.last_alpha = alpha
        self.step_count += 1
        return loss

    def _loss_and_gradient(self, closure: Callable, params: list) -> tuple:
        """The loss at x, with every parameter's .grad set; whether the closure ran backward."""
        self.zero_grad()
        with enable_grad():
            loss = closure()
            ran_backward = any(p.grad is not None for p in params)
            if not ran_backward:
                if not loss.requires_grad:
                    raise ValueError(
                        "the closure's loss does not depend on the parameters (it does not "
                        "require grad): nothing to search along"
                    )
                loss.backward()
        return loss, ran_backward


def _move(params: list, start: list, grads: list, alpha: float) -> None:
    """x = x_start - alpha g, written into each parameter's own array."""
    for p, x0, g in zip(params, start, grads):
        np.multiply(g, -alpha, out=p.data, casting="same_kind")
        p.data += x0


def _backtrack(phi: Callable, f0: float, slope: float, group: dict) -> float:
    alpha = float(group["alpha0"])
    for _ in range(group["max_evaluations"]):
        if phi(alpha) <= f0 - group["c"] * alpha * slope:
            return alpha
        alpha *= group["beta"]
    return 0.0


def _golden(phi: Callable, f0: float, group: dict) -> float:
    low, high = 0.0, float(group["alpha_max"])
    x1, x2 = high - GOLDEN * high, GOLDEN * high
    f1, f2 = phi(x1), phi(x2)
    best_alpha, best = (x1, f1) if f1 <= f2 else (x2, f2)
    for _ in range(group["max_evaluations"] - 2):
        if high - low <= group["tol"] * group["alpha_max"]:
            break
        if f1 <= f2:  # the minimum of a unimodal phi is left of x2
            high, x2, f2 = x2, x1, f1
            x1 = high - GOLDEN * (high - low)
            f1 = phi(x1)
            trial = (x1, f1)
        else:
            low, x1, f1 = x1, x2, f2
            x2 = low + GOLDEN * (high - low)
            f2 = phi(x2)
            trial = (x2, f2)
        if trial[1] < best:
            best_alpha, best = trial
    return best_alpha if best < f0 else 0.0


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
