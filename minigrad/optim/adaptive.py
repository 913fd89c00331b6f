"""Adaptive learning rates: Adagrad, RMSprop, Adam and AdamW, with PyTorch's arguments and rules.

Lecture 004_a7d0a04e340c1d1f.txt, slide "Modern Optimizers", names them (Adagrad, Adadelta and
RMSprop as adaptive learning rates, Adam combining them with momentum) without their equations;
lecture 003_3976390fb7f3ce43.txt, slide "First-order acceleration methods", places them in the
family x^(t+1) = x^(0) + alpha sum_i Gamma_i^t grad f(x^(i)) with diagonal Gamma_i: each
coordinate gets its own effective rate. The equations below are PyTorch's. All updates are
elementwise and in place on the parameter's data; eps is added outside the square root.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .optimizer import Optimizer, check_nonnegative, check_unit_interval, regularized_gradient


class Adagrad(Optimizer):
    r"""Per-coordinate steps that shrink with the running sum of squared gradients.

        g    <- -g  if maximize;   g <- g + weight_decay x
        lr_t =  lr / (1 + (t - 1) lr_decay)
        s    <- s + g^2                       (s_0 = initial_accumulator_value)
        x    <- x - lr_t g / (sqrt(s) + eps)

    Duchi, Hazan and Singer (2011), whose delta sits outside the root as eps does here.
    Variants: Keras puts eps inside the root, sqrt(s + eps), starts s at 0.1 and uses eps 1e-7.

    Args:
        lr: >= 0.   lr_decay: >= 0, the 1 / (1 + (t - 1) lr_decay) factor.
        weight_decay: L2 coefficient added to the gradient.
        initial_accumulator_value: s_0 >= 0.   eps: >= 0, outside the root.
        maximize: ascend instead of descend.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict) -> None:
        super()._check_options(group)
        check_nonnegative("lr_decay", group["lr_decay"])
        check_nonnegative("initial_accumulator_value", group["initial_accumulator_value"])

    def _update(self, param, grad, group, state) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, float(group["initial_accumulator_value"]))
        state["step"] += 1
        grad = regularized_gradient(grad, param, group)
        lr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        total = state["sum"]
        total += grad * grad
        denominator = np.sqrt(total)
        denominator += float(group["eps"])
        param.data -= lr * grad / denominator


class RMSprop(Optimizer):
    r"""Steps divided by the root of a running average of squared gradients.

        g <- -g  if maximize;   g <- g + weight_decay x
        v <- alpha v + (1 - alpha) g^2
        centered:  m <- alpha m + (1 - alpha) g;   d = sqrt(max(v - m^2, 0)) + eps
        else:      d = sqrt(v) + eps
        momentum:  b <- momentum b + g / d;   x <- x - lr b
        else:      x <- x - lr g / d

    Hinton's lecture notes (2012); centered: Graves (2013). v - m^2 >= 0 in exact arithmetic;
    it is clamped at 0 because rounding pushes it below when the gradient barely varies (PyTorch
    takes the root of the negative number and returns NaN). Variants: Keras and TensorFlow put
    eps inside the root, sqrt(v + eps) (eps 1e-7, alpha called rho = 0.9), and keep lr inside
    the momentum buffer, b <- momentum b + lr g / d; x <- x - b, the lectures' velocity form
    (see SGD), identical to this one at a constant rate.

    Args:
        lr: >= 0.   alpha: smoothing constant in [0, 1).   eps: >= 0.
        weight_decay: L2 coefficient added to the gradient.   momentum: in [0, 1).
        centered: divide by the estimated standard deviation instead of the root mean square.
        maximize: ascend instead of descend.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_options(self, group: dict) -> None:
        super()._check_options(group)
        check_unit_interval("alpha", group["alpha"])
        check_unit_interval("momentum", group["momentum"])

    def _update(self, param, grad, group, state) -> None:
        alpha, lr = float(group["alpha"]), float(group["lr"])
        if not state:
            state["square_avg"] = np.zeros_like(param.data)
        grad = regularized_gradient(grad, param, group)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(param.data))
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            denominator = np.maximum(square_avg - grad_avg * grad_avg, 0)
            np.sqrt(denominator, out=denominator)
        else:
            denominator = np.sqrt(square_avg)
        denominator += float(group["eps"])
        if group["momentum"]:
            buffer = state.setdefault("momentum_buffer", np.zeros_like(param.data))
            buffer *= float(group["momentum"])
            buffer += grad / denominator
            param.data -= lr * buffer
        else:
            param.data -= lr * grad / denominator


class Adam(Optimizer):
    r"""Momentum on the gradient and on its square, bias-corrected (Kingma and Ba, 2015).

        g     <- -g  if maximize;   g <- g + weight_decay x      (L2; AdamW decouples it)
        m     <- beta1 m + (1 - beta1) g
        v     <- beta2 v + (1 - beta2) g^2
        amsgrad:  v_max <- max(v_max, v), used in place of v below
        m_hat =  m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        x     <- x - lr m_hat / (sqrt(v_hat) + eps)

    The bias correction undoes the pull of m and v towards their zero start: after t steps of a
    constant g, m = (1 - beta1^t) g, so m_hat = g exactly. Variants: Keras and TensorFlow use
    the paper's "efficient" form x <- x - lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) +
    eps_hat), eps added to the uncorrected root: the same rule with eps = eps_hat /
    sqrt(1 - beta2^t) (and their default eps_hat is 1e-7). Lecture 004 (slide "Modern
    Optimizers") names Adam as the practitioners' default, without equations.

    Args:
        lr: >= 0.   betas: (beta1, beta2), each in [0, 1).   eps: >= 0, outside the root.
        weight_decay: L2 coefficient added to the gradient.
        amsgrad: use the running maximum of v (Reddi et al., 2018).
        maximize: ascend instead of descend.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable,
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
        betas = tuple(group["betas"])
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas}")

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
        denominator = np.sqrt(exp_avg_sq)
        denominator /= math.sqrt(1 - beta2**step)
        denominator += float(group["eps"])
        np.divide(exp_avg, denominator, out=denominator)
        denominator *= lr / (1 - beta1**step)
        param.data -= denominator


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

        x <- x (1 - lr weight_decay)      first, outside the adaptive scaling
        then the Adam step on the plain gradient.

    With L2 (`Adam(weight_decay=...)`) the penalty's gradient is divided by sqrt(v_hat) like any
    other, so parameters with large gradients are barely decayed; decoupling decays all alike.
    The paper scales the decay by a schedule multiplier but not by lr; PyTorch, Keras and this
    class multiply it by lr.

    Args: as Adam, with weight_decay defaulting to 1e-2.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
