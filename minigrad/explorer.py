"""`explore(root)`: one self-contained HTML page to explore a graph and watch its backward pass.

The page holds the graph as Graphviz lays it out (`viz.draw_graph`, as SVG), the backward pass
as the engine ran it (`viz.record_backward`: each VJP run, in order, with the gradient that
arrived and what it sent to each input), and, per node, its values, gradient, traced flop cost
and, for a Linear op, the lecture's per-neuron derivation (`trace.explain_neuron`). A small
hand-written script (`explorer_assets/explorer.js`, plain DOM and SVG) walks the steps, shows a
node's panel, collapses Module clusters, searches names, zooms and pans. Script, style, SVG and
data are inlined, so the file opens from disk with no network.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import numpy as np

from . import autograd, ops
from .autograd import FREED, Node
from .tensor import Tensor
from .trace.neuron import explain_neuron
from .trace.tracer import node_costs
from .viz import Graph, draw_graph, record_backward

FULL = 36  # tensors of at most this many elements are shown in full; larger ones as statistics
BINS = 16  # bars in a large tensor's histogram
_COMMENT = re.compile(r"<!--.*?-->\n?", re.DOTALL)
NEURONS = 3  # neurons of a Linear op whose derivation the page carries (of the first example)
__all__ = ["Explorer", "explore"]


def summarize(values) -> dict | None:
    """What the page shows of an array: every value when it has at most FULL elements, else its
    mean, standard deviation, extremes, norm and (unless all are equal) a BINS-bar histogram.
    Non-finite numbers are written as the strings 'nan', 'inf', '-inf' (JSON has none)."""
    if values is None:
        return None
    array = np.asarray(values)
    summary: dict = {"shape": list(array.shape), "dtype": array.dtype.name}
    if array.dtype.kind not in "fiub":
        return summary
    array = array.astype(np.float64)
    if array.size <= FULL:
        summary["values"] = _numbers(array.tolist())
        return summary
    finite = array[np.isfinite(array)]
    summary["nonfinite"] = int(array.size - finite.size)
    if finite.size:
        summary["stats"] = _numbers(
            {
                "mean": float(finite.mean()),
                "std": float(finite.std()),
                "min": float(finite.min()),
                "max": float(finite.max()),
                "norm": float(np.linalg.norm(finite)),
            }
        )
        if finite.min() < finite.max():  # equal values have no spread to draw
            counts, edges = np.histogram(finite, bins=BINS)
            summary["histogram"] = {"counts": counts.tolist(), "edges": _numbers(edges.tolist())}
    return summary


def _numbers(item):
    """Floats to 7 significant digits (float32's precision), non-finite ones as strings."""
    if isinstance(item, list):
        return [_numbers(part) for part in item]
    if isinstance(item, dict):
        return {key: _numbers(value) for key, value in item.items()}
    if isinstance(item, float):
        return float(f"{item:.7g}") if math.isfinite(item) else str(item)
    return item


class Explorer:
    """A computation graph and its recorded backward pass, ready to be written as one page.

    `save(path)` writes the self-contained HTML file; in Jupyter the page displays inline
    (`_repr_html_`, an iframe holding it). `steps` is the engine's backward as recorded; `graph`
    the `viz.Graph` drawn. Build one with `explore`.
    """

    def __init__(self, root: Tensor, graph: Graph, steps: list, title: str, held: dict) -> None:
        self.root = root
        self.graph = graph
        self.steps = steps
        self.title = title
        self.held = held  # Node -> the values of a tensor the user named, which it produced
        self._page: str | None = None

    def __repr__(self) -> str:
        return f"<Explorer of {self.op_count} ops and {len(self.steps)} backward steps>"

    @property
    def op_count(self) -> int:
        """How many ops the graph holds (the page's op nodes)."""
        return len(autograd.graph_nodes(self.root.grad_fn))

    def data(self) -> dict:
        """What the page's script reads, as plain JSON-ready values: `elements` (DOT name ->
        kind, shape, dtype, values, gradient, and for ops the flops and the backward step),
        `modules` (cluster -> label and members), `steps` (per VJP run, in the order the engine
        ran them: the op, the gradient that arrived, and per input the share sent and the sum
        before and after it), `ops` and `title`. Tensors are summarized as `summarize` says."""
        return _Data(self).as_dict()

    def html(self) -> str:
        """The page: one HTML document with the SVG, the data, the script and the style inline.

        Needs the Graphviz `dot` program to lay the graph out (`viz.GraphvizNotFoundError`)."""
        if self._page is None:
            svg = self.graph.pipe(format="svg").decode("utf-8")
            svg = _COMMENT.sub("", svg[svg.index("<svg") :])  # a comment per node: 1/10 of it
            data = json.dumps(self.data(), separators=(",", ":"), allow_nan=False)
            # "</" would end the <script> element the data sits in
            self._page = _page(self.title, svg, data.replace("</", "<\\/"))
        return self._page

    def save(self, path: str | Path) -> Path:
        """Write the page to `path` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        """The page in an iframe, so its script and style stay apart from the notebook's."""
        return (
            f'<iframe class="minigrad-explorer" srcdoc="{html.escape(self.html(), quote=True)}" '
            'style="width: 100%; height: 640px; border: 1px solid #ccc" '
            'sandbox="allow-scripts"></iframe>'
        )


def explore(
    root: Tensor,
    names: Mapping | None = None,
    module=None,
    gradient=None,
    backward: bool = True,
    rankdir: str = "LR",
    title: str | None = None,
) -> Explorer:
    """An interactive page of `root`'s graph that walks its backward pass step by step.

    Runs `root.backward(gradient, retain_graph=True)` while recording what the engine does
    (so, as with any backward, the leaves' `.grad` accumulate), then draws the graph with
    `viz.draw_graph` (names from `names` and `module`, as there; each Module's ops framed so the
    page can collapse them). The page's slider and buttons walk the steps in the order the
    engine ran them, as in `viz.backward_frames`, following the backward pass of lecture
    001 ('Computing a single neuron': given dLoss/dphi, update dLoss/dx_i and dLoss/dw_i).

    Args:
        root: the output whose graph to explore (a scalar, or pass `gradient`).
        names: a mapping of names to Tensors and Modules, such as `locals()`.
        module: a Module whose parameters name and group the ops.
        gradient: the gradient of a non-scalar root, as for `backward`.
        backward: False to explore the forward graph alone, with no backward steps.
        rankdir: Graphviz layout direction, 'LR' or 'TB' (or 'RL', 'BT').
        title: the page's title (default: the number of ops and the root's shape).
    """
    if not isinstance(root, Tensor):
        raise TypeError(
            f"explore needs a minigrad Tensor (the output whose graph to explore), got "
            f"{type(root).__name__}"
        )
    if root.grad_fn is None:
        raise ValueError(
            "explore needs a tensor computed by recorded ops; this one is a leaf or a constant "
            "(compute it from tensors with requires_grad=True, with grad mode on)"
        )
    if gradient is not None and not backward:
        raise ValueError("explore got a gradient but backward=False: there is no backward to seed")
    # Drawn first, so bad options are refused before the backward adds to any `.grad`.
    graph = draw_graph(
        root, show_grad=False, rankdir=rankdir, names=names, module=module, _clusters=True
    )
    steps = record_backward(root, gradient) if backward else []
    count = len(autograd.graph_nodes(root.grad_fn))
    default = f"{count} ops, root of shape {tuple(root.shape)}"
    held = {
        value.grad_fn: value.data
        for value in [root, *(names or {}).values()]
        if isinstance(value, Tensor) and value.grad_fn is not None
    }
    return Explorer(root, graph, steps, title or default, held)


class _Data:
    """The page's data: each drawn element, each Module cluster, each backward step."""

    def __init__(self, explorer: Explorer) -> None:
        self.graph = explorer.graph
        self.title = explorer.title
        self.name_of: dict = {}  # id(Node or leaf) -> DOT name of the tensor it stands for
        self.op_name_of: dict = {}  # Node -> DOT name of its op
        self.values_of = dict(explorer.held)  # Node -> its output's values, where known
        for name, (kind, item) in self.graph.drawn.items():
            if kind in ("tensor", "leaf"):
                self.name_of[id(item)] = name
            if kind == "op":
                self.op_name_of[item] = name
                self._remember_inputs(item)
        self.arrived = {node: grad for node, grad, _ in explorer.steps}
        self.step_of = {node: k for k, (node, _, _) in enumerate(explorer.steps)}
        self.final: dict = {}  # DOT name -> the gradient summed for it so far in the backward
        self.steps = [self._step(*step) for step in explorer.steps]

    def _remember_inputs(self, node: Node) -> None:
        """Keep the values of the node's inputs that other nodes produced: a node that saves its
        inputs holds them, where the producer kept no copy of its output."""
        saved = node.saved
        if saved is None or saved is FREED or not node.op.saves_inputs:
            return
        for parent, array in zip(node.parents, saved):
            if type(parent) is Node and array is not None:
                self.values_of.setdefault(parent, array)

    def as_dict(self) -> dict:
        """What `Explorer.data` returns."""
        return {
            "title": self.title,
            "ops": sum(1 for kind, _ in self.graph.drawn.values() if kind == "op"),
            "elements": {
                name: self._element(name, *item) for name, item in self.graph.drawn.items()
            },
            "modules": self.graph.clusters,
            "steps": self.steps,
        }

    def _step(self, node: Node, grad, input_grads) -> dict:
        """One VJP run: the gradient that arrived, and per input the share it sent (brought to
        the input's shape and dtype, as the engine does before adding it), the shape it was
        reduced from, and, where it meets earlier shares, the sum before and after it."""
        sent = []
        for slot, (parent, input_grad) in enumerate(zip(node.parents, input_grads)):
            if parent is None or input_grad is None:
                continue
            shape, dtype = parent.shape, parent.dtype
            share = np.asarray(input_grad)
            reduced = share.shape != tuple(shape)
            if reduced:  # the engine reduces a broadcast gradient to its input's shape
                share = autograd.unbroadcast(share, tuple(shape)).reshape(shape)
            share = share.astype(dtype)
            target = self.name_of.get(id(parent))
            before = self.final.get(target)
            total = share if before is None else before + share
            self.final[target] = total
            share_sent = {"input": slot, "to": target, "grad": summarize(share)}
            if reduced:
                share_sent["from_shape"] = list(np.shape(input_grad))
            if before is not None:  # else the sum is the share itself, not written twice
                share_sent["before"], share_sent["total"] = summarize(before), summarize(total)
            sent.append(share_sent)
        return {
            "node": self.op_name_of[node],
            "output": self.name_of.get(id(node)),
            "op": node.op.name,
            "grad": summarize(grad),
            "sent": sent,
        }

    def _element(self, name: str, kind: str, item) -> dict:
        if kind == "op":
            return self._op(item)
        if kind == "tensor":
            values = self.values_of.get(item, item.output)
            return self._tensor("tensor", name, item.shape, item.dtype, values)
        if kind == "leaf":
            element = self._tensor("leaf", name, item.shape, item.dtype, item.data)
            element["requires_grad"] = item.requires_grad
            return element
        if kind == "constant":
            return self._tensor("constant", name, item.shape, item.dtype, item)
        return {"kind": kind}

    def _tensor(self, kind: str, name: str, shape, dtype, values) -> dict:
        return {
            "kind": kind,
            "shape": list(shape),
            "dtype": np.dtype(dtype).name,
            "values": summarize(values),
            "grad": summarize(self.final.get(name)),
        }

    def _op(self, node: Node) -> dict:
        forward, backward = node_costs(node)
        element = {
            "kind": "op",
            "op": node.op.name,
            "shape": list(node.shape),
            "dtype": np.dtype(node.dtype).name,
            "forward_flops": None if forward is None else forward.flops,
            "backward_flops": None if backward is None else backward.flops,
            "forward_matmul_flops": None if forward is None else forward.matmul_flops,
            "backward_matmul_flops": None if backward is None else backward.matmul_flops,
            "step": self.step_of.get(node),
        }
        neurons = self._neurons(node)
        if neurons:
            element["neurons"] = neurons
        return element

    def _neurons(self, node: Node) -> list[str]:
        """The lecture's derivation for the first neurons of a Linear op, on the first example,
        with the gradient that arrived at the op in this backward."""
        if node.op is not ops.Linear or node not in self.arrived:
            return []
        weight, bias = node.parents[1], node.parents[2]
        saved = node.saved
        if not isinstance(weight, Tensor) or saved is None or saved is FREED:
            return []
        x, upstream = np.asarray(saved[0]), np.asarray(self.arrived[node])
        if x.ndim == 2 and upstream.ndim == 2:
            x, upstream = x[0], upstream[0]
        if x.ndim != 1 or not weight.requires_grad:
            return []
        layer = (weight, bias if isinstance(bias, Tensor) else None)
        return [
            explain_neuron(layer, x, j, upstream[j], activation="identity", verbose=False).text
            for j in range(min(NEURONS, weight.shape[1]))
        ]


def _asset(name: str) -> str:
    return (resources.files("minigrad") / "explorer_assets" / name).read_text("utf-8")


def _page(title: str, svg: str, data: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
{_asset("explorer.css")}
</style>
</head>
<body>
{_asset("explorer.html")}
<div id="graph">{svg}</div>
<script type="application/json" id="explorer-data">{data}</script>
<script>
{_asset("explorer.js")}
</script>
</body>
</html>
"""
