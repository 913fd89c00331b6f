"""`viz.explore`: the page's data follows the engine's recorded backward, its tensors are shown in
full or summarized, its ops carry the tracer's costs and a Linear op the neuron derivation, and
the HTML file is self-contained. The page in a real browser: tests/test_explorer_browser.py."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd, nn, viz
from minigrad.explorer import BINS, FULL, summarize
from minigrad.trace import node_costs
from tests.test_viz import require_dot


class Recorder:
    """A watcher of our own, so the engine's steps are seen independently of the explorer."""

    def __init__(self):
        self.steps = []

    def on_forward(self, *args):
        pass

    def on_backward(self, node, grad, input_grads):
        self.steps.append((node, np.array(grad)))


def explore_recorded(root, **options):
    recorder = Recorder()
    autograd.add_watcher(recorder)
    try:
        explorer = viz.explore(root, **options)
    finally:
        autograd.remove_watcher(recorder)
    return explorer, recorder.steps


def page_data(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page)
    assert match, "the page holds no data element"
    return json.loads(match.group(1))


def values(summary) -> np.ndarray:
    return np.array(summary["values"], dtype=np.float64)


@pytest.fixture
def used_twice():
    """h = tanh(x w + b) used twice (h * h), b broadcast over the batch: a split, a sum and an
    accumulation in six ops."""
    x = mg.tensor([[1.0, -2.0], [0.5, 0.25]], requires_grad=True)
    w = mg.tensor([[0.5, 1.0], [0.25, -1.0]], requires_grad=True)
    b = mg.tensor([0.1, 0.2], requires_grad=True)
    h = (x @ w + b).tanh()
    loss = (h * h).sum()
    return loss, {"x": x, "w": w, "b": b, "h": h, "loss": loss}


def test_the_steps_are_the_engines_backward_in_order_with_its_gradients(used_twice):
    loss, names = used_twice
    explorer, engine = explore_recorded(loss, names=names)
    data = explorer.data()
    drawn = {item: name for name, (kind, item) in explorer.graph.drawn.items() if kind == "op"}
    assert len(data["steps"]) == len(engine) == 5
    for step, (node, grad) in zip(data["steps"], engine):
        assert step["node"] == drawn[node] and step["op"] == node.op.name
        np.testing.assert_allclose(values(step["grad"]), grad, rtol=1e-6)
    assert [step["op"] for step in data["steps"]] == ["Sum", "Mul", "Tanh", "Add", "MatMul"]


def test_a_value_used_twice_accumulates_its_two_shares(used_twice):
    loss, names = used_twice
    data = viz.explore(loss, names=names).data()
    (mul,) = [step for step in data["steps"] if step["op"] == "Mul"]
    first, second = mul["sent"]
    assert first["to"] == second["to"]  # both inputs are h
    assert "before" not in first and "total" not in first
    np.testing.assert_allclose(values(second["before"]), values(first["grad"]))
    np.testing.assert_allclose(
        values(second["total"]), values(first["grad"]) + values(second["grad"]), rtol=1e-6
    )
    (tanh,) = [step for step in data["steps"] if step["op"] == "Tanh"]
    np.testing.assert_allclose(values(tanh["grad"]), values(second["total"]), rtol=1e-6)


def test_a_broadcast_share_is_reduced_to_its_input_and_the_sums_equal_grad(used_twice):
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    data = explorer.data()
    (add,) = [step for step in data["steps"] if step["op"] == "Add"]
    to_bias = add["sent"][1]
    assert to_bias["from_shape"] == [2, 2] and to_bias["grad"]["shape"] == [2]
    assert "from_shape" not in add["sent"][0]
    leaves = {id(item): name for name, (kind, item) in explorer.graph.drawn.items()}
    for leaf in (names["x"], names["w"], names["b"]):
        shown = data["elements"][leaves[id(leaf)]]
        np.testing.assert_allclose(values(shown["grad"]), leaf.grad, rtol=1e-6)


def test_explore_runs_one_backward_and_without_backward_none(used_twice):
    loss, names = used_twice
    viz.explore(loss, names=names, backward=False)
    assert names["x"].grad is None
    explorer = viz.explore(loss, names=names)
    expected = names["x"].grad.copy()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(names["x"].grad, 2 * expected)  # explore ran exactly one
    assert viz.explore(loss, backward=False).data()["steps"] == []
    assert explorer.op_count == explorer.data()["ops"] == 5


def test_small_tensors_are_shown_in_full_and_large_ones_as_statistics():
    small = np.arange(FULL, dtype=np.float32).reshape(6, 6)
    assert summarize(small)["values"] == small.tolist()
    large = np.linspace(-1.0, 3.0, 101)
    summary = summarize(large)
    assert "values" not in summary and summary["shape"] == [101]
    stats = summary["stats"]
    assert (stats["min"], stats["max"]) == (-1.0, 3.0)
    assert stats["mean"] == pytest.approx(1.0) and stats["norm"] == pytest.approx(
        np.linalg.norm(large), rel=1e-6
    )
    counts = summary["histogram"]["counts"]
    assert len(counts) == BINS and sum(counts) == 101
    equal = summarize(np.full(50, 0.25))
    assert equal["stats"]["std"] == 0.0 and "histogram" not in equal  # no spread to draw


def test_non_finite_values_are_named_not_dropped():
    assert summarize(np.array([np.nan, np.inf, -1.0]))["values"] == ["nan", "inf", -1.0]
    many = np.ones(FULL + 4)
    many[:3] = np.nan
    summary = summarize(many)
    assert summary["nonfinite"] == 3 and summary["stats"]["mean"] == 1.0
    json.dumps(summary, allow_nan=False)  # the page's JSON has no NaN


def test_ops_carry_the_tracers_costs_and_their_step(used_twice):
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    data = explorer.data()
    for name, (kind, node) in explorer.graph.drawn.items():
        if kind != "op":
            continue
        forward, backward = node_costs(node)
        element = data["elements"][name]
        assert element["forward_flops"] == forward.flops
        assert element["backward_flops"] == backward.flops
        assert data["steps"][element["step"]]["node"] == name


def test_a_linear_op_carries_the_neuron_derivation_checked_against_the_engine():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    batch = mg.randn(5, 3)
    loss = nn.functional.mse_loss(model(batch), mg.zeros(5, 2))
    data = viz.explore(loss, module=model).data()
    linears = [e for e in data["elements"].values() if e.get("op") == "Linear"]
    assert len(linears) == 2
    for element in linears:
        assert len(element["neurons"]) == 2 if element["shape"] == [5, 2] else 3
        for j, text in enumerate(element["neurons"]):
            assert f"neuron j = {j} of a layer" in text and "agree with the engine" in text
    labels = sorted(module["label"] for module in data["modules"].values())
    assert labels == ["0: Linear", "2: Linear"]
    for module in data["modules"].values():
        kinds = sorted({data["elements"][member]["kind"] for member in module["members"]})
        assert kinds == ["leaf", "op", "tensor"]


def test_an_op_of_unknown_cost_says_so_and_still_walks():
    class Double(mg.Function):
        @staticmethod
        def forward(ctx, a):
            return 2 * a

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    data = viz.explore(Double.apply(x).sum()).data()
    (double,) = [e for e in data["elements"].values() if e.get("op") == "Double"]
    assert double["forward_flops"] is None and double["backward_flops"] is None
    assert [step["op"] for step in data["steps"]] == ["Sum", "Double"]
    np.testing.assert_allclose(values(data["steps"][1]["sent"][0]["grad"]), [2.0, 2.0])


def test_a_non_scalar_root_takes_its_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    with pytest.raises(autograd.BackwardError, match="needs `gradient`"):
        viz.explore(y)
    data = viz.explore(y, gradient=np.array([1.0, 0.0, -1.0], dtype=np.float32)).data()
    np.testing.assert_allclose(values(data["steps"][0]["grad"]), [1.0, 0.0, -1.0])
    np.testing.assert_allclose(x.grad, [2.0, 0.0, -6.0])


@pytest.mark.parametrize(
    "root, error, message",
    [
        (np.ones(3), TypeError, "explore needs a minigrad Tensor"),
        (mg.ones(3, requires_grad=True), ValueError, "leaf or a constant"),
    ],
)
def test_bad_roots_are_refused(root, error, message):
    with pytest.raises(error, match=message):
        viz.explore(root)


def test_bad_options_are_refused_before_the_backward_runs(used_twice):
    loss, names = used_twice
    with pytest.raises(ValueError, match="rankdir must be"):
        viz.explore(loss, names=names, rankdir="up")
    with pytest.raises(ValueError, match="backward=False"):
        viz.explore(loss, gradient=np.ones(()), backward=False)
    assert names["x"].grad is None


def test_a_freed_graph_is_refused_with_the_engines_message(used_twice):
    loss, _ = used_twice
    loss.backward()
    with pytest.raises(autograd.BackwardError, match="second time"):
        viz.explore(loss)


def test_the_page_is_one_self_contained_file(used_twice, tmp_path):
    require_dot()
    loss, names = used_twice
    explorer = viz.explore(loss, names=names, title="a </script> title")
    path = explorer.save(tmp_path / "page.html")
    page = path.read_text(encoding="utf-8")
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", page))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|@import|url\(", page)
    assert page.count("<svg") == 1 and "<?xml" not in page
    assert "function drawStep" in page and "g.node.current" in page  # script and style inline
    assert page_data(page) == json.loads(json.dumps(explorer.data()))
    assert "<title>a &lt;/script&gt; title</title>" in page
    svg_ops = re.findall(r"<title>op\d+</title>", page)
    assert len(svg_ops) == explorer.op_count == 5


def test_in_jupyter_the_page_is_an_iframe_of_itself(used_twice):
    require_dot()
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    shown = explorer._repr_html_()
    assert shown.startswith('<iframe class="minigrad-explorer" srcdoc="')
    assert "&lt;script type=&quot;application/json&quot;" in shown and "<script" not in shown


def test_without_dot_the_page_says_what_is_missing(used_twice, monkeypatch):
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Digraph, "pipe", missing)
    loss, _ = used_twice
    with pytest.raises(viz.GraphvizNotFoundError, match="`dot` program was not found"):
        viz.explore(loss).html()
