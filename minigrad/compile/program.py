"""Code generation: a recorder's statements become the source of one Python function of
straight-line NumPy code, compiled with `compile()` and `exec`, and kept with its source.

The function takes the call's arguments, reads each array it needs where the eager call first
read it (an argument's or a parameter's `.data`), runs the recorded ops' `forward`s and `vjp`s
and the walk's sums in their recorded order, calls the optimizers, and returns what the traced
call returned, tensors rebuilt around the arrays it computed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import random
from ..tensor import Tensor
from .runtime import result

_PARTS = {
    "forward": "forward: each op's own forward, in the order the call ran them",
    "backward": "backward: the walk's VJPs, newest op first, and its sums",
    "update": "update: the optimizers, which read their param_groups (lr, momentum) now",
}
_COMMENT_COLUMN = 56


@dataclass
class Program:
    """A compiled step: `run(args)` replays it; `code` is its source."""

    code: str
    function: Callable
    checks: Callable  # () -> bool: the tensors it reads still have their traced shape and dtype

    def run(self, args: tuple):
        """Replay the step on `args` (the same kinds of values it was traced with)."""
        return self.function(*args)


def generate(name: str, arguments: list, statements: list, output: str) -> str:
    """The source of `def name(*args)` reading `arguments` ((variable, value) pairs), running
    `statements` and returning `output`."""
    lines = [f"def {name}(*args):"]
    for index, (argument, value) in enumerate(arguments):
        if isinstance(value, Tensor):
            lines.append(_line(f"{argument} = args[{index}].data", _shape_of(value.data)))
        elif isinstance(value, np.ndarray):
            lines.append(_line(f"{argument} = args[{index}]", _shape_of(value)))
    part = None
    for statement in _with_deletions(statements, output):
        if statement.part != part:
            part = statement.part
            lines.append(f"    # ---- {_PARTS[part]}")
        lines.append(_line(statement.code, statement.comment))
    lines.append(f"    return {output}")
    return "\n".join(lines) + "\n"


def generate_guards(guards: list) -> str:
    """The source of `def guards()`: whether every (expression, value) of `guards` still holds
    (the branches the recorded code took: momentum or not, a buffer made yet or not)."""
    tests = [
        f"({expression})" if value else f"not ({expression})"
        for expression, value in dict.fromkeys(guards)
    ]
    body = " and ".join(tests) if tests else "True"
    return f"def guards():\n    return {body}\n"


def _names(code: str) -> tuple[set, set]:
    """(names read, names bound) by one statement's code."""
    read: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            read.add(node.target.id)
    return read, bound


def _with_deletions(statements: list, output: str) -> list:
    """`statements` with `del` after each variable's last use, so every array is freed as soon
    as the step is done with it, as eager's backward frees what each node saved: the compiled
    step's peak memory is then that of the hand-written one, not of all its arrays at once."""
    uses = [_names(statement.code) for statement in statements]
    # Arrays read from tensors and captured arrays stay alive with them: no use deleting those.
    held = {
        name
        for statement, (_, bound) in zip(statements, uses)
        if statement.code.startswith(
            tuple(f"{b} = T[" for b in bound) + tuple(f"{b} = A[" for b in bound)
        )
        for name in bound
    }
    bound_here = set().union(*(bound for _, bound in uses)) - held
    kept = _names(output)[0]
    last: dict = {}
    for index, (read, bound) in enumerate(uses):
        for name in (read | bound) & bound_here:
            last[name] = index
    dead_after: dict = {}
    for name, index in last.items():
        if name not in kept and name != "_":
            dead_after.setdefault(index, []).append(name)
    result = []
    for index, statement in enumerate(statements):
        result.append(statement)
        if index in dead_after:
            names = ", ".join(sorted(dead_after[index]))
            result.append(type(statement)(f"del {names}", "", statement.part))
    return result


def build(name: str, source: str, namespace: dict) -> Callable:
    """Compile `source` (defining `name`) in a namespace of `namespace` and the helpers."""
    scope = dict(namespace, rng=random.generator, wrap=result)
    exec(compile(source, f"<mg.compile {name}>", "exec"), scope)
    return scope[name]


def _line(code: str, comment: str) -> str:
    """`code` indented into the function body, `comment` after its first line."""
    first, *rest = code.split("\n")
    text = "    " + first
    if comment:
        text = text.ljust(_COMMENT_COLUMN) + "  # " + comment
    return "\n".join([text] + ["    " + line for line in rest])


def _shape_of(array: np.ndarray) -> str:
    return f"{tuple(array.shape)} {array.dtype}"
