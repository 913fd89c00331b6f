"""Learning-rate schedules: the rate as a function of the step count t.

Each scheduler defines lr_t from the group's initial rate alpha_0 in closed form and, on
`step()`, multiplies the group's current rate by its own factor lr_t / lr_(t-1), as PyTorch's
chainable schedulers do. Alone, a scheduler so sets exactly lr_t; two on one optimizer compose,
each scaling what the other set (StepLR and ExponentialLR together give alpha_0 times both
factors). Call `optimizer.step()` first and `scheduler.step()` after it, once per epoch (or per
update, as you choose); the other order skips the first rate and warns, as in PyTorch.

The lectures' three decays (lecture 003_3976390fb7f3ce43.txt, slide "Decay and momentum") with
decay parameter rho:

    linear       alpha_t = (1 - t/rho) alpha_0 + (t/rho) alpha_rho  for t <= rho, then alpha_rho
    inverse time alpha_t = alpha_0 / (1 + rho t)
    exponential  alpha_t = alpha_0 exp(-rho t)

The slide writes the inverse-time rule as alpha^(t+1) = alpha^(t) / (1 + rho t), which, read
literally, compounds (alpha_0 / prod_k (1 + rho k) falls faster than any exponential); the usual
reading, implemented here, divides alpha_0. The slide also labels the left sides t + 1 while
evaluating the right sides at t; here lr_t is the rate used by update t, with lr_0 = alpha_0.
"""

from __future__ import annotations

import copy
import math
import warnings

from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define `lr_at(alpha_0, t)`, the rate of step t from the initial rate.

    `step()` sets each group's rate to lr_t times the group's current rate over lr_(t-1), the
    rate this schedule alone had given it (alpha_0 before the first step). That ratio is 1.0,
    exactly, when nothing else changed the rate, so a lone schedule follows its closed form; it
    carries the factors of another schedule on the same optimizer, or of a rate set by hand, so
    schedules chain as PyTorch's do. Where this schedule's own previous rate was 0 the ratio is
    0 / 0: it carries the factor of its last step instead, so alone it stays exact, but what a
    chained schedule changed while this one stood at 0 is lost (in PyTorch too, where 0 times
    any factor stays 0). `last_epoch` is t, the number of `step()` calls so far (-1 before the
    first, which the constructor makes).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a scheduler needs an Optimizer, got {type(optimizer).__name__}")
        for i, group in enumerate(optimizer.param_groups):
            if "lr" not in group:
                raise ValueError(
                    f"{type(optimizer).__name__} has no learning rate 'lr' to schedule"
                )
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise ValueError(
                    f"resuming at last_epoch={last_epoch} needs 'initial_lr' in param group {i}: "
                    "load the optimizer's state dict from the run being resumed first"
                )
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        # Per group: the rate this schedule alone gives at last_epoch, and the factor by which
        # the group's rate last differed from it (other schedules, or a rate set by hand).
        self._own_lrs = [
            alpha_0 if last_epoch < 0 else self._lr(i, alpha_0, last_epoch)
            for i, alpha_0 in enumerate(self.base_lrs)
        ]
        self._factors = [1.0] * len(self.base_lrs)
        self._warned = False
        self._initial_step_done = False
        self.step()
        self._initial_step_done = True

    def lr_at(self, alpha_0: float, t: int) -> float:
        """The schedule's closed form: the learning rate at step t from the initial alpha_0."""
        raise TypeError(f"{type(self).__name__} must define lr_at(alpha_0, t)")

    def step(self) -> None:
        """Advance t by one and set every group's lr to lr_t."""
        if self._initial_step_done and not self._warned and self.optimizer.step_count == 0:
            self._warned = True
            warnings.warn(
                "scheduler.step() was called before optimizer.step(): the first value of the "
                "schedule is skipped. Call optimizer.step() first, then scheduler.step().",
                UserWarning,
                stacklevel=2,
            )
        self.last_epoch += 1
        for i, (group, alpha_0) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            own = float(self._lr(i, alpha_0, self.last_epoch))
            if self._own_lrs[i] != 0:
                self._factors[i] = group["lr"] / self._own_lrs[i]
            group["lr"] = own * self._factors[i]
            self._own_lrs[i] = own

    def _lr(self, group_index: int, alpha_0: float, t: int) -> float:
        return self.lr_at(alpha_0, t)

    def get_last_lr(self) -> list[float]:
        """The rates set by the last `step()`, one per param group."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything but the optimizer and functions (a LambdaLR's lambdas), copied."""
        return {
            key: copy.deepcopy(value)
            for key, value in self.__dict__.items()
            if key != "optimizer" and not callable(value) and key != "lr_lambdas"
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from `state_dict()`; the optimizer's own state dict restores its rates."""
        self.__dict__.update(copy.deepcopy(state_dict))


class LambdaLR(LRScheduler):
    """lr_t = alpha_0 * lr_lambda(t); `lr_lambda` may be a list, one function per param group."""

    def __init__(self, optimizer: Optimizer, lr_lambda, last_epoch: int = -1):
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * groups
        if len(lambdas) != groups:
            raise ValueError(
                f"expected {groups} lr_lambdas, one per param group, got {len(lambdas)}"
            )
        if not all(callable(f) for f in lambdas):
            raise TypeError("lr_lambda must be a function of the step t, or a list of them")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def _lr(self, group_index: int, alpha_0: float, t: int) -> float:
        return alpha_0 * self.lr_lambdas[group_index](t)


class StepLR(LRScheduler):
    """lr_t = alpha_0 * gamma^floor(t / step_size): drop by gamma every step_size steps."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        return alpha_0 * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """lr_t = alpha_0 * gamma^t."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        return alpha_0 * self.gamma**t


class LinearLR(LRScheduler):
    """lr_t = alpha_0 * (start + (end - start) min(t, total_iters) / total_iters) (PyTorch's)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ):
        if not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"end_factor must be in [0, 1], got {end_factor}")
        if total_iters < 1:
            raise ValueError(f"total_iters must be >= 1, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        fraction = min(t, self.total_iters) / self.total_iters
        return alpha_0 * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (alpha_0 - eta_min) (1 + cos(pi t / T_max)) / 2."""

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ):
        if T_max < 1:
            raise ValueError(f"T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (alpha_0 - self.eta_min) * cosine


class InverseTimeLR(LRScheduler):
    """lr_t = alpha_0 / (1 + rho t): the inverse-time decay of lecture 003_3976390fb7f3ce43.txt,
    slide "Decay and momentum" (read as a closed form, not the slide's compounding recursion)."""

    def __init__(self, optimizer: Optimizer, rho: float, last_epoch: int = -1):
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        self.rho = rho
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        return alpha_0 / (1 + self.rho * t)


class LectureLinearLR(LRScheduler):
    """lr_t = (1 - t/rho) alpha_0 + (t/rho) final_lr for t <= rho, then final_lr.

    Lecture 003_3976390fb7f3ce43.txt, slide "Decay and momentum", with final_lr = alpha_rho. The
    same rates as LinearLR(1, final_lr / alpha_0, rho) for one group; here final_lr is a rate,
    the same for every group.
    """

    def __init__(self, optimizer: Optimizer, rho: int, final_lr: float, last_epoch: int = -1):
        if rho < 1:
            raise ValueError(f"rho (the number of decay steps) must be >= 1, got {rho}")
        if not final_lr >= 0:
            raise ValueError(f"final_lr (alpha_rho) must be >= 0, got {final_lr}")
        self.rho, self.final_lr = rho, final_lr
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        fraction = min(t, self.rho) / self.rho
        return (1 - fraction) * alpha_0 + fraction * self.final_lr


class LectureExponentialLR(LRScheduler):
    """lr_t = alpha_0 exp(-rho t): lecture 003_3976390fb7f3ce43.txt, slide "Decay and
    momentum"; ExponentialLR with gamma = exp(-rho)."""

    def __init__(self, optimizer: Optimizer, rho: float, last_epoch: int = -1):
        if rho < 0:
            raise ValueError(f"rho must be >= 0, got {rho}")
        self.rho = rho
        super().__init__(optimizer, last_epoch)

    def lr_at(self, alpha_0: float, t: int) -> float:
        return alpha_0 * math.exp(-self.rho * t)


LECTURE_SCHEDULES = {
    "linear": LectureLinearLR,
    "inverse_time": InverseTimeLR,
    "exponential": LectureExponentialLR,
}


def lecture_schedule(name: str, optimizer: Optimizer, **options) -> LRScheduler:
    """One of lecture 003's three decays (slide "Decay and momentum") by name.

        'linear'       LectureLinearLR(optimizer, rho, final_lr): alpha_0 to alpha_rho over rho
                       steps, then constant
        'inverse_time' InverseTimeLR(optimizer, rho): alpha_0 / (1 + rho t)
        'exponential'  LectureExponentialLR(optimizer, rho): alpha_0 exp(-rho t)

    `lecture_schedule("linear", sgd, rho=20, final_lr=0.01)` is LectureLinearLR(sgd, 20, 0.01);
    the classes can be used directly as well.
    """
    if name not in LECTURE_SCHEDULES:
        raise ValueError(
            f"unknown schedule {name!r}; the lectures' are {sorted(LECTURE_SCHEDULES)}"
        )
    return LECTURE_SCHEDULES[name](optimizer, **options)
