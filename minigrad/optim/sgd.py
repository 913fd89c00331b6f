"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    r"""Gradient descent x <- x - lr g, optionally with momentum (PyTorch's rule).

    Per step, with g the gradient:

        g   <- -g                             if maximize
        g   <- g + weight_decay * x           (L2 penalty on the gradient)
        b_1 =  g,   b_t = mu b_{t-1} + (1 - dampening) g       (momentum mu > 0)
        g   <- g + mu b_t   if nesterov,   else   g <- b_t
        x   <- x - lr g

    The lectures' momentum (lecture 003_3976390fb7f3ce43.txt, slide "Decay and momentum") is
    written v <- lambda v - alpha grad; x <- x + v. With dampening 0 and a constant rate,
    v_t = -alpha b_t for every t (both start from zero and obey the same linear recursion), so
    the two forms take exactly the same steps. They part under a schedule: PyTorch's form
    multiplies the whole buffer by today's lr, while the lectures' v keeps each old gradient
    scaled by the lr of the step that added it. Unrolled (slide "First-order acceleration
    methods"), both give x_{t+1} = x_0 - alpha sum_i (1 - lambda^{t+1-i}) / (1 - lambda) grad_i.
    """

    def __init__(
        self,
        params,
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
        if not 0 <= group["momentum"] < 1:
            raise ValueError(f"momentum must be in [0, 1), got {group['momentum']}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, param, grad, group, state) -> None:
        momentum, lr = float(group["momentum"]), float(group["lr"])
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + float(group["weight_decay"]) * param.data
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, dtype=param.data.dtype)
            else:
                buffer *= momentum
                buffer += (1 - float(group["dampening"])) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.data -= lr * grad
