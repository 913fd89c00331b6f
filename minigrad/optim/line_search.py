"""Gradient descent whose step size is chosen afresh at every step by a line search."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import enable_grad
from .optimizer import Optimizer

GOLDEN = (math.sqrt(5) - 1) / 2


class LineSearch(Optimizer):
    r"""x <- x - alpha g with alpha picked by searching along -g (lecture 003, slide "Gradient
    descent: Learning rate": "optimal alpha can be found via line search",
    argmin_alpha f(x - alpha grad f(x))).

    - method='backtracking' (Armijo): try alpha = alpha0, alpha0 shrink, alpha0 shrink^2, ...
      until f(x - alpha g) <= f(x) - c alpha |g|^2, a decrease proportional to the step.
    - method='golden': bracket the minimum along the line (doubling alpha from alpha0 while f
      keeps falling, up to alpha_max), then golden-section search it to within `tol`: an
      (almost) exact line search.

    `step(closure)` needs a closure that recomputes and returns the loss; it may call backward
    itself (as for SGD) or leave that to the line search. The chosen step is `last_alpha`.
    """

    def __init__(
        self,
        params,
        method: str = "backtracking",
        alpha0: float = 1.0,
        shrink: float = 0.5,
        c: float = 1e-4,
        alpha_max: float = 1e3,
        tol: float = 1e-6,
        max_evaluations: int = 60,
    ):
        if method not in ("backtracking", "golden"):
            raise ValueError(f"method must be 'backtracking' or 'golden', got {method!r}")
        if not 0 < shrink < 1:
            raise ValueError(f"shrink must be in (0, 1), got {shrink}")
        if alpha0 <= 0:
            raise ValueError(f"alpha0 must be > 0, got {alpha0}")
        defaults = dict(lr=alpha0, shrink=shrink, c=c, alpha_max=alpha_max, tol=tol)
        super().__init__(params, defaults)
        self.method = method
        self.max_evaluations = max_evaluations
        self.last_alpha = None

    def step(self, closure=None):
        if closure is None:
            raise ValueError("LineSearch.step needs a closure that recomputes and returns the loss")
        params = [p for group in self.param_groups for p in group["params"]]
        self.zero_grad()
        with enable_grad():
            loss = closure()
            if all(p.grad is None for p in params):
                loss.backward()
        start = [p.data.copy() for p in params]
        grads = [np.zeros_like(p.data) if p.grad is None else p.grad.copy() for p in params]

        def f(alpha: float) -> float:
            for p, x0, g in zip(params, start, grads):
                p.data = x0 - alpha * g
            return self._value(closure, params)

        group = self.param_groups[0]
        if self.method == "backtracking":
            alpha = self._backtrack(
                f, float(loss.item()), sum(float(np.sum(g * g)) for g in grads), group
            )
        else:
            alpha = self._golden(f, float(loss.item()), group)
        for p, x0, g in zip(params, start, grads):
            p.data = (x0 - alpha * g).astype(x0.dtype, copy=False)
            p.grad = g
        self.last_alpha = alpha
        self.step_count += 1
        return loss

    @staticmethod
    def _value(closure, params) -> float:
        """f at the current parameters; gradients a closure computes on the way are discarded."""
        grads = [p.grad for p in params]
        with enable_grad():
            value = float(closure().item())
        for p, g in zip(params, grads):
            p.grad = g
        return value

    def _backtrack(self, f, f0: float, grad_norm_sq: float, group: dict) -> float:
        alpha = float(group["lr"])
        for _ in range(self.max_evaluations):
            if f(alpha) <= f0 - group["c"] * alpha * grad_norm_sq:
                return alpha
            alpha *= group["shrink"]
        return 0.0

    def _golden(self, f, f0: float, group: dict) -> float:
        high, previous = float(group["lr"]), f0
        while high < group["alpha_max"]:  # double until f rises: the minimum lies in [0, high]
            value = f(high)
            if value >= previous:
                break
            previous, high = value, high * 2
        a, b = 0.0, high
        x1, x2 = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
        f1, f2 = f(x1), f(x2)
        for _ in range(self.max_evaluations):
            if b - a <= group["tol"] * max(1.0, b):
                break
            if f1 <= f2:
                b, x2, f2 = x2, x1, f1
                x1 = b - GOLDEN * (b - a)
                f1 = f(x1)
            else:
                a, x1, f1 = x1, x2, f2
                x2 = a + GOLDEN * (b - a)
                f2 = f(x2)
        best = (a + b) / 2
        return best if f(best) <= f0 else 0.0
