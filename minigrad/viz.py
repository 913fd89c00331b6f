"""Graphviz pictures of the computation graph, and of the backward pass step by step.

`draw_graph(root)` reads the tape through `autograd.graph_nodes` (iterative, so a graph of tens
of thousands of nodes draws without recursion): an op node per recorded op, a tensor node for
each op's output and for each leaf. What a tensor node can show depends on what is still known:
a leaf's values and `.grad` always; an intermediate's values only while its node keeps them
(`node.output`) or when the user holds the tensor (pass it in `names`); a node's parents survive
backward, so the graph can be drawn after it. The DOT text (`.source`) needs no Graphviz program;
`.render()` and Jupyter's inline picture need `dot`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import graphviz
import numpy as np

from . import autograd
from .autograd import FREED, Node
from .nn.module import path_named
from .tensor import Tensor
from .trace.tracer import node_costs, node_module, parameter_owners

SMALL = 6  # tensors of at most this many elements show their values
__all__ = [
    "Explorer",
    "Graph",
    "GraphvizNotFoundError",
    "backward_frames",
    "draw_graph",
    "explore",
    "record_backward",
    "save_frames",
]


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs the Graphviz `dot` program, and it is not on PATH."""

    def __init__(self, cause: Exception):
        RuntimeError.__init__(
            self,
            "cannot render the graph: the Graphviz `dot` program was not found on PATH "
            f"({cause}). Install Graphviz (Debian/Ubuntu: apt install graphviz; macOS: brew "
            "install graphviz; conda: conda install graphviz). The DOT text is still available "
            "without it: `.source`, or `.save(path)` to write it to a file.",
        )


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering explains a missing `dot` program.

    Frames from `backward_frames` also carry `step` (0-based), `current_node` (the Node being
    processed) and `gradients` (leaf Tensor or Node -> the gradient known at that step).
    `drawn` maps each DOT node name to what it draws: ('op', Node), ('tensor', Node) for an
    op's output, ('leaf', Tensor), ('constant', ndarray) or ('module', [Node, ...]) for a
    collapsed box. `clusters` maps the name of each module cluster (drawn with `_clusters`) to
    its label and the DOT names inside it.
    """

    step: int | None = None
    current_node: Node | None = None
    gradients: dict | None = None
    drawn: dict
    clusters: dict

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drawn = {}
        self.clusters = {}

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(error) from None

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as error:
            raise GraphvizNotFoundError(error) from None


# ---------------------------------------------------------------------------------------------
# what is known about each tensor


class _Known:
    """Names, values and gradients that the graph alone does not hold.

    Names come from `names` (a mapping such as `locals()`: its Tensors matched by identity, its
    Modules' parameters as `name.param`), then a `.name` the user gave the tensor, then `module`'s
    `named_parameters()`, then the path a Module gave its parameter when it registered it
    (`0.weight`). Module boundaries come from parameters: an op belongs to the Module
    holding a parameter the op reads (see `trace.tracer.node_module`), which needs no hook in
    `nn` and works on any graph after the fact.
    """

    def __init__(self, names, module, gradients) -> None:
        self.leaf_names: dict = {}  # id(leaf) -> the user's name for it
        self.parameter_names: dict = {}  # id(parameter) -> its path in a Module
        self.constant_names: dict = {}  # id(array) -> the name of the Tensor holding it
        self.node_names: dict = {}
        self.held: dict = {}  # Node -> the user's Tensor it produced
        self.owners: dict = {}
        self.module_classes: dict = {}
        self.gradients = gradients
        if module is not None:
            self._add_module(module, "")
        for key, value in (names or {}).items():
            if isinstance(key, str) and not key.startswith("_"):
                self._add_name(key, value)

    def _add_module(self, module, prefix: str) -> None:
        for name, parameter in module.named_parameters():
            self.parameter_names.setdefault(id(parameter), prefix + name)
        for parameter_id, path in parameter_owners(module).items():
            self.owners.setdefault(parameter_id, prefix + path)
        named_modules = getattr(module, "named_modules", None)
        for path, child in named_modules() if callable(named_modules) else [("", module)]:
            self.module_classes.setdefault(prefix + path, type(child).__name__)

    def _add_name(self, key: str, value) -> None:
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                self.node_names.setdefault(value.grad_fn, key)
                self.held.setdefault(value.grad_fn, value)
            else:
                self.leaf_names.setdefault(id(value), key)
                self.constant_names.setdefault(id(value.data), key)
        elif callable(getattr(value, "named_parameters", None)):
            self._add_module(value, key + ".")

    def leaf_name(self, leaf: Tensor) -> str | None:
        user_name = None if path_named(leaf) else leaf.name
        return (
            self.leaf_names.get(id(leaf))
            or user_name
            or self.parameter_names.get(id(leaf))
            or leaf.name
        )

    def node_name(self, node: Node) -> str | None:
        held = self.held.get(node)
        return self.node_names.get(node) or (held.name if held is not None else None)

    def leaf_grad(self, leaf: Tensor):
        return self.gradients.get(leaf) if self.gradients is not None else leaf.grad

    def node_grad(self, node: Node):
        if self.gradients is not None:
            return self.gradients.get(node)
        held = self.held.get(node)
        return held.grad if held is not None else None

    def node_values(self, node: Node):
        held = self.held.get(node)
        return held.data if held is not None else node.output


def _format_number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _format_values(values: np.ndarray) -> str:
    def nested(item) -> str:
        if isinstance(item, list):
            return "[" + ", ".join(nested(part) for part in item) + "]"
        return _format_number(item)

    return nested(np.asarray(values).tolist())


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _tensor_label(name, shape, dtype, values, grad, show_data: bool, show_grad: bool) -> str:
    lines = [_escape(name)] if name else []
    lines.append(f"{tuple(shape)} {np.dtype(dtype).name}")
    if show_data and values is not None and np.size(values) <= SMALL:
        lines.append("data " + _format_values(values))
    if show_grad and grad is not None:
        grad = np.asarray(grad)
        lines.append(f"grad norm {float(np.linalg.norm(grad)):.4g}")
        if show_data and grad.size <= SMALL:
            lines.append("grad " + _format_values(grad))
    return "\\n".join(lines)


def _cost_lines(nodes: list) -> list[str]:
    forward, backward, fwd_matmul, bwd_matmul, unknown = 0, 0, 0, 0, False
    for node in nodes:
        fwd, bwd = node_costs(node)
        unknown |= fwd is None or bwd is None
        forward += fwd.flops if fwd else 0
        backward += bwd.flops if bwd else 0
        fwd_matmul += fwd.matmul_flops if fwd else 0
        bwd_matmul += bwd.matmul_flops if bwd else 0
    mark = "+?" if unknown else ""
    lines = []
    for phase, flops, matmul in (("fwd", forward, fwd_matmul), ("bwd", backward, bwd_matmul)):
        detail = f" ({matmul:,} matmul)" if matmul else ""
        lines.append(f"{phase} {flops:,}{mark} flops{detail}")
    return lines


# ---------------------------------------------------------------------------------------------
# the drawing


def _check_root(root, caller: str) -> None:
    if not isinstance(root, Tensor):
        raise TypeError(
            f"{caller} needs a minigrad Tensor (the output whose graph to draw), got "
            f"{type(root).__name__}"
        )


def _highlighted(highlight) -> set:
    """ids of the Nodes and leaf Tensors to paint red (by identity: Tensor `==` is elementwise)."""
    if highlight is None:
        return set()
    items = getattr(highlight, "bad_nodes", highlight)  # a GraphCheck from mg.gradcheck_graph
    if isinstance(items, (Node, Tensor)):
        items = [items]
    return {
        id(item.grad_fn if isinstance(item, Tensor) and item.grad_fn else item) for item in items
    }


def _module_paths(nodes: list, known: _Known) -> dict:
    """Node -> the Module it belongs to (or None), for `nodes` in tape order.

    An op reading a Module's parameter is that Module's (`trace.tracer.node_module`). So is an
    op of none that joins two values of one Module when one of them comes from its parameters
    alone: the bias add of a convolution, whose bias is reshaped apart from the product. (Two
    runs of one Module joined, both fed data, stay apart.)
    """
    path_of: dict = {}
    from_parameters: set = set()  # ops that read only their Module's parameters
    for node in nodes:
        path = node_module(node, known.owners)
        inputs = list(dict.fromkeys(parent for parent in node.parents if type(parent) is Node))
        if path is not None:
            if all(_from_parameters(p, path, known, from_parameters) for p in node.parents):
                from_parameters.add(node)
        elif len(inputs) >= 2 and len({path_of[p] for p in inputs}) == 1:
            fed = [p for p in inputs if p not in from_parameters]
            path = path_of[inputs[0]] if len(fed) <= 1 else None
        path_of[node] = path
    return path_of


def _from_parameters(parent, path: str, known: _Known, from_parameters: set) -> bool:
    if type(parent) is Node:
        return parent in from_parameters
    return parent is not None and known.owners.get(id(parent)) == path


def _module_groups(nodes: list, known: _Known) -> dict:
    """Node -> group key for the ops to collapse: each connected run of one Module's ops is one
    group, so a Module called twice draws as two boxes."""
    path_of = _module_paths(nodes, known)
    _fill_spans(nodes, path_of)
    leader: dict = {}

    def find(node):
        while leader[node] is not node:
            leader[node] = leader[leader[node]]
            node = leader[node]
        return node

    for node in nodes:
        if path_of[node] is not None:
            leader[node] = node
    for node in nodes:
        if path_of[node] is None:
            continue
        for parent in node.parents:
            if type(parent) is Node and parent in leader and path_of[parent] == path_of[node]:
                leader[find(parent)] = find(node)
    return {node: (path_of[node], find(node)) for node in leader}


def _fill_spans(nodes: list, path_of: dict) -> None:
    """Give a Module the parameter-free ops recorded between two of its own ops on the tape
    (`nodes` in tape order), with no other Module's op between: batch norm's mean, variance and
    division come after it reads its weight and before it adds its bias. An op that reads the
    Module's result, or reads such an op's, stays out (in `layer(layer(x) @ v)` the product sits
    between the two calls but belongs to neither)."""
    owned = [(k, path_of[node]) for k, node in enumerate(nodes) if path_of[node] is not None]
    own_ops = {nodes[k] for k, _ in owned}
    for (start, path), (stop, next_path) in zip(owned, owned[1:]):
        if path != next_path:
            continue
        downstream: set = set()
        for node in nodes[start + 1 : stop]:
            if any(p in downstream or (p in own_ops and path_of[p] == path) for p in node.parents):
                downstream.add(node)
            else:
                path_of[node] = path


def draw_graph(
    root: Tensor,
    show_data: bool = True,
    show_grad: bool = True,
    rankdir: str = "LR",
    names: Mapping | None = None,
    collapse_modules: bool = False,
    show_cost: bool = False,
    highlight=None,
    module=None,
    _gradients: dict | None = None,
    _clusters: bool = False,  # for `explore`: frame each Module's ops in a cluster
) -> Graph:
    """The computation graph that produced `root`, as a `graphviz.Digraph` (a `Graph`).

    Tensor nodes show a name (from `names`, e.g. `names=locals()`, matched by identity; the
    tensor's `.name`; or a parameter path of `module` or of a Module in `names`, else the path
    the Module that registered the parameter gave it, so `draw_graph(loss)` of an
    `nn.Sequential` shows `0.weight`), shape, dtype,
    the values of tensors of at most 6 elements, and the gradient norm once known. Op nodes show
    the op.

    Args:
        root: the output tensor.
        show_data: show small tensors' values (and small gradients' values).
        show_grad: show gradient norms (leaves' `.grad`; an intermediate's when the user holds
            it with `retain_grad()`).
        rankdir: Graphviz layout direction, 'LR' or 'TB'.
        names: a mapping of names to Tensors and Modules, such as `locals()`.
        collapse_modules: draw the ops of each Module (those reading its parameters) as one box.
        show_cost: add each op's forward and backward flops (trace's formulas) to its label.
        highlight: Nodes or Tensors to draw in red, or the GraphCheck of `mg.gradcheck_graph`.
        module: a Module whose parameter names label its parameters.
    """
    _check_root(root, "draw_graph")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    known = _Known(names, module, _gradients)
    if collapse_modules and not known.owners:
        raise ValueError(
            "collapse_modules=True needs the Module: pass module=model, or names holding it"
        )
    graph = Graph(
        "minigrad",
        graph_attr={"rankdir": rankdir},
        node_attr={"fontname": "Helvetica", "fontsize": "10"},
    )
    if root.grad_fn is None:
        label = _tensor_label(
            known.leaf_name(root), root.shape, root.dtype, root.data,
            known.leaf_grad(root), show_data, show_grad,
        )  # fmt: skip
        graph.node("leaf0", label, style="filled", fillcolor=_leaf_color(root))
        graph.drawn["leaf0"] = ("leaf", root)
        return graph
    drawing = _Drawing(graph, known, root, show_data, show_grad, show_cost, _highlighted(highlight))
    drawing.draw(collapse_modules)
    if _clusters and known.owners and not collapse_modules:
        drawing.frame_modules()
    return graph


def _leaf_color(leaf: Tensor) -> str:
    return "lightblue" if leaf.requires_grad else "white"


class _Drawing:
    """Lays one graph's nodes and edges into a Digraph."""

    def __init__(self, graph, known, root, show_data, show_grad, show_cost, highlight) -> None:
        self.graph, self.known, self.root = graph, known, root
        self.show_data, self.show_grad, self.show_cost = show_data, show_grad, show_cost
        self.highlight = highlight
        self.nodes = autograd.graph_nodes(root.grad_fn)[::-1]  # tape order
        self.index = {node: k for k, node in enumerate(self.nodes)}
        self.groups: dict = {}  # Node -> its box's key, when collapsing Modules
        self.leaf_ids: dict = {}
        self.constant_ids: dict = {}
        self.edges: set = set()

    def draw(self, collapse: bool) -> None:
        groups = _module_groups(self.nodes, self.known) if collapse else {}
        self.groups = groups
        members: dict = {}
        for node, key in groups.items():
            members.setdefault(key, []).append(node)
        # groups iterates in tape order, so each member list starts with its first op
        first = sorted(members, key=lambda key: self.index[members[key][0]])
        box_ids = {key: f"module{k}" for k, key in enumerate(first)}
        consumed_outside = self._consumed_outside(groups)
        for node in self.nodes:
            key = groups.get(node)
            if key is None:
                self._op_node(node)
            elif node is members[key][0]:
                self._box(box_ids[key], key[0], members[key])
            target = f"op{self.index[node]}" if key is None else box_ids[key]
            if key is None or node in consumed_outside or node is self.root.grad_fn:
                self._output_node(node, target)
            for index, parent in enumerate(node.parents):
                self._input_edge(node, index, parent, target, key)

    def _consumed_outside(self, groups: dict) -> set:
        outside = set()
        for node in self.nodes:
            for parent in node.parents:
                if type(parent) is Node and parent in groups and groups.get(node) != groups[parent]:
                    outside.add(parent)
        return outside

    def frame_modules(self) -> None:
        """Put each Module run's ops, their outputs and its parameters in one cluster."""
        groups = _module_groups(self.nodes, self.known)
        members: dict = {}
        for node, key in groups.items():
            members.setdefault(key, []).append(node)
        for number, (key, nodes) in enumerate(members.items()):
            path = key[0]
            names = [f"{kind}{self.index[node]}" for node in nodes for kind in ("op", "t")]
            for node in nodes:
                names += [
                    self.leaf_ids[id(parent)]
                    for parent in node.parents
                    if self._owned(parent, path) and id(parent) in self.leaf_ids
                ]
            kind = self.known.module_classes.get(path, "Module")
            label = f"{path or 'model'}: {kind}"
            cluster = f"cluster_module{number}"
            with self.graph.subgraph(name=cluster) as sub:
                sub.attr(
                    label=_escape(label), style="rounded,dashed", color="goldenrod",
                    fontname="Helvetica", fontsize="11",
                )  # fmt: skip
                for name in dict.fromkeys(names):
                    sub.node(name)
            self.graph.clusters[cluster] = {"label": label, "members": list(dict.fromkeys(names))}

    def _op_node(self, node: Node) -> None:
        self.graph.drawn[f"op{self.index[node]}"] = ("op", node)
        lines = [node.op.name] + (_cost_lines([node]) if self.show_cost else [])
        self.graph.node(
            f"op{self.index[node]}",
            "\\n".join(_escape(line) for line in lines),
            shape="box",
            style="filled",
            fillcolor="lightgrey",
            **self._red(node),
        )

    def _box(self, box_id: str, path: str, nodes: list) -> None:
        self.graph.drawn[box_id] = ("module", nodes)
        kind = self.known.module_classes.get(path, "Module")
        lines = [f"{path or 'model'}: {kind}", " > ".join(node.op.name for node in nodes)]
        params: dict = {}
        for node in nodes:
            for parent in node.parents:
                if self._owned(parent, path):
                    name = self.known.leaf_name(parent) or "parameter"
                    params[id(parent)] = f"{name.rpartition('.')[2]} {parent.data.shape}"
        lines += [", ".join(params.values())] if params else []
        lines += _cost_lines(nodes) if self.show_cost else []
        red = self._red(nodes[0]) if any(id(node) in self.highlight for node in nodes) else {}
        self.graph.node(
            box_id,
            "\\n".join(_escape(line) for line in lines),
            shape="box3d",
            style="filled",
            fillcolor="lightyellow",
            **red,
        )

    def _owned(self, parent, path: str) -> bool:
        return (
            parent is not None
            and type(parent) is not Node
            and self.known.owners.get(id(parent)) == path
        )

    def _output_node(self, node: Node, source: str) -> None:
        tensor_id = f"t{self.index[node]}"
        known = self.known
        label = _tensor_label(
            known.node_name(node), node.shape, node.dtype, known.node_values(node),
            known.node_grad(node), self.show_data, self.show_grad,
        )  # fmt: skip
        self.graph.drawn[tensor_id] = ("tensor", node)
        fill = "darkolivegreen1" if node is self.root.grad_fn else "white"
        self.graph.node(tensor_id, label, style="filled", fillcolor=fill)
        self._edge(source, tensor_id)

    def _input_edge(self, node: Node, index: int, parent, target: str, key) -> None:
        # An op drawn alone gets one edge per input, so h * h shows both; a box gets one per
        # distinct input.
        if parent is None:
            tail = self._constant_node(node, index)
            if tail is None:
                return
        elif type(parent) is Node:
            if key is not None and self.groups.get(parent) == key:
                return  # inside the box: its ops' intermediates are not drawn
            tail = f"t{self.index[parent]}"
        elif key is None or not self._owned(parent, key[0]):
            tail = self._leaf_node(parent)
        else:
            return
        if key is None:
            self.graph.edge(tail, target)
        else:
            self._edge(tail, target)

    def _constant_node(self, node: Node, index: int) -> str | None:
        """A constant array input (one not requiring grad), while the node still keeps it;
        numbers and released arrays are not drawn."""
        saved = node.saved
        if saved is None or saved is FREED or index >= len(saved):
            return None
        array = saved[index]
        if not isinstance(array, np.ndarray) or array.ndim == 0:
            return None
        constant_id = self.constant_ids.get(id(array))
        if constant_id is None:
            constant_id = self.constant_ids[id(array)] = f"const{len(self.constant_ids)}"
            self.graph.drawn[constant_id] = ("constant", array)
            name = self.known.constant_names.get(id(array))
            label = _tensor_label(
                name, array.shape, array.dtype, array, None, self.show_data, False
            )
            self.graph.node(constant_id, label, style="dashed")
        return constant_id

    def _leaf_node(self, leaf: Tensor) -> str:
        leaf_id = self.leaf_ids.get(id(leaf))
        if leaf_id is None:
            leaf_id = self.leaf_ids[id(leaf)] = f"leaf{len(self.leaf_ids)}"
            self.graph.drawn[leaf_id] = ("leaf", leaf)
            label = _tensor_label(
                self.known.leaf_name(leaf), leaf.shape, leaf.dtype, leaf.data,
                self.known.leaf_grad(leaf), self.show_data, self.show_grad,
            )  # fmt: skip
            self.graph.node(
                leaf_id, label, style="filled", fillcolor=_leaf_color(leaf), **self._red(leaf)
            )
        return leaf_id

    def _edge(self, tail: str, head: str) -> None:
        if (tail, head) not in self.edges:
            self.edges.add((tail, head))
            self.graph.edge(tail, head)

    def _red(self, item) -> dict:
        if id(item) in self.highlight:
            return {"color": "red", "fontcolor": "red", "penwidth": "2.5"}
        return {}


# ---------------------------------------------------------------------------------------------
# backward, frame by frame


class _StepRecorder:
    """Watcher keeping each VJP run of one backward: (node, its gradient, its inputs' gradients)."""

    def __init__(self) -> None:
        self.steps: list = []

    def on_forward(self, op, arrays, params, out, node) -> None:
        pass

    def on_backward(self, node: Node, grad, input_grads) -> None:
        copies = tuple(None if g is None else np.array(g) for g in input_grads)
        self.steps.append((node, np.array(grad), copies))


def record_backward(root: Tensor, gradient=None) -> list:
    """Run `root.backward(gradient, retain_graph=True)` and return what the engine did, step by
    step, as it did it: (Node, the gradient that arrived at it, the gradient its VJP sent to
    each input, None where none) per VJP run, in the order they ran. Observed with a watcher
    during the real backward, not re-derived; the leaves' `.grad` accumulate as usual."""
    recorder = _StepRecorder()
    autograd.add_watcher(recorder)
    try:
        root.backward(gradient, retain_graph=True)
    finally:
        autograd.remove_watcher(recorder)
    return recorder.steps


def _leaf_share(grad: np.ndarray, leaf: Tensor) -> np.ndarray:
    """An input gradient brought to its leaf's shape, as the engine does before storing it."""
    if grad.shape != leaf.shape:
        grad = autograd.unbroadcast(grad, leaf.shape).reshape(leaf.shape)
    return grad


def backward_frames(root: Tensor, **options) -> Iterator[Graph]:
    """Run `root.backward(retain_graph=True)` and yield one picture per backward step.

    The steps come in tape order reversed, the order backward runs them (lecture
    001_7c5c639b47bbde7b.txt, 'Computing a single neuron', 'Backward pass?'). Frame k highlights
    the op being processed, and shows every gradient known once it has run: the gradients of the
    ops processed so far and the leaves' gradients accumulated so far in this pass (so the last
    frame's leaf gradients are what this backward added to `.grad`). The steps are observed with
    a watcher during the engine's real backward, not re-derived. Each frame is a `Graph` with
    `step`, `current_node` and `gradients` set. `options` are `draw_graph`'s.

    As with any backward, the leaves' `.grad` accumulate.
    """
    _check_root(root, "backward_frames")
    gradients: dict = {}
    for step, (node, grad, input_grads) in enumerate(record_backward(root)):
        gradients[node] = grad
        for parent, input_grad in zip(node.parents, input_grads):
            if parent is None or type(parent) is Node or input_grad is None:
                continue
            share = _leaf_share(input_grad, parent)
            gradients[parent] = share if parent not in gradients else gradients[parent] + share
        frame = draw_graph(root, highlight={node}, _gradients=dict(gradients), **options)
        frame.step, frame.current_node, frame.gradients = step, node, dict(gradients)
        yield frame


def save_frames(root: Tensor, folder, format: str = "svg", **options) -> list[Path]:
    """Write `backward_frames(root)` as numbered files `frame_000.svg`, ... in `folder`.

    Needs the Graphviz `dot` program; without it, writes each frame's DOT source
    (`frame_000.dot`, ...) and warns. Returns the paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    steps = len(autograd.graph_nodes(root.grad_fn)) if isinstance(root, Tensor) else 0
    width = max(3, len(str(steps)))
    written, dot_missing = [], False
    for frame in backward_frames(root, **options):
        stem = folder / f"frame_{frame.step:0{width}d}"
        if not dot_missing:
            try:
                picture = frame.pipe(format=format)
            except GraphvizNotFoundError as error:
                dot_missing = True
                warnings.warn(f"{error} Writing DOT source files instead.", stacklevel=2)
            else:
                path = stem.with_suffix(f".{format}")
                path.write_bytes(picture)
                written.append(path)
                continue
        path = stem.with_suffix(".dot")
        path.write_text(frame.source, encoding="utf-8")
        written.append(path)
    return written


# The explorer builds on the drawing and the recorder above, so it is imported once they exist;
# `minigrad` imports this module first, which fixes the order.
from .explorer import Explorer, explore  # noqa: E402
