"""`Module` and `Parameter`: the containers layers and models are built from.

A Module registers the Parameters and Modules assigned to its attributes, in assignment order, so
`parameters()` finds every weight of a model without being told (PyTorch's convention, from
`torch/nn/modules/module.py`). Reading an attribute stays an ordinary attribute read: registered
objects are stored in the instance dict too, and the registries only record their names.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable weight of a Module: it always requires grad."""

    __slots__ = ()

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model: define `forward`, call the module to run it."""

    def __init__(self):
        object.__setattr__(self, "_parameter_names", [])
        object.__setattr__(self, "_module_names", [])
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameter_names" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before assigning "
                "attributes"
            )
        for registry in (self._parameter_names, self._module_names):
            if name in registry:
                registry.remove(name)
        if isinstance(value, Parameter):
            self._parameter_names.append(name)
        elif isinstance(value, Module):
            self._module_names.append(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameter_names, self._module_names):
            if name in registry:
                registry.remove(name)
        object.__delattr__(self, name)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} must define forward()")

    # ---- traversal ------------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name in self._module_names:
            yield name, self.__dict__[name]

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            below = [
                (f"{name}.{child}" if name else child, m) for child, m in module.named_children()
            ]
            stack.extend(reversed(below))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted path (`0.weight`, `encoder.bias`), each once."""
        seen = set()
        for prefix, module in self.named_modules():
            for name in module._parameter_names:
                parameter = module.__dict__[name]
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{prefix}.{name}" if prefix else name), parameter

    def parameters(self) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters():
            yield parameter

    def num_parameters(self) -> int:
        """How many scalar weights the module has."""
        return sum(p.size for p in self.parameters())

    # ---- modes and gradients -------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and everything below it."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None."""
        for parameter in self.parameters():
            parameter.grad = None

    # ---- state dicts -----------------------------------------------------------------------------

    def state_dict(self) -> OrderedDict:
        """Every parameter's values by dotted name, as copied ndarrays."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> None:
        """Copy values into the parameters. With `strict`, the keys must match exactly; shapes
        must always match. Errors name the keys or the shapes that differ."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for name, parameter in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = value.data if isinstance(value, Tensor) else np.asarray(value)
            if value.shape != parameter.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {value.shape}, but the parameter has "
                    f"shape {parameter.shape}"
                )
            parameter.data[...] = value

    # ---- display -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines + [")"])
