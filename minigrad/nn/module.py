"""`Module` and `Parameter`: the containers layers and models are built from.

A Module registers the Parameters and Modules assigned to its attributes, in assignment order, so
`parameters()` finds every weight of a model without being told (PyTorch's convention, from
`torch/nn/modules/module.py`). Reading an attribute stays an ordinary attribute read: registered
objects are stored in the instance dict too, and the registries only record their names.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that is a learnable weight of a Module, found by `Module.parameters()`.

    A Parameter without a `.name` takes its path in the module tree as its name when a Module
    registers it (`0.weight` in `nn.Sequential(nn.Linear(2, 3))`), so `viz.draw_graph` labels it
    without being handed the module. A name given by the user is kept.

    It requires grad unless built with `requires_grad=False` (a frozen weight), as in PyTorch.
    Ops on a Parameter return plain Tensors, so only the weights themselves are Parameters.
    """

    __slots__ = ("_path_name",)  # the name a Module gave it, to tell it from a user's name
    _path_name: str

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _prefix_parameter_names(child: Module, name: str) -> None:
    """Extend the names of `child`'s parameters to their paths from a parent that registers it
    as `name`: `weight` becomes `0.weight`. Modules are built bottom-up, so each registration
    adds one level, and the top module's parameters end up named by their full dotted path (as
    in `named_parameters()`). A name the user gave is kept; a parameter shared by two modules is
    named by one of its paths."""
    for path, parameter in child.named_parameters():
        if parameter.name == path and path_named(parameter):
            parameter.name = parameter._path_name = f"{name}.{path}"


def path_named(tensor: Tensor) -> bool:
    """True when the tensor's `.name` is the path a Module gave it (not one the user gave)."""
    return tensor.name is not None and getattr(tensor, "_path_name", None) == tensor.name


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` skipped: names the model has that the state dict
    lacks, and names the state dict has that the model lacks."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class of every layer and model: define `forward`, call the module to run it."""

    # Set in __init__ with object.__setattr__, bypassing the registration in __setattr__.
    training: bool
    _parameter_names: list[str]  # registered Parameters, in assignment order
    _module_names: list[str]  # registered child Modules, in assignment order

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
        self._unregister(name)
        if isinstance(value, Parameter):
            self._parameter_names.append(name)
            if value.name is None:
                value.name = value._path_name = name
        elif isinstance(value, Module):
            self._module_names.append(name)
            _prefix_parameter_names(value, name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)

    def _unregister(self, name: str) -> None:
        for registry in (self._parameter_names, self._module_names):
            if name in registry:
                registry.remove(name)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """The module's computation on its inputs; calling the module (`m(x)`) runs it.
        Every layer defines its own."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")  # abstract

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` under `name`, for names that are not identifiers (e.g. "0")."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # ---- traversal ------------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct submodule, in the order they were set."""
        for name in self._module_names:
            yield name, self.__dict__[name]

    def children(self) -> Iterator[Module]:
        """Each direct submodule, in the order they were set."""
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
        """This module and every submodule below it, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted path (`0.weight`, `encoder.bias`); a parameter shared
        by two modules is listed once, under its first name."""
        seen = set()
        for prefix, module in self.named_modules():
            for name in module._parameter_names:
                parameter = module.__dict__[name]
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{prefix}.{name}" if prefix else name), parameter

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter of this module and its submodules (each once), for an optimizer."""
        for _, parameter in self.named_parameters():
            yield parameter

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many scalar weights the module has (only those that require grad, if asked)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, function: Callable[[Module], None]) -> Module:
        """Call `function` on every module below this one and then on this one (PyTorch's
        order), e.g. to initialize every Linear: `model.apply(init_linear)`."""
        for module in reversed(list(self.modules())):
            function(module)
        return self

    # ---- modes and gradients -------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active) for this module and everything below it."""
        if not isinstance(mode, bool):
            raise TypeError(f"train() takes a bool mode, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every parameter to the floating `dtype`, in place, and return self (PyTorch's
        `module.to(dtype)`). A parameter keeps its identity, so an optimizer built on it still
        updates it; a gradient is cast with it."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"a module's parameters are floating point; got dtype {dtype}")
        for parameter in self.parameters():
            if parameter.dtype != dtype:
                grad = parameter.grad
                parameter.grad = None
                parameter.data = parameter.data.astype(dtype)
                parameter.grad = None if grad is None else grad.astype(dtype)
        return self

    def double(self) -> Module:
        """Cast every parameter to float64 (`to(float64)`)."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Cast every parameter to float32 (`to(float32)`)."""
        return self.to(np.float32)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (the next backward writes it afresh)."""
        for parameter in self.parameters():
            parameter.grad = None

    # ---- state dicts -----------------------------------------------------------------------------

    def state_dict(self) -> OrderedDict:
        """Every parameter's values by dotted name, as copied ndarrays (later training does not
        change a saved state dict)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values (ndarrays or Tensors) into the parameters, cast to each parameter's dtype.

        With `strict` (the default) the keys must match exactly; shapes must always match. One
        RuntimeError lists every missing key, unexpected key and shape mismatch, and nothing is
        copied unless everything fits. Returns the missing and unexpected keys.
        """
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        values = {name: _array(state_dict[name]) for name in own if name in state_dict}
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        problems += [
            f"size mismatch for {name!r}: the state dict has shape {value.shape}, the "
            f"parameter has shape {own[name].shape}"
            for name, value in values.items()
            if value.shape != own[name].shape
        ]
        if problems:
            raise RuntimeError(
                f"error loading the state dict into {type(self).__name__}: " + "; ".join(problems)
            )
        for name, value in values.items():
            tensor = own[name]
            tensor.data[...] = value
            tensor._bump_version()  # changed in place: a graph that saved it must not backward
        return IncompatibleKeys(missing, unexpected)

    # ---- display -------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The module's own settings, shown inside its repr's parentheses (`Linear(in=3, ...)`)."""
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

    def summary(self) -> str:
        """A table of every parameter (name, shape, count) and the total number of weights."""
        rows = [(name, str(p.shape), f"{p.size:,}") for name, p in self.named_parameters()]
        rows.insert(0, ("parameter", "shape", "count"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [
            f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {count:>{widths[2]}}"
            for name, shape, count in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        trainable = self.num_parameters(trainable_only=True)
        lines.append(
            f"{type(self).__name__}: {self.num_parameters():,} parameters ({trainable:,} trainable)"
        )
        return "\n".join(lines)


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)
