"""The recorder: it watches one eager call of a function and writes down, as program statements,
what the engine did, in the order it did it.

It is an `autograd` watcher (every op's forward, every VJP the backward walk runs) and an
`optim` watcher (every `step` and `zero_grad`), and it owns the engine RNG while it records
(`draws`). Each forward becomes a call of the op class's own `forward`, each VJP of its own
`vjp`, so a replay computes exactly what eager computed. What the walk does between VJPs
(bringing a gradient to its input's shape and dtype, summing the contributions to one input,
adding leaf gradients into `.grad`) is written as the `runtime` calls that do the same, and
checked against the walk's own results as the trace runs.

Arrays are told apart by identity: every array met is kept alive until the recording ends, so
no two ever share an id.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .. import ops
from ..autograd import Node
from ..tensor import Tensor
from .draws import Drawn, Expression, as_drawn, drawn_behind
from .errors import TraceError, user_line
from .symbolic import Unlowerable, lower
from .updates import lower_step, lower_zero_grad
from .sources import Sources


class TraceMismatch(RuntimeError):
    """The eager call did something the recording cannot reproduce exactly (a hook, a change to
    a parameter or gradient outside the ops and optimizers): run it eagerly instead."""


class Statement(NamedTuple):
    """One line of the generated program: its code, a comment, and the part of the step."""

    code: str
    comment: str
    part: str  # "forward", "backward" or "update"
    # an input variable of the output's shape and dtype, whose buffer a NumPy call may write
    # its result into if nothing reads it afterwards (`program.in_place`)
    reusable: str = ""


class _Gradient:
    """The walk's running sum for one node or leaf: the variable holding it, its value (to
    check the walk's), and whether the walk made the array itself (then it adds in place)."""

    __slots__ = ("name", "value", "owned")

    def __init__(self, name: str, value: np.ndarray, owned: bool):
        self.name, self.value, self.owned = name, value, owned


_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "divide": "/",
    "greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=",
}  # fmt: skip


# Names the generated code uses for its helpers, never for a variable.
RESERVED = (
    "np", "ops", "T", "A", "OPT", "IDS", "rng", "wrap", "conform", "store_grads", "args",
    "BUFFERS", "buffers",
)  # fmt: skip


class Recorder:
    """Builds the statements of one traced call; `namespace` holds what they refer to."""

    def __init__(self, sources: Sources, arguments: list):
        self.sources = sources
        self.statements: list[Statement] = []
        self.namespace: dict = {"np": np, "ops": ops, "T": {}, "OPT": []}
        self.names: dict[int, str] = {}
        self.kept: list = []  # every object named, alive until the recording ends
        self.types: dict[str, tuple] = {}  # variable -> (shape, dtype), for unnamed arrays
        # whether a boolean mask picked elements: then shapes follow values, which no guard sees
        self.masked = False
        self.taken: set = set(RESERVED) | {op.__name__ for op in ops.PRIMITIVES}
        self.table: dict = {}  # node or leaf -> _Gradient, the walk's sums as the walk has them
        self.node_names: dict = {}  # node -> the variable of its output
        self.leaf_grads: dict = {}  # leaf -> the .grad array it is known to hold
        # leaf -> a copy of what that array held then: backward adds into it in place
        self.grad_values: dict = {}
        # ids of the tensors whose .grad the program itself has set by now (stored a gradient
        # or set None): what the update then branches on is the program's, not a guard's.
        self.grads_set: set[int] = set()
        # ids of the tensors whose .grad the program has set to None and not stored into since:
        # a gradient for one of them is assigned, with nothing to add it to.
        self.cleared: set[int] = set()
        self.part = "forward"
        self.failed = ""  # why the recording stopped, if it did
        self.guards: list = []  # (expression, value): what the program's update branched on
        self.arrays_of: dict[int, tuple] = {}  # id(array) -> (tensor name, tensor)
        for name, tensor in sources.tensors.values():
            self._know_tensor(name, tensor)
        self.arguments: set = set()  # ids of the arguments' arrays
        self.argument_names: list[str] = []  # the variable each argument's array is read into
        for name, value in arguments:
            name = self._take(name)
            self.argument_names.append(name)
            if isinstance(value, Tensor):
                self.arguments.add(id(value.data))
                self._name(value.data, name)
            elif isinstance(value, np.ndarray):
                self._name(value, name)

    # ---- names --------------------------------------------------------------------------------

    def _take(self, base: str) -> str:
        base = re.sub(r"\W", "_", base).strip("_") or "v"
        if base[0].isdigit():
            base = "p_" + base
        name, count = base, 1
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        return name

    def _name(self, obj, name: str) -> str:
        self.names[id(obj)] = name
        self.kept.append(obj)
        return name

    def note_type(self, name: str, array: np.ndarray) -> None:
        """Record the shape and dtype of the array variable `name` holds, where the array is
        not named in the program otherwise (a `.grad` an update rule reads)."""
        self.types[name] = (array.shape, array.dtype)

    def value_types(self) -> dict[str, tuple]:
        """Each variable's (shape, dtype), where every array it was seen holding agrees; none
        if a boolean mask picked elements, since a later call's shapes may then differ."""
        if self.masked:
            return {}
        seen: dict[str, set] = {}
        for obj in self.kept:
            name = self.names.get(id(obj))
            if name is not None and isinstance(obj, np.ndarray):
                seen.setdefault(name, set()).add((obj.shape, obj.dtype))
        for name, kind in self.types.items():
            seen.setdefault(name, set()).add(kind)
        return {name: next(iter(kinds)) for name, kinds in seen.items() if len(kinds) == 1}

    def _know_tensor(self, name: str, tensor: Tensor) -> None:
        self.arrays_of[id(tensor.data)] = (name, tensor)
        if tensor not in self.leaf_grads:
            self._know_grad(tensor)
        self.kept.append(tensor.data)

    def _know_grad(self, leaf: Tensor) -> None:
        """Note the `.grad` array `leaf` holds now, and its values."""
        self.leaf_grads[leaf] = leaf.grad
        self.grad_values[leaf] = None if leaf.grad is None else leaf.grad.copy()

    def _emit(self, code: str, comment: str = "", reusable: str = "") -> None:
        self.statements.append(Statement(code, comment, self.part, reusable))

    def fresh_name(self, base: str) -> str:
        """A variable name not used yet in the program, from `base`."""
        return self._take(base)

    def tensor_name(self, tensor: Tensor) -> str:
        """The name of a tensor the program reads, as `T[name]` (registering it in `T`)."""
        if id(tensor) not in self.sources.tensors:
            self.sources.add_tensor(f"leaf{len(self.sources.tensors)}", tensor)
            self._know_tensor(self.sources.tensors[id(tensor)][0], tensor)
        name = self.sources.tensors[id(tensor)][0]
        self.namespace["T"][name] = tensor
        return name

    # ---- values -------------------------------------------------------------------------------

    def operand(self, value) -> str:
        """The source text for an op's input or parameter: a variable, or a literal."""
        if value is None or isinstance(value, (bool, int, str)):
            return repr(value)
        if isinstance(value, float):
            return repr(value) if np.isfinite(value) else f"float({str(value)!r})"
        if isinstance(value, tuple):
            inner = ", ".join(self.operand(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, slice):
            return repr(value)
        if value is Ellipsis:
            return "Ellipsis"
        if isinstance(value, np.dtype):
            return f"np.dtype({str(value)!r})"
        if isinstance(value, np.generic) and value.dtype.kind in "biuf" and np.isfinite(value):
            return repr(value)  # np.float32(0.5): exact
        if isinstance(value, np.ndarray):
            return self.array(value)
        raise TraceError(
            f"an op's parameter of type {type(value).__name__} cannot be replayed by a compiled "
            f"step (custom Functions are not compiled): at {user_line()}"
        )

    def array(self, array: np.ndarray) -> str:
        """The variable holding `array` in the program, emitting how to get it if it is new."""
        name = self.names.get(id(array))
        if name is not None:
            return name
        if isinstance(array, Drawn):
            return self._drawn(array)
        behind = drawn_behind(array)
        if behind is not None:  # np.asarray(drawn), as a Tensor operator makes of an operand
            return self._drawn(behind)
        known = self.arrays_of.get(id(array))
        if known is not None:
            tensor_name, tensor = known
            self.namespace["T"][tensor_name] = tensor
            name = self._name(array, self._take(tensor_name))
            self._emit(f"{name} = T[{tensor_name!r}].data", f"{tensor_name} {_describe(array)}")
            return name
        captured = self.sources.arrays.get(id(array))
        if captured is not None:  # an ndarray the function holds: the same object every call
            name = self._name(array, self._take(captured[0]))
            self.namespace.setdefault("A", {})[captured[0]] = array
            self._emit(f"{name} = A[{captured[0]!r}]", f"{captured[0]} {_describe(array)}")
            return name
        if array.ndim == 1 and array.dtype.kind in "iu" and _is_arange(array):
            name = self._name(array, self._take("rows"))
            self._emit(f"{name} = np.arange({len(array)}, dtype=np.{array.dtype})")
            return name
        if array.ndim == 0 and array.dtype.kind in "biuf":  # a 0-d constant (a scale, an eps)
            return literal_0d(array)
        raise TraceError(
            f"an op got an array of shape {array.shape} that a compiled step cannot trace back "
            "to an argument, a parameter, a captured tensor or another op (it was computed "
            "outside the ops, e.g. from .data, or made inside the function): at "
            f"{user_line()}. Pass it to the compiled function as an argument"
        )

    def _drawn(self, array: Drawn) -> str:
        if id(array) in self.names:
            return self.names[id(array)]
        if array.expression is None:
            raise TraceError(
                f"a random draw was reshaped, indexed or cast outside the ops, which a compiled "
                f"step cannot replay: at {user_line()}"
            )
        name = self._name(array, self._take("mask"))
        self._emit(f"{name} = {self._expression(array.expression)}", "from the engine RNG")
        return name

    def _expression(self, expression: Expression) -> str:
        if expression.name is not None:
            return expression.name
        inputs = []
        for value in expression.inputs:
            if isinstance(value, Drawn) and id(value) not in self.names:
                if value.expression is None:
                    return self._drawn(value)  # raises
                inputs.append(f"({self._expression(value.expression)})")
            else:
                inputs.append(self.operand(value))
        name = expression.ufunc.__name__
        if expression.method == "__call__" and name in _OPERATORS and not expression.kwargs:
            return f" {_OPERATORS[name]} ".join(inputs)
        arguments = inputs + [f"{k}={self.operand(v)}" for k, v in expression.kwargs.items()]
        method = "" if expression.method == "__call__" else f".{expression.method}"
        return f"np.{name}{method}({', '.join(arguments)})"

    def on_draw(self, method: str, args: tuple, kwargs: dict, result):
        """A draw from the engine RNG: the same draw, in the same place of the stream."""
        if self.failed:
            return result
        try:
            self.check_leaves()
        except TraceMismatch as mismatch:
            self.failed = str(mismatch)
            return result
        result = np.asarray(result)
        name = self._take("draw")
        arguments = [self.operand(a) for a in args] + [
            f"{k}={self.operand(v)}" for k, v in kwargs.items()
        ]
        self._emit(f"{name} = rng().{method}({', '.join(arguments)})", "the engine RNG")
        drawn = as_drawn(result, Expression(name=name))
        self._name(drawn, name)
        return drawn

    # ---- the autograd watcher ------------------------------------------------------------------

    def on_forward(self, op, arrays, params, out, node) -> None:
        """One op's forward: `out = Op.forward(inputs..., params...)`."""
        self._guarded(self._forward, op, arrays, params, out, node)

    def on_backward(self, node, grad, input_grads) -> None:
        """One VJP of the walk, then what the walk does with its results."""
        self._guarded(self._backward, node, grad, input_grads)

    def on_optimizer(self, optimizer, method: str, arguments: dict) -> None:
        """`optimizer.step()` or `zero_grad()`: called as such, on the optimizer itself."""
        self._guarded(self._optimizer, optimizer, method, arguments)

    def _guarded(self, handler, *args) -> None:
        """Run `handler` unless the recording failed; a mismatch ends the recording, not the
        eager call (which then stands as the call's result)."""
        if self.failed:
            return
        try:
            handler(*args)
        except TraceMismatch as mismatch:
            self.failed = str(mismatch)

    def _forward(self, op, arrays, params, out, node) -> None:
        self.flush()
        self.part = "forward"
        self.masked = self.masked or _has_mask(params)
        if node is not None:
            for parent, value in zip(node.parents, arrays):
                if isinstance(parent, Tensor) and id(value) in self.arguments:
                    raise TraceMismatch("an argument requires grad")
                if isinstance(parent, Tensor) and id(value) not in self.arrays_of:
                    self.tensor_name(parent)  # a leaf met only now
        inputs = [self.operand(a) for a in arrays]
        rendered_params = [self.operand(p) for p in params]
        op_name = self._op(op)
        name = self._name(out, self._take(_snake(op.name)))
        described = ", ".join(
            _describe(a) if isinstance(a, np.ndarray) else repr(a) for a in arrays
        )
        comment = f"{op.name}: {described} -> {_describe(out)}"
        if node is not None:
            self.node_names[node] = name
        if node is not None and op.saves_residuals and node.out is not None:
            return self._forward_saving(op, inputs, arrays, params, (name, out), node.out, comment)
        lines = self._lowered(
            lambda *xs: op.forward(*xs, *params), list(zip(inputs, arrays)), params,
            [(name, out, out.ndim == 0)],
        )  # fmt: skip
        if lines is not None and len(lines) == 1:
            return self._emit(lines[0], comment, _reusable(inputs, arrays, out))
        if lines is not None:
            return self._emit_lines(lines, comment)
        call = f"{op_name}.forward({', '.join(inputs + rendered_params)})"
        self._emit(f"{name} = np.asarray({call})" if out.ndim == 0 else f"{name} = {call}", comment)

    def _forward_saving(self, op, inputs, arrays, params, output, residuals, comment) -> None:
        """`out, residuals = Op.forward_saving(...)`: a forward that keeps what its VJP reads,
        named after what it is (`conv2d_columns`), written out where its code can be."""
        name, out = output
        kept = self._name(residuals, self._take(f"{name}_{op.residuals_name}"))
        lines = self._lowered(
            lambda *xs: op.forward_saving(*xs, *params), list(zip(inputs, arrays)), params,
            [(name, out, out.ndim == 0), (kept, residuals, False)],
        )  # fmt: skip
        if lines is not None:
            return self._emit_lines(lines, comment)
        arguments = ", ".join(inputs + [self.operand(p) for p in params])
        self._emit(f"{name}, {kept} = {self._op(op)}.forward_saving({arguments})", comment)

    def _lowered(self, run, inputs: list, params: tuple, outputs: list) -> list | None:
        """The op's own code as NumPy lines (`symbolic`), or None where it cannot be written so.
        `inputs` are (source text, value) pairs; `outputs` (name, real value, as_array)."""
        if not all(_plain_parameter(p) for p in params):
            return None
        pairs = [(text, v) if isinstance(v, np.ndarray) else (None, v) for text, v in inputs]
        try:
            lowering, result = lower(run, pairs, self.lowered_constant)
            results = result if isinstance(result, tuple) else (result,)
            if len(results) != len(outputs):
                raise Unlowerable("a different number of results")
            for value, (_, real, _) in zip(results, outputs):
                if (value is None) != (real is None) or (
                    real is not None and not _same(value, real)
                ):
                    raise Unlowerable("a result that differs from the op's")
            kept = [(n, v, a) for (n, _, a), v in zip(outputs, results) if n != "_"]
            return lowering.assignments(kept)
        except Unlowerable:
            return None

    def lowered_constant(self, value) -> str:
        """Source text for a constant an op's or a rule's code brings in (see `symbolic`)."""
        if isinstance(value, np.ndarray) and id(value) in self.names:
            return self.names[id(value)]
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
            return literal_0d(value)
        if isinstance(value, np.generic) and np.isfinite(value):
            return repr(value)
        raise Unlowerable("a constant array made inside the op")

    def _emit_lines(self, lines: list, comment: str) -> None:
        for line in lines[:-1]:
            self._emit(line)
        self._emit(lines[-1], comment)

    def _op(self, op) -> str:
        name = getattr(op, "__name__", None)
        if not isinstance(op, type) or not issubclass(op, ops.Op) or name is None:
            raise TraceError(
                f"the op {op!r} is not one of the op table's classes; a compiled step replays "
                f"only those: at {user_line()}"
            )
        if self.namespace.get(name, op) is not op:
            raise TraceError(f"two ops named {name} cannot be told apart in a compiled step")
        self.namespace[name] = op
        return name

    def _backward(self, node, grad, input_grads) -> None:
        self.part = "backward"
        if not isinstance(grad, np.ndarray):
            raise TraceMismatch("backward(create_graph=True) records its own backward as ops")
        if node.hooks:
            raise TraceMismatch("a tensor hook ran in the backward pass")
        g = self._incoming(node, grad)
        saved = "None" if node.saved is None else self.operand(tuple(node.saved))
        out = "None" if node.out is None else self.array(node.out)
        params = [self.operand(p) for p in node.params]
        targets = []
        for parent, input_grad in zip(node.parents, input_grads):
            if input_grad is None:
                targets.append("_")
                continue
            name = self._take("g_" + self._parent_name(parent))
            self._name(input_grad, name)
            targets.append(name)
        comment = f"{node.op.name} backward, from {g} {_describe(grad)}"
        saved_values = () if node.saved is None else tuple(node.saved)
        saved_texts = [self.operand(v) if isinstance(v, np.ndarray) else None for v in saved_values]
        inputs = [(g, grad), (out, node.out)] + list(zip(saved_texts, saved_values))
        op, needs, node_params = node.op, node.needs, node.params

        def run(g_, out_, *saved_):
            return op.vjp(g_, out_, None if node.saved is None else saved_, needs, *node_params)

        outputs = [(t, v, False) for t, v in zip(targets, input_grads)]
        lines = self._lowered(run, inputs, node.params, outputs)
        if lines is not None:
            self._emit_lines(lines, comment)
        else:
            call = f"{self._op(op)}.vjp({', '.join([g, out, saved, repr(needs), *params])})"
            lhs = ", ".join(targets) + ("," if len(targets) == 1 else "")
            self._emit(f"{lhs} = {call}", comment)
        for parent, input_grad, name in zip(node.parents, input_grads, targets):
            if input_grad is not None and parent is not None:
                self._contribute(parent, input_grad, name)

    def _parent_name(self, parent) -> str:
        if isinstance(parent, Node):
            return self.node_names.get(parent, "node")
        if parent is None:
            return "constant"
        return self.names.get(id(parent.data), "leaf")

    def _incoming(self, node, grad) -> str:
        """The variable of the gradient the walk hands `node`; a root's seed if none is summed."""
        entry = self.table.pop(node, None)
        if entry is None:
            return self._seed(node, grad)
        if entry.value is not grad and not _same(entry.value, grad):
            raise TraceMismatch(f"the backward walk summed the gradient of {node} differently")
        self.names[id(grad)] = entry.name
        self.kept.append(grad)
        return entry.name

    def _seed(self, node, grad) -> str:
        self.flush()
        self.part = "backward"
        if not (isinstance(grad, np.ndarray) and np.all(grad == 1)):
            raise TraceError(
                "backward(gradient=...) with a gradient other than ones cannot be compiled; "
                f"backpropagate from a scalar loss: at {user_line()}"
            )
        name = self._name(grad, self._take("g_" + self.node_names.get(node, "root")))
        self._emit(
            f"{name} = np.ones({grad.shape!r}, dtype=np.{grad.dtype})",
            "backward() seeds the walk with d loss / d loss = 1",
        )
        return name

    def _contribute(self, parent, input_grad, name: str) -> None:
        """The walk's handling of one VJP result: conform it, then start or add to a sum."""
        if isinstance(parent, Node):
            shape, dtype = parent.shape, parent.dtype
        else:
            shape, dtype = parent.data.shape, parent.data.dtype
        value = input_grad
        if type(value) is not np.ndarray or value.shape != shape or value.dtype != dtype:
            from .runtime import conform

            value = conform(value, shape, dtype)
            self.namespace["conform"] = conform
            self._emit(f"{name} = conform({name}, {shape!r}, np.{dtype})", "sum broadcast axes")
        entry = self.table.get(parent)
        if entry is None:
            self.table[parent] = _Gradient(name, value, False)
            return
        if entry.owned:
            np.add(entry.value, value, out=entry.value)
            self._emit(f"np.add({entry.name}, {name}, out={entry.name})", "accumulate")
            return
        total = self._take(entry.name)
        self._emit(f"{total} = np.asarray({entry.name} + {name})", "a second contribution")
        self.table[parent] = _Gradient(total, np.asarray(entry.value + value), True)

    def flush(self) -> None:
        """After a backward walk: the leaves' gradients added into `.grad`, as the walk did."""
        leaves = [(key, entry) for key, entry in self.table.items() if not isinstance(key, Node)]
        if not self.table:
            self.check_leaves()
            return
        if len(leaves) != len(self.table):
            raise TraceMismatch("the backward walk left gradients of inner nodes unused")
        self.table = {}
        self.part = "backward"
        entries: list[str] = []
        handed_out: set[int] = set()  # ids of the arrays given to a leaf so far
        comment = "each leaf's gradient into its .grad"
        for leaf, entry in leaves:
            if leaf._hooks:
                raise TraceMismatch("a hook on a leaf tensor ran in the backward pass")
            tensor_name = self.sources.tensors[id(leaf)][0]
            self.namespace["T"][tensor_name] = leaf
            before = self.leaf_grads.get(leaf)
            if id(leaf) in self.cleared and before is None:
                self._emit(_assigned(tensor_name, entry, handed_out), comment)
                comment = ""
            elif id(entry.value) in handed_out:  # given to a leaf above, maybe not by store_grads
                entries.append(f"(T[{tensor_name!r}], {entry.name}.copy(), True)")
            else:
                entries.append(f"(T[{tensor_name!r}], {entry.name}, {entry.owned})")
            handed_out.add(id(entry.value))
            expected = entry.value if before is None else self.grad_values[leaf] + entry.value
            if leaf.grad is None or not _same(leaf.grad, expected):
                raise TraceMismatch(f"backward stored {tensor_name}.grad differently")
            self._know_grad(leaf)
            self.grads_set.add(id(leaf))
            self.cleared.discard(id(leaf))
        if entries:
            from .runtime import store_grads

            self.namespace["store_grads"] = store_grads
            listed = "".join(f"\n    {entry}," for entry in entries)
            self._emit(f"store_grads(({listed}\n))", "each gradient added into its leaf's .grad")
        self.check_leaves()

    def check_leaves(self) -> None:
        """Refuse a trace in which a gradient changed outside backward and the optimizers
        (`p.grad = None`, `model.zero_grad()`): the program would not repeat it."""
        for leaf, known in self.leaf_grads.items():
            if known is _AFTER_ZERO_GRAD:
                self._know_grad(leaf)
                if leaf.grad is not None:  # an optimizer's own zero_grad that kept it
                    self.cleared.discard(id(leaf))
            elif leaf.grad is not known:
                name = self.sources.tensors[id(leaf)][0]
                raise TraceMismatch(
                    f"{name}.grad changed outside backward() and the optimizer; use "
                    "optimizer.zero_grad()"
                )

    def on_grad_set(self, tensor: Tensor, value) -> None:
        """`tensor.grad = None` (`model.zero_grad()` does it for each parameter): the same."""
        self._guarded(self._grad_set, tensor, value)

    def _grad_set(self, tensor: Tensor, value) -> None:
        if self.leaf_grads.get(tensor) is _AFTER_ZERO_GRAD:
            return  # the recorded zero_grad (or an earlier `= None`) setting it
        self.flush()
        if value is not None or id(tensor) not in self.sources.tensors:
            raise TraceMismatch("a gradient was assigned a value other than None")
        name = self.sources.tensors[id(tensor)][0]
        self.namespace["T"][name] = tensor
        self.part = "update"
        self._emit(f"T[{name!r}].grad = None")
        self.leaf_grads[tensor] = _AFTER_ZERO_GRAD
        self.grads_set.add(id(tensor))
        self.cleared.add(id(tensor))

    # ---- the optimizer watcher -----------------------------------------------------------------

    def _optimizer(self, optimizer, method: str, arguments: dict) -> None:
        self.flush()
        if arguments.get("closure") is not None:
            raise TraceError(
                f"optimizer.step(closure) cannot be compiled; call step() after backward(): at "
                f"{user_line()}"
            )
        if all(known is not optimizer for known in self.namespace["OPT"]):
            self.namespace["OPT"].append(optimizer)
        index = next(i for i, o in enumerate(self.namespace["OPT"]) if o is optimizer)
        self.part = "update"
        if method == "step":
            lines, guards = lower_step(self, optimizer, index)
        elif arguments["set_to_none"]:
            lines, guards = lower_zero_grad(self, optimizer, index)
        else:
            lines, guards = None, []
        self.guards += guards
        if lines is not None:
            kind = type(optimizer).__name__
            comment = (
                f"{kind}'s rule, its options read at run time"
                if method == "step"
                else f"{kind}.zero_grad(): every gradient forgotten"
            )
            for line in lines:
                code, _, note = line.partition("  # ")
                self._emit(code, note or comment)
                comment = ""
        else:
            call = "step()" if method == "step" else f"zero_grad({arguments['set_to_none']!r})"
            self._emit(f"OPT[{index}].{call}", f"{type(optimizer).__name__}, read at run time")
        for group in optimizer.param_groups:
            for param in group["params"]:
                if param not in self.leaf_grads:
                    self.tensor_name(param)  # a parameter met only now, in the optimizer
                if method == "zero_grad":
                    self.leaf_grads[param] = _AFTER_ZERO_GRAD
                    if arguments["set_to_none"]:
                        self.grads_set.add(id(param))
                        self.cleared.add(id(param))
                else:
                    self.cleared.discard(id(param))  # a step of its own may set .grad

    # ---- the result ---------------------------------------------------------------------------

    def finish(self, value) -> str:
        """`output(value)` after the call's last backward is checked; if that check fails, the
        recording fails (`failed` says why) and the eager call stands."""
        try:
            return self.output(value)
        except TraceMismatch as mismatch:
            self.failed = str(mismatch)
            return "None"

    def output(self, value) -> str:
        """The source text of what the function returns (tensors become their arrays)."""
        self.flush()
        if value is None:
            return "None"
        if isinstance(value, Tensor):
            return f"wrap({self.array(value.data)})"
        if isinstance(value, (tuple, list)):
            inner = ", ".join(self.output(v) for v in value)
            text = f"({inner},)" if len(value) == 1 else f"({inner})"
            return text if isinstance(value, tuple) else f"[{inner}]"
        raise TraceError(
            f"a compiled function returns tensors, None, or tuples or lists of them, got "
            f"{type(value).__name__}"
        )


def _assigned(tensor_name: str, entry: _Gradient, handed_out: set) -> str:
    """The line giving a leaf whose `.grad` is None its gradient, as `store_grads` would: the
    array itself when the walk made it, else a copy unless it owns its buffer (a view would
    share it; one already given to another leaf, or read-only, was seen so while tracing). The
    loop of `store_grads` was about 3% of benchmark case 2's compiled step (callgrind)."""
    target, grad = f"T[{tensor_name!r}]._grad", entry.name
    if entry.owned:
        return f"{target} = {grad}"
    if id(entry.value) in handed_out or not entry.value.flags.writeable:
        return f"{target} = {grad}.copy()"
    return f"{target} = {grad} if {grad}.base is None else {grad}.copy()"


class _AfterZeroGrad:
    """Marks a gradient that an optimizer's `zero_grad` is about to set: whatever it holds at the
    next check is known."""


_AFTER_ZERO_GRAD = _AfterZeroGrad()


def literal_0d(array: np.ndarray) -> str:
    """Source text making the 0-d `array` again, bit for bit (a float32's value is exact as a
    Python float, so its repr round-trips)."""
    value = array.item()
    if isinstance(value, float) and not np.isfinite(value):
        raise TraceError("a non-finite constant array cannot be written into a compiled step")
    return f"np.asarray({value!r}, dtype=np.{array.dtype})"


def _has_mask(params: tuple) -> bool:
    """Whether an op's parameters hold a boolean array (an index `x[mask]`)."""
    for value in params:
        if isinstance(value, tuple) and _has_mask(value):
            return True
        if isinstance(value, np.ndarray) and value.dtype == bool and value.ndim > 0:
            return True
    return False


def _reusable(names: list, arrays, out) -> str:
    """The first input variable holding an array of `out`'s shape and dtype, or ""."""
    for name, array in zip(names, arrays):
        if (
            isinstance(array, np.ndarray)
            and name.isidentifier()
            and array.shape == out.shape
            and array.dtype == out.dtype
        ):
            return name
    return ""


def _plain_parameter(value) -> bool:
    """A parameter the lowering may bake into the code: plain values, not arrays or objects."""
    if isinstance(value, tuple):
        return all(map(_plain_parameter, value))
    return value is None or isinstance(value, (bool, int, float, str, np.dtype))


def _same(a, b) -> bool:
    """Bitwise the same values, shape and dtype (NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _is_arange(array: np.ndarray) -> bool:
    return bool(np.array_equal(array, np.arange(len(array))))


def _describe(array) -> str:
    return f"{tuple(array.shape)} {array.dtype}" if isinstance(array, np.ndarray) else repr(array)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
