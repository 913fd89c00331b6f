"""minigrad.viz: DOT output of draw_graph (golden), names, modules, cost overlay, highlighting,
backward frames, rendering with and without the Graphviz `dot` program, and bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import graphviz
import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd, viz
from minigrad.functional import linear

NODE = re.compile(r"^\t(\w+) \[label=", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)$", re.MULTILINE)


def node_ids(graph) -> list[str]:
    return NODE.findall(graph.source)


def edges(graph) -> list[tuple[str, str]]:
    return EDGE.findall(graph.source)


def label_of(graph, node_id: str) -> str:
    match = re.search(rf"^\t{node_id} \[label=(\"(?:[^\"\\]|\\.)*\"|\w+)", graph.source, re.M)
    assert match, f"no node {node_id} in\n{graph.source}"
    return match.group(1).strip('"')


def require_dot() -> None:
    """Skip (with the reason) when `dot` is missing, unless CI demands it with
    MINIGRAD_REQUIRE_DOT=1: then a missing `dot` fails the test."""
    if shutil.which("dot") is not None:
        return
    reason = "the Graphviz `dot` program is not installed (apt install graphviz)"
    if os.environ.get("MINIGRAD_REQUIRE_DOT") == "1":
        pytest.fail(f"MINIGRAD_REQUIRE_DOT=1 but {reason}")
    print(f"skipping: {reason}")
    pytest.skip(reason)


class TwoLayers:
    """A stand-in for a Module: what viz reads is named_parameters() and named_modules()."""

    class Layer:
        def __init__(self, d: int, e: int):
            self.weight = mg.full((d, e), 0.5, requires_grad=True)
            self.bias = mg.zeros(e, requires_grad=True)

        def __call__(self, x):
            return x @ self.weight + self.bias  # two ops, so collapsing has work to do

    def __init__(self):
        self.layers = [self.Layer(3, 4), self.Layer(4, 2)]

    def named_parameters(self):
        for index, layer in enumerate(self.layers):
            yield f"{index}.weight", layer.weight
            yield f"{index}.bias", layer.bias

    def named_modules(self):
        yield "", self
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x).tanh()
        return x


# ---------------------------------------------------------------------------------------------
# golden DOT


def test_golden_dot_of_a_product_sum():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    y = (a * b).sum()
    y.backward()
    # dy/da = b = [3, 4] (norm 5), dy/db = a = [1, 2] (norm sqrt 5 = 2.236); y = 3 + 8 = 11
    expected = textwrap.dedent(
        """\
        digraph minigrad {
        \tgraph [rankdir=LR]
        \tnode [fontname=Helvetica fontsize=10]
        \top0 [label=Mul fillcolor=lightgrey shape=box style=filled]
        \tt0 [label="(2,) float32" fillcolor=white style=filled]
        \top0 -> t0
        \tleaf0 [label="a\\n(2,) float32\\ndata [1, 2]\\ngrad norm 5\\ngrad [3, 4]" fillcolor=lightblue style=filled]
        \tleaf0 -> op0
        \tleaf1 [label="b\\n(2,) float32\\ndata [3, 4]\\ngrad norm 2.236\\ngrad [1, 2]" fillcolor=lightblue style=filled]
        \tleaf1 -> op0
        \top1 [label=Sum fillcolor=lightgrey shape=box style=filled]
        \tt1 [label="y\\n() float32\\ndata 11" fillcolor=darkolivegreen1 style=filled]
        \top1 -> t1
        \tt0 -> op1
        }
        """  # noqa: E501 (the golden DOT lines are as long as dot writes them)
    )
    assert viz.draw_graph(y, names={"a": a, "b": b, "y": y}).source == expected


def test_layer_graph_counts_and_labels():
    x = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    w = mg.tensor([[0.5], [-1.0], [0.25]], requires_grad=True)
    b = mg.tensor([0.25], requires_grad=True)
    h = x @ w + b
    loss = h.tanh().sum()
    loss.backward()
    graph = viz.draw_graph(loss, names=locals())
    # 3 leaves + 4 ops (MatMul, Add, Tanh, Sum) + 4 op outputs; 6 input edges + 4 output edges
    assert len(node_ids(graph)) == 11
    assert len(edges(graph)) == 10
    assert sorted(edges(graph)) == sorted(
        [("op0", "t0"), ("leaf0", "op0"), ("leaf1", "op0"), ("op1", "t1"), ("t0", "op1"),
         ("leaf2", "op1"), ("op2", "t2"), ("t1", "op2"), ("op3", "t3"), ("t2", "op3")]
    )  # fmt: skip
    assert [label_of(graph, f"op{k}") for k in range(4)] == ["MatMul", "Add", "Tanh", "Sum"]
    # h = 1*0.5 - 2 + 0.75 + 0.25 = -0.5; dloss/dh = 1 - tanh(-0.5)^2; dloss/dx = that * w
    slope = 1 - np.tanh(-0.5) ** 2
    assert label_of(graph, "t1") == "h\\n(1, 1) float32\\ndata [[-0.5]]"
    x_label = label_of(graph, "leaf0")
    assert x_label.startswith("x\\n(1, 3) float32\\ndata [[1, 2, 3]]\\n")
    assert f"grad norm {slope * np.sqrt(0.25 + 1 + 0.0625):.4g}" in x_label
    assert f"grad norm {slope:.4g}" in label_of(graph, "leaf2")
    assert label_of(graph, "t3").startswith("loss\\n() float32")


def test_show_data_and_show_grad_off():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward()
    graph = viz.draw_graph(y, show_data=False, show_grad=False, names={"a": a})
    assert label_of(graph, "leaf0") == "a\\n(2,) float32"
    assert "\\ndata" not in graph.source and "\\ngrad" not in graph.source


def test_large_tensors_hide_values_but_keep_grad_norm():
    w = mg.ones(3, 3, requires_grad=True)
    y = w.sum()
    y.backward()
    label = label_of(viz.draw_graph(y, names={"w": w}), "leaf0")
    assert label == "w\\n(3, 3) float32\\ngrad norm 3"  # nine ones: norm 3


def test_rankdir_and_tensor_name_attribute():
    a = mg.Tensor([1.0, 2.0], requires_grad=True, name="weights")
    graph = viz.draw_graph((a * 2).sum(), rankdir="TB")
    assert "rankdir=TB" in graph.source
    assert label_of(graph, "leaf0").startswith("weights\\n")


def test_names_by_identity_not_by_equality():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    twin = mg.tensor([1.0, 2.0], requires_grad=True)  # equal values, another tensor
    graph = viz.draw_graph((a * 3).sum(), names={"twin": twin, "_hidden": a, "a": a})
    assert label_of(graph, "leaf0").startswith("a\\n")
    assert "twin" not in graph.source and "_hidden" not in graph.source


def test_module_parameter_names_from_module_argument_and_from_names():
    model = TwoLayers()
    loss = model(mg.ones(2, 3)).sum()
    loss.backward()
    labels = [label_of(viz.draw_graph(loss, module=model), f"leaf{k}") for k in range(4)]
    assert [label.split("\\n")[0] for label in labels] == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
    ]
    from_locals = viz.draw_graph(loss, names={"model": model})
    assert label_of(from_locals, "leaf0").startswith("model.0.weight\\n(3, 4) float32")


def test_intermediate_values_after_backward_without_retain_graph():
    x = mg.tensor([0.5, -0.5], requires_grad=True)
    hidden = x.exp()  # Exp keeps its output, until backward releases it
    loss = (hidden * 2).sum()
    before = viz.draw_graph(loss)
    assert "data [1.649, 0.6065]" in label_of(before, "t0")
    loss.backward()
    after = viz.draw_graph(loss)
    assert label_of(after, "t0") == "(2,) float32"  # released, and nobody holds it
    held = viz.draw_graph(loss, names={"hidden": hidden})
    assert label_of(held, "t0") == "hidden\\n(2,) float32\\ndata [1.649, 0.6065]"
    assert len(node_ids(after)) == 7  # x, and Exp, Mul, Sum with their outputs


def test_retained_grad_of_an_intermediate_is_shown():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward()
    # dloss/dh = 2 h = [6, 12]
    assert "grad [6, 12]" in label_of(viz.draw_graph(loss, names={"h": h}), "t0")


# ---------------------------------------------------------------------------------------------
# modules, cost, highlight


def test_collapse_modules_replaces_each_layer_by_one_box():
    model = TwoLayers()
    inputs = mg.ones(2, 3)
    loss = model(inputs).sum()
    plain = viz.draw_graph(loss, module=model, names={"inputs": inputs})
    # 4 parameters + the constant input + 7 ops (2 x (MatMul, Add, Tanh), Sum) + 7 outputs
    assert len(node_ids(plain)) == 19
    assert label_of(plain, "const0") == "inputs\\n(2, 3) float32\\ndata [[1, 1, 1], [1, 1, 1]]"
    assert ("const0", "op0") in edges(plain)
    collapsed = viz.draw_graph(loss, module=model, collapse_modules=True)
    # each layer's MatMul, Add, their 2 outputs and 2 parameters (6) become a box and its output
    assert len(node_ids(collapsed)) == 19 - 2 * 4
    assert ("const0", "module0") in edges(collapsed)
    assert [n for n in node_ids(collapsed) if n.startswith("module")] == ["module0", "module1"]
    assert label_of(collapsed, "module0") == "0: Layer\\nMatMul > Add\\nweight (3, 4), bias (4,)"
    assert label_of(collapsed, "module1") == "1: Layer\\nMatMul > Add\\nweight (4, 2), bias (2,)"
    assert ("module0", "t1") in edges(collapsed) and ("t2", "module1") in edges(collapsed)


def test_collapse_keeps_two_calls_of_one_module_apart():
    model = TwoLayers()
    layer = model.layers[0]
    loss = (layer(layer(mg.ones(1, 3)) @ mg.ones(4, 3))).sum()
    collapsed = viz.draw_graph(loss, module=model, collapse_modules=True)
    assert [n for n in node_ids(collapsed) if n.startswith("module")] == ["module0", "module1"]


def test_collapse_puts_a_convolutions_bias_add_in_its_box():
    from minigrad import nn

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3))
    loss = model(mg.ones(1, 1, 6, 6)).sum()
    collapsed = viz.draw_graph(loss, module=model, collapse_modules=True)
    boxes = [n for n in node_ids(collapsed) if n.startswith("module")]
    assert boxes == ["module0", "module1"]  # the bias, reshaped apart, joins at the Add
    assert label_of(collapsed, "module0").startswith("0: Conv2d\\nConv2d > Reshape > Add")
    assert "Relu" not in label_of(collapsed, "module0")  # a parameter-free Module stays out


def test_collapse_keeps_two_runs_of_one_module_apart_when_joined():
    model = TwoLayers()
    layer = model.layers[0]
    loss = (layer(mg.ones(1, 3)) + layer(mg.zeros(1, 3))).sum()
    collapsed = viz.draw_graph(loss, module=model, collapse_modules=True)
    assert [n for n in node_ids(collapsed) if n.startswith("module")] == ["module0", "module1"]
    assert "label=Add" in collapsed.source  # the join belongs to neither run


def test_collapse_needs_a_module():
    y = (mg.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(ValueError, match="collapse_modules=True needs the Module"):
        viz.draw_graph(y, collapse_modules=True)


def test_show_cost_overlays_exact_flops():
    N, d, e = 5, 3, 4
    x = mg.ones(N, d, requires_grad=True)
    weight = mg.ones(d, e, requires_grad=True)
    bias = mg.ones(e, requires_grad=True)
    loss = linear(x, weight, bias).tanh().sum()
    graph = viz.draw_graph(loss, show_cost=True)
    # forward 2 N d e = 120 matmul + N e = 20 bias adds; backward 4 N d e = 240 + N e = 20
    assert label_of(graph, "op0") == (
        "Linear\\nfwd 140 flops (120 matmul)\\nbwd 260 flops (240 matmul)"
    )
    assert label_of(graph, "op1") == "Tanh\\nfwd 20 flops\\nbwd 60 flops"


def test_highlight_paints_the_gradcheck_graph_failures_red():
    class BadSquare(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2 x

    x = mg.tensor(np.array([0.3, -0.7]), requires_grad=True)
    loss = BadSquare.apply(x.tanh()).sum()
    report = mg.gradcheck_graph(loss)
    graph = viz.draw_graph(loss, highlight=report)
    red = [n for n in node_ids(graph) if re.search(rf"^\t{n} \[.*color=red", graph.source, re.M)]
    assert red == ["op1"] and label_of(graph, "op1") == "BadSquare"
    assert "+? flops" in label_of(viz.draw_graph(loss, show_cost=True), "op1")


# ---------------------------------------------------------------------------------------------
# size and bad input


def test_twenty_thousand_nodes_draw_without_recursion():
    x = mg.tensor(0.5, requires_grad=True)
    h = x
    for _ in range(20_000):
        h = h * 1.0001
    graph = viz.draw_graph(h, show_data=False)
    source = graph.source
    assert source.count(" -> ") == 40_000  # each op: its input edge and its output edge
    assert len(node_ids(graph)) == 40_001


def test_draw_graph_of_a_non_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="draw_graph needs a minigrad Tensor .* got list"):
        viz.draw_graph([1.0, 2.0])
    with pytest.raises(TypeError, match="backward_frames needs a minigrad Tensor .* got ndarray"):
        next(viz.backward_frames(np.ones(2)))


def test_bad_rankdir():
    with pytest.raises(ValueError, match="rankdir must be 'LR', 'TB', 'RL' or 'BT', got 'XY'"):
        viz.draw_graph(mg.ones(2), rankdir="XY")


def test_a_tensor_without_graph_is_one_node():
    plain = mg.tensor([1.0, 2.0])
    graph = viz.draw_graph(plain, names={"plain": plain})
    assert node_ids(graph) == ["leaf0"] and edges(graph) == []
    assert label_of(graph, "leaf0") == "plain\\n(2,) float32\\ndata [1, 2]"
    leaf = mg.tensor([3.0], requires_grad=True)
    leaf.backward(np.ones(1))
    assert (
        label_of(viz.draw_graph(leaf), "leaf0")
        == "(1,) float32\\ndata [3]\\ngrad norm 1\\ngrad [1]"
    )


# ---------------------------------------------------------------------------------------------
# backward frames


def small_network():
    x = mg.tensor([[1.0, -2.0]], requires_grad=True)
    w = mg.tensor([[0.5, 1.0], [0.25, -1.0]], requires_grad=True)
    b = mg.tensor([0.1, 0.2], requires_grad=True)
    loss = (linear(x, w, b).sigmoid() * 3).sum()
    return loss, {"x": x, "w": w, "b": b}


def test_backward_frames_one_per_node_in_tape_order():
    loss, names = small_network()
    nodes = autograd.graph_nodes(loss.grad_fn)
    frames = list(viz.backward_frames(loss, names=names))
    assert len(frames) == len(nodes) == 4
    assert [frame.current_node for frame in frames] == nodes  # the order backward runs
    assert [frame.step for frame in frames] == [0, 1, 2, 3]
    for frame in frames:  # exactly the processed op is red
        red = re.findall(r"^\t(\w+) \[[^\n]*color=red", frame.source, re.M)
        assert red == [f"op{len(nodes) - 1 - frame.step}"]
    assert "grad" not in label_of(frames[0], "leaf0")  # x has no gradient yet
    assert "grad" in label_of(frames[-1], "leaf0")


def test_last_frame_gradients_equal_grad():
    loss, names = small_network()
    frames = list(viz.backward_frames(loss, names=names))
    last = frames[-1]
    for leaf in names.values():
        np.testing.assert_array_equal(last.gradients[leaf], leaf.grad)
        assert f"grad norm {np.linalg.norm(leaf.grad):.4g}" in last.source
    # the gradient reaching the sigmoid's output is 3 everywhere (d(3 s)/ds)
    np.testing.assert_array_equal(last.gradients[nodes_by_name(loss)["Sigmoid"]], [[3.0, 3.0]])


def nodes_by_name(root) -> dict:
    return {node.op.name: node for node in autograd.graph_nodes(root.grad_fn)}


def test_backward_frames_leaves_no_watcher_behind():
    loss, _ = small_network()
    assert len(list(viz.backward_frames(loss))) == 4
    assert autograd.watchers() == ()


# ---------------------------------------------------------------------------------------------
# rendering


def test_render_svg_holds_the_op_names(tmp_path):
    require_dot()
    loss, names = small_network()
    loss.backward()
    path = viz.draw_graph(loss, names=names).render(tmp_path / "graph", format="svg")
    svg = open(path, encoding="utf-8").read()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for op in ("Linear", "Sigmoid", "Mul", "Sum"):
        assert f">{op}</text>" in svg


def test_save_frames_writes_numbered_svgs(tmp_path):
    require_dot()
    loss, names = small_network()
    written = viz.save_frames(loss, tmp_path / "frames", names=names)
    assert [p.name for p in written] == [f"frame_00{k}.svg" for k in range(4)]
    assert all("<svg" in p.read_text(encoding="utf-8") for p in written)


def test_without_dot_rendering_says_to_install_graphviz(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    graph = viz.draw_graph((mg.ones(2, requires_grad=True) * 2).sum())
    for attempt in (lambda: graph.render(tmp_path / "g", format="svg"), lambda: graph.pipe()):
        with pytest.raises(viz.GraphvizNotFoundError) as raised:
            attempt()
        message = str(raised.value)
        assert "apt install graphviz" in message and "`.source`" in message
        assert isinstance(raised.value, graphviz.ExecutableNotFound)  # old handlers still work
    assert graph.source.startswith("digraph minigrad {")


def test_without_dot_save_frames_writes_dot_sources(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    loss, _ = small_network()
    with pytest.warns(UserWarning, match="apt install graphviz"):
        written = viz.save_frames(loss, tmp_path / "frames")
    assert [p.name for p in written] == [f"frame_00{k}.dot" for k in range(4)]
    assert written[0].read_text(encoding="utf-8").startswith("digraph minigrad {")


def test_without_dot_in_a_fresh_process(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    script = (
        "import minigrad as mg\n"
        "from minigrad import viz\n"
        "graph = viz.draw_graph((mg.ones(2, requires_grad=True) * 2).sum())\n"
        "print(graph.source.splitlines()[0])\n"
        "graph.render('g', format='png')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PATH": str(empty)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == "digraph minigrad {\n"
    assert "GraphvizNotFoundError" in result.stderr and "apt install graphviz" in result.stderr


def test_an_input_used_twice_gets_two_edges():
    h = mg.tensor([1.0, 2.0], requires_grad=True)
    graph = viz.draw_graph((h * h).sum())
    assert edges(graph).count(("leaf0", "op0")) == 2
    assert len(edges(graph)) == 5


def test_name_priority_user_name_then_tensor_name_then_parameter_path():
    model = TwoLayers()
    first_weight = model.layers[0].weight
    model.layers[0].bias.name = "b0"
    loss = model(mg.ones(1, 3)).sum()
    graph = viz.draw_graph(
        loss, module=model, names={"first_weight": first_weight, "w": first_weight}
    )
    assert [label_of(graph, f"leaf{k}").split("\\n")[0] for k in range(3)] == [
        "first_weight", "b0", "1.weight",
    ]  # fmt: skip


def test_nn_model_names_and_collapse():
    from minigrad import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = mg.ones(5, 3)
    loss = nn.functional.mse_loss(model(x), mg.zeros(5, 2))
    loss.backward()
    graph = viz.draw_graph(loss, names=locals())
    leaves = [label_of(graph, n).split("\\n")[0] for n in node_ids(graph) if n.startswith("leaf")]
    assert leaves == ["model.0.weight", "model.0.bias", "model.2.weight", "model.2.bias"]
    plain = len(node_ids(graph))
    collapsed = viz.draw_graph(loss, module=model, collapse_modules=True)
    # each fused Linear op with its two parameters (3 nodes) becomes one box
    assert len(node_ids(collapsed)) == plain - 2 * 2
    assert label_of(collapsed, "module0") == "0: Linear\\nLinear\\nweight (3, 4), bias (4,)"
    assert label_of(collapsed, "module1") == "2: Linear\\nLinear\\nweight (4, 2), bias (2,)"


def test_constant_inputs_are_drawn_while_kept_numbers_never():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    target = mg.tensor([0.5, 0.5])
    loss = ((w - target) * 2.0).sum()
    before = viz.draw_graph(loss, names={"target": target})
    assert [n for n in node_ids(before) if n.startswith("const")] == ["const0"]
    assert label_of(before, "const0") == "target\\n(2,) float32\\ndata [0.5, 0.5]"
    assert re.search(r"^\tconst0 \[.*style=dashed", before.source, re.M)
    assert len(node_ids(before)) == 1 + 1 + 3 + 3  # w, target, Sub Mul Sum and their outputs
    loss.backward()
    assert "const" not in viz.draw_graph(loss).source  # released by backward


def test_module_parameters_are_named_by_their_path_without_module():
    from minigrad import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 2)))
    assert [p.name for p in model.parameters()] == [n for n, _ in model.named_parameters()]
    loss = nn.functional.mse_loss(model(mg.randn(5, 3)), mg.zeros(5, 2))
    source = viz.draw_graph(loss).source
    for path in ("0.weight", "0.bias", "2.0.weight", "2.0.bias"):
        assert f'"{path}\\n' in source, path
    named = viz.draw_graph(loss, names={"model": model}).source  # a names= prefix still wins
    assert '"model.0.weight\\n' in named and '"0.weight\\n' not in named


def test_a_parameter_keeps_the_name_its_user_gave_it():
    from minigrad import nn

    layer = nn.Linear(2, 2)
    layer.weight.name = "W"
    model = nn.Sequential(layer)
    assert layer.weight.name == "W" and layer.bias.name == "0.bias"
    loss = model(mg.ones(1, 2)).sum()
    assert '"W\\n' in viz.draw_graph(loss).source
    assert '"W\\n' in viz.draw_graph(loss, module=model).source  # the user's name wins
