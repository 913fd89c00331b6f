"""`Tracer`: records every forward op and every VJP with its shapes, flops and bytes moved."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .. import autograd
from ..autograd import FREED, Node
from .costs import Cost, backward_cost, forward_cost


@dataclass
class OpRecord:
    """One op run in one direction ('forward' or 'backward').

    `input_shapes` and `output_shape` are the op's own (for a backward record too: its VJP maps a
    gradient of `output_shape` to gradients of `input_shapes`). Flops are None for an op of
    unknown cost (a user's `Function`); `module` is the parameter-owning Module the op belongs to,
    when the Tracer was given one.
    """

    phase: str
    op: str
    input_shapes: tuple
    output_shape: tuple
    matmul_flops: int | None
    other_flops: int | None
    bytes: int
    module: str | None = None

    @property
    def flops(self) -> int | None:
        """All flops of the op (matrix products and the rest), None when its cost is unknown."""
        if self.matmul_flops is None or self.other_flops is None:
            return None
        return self.matmul_flops + self.other_flops


def _is_primitive(op) -> bool:
    """Built-in ops are classes in `minigrad.ops`; a user's Function is an adapter instance."""
    return isinstance(op, type)


def op_cost(op, phase: str, input_shapes: list, output_shape: tuple, params, needs=()):
    """The `Cost` of one op run, or None when its cost is unknown."""
    if not _is_primitive(op):
        return None
    if phase == "forward":
        return forward_cost(op, input_shapes, output_shape, params)
    return backward_cost(op, input_shapes, output_shape, needs, params)


def node_input_shapes(node: Node) -> list:
    """The shapes of a node's inputs: from its parents, or from the constants it keeps (None for
    an absent input, such as a Linear without bias, or a constant already released)."""
    saved = node.saved if node.saved is not FREED and node.saved is not None else ()
    shapes = []
    for index, parent in enumerate(node.parents):
        if type(parent) is Node:
            shapes.append(parent.shape)
        elif parent is not None:
            shapes.append(parent.data.shape)
        elif index < len(saved) and saved[index] is not None:
            shapes.append(np.shape(saved[index]))
        else:
            shapes.append(None)
    return shapes


def node_costs(node: Node) -> tuple:
    """(forward Cost, backward Cost) of a recorded node, from its shapes alone (either may be
    None: an unknown op, or one whose parameters backward has released)."""
    shapes = node_input_shapes(node)
    forward = op_cost(node.op, "forward", shapes, node.shape, node.params)
    backward = op_cost(node.op, "backward", shapes, node.shape, node.params, node.needs)
    return forward, backward


def _nbytes(value) -> int:
    return 0 if value is None else int(np.asarray(value).nbytes)


def parameter_owners(module) -> dict:
    """id(parameter) -> dotted path of the Module that holds it directly ('' for `module`
    itself), from `module.named_parameters()`."""
    owners = {}
    for name, parameter in module.named_parameters():
        owners[id(parameter)] = name.rpartition(".")[0]
    return owners


def node_module(node: Node | None, owners: dict) -> str | None:
    """The Module a node belongs to: the one holding a parameter the node reads directly.

    An op reads a Module's parameters only inside that Module's forward, so this finds every
    op that touches a weight or bias without wrapping `Module.__call__`; a parameter-free Module
    (an activation) has nothing to be recognised by, and its ops stay unattributed.
    """
    if node is None or not owners:
        return None
    for parent in node.parents:
        path = owners.get(id(parent)) if parent is not None and type(parent) is not Node else None
        if path is not None:
            return path
    return None


class Tracer:
    """Context manager recording every op run in its scope (forward, and backward VJPs).

    `with Tracer(module=model) as t:` ... then `t.records` (a list of `OpRecord`), `t.totals()`,
    `t.summary()`. Flops follow the conventions in `minigrad/trace/costs.py` and docs/trace.md
    (a matmul (n, d) @ (d, e) is 2 n d e forward, 2 n d e backward per needed input gradient).
    It observes ops through `autograd.add_watcher`, and removes itself on exit, so outside its
    scope the engine pays nothing. Pass `module` to attribute ops to the Modules whose parameters
    they read (see `node_module`).
    """

    def __init__(self, module=None) -> None:
        self.records: list[OpRecord] = []
        self._owners = parameter_owners(module) if module is not None else {}

    def __enter__(self) -> Tracer:
        autograd.add_watcher(self)
        return self

    def __exit__(self, *exc_info) -> None:
        autograd.remove_watcher(self)

    def on_forward(self, op, arrays, params, out, node) -> None:
        """Record one op's forward: its shapes, flops and bytes (the watcher interface)."""
        shapes = [None if a is None else np.shape(a) for a in arrays]
        cost = op_cost(op, "forward", shapes, out.shape, params)
        moved = sum(_nbytes(a) for a in arrays) + out.nbytes
        self._record("forward", op, shapes, out.shape, cost, moved, node)

    def on_backward(self, node: Node, grad, input_grads) -> None:
        """Record one node's backward step: its VJP's flops and bytes (the watcher interface)."""
        shapes = node_input_shapes(node)
        cost = op_cost(node.op, "backward", shapes, node.shape, node.params, node.needs)
        kept = node.saved if node.saved is not None else ()
        moved = (
            _nbytes(grad)
            + sum(_nbytes(a) for a in kept)
            + _nbytes(node.out)
            + sum(_nbytes(g) for g in input_grads)
        )
        self._record("backward", node.op, shapes, node.shape, cost, moved, node)

    def _record(self, phase, op, shapes, out_shape, cost: Cost | None, moved, node) -> None:
        self.records.append(
            OpRecord(
                phase,
                op.name,
                tuple(shapes),
                tuple(out_shape),
                None if cost is None else cost.matmul_flops,
                None if cost is None else cost.other_flops,
                moved,
                node_module(node, self._owners),
            )
        )

    def totals(self) -> dict:
        """Sums over the records: flops (all, and the matmul part), bytes and op counts, per
        direction; `unknown_ops` counts records whose cost is unknown (left out of the sums)."""
        totals = dict.fromkeys(
            (
                "forward_flops", "backward_flops", "forward_matmul_flops",
                "backward_matmul_flops", "forward_bytes", "backward_bytes", "forward_ops",
                "backward_ops", "unknown_ops",
            ),
            0,
        )  # fmt: skip
        for record in self.records:
            phase = record.phase
            totals[f"{phase}_ops"] += 1
            totals[f"{phase}_bytes"] += record.bytes
            if record.flops is None:
                totals["unknown_ops"] += 1
                continue
            totals[f"{phase}_flops"] += record.flops
            totals[f"{phase}_matmul_flops"] += record.matmul_flops or 0
        return totals

    def summary(self) -> str:
        """A table of calls, flops (matmul part and the rest) and bytes, forward beside backward,
        per op type, then per Module when a module was given, then the totals."""
        tables = [("op", _rows(self.records, lambda r: r.op))]
        if any(r.module is not None for r in self.records):
            by_module = _rows(self.records, lambda r: "(none)" if r.module is None else r.module)
            tables.append(("module", by_module))
        lines = _format_tables(tables)
        totals = self.totals()
        lines += [
            "",
            f"total: forward {totals['forward_flops']:,} flops "
            f"({totals['forward_matmul_flops']:,} in matmuls),",
            f"       backward {totals['backward_flops']:,} flops "
            f"({totals['backward_matmul_flops']:,} in matmuls); backward / forward = "
            f"{_ratio(totals)}",
        ]
        if totals["unknown_ops"]:
            lines.append(f"{totals['unknown_ops']} op runs of unknown cost are not counted")
        return "\n".join(lines)


_COLUMNS = ("calls", "matmul_flops", "flops", "bytes")
WIDTH = 100  # the widest line a summary prints
_KEY_WIDTH = 20


def _format_tables(tables: list) -> list[str]:
    """The tables with exact numbers (thousands separated) when every line fits in WIDTH
    columns, else with the numbers in short form (3.15M), which always fits."""
    for number in (lambda n: f"{n:,}", _short):
        lines: list[str] = []
        for key, rows in tables:
            lines += ([""] if lines else []) + _table(key, rows, number)
        if max(len(line) for line in lines) <= WIDTH:
            break
    return lines


def _table(key: str, rows: list, number) -> list[str]:
    """Header and rows; columns as wide as their widest cell, keys cut to _KEY_WIDTH."""
    headers = [f"fwd {_COLUMNS[0]}", *_COLUMNS[1:], f"bwd {_COLUMNS[0]}", *_COLUMNS[1:]]
    cells = [[number(n) for n in numbers] for _, numbers in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    names = [_cut(name) for name, _ in rows]
    key_width = max([len(key)] + [len(name) for name in names])
    lines = [" ".join([f"{key:<{key_width}}"] + [f"{h:>{w}}" for h, w in zip(headers, widths)])]
    for name, row in zip(names, cells):
        cells_text = [f"{c:>{w}}" for c, w in zip(row, widths)]
        lines.append(" ".join([f"{name:<{key_width}}", *cells_text]))
    return lines


def _cut(name: str) -> str:
    return name if len(name) <= _KEY_WIDTH else name[: _KEY_WIDTH - 1] + "~"


def _short(n: int) -> str:
    """An integer in at most 6 characters: 999, 12.3k, 3.15M, 1.61G, 2.2T."""
    for factor, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g}{suffix}"
    return str(n)


def _rows(records: list, key) -> list[tuple[str, list[int]]]:
    """(key, [calls, matmul flops, flops, bytes forward, then the same backward]) per key."""
    table: dict = defaultdict(lambda: {"forward": [0, 0, 0, 0], "backward": [0, 0, 0, 0]})
    for record in records:
        cells = table[key(record)][record.phase]
        cells[0] += 1
        cells[1] += record.matmul_flops or 0
        cells[2] += record.flops or 0
        cells[3] += record.bytes
    return [(str(name), phases["forward"] + phases["backward"]) for name, phases in table.items()]


def _ratio(totals: dict) -> str:
    if not totals["forward_flops"]:
        return "n/a"
    return f"{totals['backward_flops'] / totals['forward_flops']:.2f}"
