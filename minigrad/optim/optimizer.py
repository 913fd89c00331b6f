"""`Optimizer`: parameter groups, per-parameter state, `step`, `zero_grad` and state dicts.

Subclasses write one method, `_update(param, grad, group, state)`, which changes `param.data` in
place; one whose per-parameter work is small may write `_step_group(group)` instead, to read the
group's options once for all its parameters (as SGD does). Updates never build a graph and keep
the parameter's dtype: hyperparameters are read as Python floats, so float32 parameters and
their state stay float32.

An optimizer whose update of one parameter is a function of arrays and Python numbers may say so:
`update_rule(data, grad, state, *options)` changes `data` (and `state`'s arrays) in place, and
`rule_options` names the group options it takes, in order (`rule_values` reads them), and
`rule_keeps_state(*options)` says whether `state` is the parameter's state dict or None. That is the
form `mg.compile` records: it runs the rule once more on stand-ins that write its NumPy calls out,
reading the options from `param_groups` at run time (SGD has one).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


# What watches optimizers: `mg.compile`'s recorder registers here (through `add_watcher`) to
# see each `step` and `zero_grad` in the order a traced function makes them. Empty otherwise,
# so an eager step pays one test of an empty tuple.
_watchers: tuple = ()


def add_watcher(watcher) -> None:
    """Register an object whose `on_optimizer(optimizer, method, arguments)` is called just
    before every `Optimizer.step` and `zero_grad`, with the method's name and its arguments."""
    global _watchers
    _watchers = _watchers + (watcher,)


def remove_watcher(watcher) -> None:
    """Stop calling `watcher` (registered with `add_watcher`)."""
    global _watchers
    _watchers = tuple(w for w in _watchers if w is not watcher)


def check_nonnegative(name: str, value: float) -> None:
    """Raise unless `value` >= 0 (NaN is refused too)."""
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


def regularized_gradient(grad: np.ndarray, param, group: dict) -> np.ndarray:
    """The gradient after the group's `maximize` (negated) and L2 `weight_decay` (plus wd x).

    A new array when either applies, else `grad` itself: callers must not write into it.
    """
    if group["maximize"]:
        grad = -grad
    if group["weight_decay"]:
        grad = grad + float(group["weight_decay"]) * param.data
    return grad


def rule_values(group: dict, names: tuple) -> tuple:
    """The options `names` of `group` as an update rule takes them: flags as bools, the rest as
    Python floats (so float32 parameters stay float32)."""
    return tuple(
        bool(group[name]) if isinstance(group[name], bool) else float(group[name]) for name in names
    )


def check_unit_interval(name: str, value: float) -> None:
    """Raise unless 0 <= `value` < 1: a decay or momentum factor."""
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


class Optimizer:
    """Base class: `params` is an iterable of Tensors, or of dicts `{"params": [...], **options}`
    (param groups), each option defaulting to `defaults`.

    `state[param]` holds a parameter's buffers (momentum, running averages); `step_count` counts
    the calls to `step()`, which learning-rate schedulers read to warn about a wrong call order.
    """

    def __init__(self, params: Iterable, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        self.step_count = 0
        groups = [params] if isinstance(params, Tensor) else list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            if not isinstance(group, dict):
                raise TypeError(
                    "give either Tensors or param-group dicts, not a mix: got a "
                    f"{type(group).__name__} after a dict"
                )
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller lr for one layer)."""
        if "params" not in group:
            raise ValueError(f"a param group needs a 'params' entry, got keys {sorted(group)}")
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        if not group["params"]:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for param in group["params"]:
            _check_parameter(param)
            if id(param) in known:
                raise ValueError(f"a parameter of shape {param.shape} appears more than once")
            known.add(id(param))
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group: dict) -> None:
        if "lr" in group and not group["lr"] >= 0:
            raise ValueError(f"learning rate must be >= 0, got lr={group['lr']}")
        for name in ("weight_decay", "eps"):
            if name in group:
                check_nonnegative(name, group[name])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: None (PyTorch's default), or zeros in place."""
        for watcher in _watchers:
            watcher.on_optimizer(self, "zero_grad", {"set_to_none": set_to_none})
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.grad is None:
                    param.grad = None
                else:
                    param.grad = np.zeros_like(param.grad)

    def step(self, closure: Callable | None = None):
        """Update every parameter that has a gradient; returns `closure()`'s loss if given.

        The closure recomputes the loss and calls backward; it runs with grad mode on, so a
        training loop may call `step` inside `no_grad`.
        """
        for watcher in _watchers:
            watcher.on_optimizer(self, "step", {"closure": closure})
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        self.step_count += 1
        return loss

    def _step_group(self, group: dict) -> None:
        """Update every parameter of `group` that has a gradient, with `_update`."""
        state = self.state
        for param in group["params"]:
            if param.grad is not None:
                self._update(param, param.grad, group, state.setdefault(param, {}))

    def _update(self, param: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise TypeError(f"{type(self).__name__} must define _update(param, grad, group, state)")

    # ---- state dicts ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Options per group and state per parameter (keyed by position, as PyTorch), copied."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            options = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            options["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(options)
        state = {
            index[id(param)]: copy.deepcopy(values)
            for param, values in self.state.items()
            if id(param) in index
        }
        return {"state": state, "param_groups": groups, "step_count": self.step_count}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from a `state_dict()`: the same group sizes; options and state copied in,
        floating state cast to each parameter's dtype."""
        missing = {"state", "param_groups"} - set(state_dict)
        if missing:
            raise ValueError(f"optimizer state dict is missing {sorted(missing)}")
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in groups]
        own_sizes = [len(g["params"]) for g in self.param_groups]
        if sizes != own_sizes:
            raise ValueError(
                f"optimizer state dict does not match: its param groups have sizes {sizes}, "
                f"this optimizer's {own_sizes}"
            )
        params = [p for group in self.param_groups for p in group["params"]]
        state = {}
        for i, values in state_dict["state"].items():
            if not 0 <= int(i) < len(params):
                raise ValueError(
                    f"optimizer state dict has state for parameter {i}, but there are only "
                    f"{len(params)} parameters"
                )
            state[params[int(i)]] = _state_for(params[int(i)], values, int(i))
        for saved, own in zip(groups, self.param_groups):
            own.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = state
        self.step_count = int(state_dict.get("step_count", 0))

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {options}")
        return "\n".join(lines + [")"])


def _check_parameter(param) -> None:
    if not isinstance(param, Tensor):
        raise TypeError(f"optimizers take Tensors, got {type(param).__name__}")
    if not param.requires_grad:
        raise ValueError(
            f"a parameter of shape {param.shape} does not require grad, so it would never be "
            "updated"
        )
    if not param.is_leaf:
        raise ValueError(
            f"a parameter of shape {param.shape} is not a leaf (it has a grad_fn); optimize the "
            "tensor it was computed from"
        )


def _state_for(param: Tensor, values: dict, index: int) -> dict:
    """A copy of one parameter's saved state; arrays must have its shape and take its dtype."""
    state = {}
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            if value.shape != param.shape:
                raise ValueError(
                    f"optimizer state {name!r} of parameter {index} has shape {value.shape}, "
                    f"the parameter {param.shape}"
                )
            dtype = param.dtype if value.dtype.kind == "f" else value.dtype
            state[name] = value.astype(dtype)  # always a copy: the saved dict stays untouched
        else:
            state[name] = copy.deepcopy(value)
    return state
