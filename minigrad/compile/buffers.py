"""Kept buffers: the large arrays a compiled step makes anew each call, written instead into
arrays kept between calls (`out=`), as a hand-written step reuses its work arrays.

A fresh array each call lands wherever the heap has room; after the import and the trace have
left holes there, that is a new address each call, whose cache lines are cold. A kept buffer is
the same memory every call. On benchmark case 3 (784-256-256-10, batch 128) this took the
compiled step from 1.016-1.055x the hand-written one to 1.010-1.026x in five processes each
(docs/performance.md, "Kept buffers").

Only a program's private arrays are kept: a variable bound once to an operator's result (`y = a
@ b`), which nothing outside the step can see, because every later use of it, or of an array
written into it (`relu = np.maximum(linear, 0, out=linear)`), makes a new array from it (an
operand, `.mT`, `.sum()`, a ufunc's argument) or writes into it in place. An array handed to an
op's method, to a `.grad`, to the optimizer's state or returned is never kept. The product
inside an in-place update (`p -= lr * g`) is kept too: it lives for that one statement. A buffer
is in C order, so a product is kept only where eager lays it out so on every call too
(`_c_ordered`); the recorder gives no shapes for a step that indexes by a boolean mask, whose
shapes can change from call to call, so it keeps nothing.

Buffers whose lifetimes do not overlap share memory: each is placed at the lowest offset of one
block where it overlaps no buffer live at the same time, so the block is about the largest set
alive at once, and the step's peak memory stays that of the hand-written step. Each thread has
its own block (`Buffers.here`), so two threads may run one program at once.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass

import numpy as np

# Smaller arrays come from NumPy's and malloc's caches of small blocks, warm already, and a
# call with `out=` costs a keyword more than the operator: they are left to the operators.
SMALLEST = 64 * 1024  # bytes
_ALIGNMENT = 64  # bytes: a cache line, so each buffer starts on one
_UFUNCS = {
    ast.MatMult: "matmul", ast.Mult: "multiply", ast.Add: "add", ast.Sub: "subtract",
    ast.Div: "true_divide",
}  # fmt: skip
_MAKES_NEW = (ast.BinOp, ast.Compare, ast.UnaryOp)  # an ndarray operand gives a new array


@dataclass(frozen=True)
class Placement:
    """One kept buffer: its place in the block, its shape and dtype."""

    offset: int
    shape: tuple
    dtype: np.dtype

    def view_of(self, block: np.ndarray) -> np.ndarray:
        """This buffer, as an array over its bytes of `block`."""
        end = self.offset + _nbytes(self.shape, self.dtype)
        return block[self.offset : end].view(self.dtype).reshape(self.shape)


class Buffers:
    """The kept buffers of one program, made on first use in each thread: `here()` is this
    thread's, a dict from buffer name to array, all views of one block of memory."""

    def __init__(self, placements: dict[str, Placement], nbytes: int):
        self.placements, self.nbytes = placements, nbytes
        self._local = threading.local()

    def describe(self) -> str:
        """What the program's first line says of them."""
        count = len(self.placements)
        return f"this thread's kept arrays: {count} in one block of {self.nbytes / 1024:.0f} KiB"

    def here(self) -> dict[str, np.ndarray]:
        """This thread's buffers by name, their block allocated on the thread's first call."""
        views = getattr(self._local, "views", None)
        if views is None:
            block = np.empty(self.nbytes, np.uint8)
            views = self._local.views = {
                name: place.view_of(block) for name, place in self.placements.items()
            }
        return views


def kept_buffers(
    statements: list, output_names: set, types: dict, mentions: list
) -> tuple[list, Buffers | None]:
    """`statements` with each private array of at least `SMALLEST` bytes written into a kept
    buffer, and those buffers (None if there are none). `types` gives a variable's (shape,
    dtype) where the recording knows it; a variable bound as `x = float(...)` is a Python
    float. `mentions` are the names each statement reads or binds (the rewriting adds only
    `np` and `buffers`, which no statement binds)."""
    trees = [ast.parse(statement.code).body for statement in statements]
    chosen = _private_products(trees, mentions, output_names, types)
    taken = set().union(*mentions, (c.name for c in chosen))
    chosen += _update_products(trees, types, taken)
    if not chosen:
        return statements, None
    placements, nbytes = _place(chosen)
    result = list(statements)
    for candidate in chosen:
        index = candidate.statement
        result[index] = result[index]._replace(code=candidate.rewritten)
    return result, Buffers(placements, nbytes)


@dataclass(frozen=True)
class _Candidate:
    name: str  # the buffer's name, and its variable's where it has one
    shape: tuple
    dtype: np.dtype
    statement: int  # where it is made
    last: int  # the last statement that reads it or an alias of it
    rewritten: str  # the making statement, writing into the buffer


def _private_products(
    trees: list, mentions: list, output_names: set, types: dict
) -> list[_Candidate]:
    """`y = a <op> b` whose `y` is large, bound once, used only in ways that keep it private
    to the step (the module docstring), and laid out in C order by eager too (`_c_ordered`)."""
    chosen = []
    c_ordered: set = set()  # the kept arrays and those written into them: C order, always
    for index, body in enumerate(trees):
        if len(body) != 1 or not isinstance(body[0], ast.Assign):
            continue
        statement = body[0]
        target, value = statement.targets[0], statement.value
        if not (
            len(statement.targets) == 1
            and isinstance(target, ast.Name)
            and isinstance(value, ast.BinOp)
            and type(value.op) in _UFUNCS
            and _large(types.get(target.id))
            and _c_ordered(value, types[target.id][0], c_ordered, types)
        ):
            continue
        uses = _private_uses(trees, mentions, index, target.id, output_names)
        if uses is not None:
            last, aliases = uses
            c_ordered |= aliases
            shape, dtype = types[target.id]
            code = f"{target.id} = {_call(value, f'buffers[{target.id!r}]')}"
            chosen.append(_Candidate(target.id, shape, dtype, index, last, code))
    return chosen


def _c_ordered(value: ast.BinOp, shape: tuple, c_ordered: set, types: dict) -> bool:
    """Whether eager's `a <op> b` is in C order on every call, as a kept buffer is: else what
    reduces it later (`.sum(axis=1)`) would add in another order than eager's, and differ in
    the last bits. A matrix product of at most two dimensions always is; an elementwise one is
    when each array operand is (a kept array, or one of at most one dimension), since NumPy lays
    the result out as its operands are."""
    if isinstance(value.op, ast.MatMult):
        return len(shape) <= 2
    return all(_c_operand(operand, c_ordered, types) for operand in (value.left, value.right))


def _c_operand(node: ast.expr, c_ordered: set, types: dict) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in c_ordered or (node.id in types and len(types[node.id][0]) <= 1)
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
        return _c_operand(node.left, c_ordered, types) and _c_operand(node.right, c_ordered, types)
    if isinstance(node, ast.Compare) and len(node.comparators) == 1:
        return _c_operand(node.left, c_ordered, types) and _c_operand(
            node.comparators[0], c_ordered, types
        )
    if isinstance(node, ast.UnaryOp):
        return _c_operand(node.operand, c_ordered, types)
    return False


def _update_products(trees: list, types: dict, taken: set) -> list[_Candidate]:
    """The product of an in-place update of plain names, `p -= lr * g`, when it is large; each
    buffer named `p_step` after its parameter, or `p_step_2` and on where that is `taken`."""
    floats = {
        node.targets[0].id
        for body in trees
        for node in body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "float"
        and isinstance(node.targets[0], ast.Name)
    }
    chosen = []
    for index, body in enumerate(trees):
        if len(body) != 1 or not isinstance(body[0], ast.AugAssign):
            continue
        update, value = body[0], body[0].value
        if not (
            isinstance(update.target, ast.Name)
            and type(update.op) in _OPERATOR_TEXT
            and isinstance(value, ast.BinOp)
            and type(value.op) in _UFUNCS
        ):
            continue
        product = _product_type(value, types, floats)
        if product is not None and _large(product):
            name = _untaken(f"{update.target.id}_step", taken)
            symbol = _OPERATOR_TEXT[type(update.op)]
            code = f"{update.target.id} {symbol}= {_call(value, f'buffers[{name!r}]')}"
            shape, dtype = product
            chosen.append(_Candidate(name, shape, dtype, index, index, code))
    return chosen


def _untaken(base: str, taken: set) -> str:
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}_{count}"
    taken.add(name)
    return name


_OPERATOR_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@"}


def _product_type(value: ast.BinOp, types: dict, floats: set) -> tuple[tuple, np.dtype] | None:
    """The (shape, dtype) of `a <op> b` for names `a` and `b` of known arrays or Python floats
    (weak scalars: the array's dtype wins, as NumPy 2 promotes them)."""
    if isinstance(value.op, ast.MatMult):
        return None
    shapes: list[tuple] = []
    kinds: list = []
    for operand in (value.left, value.right):
        if not isinstance(operand, ast.Name):
            return None
        if operand.id in floats:
            kinds.append(0.0)
        elif operand.id in types:
            shape, dtype = types[operand.id]
            shapes.append(shape)
            kinds.append(dtype)
        else:
            return None
    if not shapes:
        return None
    return np.broadcast_shapes(*shapes), np.result_type(*kinds)


def _large(kind: tuple | None) -> bool:
    if kind is None:
        return False
    shape, dtype = kind
    return len(shape) > 0 and _nbytes(shape, dtype) >= SMALLEST


def _private_uses(
    trees: list, mentions: list, made: int, name: str, output_names: set
) -> tuple[int, set] | None:
    """The last statement reading `name` or an array written into it, and the names of those
    arrays, if every use after statement `made` keeps it private; None if it escapes or is
    bound again. `mentions` are the names each statement mentions."""
    aliases = {name}
    last = made
    for index in range(made + 1, len(trees)):
        if not mentions[index] & aliases:
            continue
        for node in trees[index]:
            alias = _private_use(node, aliases)
            if alias is False:
                return None
            if isinstance(alias, str):
                aliases.add(alias)
            last = index
    return None if aliases & output_names else (last, aliases)


def _private_use(node: ast.stmt, aliases: set) -> bool | str:
    """Whether statement `node` uses the arrays `aliases` only in private ways: False if not,
    the name it binds to one of them (`z = np.f(..., out=y)`) if it does so, else True."""
    if isinstance(node, ast.Delete):
        return True
    if not isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)):
        return False  # a compound statement: what it binds inside is not followed
    bound: str | None = None
    scope: ast.AST = node
    if isinstance(node, ast.AugAssign) and _is_in(node.target, aliases):
        scope = node.value  # written into in place; what it reads is checked
    elif isinstance(node, ast.Assign) and _writes_into(node.value, aliases):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return False
        bound, scope = node.targets[0].id, node.value
    elif isinstance(node, ast.Assign):
        targets = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if targets & aliases:
            return False  # bound again
    parents = {
        child: parent for parent in ast.walk(scope) for child in ast.iter_child_nodes(parent)
    }
    for use in ast.walk(scope):
        if _is_in(use, aliases) and not _makes_new_or_writes(use, parents):
            return False
    return bound if bound is not None else True


def _makes_new_or_writes(use: ast.AST, parents: dict) -> bool:
    """Whether this use of a kept array makes a new array from it or writes into it."""
    parent: ast.AST | None = parents.get(use)
    viewed = isinstance(parent, ast.Attribute) and parent.attr in ("mT", "T")
    if viewed:
        use, parent = parents[use], parents.get(parent)  # a view, used as the next parent uses it
    if isinstance(parent, _MAKES_NEW):
        return True
    if isinstance(parent, ast.Attribute) and parent.attr == "sum":
        call = parents.get(parent)
        return isinstance(call, ast.Call) and call.func is parent
    if isinstance(parent, ast.keyword):  # out=y itself; out=y.T would hand on a view
        return parent.arg == "out" and not viewed and numpy_ufunc_call(parents.get(parent))
    return isinstance(parent, ast.Call) and use in _ufunc_inputs(parent)


def _ufunc_inputs(call: ast.Call) -> list:
    """The positional arguments a `np.<ufunc>(...)` call reads (those after are outputs)."""
    if not (numpy_ufunc_call(call) and isinstance(call.func, ast.Attribute)):
        return []
    return call.args[: getattr(np, call.func.attr).nin]


def _writes_into(value: ast.expr, aliases: set) -> bool:
    """Whether `value` is `np.<ufunc>(..., out=y)` for a kept array `y`."""
    return (
        numpy_ufunc_call(value)
        and isinstance(value, ast.Call)
        and any(k.arg == "out" and _is_in(k.value, aliases) for k in value.keywords)
    )


def numpy_ufunc_call(node: ast.AST | None) -> bool:
    """Whether `node` is a call `np.<ufunc>(...)`, with or without keywords."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "np"
        and isinstance(getattr(np, node.func.attr, None), np.ufunc)
    )


def _is_in(node: ast.AST, names: set) -> bool:
    return isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names


def _call(value: ast.BinOp, buffer: str) -> str:
    """`a <op> b` as the ufunc call writing into `buffer`: `np.matmul(a, b, out=buffer)`."""
    left, right = ast.unparse(value.left), ast.unparse(value.right)
    return f"np.{_UFUNCS[type(value.op)]}({left}, {right}, out={buffer})"


def _place(chosen: list[_Candidate]) -> tuple[dict[str, Placement], int]:
    """Each buffer's offset in one block: the lowest where it overlaps no buffer whose
    statements [made, last] overlap its own; and the block's size."""
    placed: list[tuple[_Candidate, int, int]] = []  # (buffer, its offset, its end)
    placements = {}
    for candidate in sorted(chosen, key=lambda c: c.statement):
        size = _rounded(_nbytes(candidate.shape, candidate.dtype))
        live = sorted(
            (offset, end)
            for other, offset, end in placed
            if other.statement <= candidate.last and candidate.statement <= other.last
        )
        offset = 0
        for start, end in live:
            if offset + size <= start:
                break
            offset = max(offset, end)
        placed.append((candidate, offset, offset + size))
        placements[candidate.name] = Placement(offset, candidate.shape, np.dtype(candidate.dtype))
    return placements, max((end for _, _, end in placed), default=0)


def _nbytes(shape: tuple, dtype) -> int:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


def _rounded(nbytes: int) -> int:
    return -(-nbytes // _ALIGNMENT) * _ALIGNMENT
