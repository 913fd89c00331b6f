"""Code generation: a recorder's statements become the source of one Python function of
straight-line NumPy code, compiled with `compile()` and `exec`, and kept with its source.

The function takes the call's arguments, reads each array it needs where the eager call first
read it (an argument's or a parameter's `.data`), runs the recorded ops' `forward`s and `vjp`s
and the walk's sums in their recorded order, calls the optimizers, and returns what the traced
call returned, tensors rebuilt around the arrays it computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import random
from ..tensor import Tensor

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


def generate(name: str, arguments: list, statements: list, namespace: dict, output: str) -> str:
    """The source of `def name(*args)` running `statements` and returning `output`."""
    lines = [f"def {name}(*args):"]
    for index, (argument, value) in enumerate(arguments):
        if isinstance(value, Tensor):
            lines.append(_line(f"{argument} = args[{index}].data", _shape_of(value.data)))
        elif isinstance(value, np.ndarray):
            lines.append(_line(f"{argument} = args[{index}]", _shape_of(value)))
    part = None
    for statement in statements:
        if statement.part != part:
            part = statement.part
            lines.append(f"    # ---- {_PARTS[part]}")
        lines.append(_line(statement.code, statement.comment))
    lines.append(f"    return {output}")
    return "\n".join(lines) + "\n"


def build(name: str, source: str, namespace: dict) -> Callable:
    """Compile `source` (defining `name`) in a namespace of `namespace` and the helpers."""
    scope = dict(namespace, rng=random.generator, wrap=Tensor)
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
