"""The tape: graph nodes, grad mode, and the reverse-mode backward walk.

Every differentiable op that sees an input requiring grad records one `Node`: the op, its
parents (the nodes that produced its inputs, or the leaf tensors themselves), the saved arrays its
vector-Jacobian product needs, and a sequence number from one global counter. Because an input is
always created before the op that consumes it, running the reachable nodes in decreasing sequence
number is a valid reverse topological order: `backward` needs no recursion and no dependency
count, only a heap of the nodes met and not yet run, so a chain of 100,000 ops is as easy as a
chain of ten.

A node holds its inputs' nodes, never its output tensor, so the graph has no reference cycles and
is freed by reference counting the moment the last tensor of it is dropped.

Interface read by `viz`, `trace` and `gradcheck` (and nothing else outside this file):
`Node.op` (the primitive class, with `.name`), `Node.parents`, `Node.saved`, `Node.out`,
`Node.params`, `Node.shape`, `Node.dtype`, `Node.seq`, `graph_nodes(root)`, `add_watcher` and
`remove_watcher`.
"""

from __future__ import annotations

import functools
import gc
import itertools
import threading
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush
from operator import attrgetter

import numpy as np

from . import ops

_sequence = itertools.count()
_watchers: tuple = ()


class _GradModeState(threading.local):
    """Grad mode, one per thread as in PyTorch: a `no_grad` scope in one thread leaves every
    other thread recording. Each thread starts with recording on: `__init__` runs once per
    thread, and a flag in the thread's own dict reads faster than a class default."""

    def __init__(self) -> None:
        self.enabled = True


grad_mode = _GradModeState()

# Leaf `.grad` buffers are shared by every thread that backpropagates into the same leaf; the
# read-add-store of an accumulation runs under this lock so no thread's contribution is lost.
_leaf_grad_lock = threading.RLock()  # reentrant: a leaf hook may run a backward of its own


class _Freed:
    """Marks a node whose saved buffers were released by a backward without retain_graph."""

    def __repr__(self) -> str:
        return "<freed>"


FREED = _Freed()


# One tuple per distinct output shape, shared by the nodes of that shape. A fresh tuple is an
# object the cyclic garbage collector tracks until its first collection; one fewer per op is a
# quarter fewer collections while a long graph is built (case 5 of the benchmarks: 3 full
# collections became 2). Bounded, for programs whose shapes never repeat.
_shapes: dict = {}
_SHARED_SHAPES_LIMIT = 1024


def _share_shape(shape: tuple) -> tuple:
    if len(_shapes) >= _SHARED_SHAPES_LIMIT:
        _shapes.clear()
    _shapes[shape] = shape
    return shape


class _NoInput:
    """The `second` parent of a node whose op takes one input."""

    def __repr__(self) -> str:
        return "<no input>"


NO_INPUT = _NoInput()


class Node:
    """One recorded op on the tape (what PyTorch calls a `grad_fn`).

    The inputs' parents sit in slots of the node itself (`first`, `second`, then `others` for a
    third input on): a tuple of them would be a second object per op for the cyclic garbage
    collector to count and walk, and a 100,000-op graph made it walk the whole graph twice while
    it was being built. `parents` gives them as the tuple the rest of the engine reads.
    """

    __slots__ = (
        "op",
        "first",
        "second",
        "others",
        "needs",
        "saved",
        "out",
        "params",
        "seq",
        "shape",
        "dtype",
        "hooks",
        "info",
        "mark",
        "saved_tensors",
        "saved_versions",
        "out_version",
    )

    hooks: list | None
    info: object
    mark: object
    out_version: int

    def __init__(
        self, op, parents: tuple, needs: tuple, saved, saved_from: tuple, out, params, kept=None
    ):
        """Record that `op` ran: its inputs' `parents` (per input its Node, the leaf Tensor
        requiring grad, or None for a constant; `needs` says which are not None), what its VJP
        reads (`saved`; and `kept`, the output when `op.saves_output` or the forward's residuals
        when `op.saves_residuals`), and its non-tensor `params`.

        `saved_from` names the Tensors whose very arrays `saved` holds: the node notes their
        versions, so that backward refuses to run on a buffer changed in place since
        (`check_saved`).
        """
        self.op = op
        # `second` is NO_INPUT for an op of one input, `others` a tuple only for three or more.
        self.first = parents[0]
        self.second = parents[1] if len(parents) > 1 else NO_INPUT
        self.others = parents[2:] if len(parents) > 2 else None
        self.needs = needs
        # Input arrays if op.saves_inputs, else only the constant ones (or None); FREED after
        # backward.
        self.saved = saved
        # What the VJP reads of the forward's result: the output, the forward's residuals or None.
        self.out = kept
        self.params = params
        self.seq = next(_sequence)
        shape = out.shape
        shared = _shapes.get(shape)
        self.shape = shared if shared is not None else _share_shape(shape)
        self.dtype = out.dtype
        self.hooks = None
        self.info = None  # forward traceback, kept only under detect_anomaly
        self.mark = None  # the token of the last graph walk that reached this node
        self.saved_tensors = saved_from
        self.saved_versions = versions_of(saved_from) if saved_from else ()
        self.out_version = 0  # in-place writes to the output through its tensor since

    @property
    def parents(self) -> tuple:
        """Per input, in order: its Node, the leaf Tensor requiring grad, or None (a constant)."""
        if self.second is NO_INPUT:
            return (self.first,)
        if self.others is None:
            return (self.first, self.second)
        return (self.first, self.second, *self.others)

    @property
    def output(self):
        """The output array when the node keeps it (`op.saves_output`), else None (`out` may
        then hold the forward's residuals instead)."""
        return self.out if self.op.saves_output else None

    def name(self) -> str:
        """What PyTorch calls the node: the op's name and `Backward` (`MulBackward`)."""
        return f"{self.op.name}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


# ---------------------------------------------------------------------------------------------
# grad mode


def is_grad_enabled() -> bool:
    """Whether ops record nodes on the tape now, in this thread."""
    return grad_mode.enabled


def _set_grad_enabled(mode: bool) -> None:
    grad_mode.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode for its scope, then restores it.

    Works as `with no_grad():`, `@no_grad()` and bare `@no_grad`.
    """

    mode = True

    def __new__(cls, *args):
        if cls is not set_grad_enabled and len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # bare decorator: @no_grad
        return super().__new__(cls)

    def __enter__(self):
        self._previous = grad_mode.enabled
        _set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc_info):
        _set_grad_enabled(self._previous)
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Ops in this scope record nothing: use for evaluation and in-place parameter updates."""

    mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a `no_grad` scope."""

    mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode to `mode` for the scope (or, called plainly, from now on)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = grad_mode.enabled
        _set_grad_enabled(mode)

    def __enter__(self):
        return self

    def __call__(self, func: Callable) -> Callable:
        mode = self.mode
        _set_grad_enabled(self._previous)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


# ---------------------------------------------------------------------------------------------
# watchers: the tracer and anomaly detection observe ops through this one hook


def add_watcher(watcher) -> None:
    """Register an object with `on_forward(op, arrays, params, out, node)` and
    `on_backward(node, grad, input_grads)`; called for every op while registered."""
    global _watchers
    _watchers = _watchers + (watcher,)


def remove_watcher(watcher) -> None:
    """Stop telling `watcher` about ops and backward steps (`add_watcher` started it)."""
    global _watchers
    _watchers = tuple(w for w in _watchers if w is not watcher)


def watchers() -> tuple:
    """The watchers installed now (the tracer, anomaly mode, viz frames), oldest first."""
    return _watchers


# ---------------------------------------------------------------------------------------------
# graph inspection


def graph_nodes(root_node: Node | None) -> list[Node]:
    """Every node reachable from `root_node`, in tape order reversed (the order backward runs)."""
    return [] if root_node is None else reachable_nodes([root_node])


def reachable_nodes(roots: list[Node]) -> list[Node]:
    """Every node reachable from `roots`, newest first: the order the backward walk runs them in.

    Each visited node is marked with a token of this walk rather than kept in a set: a set of a
    100,000-node graph is megabytes of hash table read at random, the mark a slot of a node the
    walk reads anyway. The depth-first search meets a chain's nodes newest first, so the final
    sort by `seq` finds one run and costs linear time; in general it is O(n log n) in C.
    """
    token = object()
    order = []
    for root in roots:
        if root.mark is not token:  # the same root twice is walked once
            root.mark = token
            order.append(root)
    stack = order.copy()
    while stack:
        node = stack.pop()
        others = node.others
        for parent in (
            (node.first, node.second) if others is None else (node.first, node.second, *others)
        ):
            if type(parent) is Node and parent.mark is not token:
                parent.mark = token
                order.append(parent)
                stack.append(parent)
    order.sort(key=_by_sequence, reverse=True)
    return order


_by_sequence = attrgetter("seq")


def versions_of(tensors: tuple) -> tuple:
    """How many in-place writes each tensor's buffer has seen: counted on the buffer's owner,
    `_base`, which every alias and view of it shares (`Tensor._bump_version`)."""
    return tuple([t._version if t._base is None else t._base._version for t in tensors])


def live_nodes() -> int:
    """How many graph nodes are alive now.

    A count that grows across training steps means a graph is being kept alive, usually by
    accumulating a loss tensor (`total_loss += loss`) instead of its value (`loss.item()`).
    """
    return sum(1 for obj in gc.get_objects() if type(obj) is Node)


# ---------------------------------------------------------------------------------------------
# the backward walk


def unbroadcast(grad, shape: tuple):
    """Sum `grad` over the axes that broadcasting added or stretched, so it has `shape`.

    Works on ndarrays and on Tensors (for create_graph), since both have the same `.sum`.
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=0 if extra == 1 else tuple(range(extra)))
        if grad.shape == shape:  # the common case: a bias broadcast over a batch
            return grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class BackwardError(RuntimeError):
    """A backward pass that cannot run (freed graph, bad root)."""


def run_backward(
    roots: list,
    root_grads: list,
    retain_graph: bool,
    create_graph: bool,
    capture: dict | None = None,
) -> dict:
    """Propagate `root_grads` from `roots` (tensors) back through the tape.

    With `capture=None` leaf gradients accumulate into `.grad`. Otherwise `capture` maps the nodes
    or leaf tensors whose gradients are wanted to None, and they are filled in and returned
    (`.grad` untouched), which is what `grad()` uses.
    """
    sums = _GradientSums(create_graph)
    root_nodes = []
    for root, grad in zip(roots, root_grads):
        if create_graph and not isinstance(grad, type(root)):
            grad = type(root)._wrap(grad, None)
        if root.grad_fn is None:
            sums.add(root, grad)
        else:
            sums.add(root.grad_fn, grad)
            root_nodes.append(root.grad_fn)

    _propagate(root_nodes, sums, retain_graph, create_graph, capture)
    leaf_grads = {leaf: grad for leaf, grad in sums.table.items() if type(leaf) is not Node}
    if capture is not None:
        for leaf, grad in leaf_grads.items():
            if leaf in capture:
                capture[leaf] = _run_hooks(leaf._hooks, grad) if leaf._hooks else grad
        return capture
    _store_leaf_grads(leaf_grads, sums.owned)
    return {}


def _propagate(roots: list, sums, retain_graph: bool, create_graph: bool, capture) -> None:
    """The backward walk: run every node reachable from `roots`, newest first.

    A node's consumers were all created after it, so once every newer node has run, the
    gradient summed for it is complete. The nodes met but not yet run wait in a heap keyed by
    sequence number; a node is met when a consumer hands its inputs their gradients, and runs
    (releasing its saved arrays) even if nothing flowed into it.
    """
    met = set(roots)
    waiting = [(-node.seq, node) for node in met]
    heapify(waiting)
    while waiting:
        node = heappop(waiting)[1]
        check_saved(node)
        grad = sums.table.pop(node, None)
        input_grads: Iterable = NOTHING_FLOWED  # nothing flowed in: an unused branch
        if grad is not None:
            input_grads = _run_node(node, grad, create_graph, capture)
        if not retain_graph:
            _release(node)
        for parent, input_grad in zip(node.parents, input_grads):
            if type(parent) is Node and parent not in met:
                met.add(parent)
                heappush(waiting, (-parent.seq, parent))
            if parent is not None and input_grad is not None:
                sums.add(parent, _conform(input_grad, parent, create_graph))


def _release(node: Node) -> None:
    """Let go of what the node kept for its VJP: nothing reads it again (no retain_graph)."""
    node.saved, node.out, node.params, node.saved_tensors = FREED, None, (), ()


# What a node that nothing flowed into hands each of its inputs: None, however many there are.
NOTHING_FLOWED = itertools.repeat(None)


def _run_node(node: Node, grad, create_graph: bool, capture) -> tuple:
    """The node's VJP of `grad` (after its hooks), as one gradient per input."""
    if node.hooks is not None:
        grad = _run_hooks(node.hooks, grad)
    if capture is not None and node in capture:
        capture[node] = grad
    if create_graph:
        input_grads = _differentiable_vjp(node, grad)
    else:
        input_grads = node.op.vjp(grad, node.out, node.saved, node.needs, *node.params)
    for watcher in _watchers:
        watcher.on_backward(node, grad, input_grads)
    return input_grads


def check_saved(node: Node) -> None:
    """Refuse to run a node whose saved values are gone or were changed since its forward.

    A buffer changed in place between forward and backward (`x.data += 1`, an optimizer step
    between two backward passes of a retained graph) would give a silently wrong gradient;
    PyTorch's version counter catches the same, with the same advice.
    """
    if node.saved is FREED:
        raise BackwardError(
            f"trying to backward through the graph a second time ({node.name()} has already "
            "released its saved values); call backward(retain_graph=True) the first time if "
            "you need to backward through it again"
        )
    if node.saved_tensors and versions_of(node.saved_tensors) != node.saved_versions:
        changed = versions_of(node.saved_tensors)
        for tensor, now, then in zip(node.saved_tensors, changed, node.saved_versions):
            if now != then:
                raise BackwardError(_modified_message(node, f"a tensor of shape {tensor.shape}"))
    if node.out_version and node.out is not None and node.op.saves_output:
        raise BackwardError(_modified_message(node, f"its output of shape {node.shape}"))


def _modified_message(node: Node, what: str) -> str:
    return (
        f"one of the values {node.name()} saved for backward ({what}) was modified by an "
        "in-place operation after the forward pass, so its gradient would be wrong; change it "
        "after backward, or on a copy (y = x * 1), or compute it again"
    )


def _differentiable_vjp(node: Node, grad) -> tuple:
    """Run the node's VJP on Tensors wired into the graph, so its ops record nodes of their own
    and the gradient can be differentiated again (create_graph). `grad` is a Tensor there, and
    its type makes the others: a leaf parent is passed itself, an inner one's saved array is
    wrapped as that node's output."""
    wrap = type(grad)._wrap
    saved = node.saved
    if saved is not None and node.op.saves_inputs:
        saved = tuple(
            (wrap(array, parent) if array is not None else array)
            if isinstance(parent, Node)
            else (parent if parent is not None else array)
            for parent, array in zip(node.parents, saved)
        )
    # Residuals are plain arrays, not functions of the inputs on the tape: the VJP gets None and
    # works from its inputs instead, so that the gradient's own graph is complete.
    out = wrap(node.out, node) if node.out is not None and node.op.saves_output else None
    with enable_grad():
        return node.op.vjp(grad, out, saved, node.needs, *node.params)


def _conform(grad, input, create_graph: bool):
    """Bring a gradient to its input's (a Node or a leaf Tensor) exact shape and dtype: undo
    broadcasting (`unbroadcast`), cast, and make a NumPy scalar, which 0-d arithmetic returns, a
    0-d array again. This is where the engine does it, once for every op."""
    if type(input) is Node:
        shape, dtype = input.shape, input.dtype
    else:
        shape, dtype = input._data.shape, input._data.dtype
    if type(grad) is np.ndarray and grad.shape == shape and grad.dtype == dtype:
        return grad  # the usual case
    if not create_graph and type(grad) is not np.ndarray:
        grad = np.asarray(grad)
    if grad.shape != shape:
        grad = unbroadcast(grad, shape)
        if grad.shape != shape:  # a VJP returned a gradient no broadcast could have produced
            raise BackwardError(
                f"a gradient of shape {grad.shape} does not reduce to its input's shape {shape}"
            )
    if grad.dtype != dtype:
        grad = grad.to(dtype) if create_graph else grad.astype(dtype)
    return grad


class _GradientSums:
    """The gradient summed so far for each node and leaf a backward pass reaches.

    A sum is made in a new array the first time a second contribution arrives; later ones are
    added into that array in place (`owned`), since nothing else can hold it. Under create_graph
    the sums are recorded Tensor additions instead.
    """

    def __init__(self, create_graph: bool):
        self.table: dict = {}
        self.owned: set = set()
        self.create_graph = create_graph

    def add(self, key, grad) -> None:
        current = self.table.get(key)
        if current is None:
            self.table[key] = grad
        elif self.create_graph:
            self.table[key] = current + grad
        elif key in self.owned:
            np.add(current, grad, out=current)
        else:
            self.table[key] = np.asarray(current + grad)
            self.owned.add(key)


def _run_hooks(hooks: list, grad):
    """Run a tensor's hooks on its gradient; a replacement must keep the gradient's shape and
    dtype, or it would silently change `.grad` (a 0-d return broadcast by the optimizer)."""
    for hook in hooks:
        replacement = hook(grad)
        if replacement is None:
            continue
        # A hook may answer with a Tensor; outside create_graph the walk carries ndarrays.
        if ops.is_constant(grad):
            replacement = np.asarray(ops.values(replacement))
        if replacement.shape != grad.shape or replacement.dtype != grad.dtype:
            raise BackwardError(
                f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                f"{replacement.shape} and dtype {replacement.dtype} for one of shape "
                f"{grad.shape} and dtype {grad.dtype}; a hook may change a gradient's values, "
                "not its shape or dtype"
            )
        grad = replacement
    return grad


def _store_leaf_grads(leaf_grads: dict, owned: set) -> None:
    """Add each leaf's gradient into its `.grad` (under a lock: threads may share a leaf)."""
    handed_out: set = set()
    with _leaf_grad_lock:
        for leaf, grad in leaf_grads.items():
            _store_leaf_grad(leaf, grad, leaf in owned, handed_out)


def _store_leaf_grad(leaf, grad, fresh: bool, handed_out: set) -> None:
    """Add one leaf's gradient into its `.grad`; `fresh`: the walk allocated `grad` itself."""
    if leaf._hooks:
        grad = _run_hooks(leaf._hooks, grad)
    if type(grad) is not np.ndarray:  # a Tensor (create_graph)
        grad, fresh = np.array(ops.values(grad)), True
    # A VJP may pass one array on to several inputs, or hand out a view; .grad must own its
    # buffer so the next backward can add into it in place without touching anyone else's.
    if not fresh and (grad.base is not None or id(grad) in handed_out or not grad.flags.writeable):
        grad = grad.copy()
    handed_out.add(id(grad))
    if leaf._grad is None:
        leaf._grad = grad
    else:
        leaf._grad += grad


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors; `.grad` is untouched.

    With `create_graph=True` the backward pass is itself recorded, so the returned gradients can be
    differentiated again (Hessian-vector products, gradient penalties).
    """
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs, "grad_outputs", allow_none=True)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for tensor in inputs:
        if not tensor.requires_grad:
            raise BackwardError(f"an input of shape {tensor.shape} does not require grad")
    root_grads = [root_gradient(out, g, create_graph) for out, g in zip(outputs, grad_outputs)]
    keys = [t.grad_fn if t.grad_fn is not None else t for t in inputs]
    capture = run_backward(
        list(outputs),
        root_grads,
        retain_graph=create_graph if retain_graph is None else retain_graph,
        create_graph=create_graph,
        capture={key: None for key in keys},
    )
    results: list = []
    for index, (tensor, key) in enumerate(zip(inputs, keys)):
        value = capture[key]
        if value is None:
            if not allow_unused:
                raise BackwardError(
                    f"input {index} (shape {tensor.shape}) is not reachable from the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif isinstance(value, type(tensor)):
            results.append(value)
        else:
            results.append(type(tensor)._wrap(np.array(value, dtype=tensor.dtype), None))
    return tuple(results)


def root_gradient(root, gradient, create_graph: bool = False):
    """The gradient that seeds backward at `root`: ones for a scalar, else the given one, as an
    array; under `create_graph` a Tensor stays a Tensor (cast to root's dtype), so the result can
    be differentiated with respect to the seed too, as PyTorch's grad_outputs can."""
    if not root._requires_grad:
        raise BackwardError(
            f"backward from a tensor of shape {root.shape} that does not require grad and has no "
            "grad_fn: nothing in its graph requires grad"
        )
    data = root.data
    if gradient is None:
        if data.size != 1:
            raise BackwardError(
                f"backward() from a non-scalar tensor of shape {root.shape} needs `gradient`, an "
                "array of that shape (the vector in the vector-Jacobian product)"
            )
        # The usual scalar loss: one C call, where np.ones goes through Python.
        return np.array(1, data.dtype) if data.ndim == 0 else np.ones(data.shape, data.dtype)
    if isinstance(gradient, type(root)):
        if create_graph:
            _check_seed_shape(gradient.shape, root.shape)
            return gradient if gradient.dtype == root.dtype else gradient.to(root.dtype)
        gradient = gradient.data
    gradient = np.array(gradient, dtype=root.dtype)
    _check_seed_shape(gradient.shape, root.shape)
    return gradient


def _check_seed_shape(shape: tuple, root_shape: tuple) -> None:
    if shape != root_shape:
        raise BackwardError(
            f"gradient has shape {shape}, but the tensor it seeds has shape {root_shape}"
        )


def _as_tuple(value, what: str, allow_none: bool = False) -> tuple:
    """`value` as a tuple: one Tensor (anything with a `grad_fn`) or array alone, or a sequence."""
    if hasattr(value, "grad_fn") or isinstance(value, np.ndarray) or (allow_none and value is None):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    raise TypeError(f"{what} must be a Tensor or a sequence of Tensors, got {type(value).__name__}")


def backward(tensor, gradient=None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d tensor / d leaf into every reachable leaf's `.grad`."""
    seed = root_gradient(tensor, gradient, create_graph)
    run_backward([tensor], [seed], retain_graph or create_graph, create_graph)
