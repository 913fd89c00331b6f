"""What a function to compile reads besides its arguments: the modules, optimizers and tensors
it reaches through its closure, the globals it names, its defaults and its bound object.

The guards read them on every call (a module's train/eval mode, a parameter's identity, shape
and dtype), the program reads captured tensors' values at run time, and parameters get their
paths (`0.weight`) as names in the generated code.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np

from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor

_DEPTH = 3  # containers (lists, tuples, dicts, plain objects) looked into, nested this deep


@dataclass
class Sources:
    """The modules, optimizers and named tensors found, in the order found."""

    modules: list = field(default_factory=list)
    optimizers: list = field(default_factory=list)
    tensors: dict = field(default_factory=dict)  # id(tensor) -> (name, tensor)
    arrays: dict = field(default_factory=dict)  # id(array) -> (name, array): captured ndarrays

    def add_tensor(self, name: str, tensor: Tensor) -> None:
        """Note `tensor` under `name`, or under `name_2`, `name_3`, ... when that is taken."""
        if id(tensor) not in self.tensors:
            taken = {entry[0] for entry in self.tensors.values()}
            unique, count = name, 1
            while unique in taken:
                count += 1
                unique = f"{name}_{count}"
            self.tensors[id(tensor)] = (unique, tensor)

    def modes(self) -> tuple:
        """Every module's train/eval mode: part of a call's signature."""
        return tuple([module.training for module in self.modules])

    def slots(self) -> list:
        """(registry, name, object) for every parameter and submodule of every module: a
        program recorded with these objects replays only while each is still in its place."""
        return [
            (module.__dict__, name, module.__dict__[name])
            for module in self.modules
            for name in (*module._parameter_names, *module._module_names)
        ]


def find_sources(fn) -> Sources:
    """The modules, optimizers and tensors `fn` can reach without running."""
    sources = Sources()
    roots = _roots(fn)
    # Modules first, so parameters are named by their paths in the model (`0.weight`), not by
    # their place in an optimizer that happens to be named first.
    roots.sort(key=lambda root: not isinstance(root[1], Module))
    for name, value in roots:
        _visit(sources, name, value, _DEPTH, set())
    return sources


def _roots(fn) -> list:
    roots = []
    if isinstance(fn, Module):
        roots.append(("", fn))
    bound = getattr(fn, "__self__", None)
    if bound is not None and not isinstance(bound, types.ModuleType):
        roots.append(("self", bound))
    wrapped = getattr(fn, "__wrapped__", None)  # under a decorator (functools.wraps)
    if wrapped is not None:
        roots.append(("", wrapped))
    code = getattr(fn, "__code__", None)
    if code is None:
        return roots
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            roots.append((name, cell.cell_contents))
        except ValueError:  # a cell not yet filled
            continue
    names = getattr(fn, "__globals__", {})
    roots.extend((name, names[name]) for name in code.co_names if name in names)
    roots.extend((f"default{i}", value) for i, value in enumerate(fn.__defaults__ or ()))
    return roots


def visit(sources: Sources, name: str, value) -> None:
    """Add to `sources` what `value` (found under `name`) holds: modules, optimizers, tensors."""
    _visit(sources, name, value, _DEPTH, set())


def _visit(sources: Sources, name: str, value, depth: int, seen: set) -> None:
    if id(value) in seen or depth < 0:
        return
    seen.add(id(value))
    if isinstance(value, Module):
        _add_module(sources, name, value)
    elif isinstance(value, Optimizer):
        if value not in sources.optimizers:
            sources.optimizers.append(value)
        for group in value.param_groups:
            for i, param in enumerate(group["params"]):
                sources.add_tensor(f"{name}.param{i}" if name else f"param{i}", param)
    elif isinstance(value, Tensor):
        sources.add_tensor(name, value)
    elif isinstance(value, np.ndarray):
        sources.arrays.setdefault(id(value), (name, value))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _visit(sources, f"{name}[{i}]", item, depth - 1, seen)
    elif isinstance(value, dict):
        for key, item in value.items():
            _visit(sources, f"{name}[{key!r}]", item, depth - 1, seen)
    elif isinstance(value, types.FunctionType):  # a helper the function calls: what it reads
        for key, item in _roots(value):
            _visit(sources, key, item, depth - 1, seen)
    elif hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType)):
        if callable(value) and not hasattr(value, "__self__"):
            return  # another callable: what it reads is not looked for
        for key, item in vars(value).items():
            _visit(sources, f"{name}.{key}" if name else key, item, depth - 1, seen)


def _add_module(sources: Sources, name: str, module: Module) -> None:
    if any(module is known for known in sources.modules):
        return
    first = not sources.modules
    for submodule in module.modules():
        if not any(submodule is known for known in sources.modules):
            sources.modules.append(submodule)
    # The first model's parameters keep their bare paths (`0.weight`), as named_parameters()
    # gives them; another module's are prefixed with the name it was found under.
    prefix = "" if first or not name else f"{name}."
    for path, param in module.named_parameters():
        sources.add_tensor(prefix + path, param)
    # Buffers too: a step that changes one outside the ops (running statistics written on
    # .data) then fails the check that its replay equals the eager call, and stays eager.
    for path, buffer in module.named_buffers():
        sources.add_tensor(prefix + path, buffer)
