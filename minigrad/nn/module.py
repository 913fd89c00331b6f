"""`Module` and `Parameter`: the containers layers and models are built from.

A Module registers the Parameters and Modules assigned to its attributes, in assignment order, so
`parameters()` finds every weight of a model without being told (PyTorch's convention, from
`torch/nn/modules/module.py`). Reading an attribute stays an ordinary attribute read: registered
objects are stored in the instance dict too, and the registries only record their names.

Buffers (`register_buffer`) are the third kind: state a layer keeps that is not learned, such as
batch norm's running statistics. They are saved and loaded with the state dict, but
`parameters()` never lists them, so optimizers never step them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

from .. import structure
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
    _buffer_names: list[str]  # registered buffers (`register_buffer`), in registration order

    def __init__(self):
        object.__setattr__(self, "_parameter_names", [])
        object.__setattr__(self, "_module_names", [])
        object.__setattr__(self, "_buffer_names", [])
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameter_names" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before assigning "
                "attributes"
            )
        if name in self._buffer_names and (value is None or isinstance(value, Tensor)):
            if isinstance(value, Parameter):
                raise TypeError(f"cannot assign a Parameter to the buffer {name!r}")
            object.__setattr__(self, name, value)  # a new value for the buffer stays a buffer
            return
        self._unregister(name)
        if isinstance(value, Parameter):
            self._parameter_names.append(name)
            if value.name is None:
                value.name = value._path_name = name
        elif isinstance(value, Module):
            self._module_names.append(name)
            _prefix_parameter_names(value, name)
        object.__setattr__(self, name, value)
        # Maybe a parameter, a submodule or the mode: told after the change, so a compiled
        # step's guards that read it in another thread meanwhile read it again.
        structure.changed()

    def __delattr__(self, name: str) -> None:
        self._unregister(name)
        object.__delattr__(self, name)
        structure.changed()

    def _unregister(self, name: str) -> None:
        for registry in (self._parameter_names, self._module_names, self._buffer_names):
            if name in registry:
                registry.remove(name)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """The module's computation on its inputs; calling the module (`m(x)`) runs it.
        Every layer defines its own."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")  # abstract

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """Keep `tensor` as the buffer `name`: state that is saved and loaded with the module
        (`state_dict`) but is not a parameter, so no optimizer updates it (batch norm's running
        mean and variance). It needs no gradient; assigning a Tensor to the name later replaces
        the buffer. None registers the name with no value yet, as in PyTorch."""
        if not isinstance(name, str) or not name.isidentifier():
            raise KeyError(f"register_buffer: the name must be an identifier, got {name!r}")
        if tensor is not None and (not isinstance(tensor, Tensor) or isinstance(tensor, Parameter)):
            raise TypeError(
                f"register_buffer({name!r}) needs a Tensor (not a Parameter) or None, got "
                f"{type(tensor).__name__}"
            )
        if tensor is not None and tensor.requires_grad:
            raise ValueError(f"register_buffer({name!r}): a buffer must not require grad")
        self._unregister(name)
        self._buffer_names.append(name)
        object.__setattr__(self, name, tensor)
        structure.changed()  # it may have been a parameter or a submodule

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

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted path (`0.running_mean`), module by module as
        `named_parameters`; a name registered as None is skipped."""
        for prefix, module in self.named_modules():
            for name in module._buffer_names:
                buffer = module.__dict__[name]
                if buffer is not None:
                    yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self) -> Iterator[Tensor]:
        """Every buffer below this module (`named_buffers` without the names)."""
        for _, buffer in self.named_buffers():
            yield buffer

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
        structure.changed()
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

    def _state(self) -> dict[str, Tensor]:
        """What a state dict holds: the parameters, then the buffers, by dotted name."""
        return {**dict(self.named_parameters()), **dict(self.named_buffers())}

    def state_dict(self) -> OrderedDict:
        """Every parameter's and then every buffer's values by dotted name, as copied ndarrays
        (later training does not change a saved state dict)."""
        return OrderedDict((name, t.data.copy()) for name, t in self._state().items())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy values (ndarrays or Tensors) into the parameters and buffers, cast to each one's
        dtype.

        With `strict` (the default) the keys must match exactly; shapes must always match. One
        RuntimeError lists every missing key, unexpected key and shape mismatch, and nothing is
        copied unless everything fits. Returns the missing and unexpected keys.
        """
        own = self._state()
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
            f"{'parameter' if isinstance(own[name], Parameter) else 'buffer'} has shape "
            f"{own[name].shape}"
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
