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
from .buffers import Buffers, kept_buffers, numpy_ufunc_call
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
    buffers: Buffers | None = None  # the arrays it writes into, kept between calls

    def run(self, args: tuple):
        """Replay the step on `args` (the same kinds of values it was traced with)."""
        return self.function(*args)


def generate(
    name: str, arguments: list, statements: list, output: str, types: dict | None = None
) -> tuple[str, Buffers | None]:
    """The source of `def name(*args)` reading `arguments` ((variable, value) pairs), running
    `statements` and returning `output`, and the buffers it keeps between calls (`buffers`),
    for the variables whose (shape, dtype) `types` gives."""
    lines = [f"def {name}(*args):"]
    for index, (argument, value) in enumerate(arguments):
        if isinstance(value, Tensor):
            lines.append(_line(f"{argument} = args[{index}].data", _shape_of(value.data)))
        elif isinstance(value, np.ndarray):
            lines.append(_line(f"{argument} = args[{index}]", _shape_of(value)))
    part = None
    # neither writing out= nor into a kept buffer changes which variables a statement binds
    uses = [_names(statement.code) for statement in statements]
    statements = in_place(statements, output, uses)
    mentions = [read | bound for read, bound in uses]
    statements, buffers = kept_buffers(statements, _names(output)[0], types or {}, mentions)
    if buffers is not None:
        lines.append(_line("buffers = BUFFERS.here()", buffers.describe()))
    for statement in _with_deletions(statements, output, uses):
        if statement.part != part:
            part = statement.part
            lines.append(f"    # ---- {_PARTS[part]}")
        lines.append(_line(statement.code, statement.comment))
    lines.append(f"    return {output}")
    return "\n".join(lines) + "\n", buffers


def generate_guards(guards: list) -> str:
    """The source of `def guards()`: whether every (expression, value) of `guards` still holds
    (the branches the recorded code took: momentum or not, a buffer made yet or not)."""
    tests = [
        f"({expression})" if value else f"not ({expression})"
        for expression, value in dict.fromkeys(guards)
    ]
    body = f"bool({' and '.join(tests)})" if tests else "True"
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


def in_place(statements: list, output: str, uses: list | None = None) -> list:
    """`statements` with each NumPy call `y = np.f(x, ...)` writing into `x` (`out=x`) where the
    step is done with `x` there and nothing else can see its buffer, as the hand-written step's
    `np.maximum(z, 0, out=z)`: the recorder marks `x` as of `y`'s shape and dtype (`reusable`),
    no later statement reads it, and the program made it itself, by an operator or a NumPy call
    (a new array, never a view), then changed it only in place (`x += b`). On benchmark case 3
    (784-256-256-10) writing the two ReLUs into their `linear`s made the compiled step 8% faster
    in a side-by-side run; the values are the same, elementwise."""
    if not any(statement.reusable for statement in statements):
        return statements
    if uses is None:
        uses = [_names(statement.code) for statement in statements]
    mentions = [read | bound for read, bound in uses]
    last_mention: dict = {}
    for index, names in enumerate(mentions):
        for name in names:
            last_mention[name] = index
    kept = _names(output)[0]
    result = list(statements)
    for index, statement in enumerate(statements):
        x = statement.reusable
        if not x or x in kept or last_mention.get(x) != index:
            continue
        earlier = [_tree(statements[i]) for i in range(index) if x in mentions[i]]
        if _ufunc_call(_tree(statement), x) and _made_and_kept_private(x, earlier):
            result[index] = statement._replace(code=f"{statement.code[:-1]}, out={x})")
    return result


def _tree(statement) -> list:
    return ast.parse(statement.code).body


def _ufunc_call(body: list, x: str) -> bool:
    """Whether `body` is `y = np.<ufunc>(..., x, ...)`, one result, no keywords."""
    if len(body) != 1 or not isinstance(body[0], ast.Assign) or len(body[0].targets) != 1:
        return False
    call = body[0].value
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and _numpy_ufunc_call(call)
    ):
        return False
    return getattr(np, call.func.attr).nout == 1 and any(_is_name(a, x) for a in call.args)


def _made_and_kept_private(x: str, bodies: list) -> bool:
    """Whether the statements `bodies` bind `x` once, to a new array (an operator's or a NumPy
    call's result), and otherwise touch it only by augmented assignment (`x += b`)."""
    made = 0
    for body in bodies:
        for node in body:
            if isinstance(node, ast.AugAssign) and _is_name(node.target, x):
                if _mentions(node.value, x):
                    return False
                continue
            if not (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and _is_name(node.targets[0], x)
                and (isinstance(node.value, ast.BinOp) or _numpy_ufunc_call(node.value))
                and not _mentions(node.value, x)
            ):
                return False
            made += 1
    return made == 1


def _numpy_ufunc_call(value: ast.expr) -> bool:
    """Whether `value` is `np.<ufunc>(...)` with no keywords (so no `out=`): a new array."""
    return numpy_ufunc_call(value) and isinstance(value, ast.Call) and not value.keywords


def _mentions(node: ast.AST, name: str) -> bool:
    return any(_is_name(n, name) for n in ast.walk(node))


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _with_deletions(statements: list, output: str, uses: list) -> list:
    """`statements` with `del` after each variable's last use, so every array is freed as soon
    as the step is done with it, as eager's backward frees what each node saved: the compiled
    step's peak memory is then that of the hand-written one, not of all its arrays at once.
    `uses` are the (names read, names bound) of each statement."""
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
