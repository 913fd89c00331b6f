"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, check_unit_interval, rule_values


class SGD(Optimizer):
    r"""Gradient descent x <- x - lr g, optionally with momentum, in PyTorch's form.

    Lecture 003_3976390fb7f3ce43.txt, slide "Gradient descent": x^(t+1) = x^(t) - alpha grad f;
    lecture 004_a7d0a04e340c1d1f.txt, slide "Adding Momentum": g_t = beta g_{t-1} + grad f(x_t),
    x_{t+1} = x_t - eta g_t, which is this rule with dampening 0. Per step, with g the gradient:

        g   <- -g                                   if maximize
        g   <- g + weight_decay x                   (an L2 penalty, added to the gradient)
        b_1 =  g,   b_t = mu b_{t-1} + (1 - dampening) g        (if momentum mu > 0)
        g   <- g + mu b_t  if nesterov,  else  g <- b_t
        x   <- x - lr g

    The first buffer is the plain gradient, not (1 - dampening) g, as in PyTorch.

    The lectures' other momentum (lecture 003, slide "Decay and momentum") keeps a velocity:
    v_0 = 0, v_{t+1} = lambda v_t - alpha_t grad_t, x_{t+1} = x_t + v_{t+1}. Take dampening 0
    and mu = lambda, so b_{t+1} = lambda b_t + grad_t from b_0 = 0.
    Constant rate alpha_t = alpha: v_t = -alpha b_t for all t. True at t = 0 (both zero); if it
    holds at t, v_{t+1} = lambda (-alpha b_t) - alpha grad_t = -alpha (lambda b_t + grad_t)
    = -alpha b_{t+1}. So x + v_{t+1} = x - alpha b_{t+1}: the two forms take identical steps,
    and unrolled (slide "First-order acceleration methods") both give
    x_{t+1} = x_0 - alpha sum_{i<=t} (1 - lambda^{t+1-i}) / (1 - lambda) grad_i.
    Under a schedule they part: unrolling each recursion,
        lecture form:  step_t = -sum_{i<=t} lambda^{t-i} alpha_i grad_i
        this form:     step_t = -alpha_t sum_{i<=t} lambda^{t-i} grad_i
    The velocity keeps each old gradient scaled by the rate of the step that added it; the
    buffer is rescaled as a whole by today's rate, so a rate drop takes effect at once.

    Args:
        params: Tensors or param-group dicts.
        lr: the learning rate (alpha, eta in the lectures), >= 0.
        momentum: mu in [0, 1); 0 is plain gradient descent.
        dampening: tau, scales the gradient added to the buffer by (1 - tau).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        weight_decay: L2 coefficient added to the gradient, >= 0.
        maximize: ascend instead of descend.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict) -> None:
        super()._check_options(group)
        check_unit_interval("momentum", group["momentum"])
        if not 0 <= group["dampening"] <= 1:
            raise ValueError(f"dampening must be in [0, 1], got {group['dampening']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    # The recordable form of the update (see optimizer.py): `mg.compile` writes it out as NumPy.
    rule_options = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    @staticmethod
    def update_rule(data, grad, state, lr, momentum, dampening, weight_decay, nesterov, maximize):
        """One parameter's step of the rule above, in place on `data` (and on the momentum
        buffer in `state`, a dict, or None without momentum), on arrays and Python numbers."""
        if maximize:
            grad = -grad
        if weight_decay:
            grad = grad + weight_decay * data
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, dtype=data.dtype)
            else:
                buffer *= momentum
                buffer += (1 - dampening) * grad
            grad = grad + momentum * buffer if nesterov else buffer
        data -= lr * grad

    @staticmethod
    def rule_keeps_state(lr, momentum, *options) -> bool:
        """Whether the rule keeps per-parameter state (a momentum buffer) under these options."""
        return bool(momentum)

    def _step_group(self, group: dict) -> None:
        """The rule for each parameter of `group` that has a gradient, the group's options read
        once: a training step's update is a loop over every weight and bias."""
        options = rule_values(group, self.rule_options)
        keeps_state = self.rule_keeps_state(*options)
        for param in group["params"]:
            grad = param.grad
            if grad is None:
                continue
            state = self.state.setdefault(param, {}) if keeps_state else None
            data = param.data
            self.update_rule(data, grad, state, *options)
            param.data = data  # the same buffer, changed in place: its version moves on
