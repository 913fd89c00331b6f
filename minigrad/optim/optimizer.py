"""`Optimizer`: parameter groups, per-parameter state, `step`, `zero_grad` and state dicts.

Subclasses write one method, `_update(param, grad, group, state)`, which changes `param.data` in
place. Updates never build a graph and keep the parameter's dtype: hyperparameters are Python
floats, so float32 parameters stay float32.
"""

from __future__ import annotations

import copy

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


class Optimizer:
    """Base class: `params` is an iterable of Tensors, or of dicts `{"params": [...], **options}`
    (param groups), each option defaulting to `defaults`."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        self.step_count = 0
        groups = list(params) if not isinstance(params, Tensor) else [params]
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a smaller lr for one layer)."""
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizers take Tensors, got {type(param).__name__}")
            if not param.requires_grad:
                raise ValueError(
                    f"a parameter of shape {param.shape} does not require grad, so it would "
                    "never be updated"
                )
            if id(param) in known:
                raise ValueError(f"a parameter of shape {param.shape} appears more than once")
            known.add(id(param))
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check_options(group)
        self.param_groups.append(group)

    def _check_options(self, group: dict) -> None:
        if group["lr"] < 0:
            raise ValueError(f"learning rate must be >= 0, got lr={group['lr']}")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"weight_decay must be >= 0, got {group['weight_decay']}")
        if group.get("eps", 0) < 0:
            raise ValueError(f"eps must be >= 0, got {group['eps']}")

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set to None, as PyTorch does by default)."""
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns `closure()`'s loss if given.

        The closure recomputes the loss and calls backward (it runs with grad mode on).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, param.grad, group, self.state.setdefault(param, {}))
        self.step_count += 1
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise TypeError(f"{type(self).__name__} must define _update")

    # ---- state dicts ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Options per group and state per parameter (by position, as PyTorch), copied."""
        index = {}
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
        """Continue from `state_dict()`: same groups and parameter counts, state copied in."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(saved["params"]) != len(own["params"])
            for saved, own in zip(groups, self.param_groups)
        ):
            raise ValueError(
                "optimizer state dict does not match: its param groups have sizes "
                f"{[len(g['params']) for g in groups]}, this optimizer's "
                f"{[len(g['params']) for g in self.param_groups]}"
            )
        params = [p for group in self.param_groups for p in group["params"]]
        for saved, own in zip(groups, self.param_groups):
            own.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = {params[int(i)]: copy.deepcopy(v) for i, v in state_dict["state"].items()}
        self.step_count = state_dict.get("step_count", 0)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {options}")
        return "\n".join(lines + [")"])
