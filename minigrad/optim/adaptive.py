"""Adaptive learning rates: Adagrad, RMSprop, Adam and AdamW, with PyTorch's arguments and rules.

Lecture 004_a7d0a04e340c1d1f.txt ("modern optimizers") introduces them as adaptive learning rates
(Adagrad, RMSprop) plus momentum (Adam combines both). All operations are elementwise and in
place on the parameter's data; eps is added outside the square root, as in PyTorch (Keras and the
original RMSprop notes put it inside: sqrt(v + eps)).
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


def _check_betas(betas) -> None:
    if not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must each be in [0, 1), got {tuple(betas)}")


class Adagrad(Optimizer):
    r"""Per-coordinate steps shrinking with the sum of squared gradients.

    g   <- g + weight_decay x
    lr_t = lr / (1 + (t - 1) lr_decay)
    s   <- s + g^2                        (s starts at initial_accumulator_value)
    x   <- x - lr_t g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _update(self, param, grad, group, state) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + float(group["weight_decay"]) * param.data
        lr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        state["sum"] += grad * grad
        param.data -= lr * grad / (np.sqrt(state["sum"]) + float(group["eps"]))


class RMSprop(Optimizer):
    r"""Steps scaled by a running average of squared gradients.

    g   <- g + weight_decay x
    v   <- alpha v + (1 - alpha) g^2
    centered:  m <- alpha m + (1 - alpha) g;   d = sqrt(v - m^2) + eps
    else:      d = sqrt(v) + eps
    momentum:  b <- momentum b + g / d;   x <- x - lr b
    else:      x <- x - lr g / d
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict) -> None:
        super()._check_options(group)
        if not 0 <= group["alpha"] < 1:
            raise ValueError(f"alpha must be in [0, 1), got {group['alpha']}")
        if not 0 <= group["momentum"] < 1:
            raise ValueError(f"momentum must be in [0, 1), got {group['momentum']}")

    def _update(self, param, grad, group, state) -> None:
        alpha, lr = float(group["alpha"]), float(group["lr"])
        if not state:
            state["square_avg"] = np.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param.data)
            if group["momentum"]:
                state["momentum_buffer"] = np.zeros_like(param.data)
        if group["weight_decay"]:
            grad = grad + float(group["weight_decay"]) * param.data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = np.sqrt(square_avg - grad_avg * grad_avg) + float(group["eps"])
        else:
            denominator = np.sqrt(square_avg) + float(group["eps"])
        if group["momentum"]:
            buffer = state["momentum_buffer"]
            buffer *= float(group["momentum"])
            buffer += grad / denominator
            param.data -= lr * buffer
        else:
            param.data -= lr * grad / denominator


class Adam(Optimizer):
    r"""Momentum on the gradient and on its square, bias-corrected (Kingma and Ba, 2015).

        g     <- g + weight_decay x              (L2: Adam; AdamW decays x directly instead)
        m     <- beta1 m + (1 - beta1) g
        v     <- beta2 v + (1 - beta2) g^2
        m_hat =  m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        amsgrad:  v_max <- max(v_max, v), and v_max replaces v in v_hat
        x     <- x - lr m_hat / (sqrt(v_hat) + eps)

    The bias correction undoes the pull of m and v towards their zero start: after t steps of a
    constant g, m = (1 - beta1^t) g, so m_hat = g exactly.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict) -> None:
        super()._check_options(group)
        _check_betas(group["betas"])

    def _update(self, param, grad, group, state) -> None:
        beta1, beta2 = (float(b) for b in group["betas"])
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if weight_decay and self.decoupled_weight_decay:
            param.data *= 1 - lr * weight_decay
        elif weight_decay:
            grad = grad + weight_decay * param.data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        correction1 = 1 - beta1**step
        correction2 = 1 - beta2**step
        denominator = np.sqrt(exp_avg_sq) / math.sqrt(correction2) + float(group["eps"])
        param.data -= (lr / correction1) * exp_avg / denominator


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

        x <- x (1 - lr weight_decay)      first, outside the adaptive scaling
        then the Adam step on the plain gradient.

    With L2 (`Adam(weight_decay=...)`) the penalty's gradient is divided by sqrt(v_hat) like any
    other, so parameters with large gradients are barely decayed; decoupling decays all alike.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
