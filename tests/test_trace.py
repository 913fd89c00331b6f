"""minigrad.trace: exact flop counts, the Tracer's records and summary, explain_neuron against the
engine, and the N L d^2 law of complexity()."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd, trace
from minigrad.functional import linear
from minigrad.trace.complexity import measure


def layer(d: int, e: int, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    weight = mg.Tensor(rng.standard_normal((d, e)).astype(dtype), requires_grad=True)
    bias = mg.Tensor(rng.standard_normal(e).astype(dtype), requires_grad=True)
    return weight, bias


def traced(fn):
    with trace.Tracer() as tracer:
        fn()
    return tracer


# ---------------------------------------------------------------------------------------------
# exact counts


@pytest.mark.parametrize("N, d, e", [(1, 3, 4), (5, 3, 4), (7, 16, 2)])
def test_linear_layer_matmul_flops_are_exact(N, d, e):
    x = mg.ones(N, d, requires_grad=True)
    weight, bias = layer(d, e, np.float32)
    tracer = traced(lambda: linear(x, weight, bias).sum().backward())
    forward, backward = (r for r in tracer.records if r.op == "Linear")
    assert (forward.phase, backward.phase) == ("forward", "backward")
    assert forward.matmul_flops == 2 * N * d * e
    assert forward.other_flops == N * e  # the bias add
    assert backward.matmul_flops == 4 * N * d * e  # dLoss/dx and dLoss/dW, 2 N d e each
    assert backward.other_flops == N * e  # dLoss/db: a sum of N e numbers
    assert forward.input_shapes == ((N, d), (d, e), (e,)) and forward.output_shape == (N, e)
    totals = tracer.totals()
    assert totals["forward_matmul_flops"] == 2 * N * d * e
    assert totals["backward_matmul_flops"] == 4 * N * d * e


def test_backward_counts_only_the_gradients_needed():
    x = mg.ones(6, 5)  # a constant: no dLoss/dx
    weight, _ = layer(5, 3, np.float32)
    tracer = traced(lambda: (x @ weight).sum().backward())
    matmul = [r for r in tracer.records if r.op == "MatMul"]
    assert [r.matmul_flops for r in matmul] == [2 * 6 * 5 * 3, 2 * 6 * 5 * 3]


def test_linear_bytes_are_inputs_read_plus_output_written():
    x = mg.ones(4, 3, requires_grad=True)
    weight, bias = layer(3, 2, np.float32)
    tracer = traced(lambda: linear(x, weight, bias))
    (record,) = tracer.records
    assert record.bytes == 4 * (4 * 3 + 3 * 2 + 2 + 4 * 2)  # float32: x, W, b in; out


@pytest.mark.parametrize(
    "expression, op, forward, backward",
    [
        (lambda x: x.tanh(), "Tanh", 12, 3 * 12),  # g (1 - out^2)
        (lambda x: x.exp(), "Exp", 12, 12),
        (lambda x: x.relu(), "Relu", 12, 2 * 12),
        (lambda x: x.sum(), "Sum", 12, 0),
        (lambda x: x.mean(axis=1), "Mean", 12 + 3, 3),
        (lambda x: x.softmax(axis=1), "Softmax", 5 * 12, 4 * 12),
        (lambda x: x.log_softmax(axis=1), "LogSoftmax", 5 * 12 + 2 * 3, 4 * 12),
        (lambda x: x.reshape(4, 3), "Reshape", 0, 0),
        (lambda x: x * 2.0, "Mul", 12, 12),
    ],
)
def test_per_op_constants(expression, op, forward, backward):
    x = mg.ones(3, 4, requires_grad=True)
    tracer = traced(lambda: expression(x).backward(np.ones(expression(x).shape)))
    records = [r for r in tracer.records if r.op == op]
    assert [r.flops for r in records if r.phase == "forward"][0] == forward
    assert [r.flops for r in records if r.phase == "backward"] == [backward]


def test_summing_a_broadcast_gradient_back_is_counted():
    N, e = 8, 3
    h = mg.ones(N, e, requires_grad=True)
    bias = mg.ones(e, requires_grad=True)
    tracer = traced(lambda: (h + bias).sum().backward())
    (add,) = [r for r in tracer.records if r.op == "Add" and r.phase == "backward"]
    assert add.flops == N * e  # g passes through; the bias's copy is summed over N rows


def test_batched_matmul_broadcast_weight_gradient():
    B, n, d, e = 2, 3, 4, 5
    x = mg.ones(B, n, d, requires_grad=True)
    weight = mg.ones(d, e, requires_grad=True)
    tracer = traced(lambda: (x @ weight).sum().backward())
    (backward,) = [r for r in tracer.records if r.op == "MatMul" and r.phase == "backward"]
    assert backward.matmul_flops == 4 * B * n * d * e
    assert backward.other_flops == B * d * e  # dLoss/dW per batch, summed over B


def test_unknown_op_cost_is_reported_not_guessed():
    class Cube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * grad

    x = mg.ones(4, requires_grad=True)
    tracer = traced(lambda: Cube.apply(x).sum().backward())
    cube = [r for r in tracer.records if r.op == "Cube"]
    assert [r.flops for r in cube] == [None, None]
    assert tracer.totals()["unknown_ops"] == 2
    assert tracer.totals()["forward_flops"] == 4  # the Sum alone
    assert "2 op runs of unknown cost are not counted" in tracer.summary()


def test_forward_under_no_grad_is_recorded():
    x = mg.ones(2, 3, requires_grad=True)
    with mg.no_grad():
        tracer = traced(lambda: x.tanh())
    assert [(r.phase, r.op, r.flops) for r in tracer.records] == [("forward", "Tanh", 6)]


def test_viz_costs_equal_the_tracer_records():
    x = mg.ones(5, 3, requires_grad=True)
    weight, bias = layer(3, 4, np.float32)
    with trace.Tracer() as tracer:
        loss = linear(x, weight, bias).sigmoid().mean()
    nodes = autograd.graph_nodes(loss.grad_fn)[::-1]
    costs = [trace.node_costs(node)[0].flops for node in nodes]
    assert costs == [r.flops for r in tracer.records]


# ---------------------------------------------------------------------------------------------
# the tracer's table and its absence


def test_totals_and_summary_columns():
    x = mg.ones(2, 3, requires_grad=True)
    weight, bias = layer(3, 4, np.float32)
    tracer = traced(lambda: linear(x, weight, bias).tanh().sum().backward())
    totals = tracer.totals()
    # forward: 48 + 8 (Linear) + 8 (Tanh) + 8 (Sum); backward: 96 + 8 + 24 + 0
    assert totals["forward_flops"] == 72 and totals["backward_flops"] == 128
    assert totals["forward_ops"] == totals["backward_ops"] == 3
    summary = tracer.summary()
    header = summary.splitlines()[0].split()
    assert header[:3] == ["op", "fwd", "calls"] and "matmul_flops" in header
    linear_row = next(line for line in summary.splitlines() if line.startswith("Linear"))
    # bytes (float32): forward x 24 + W 48 + b 16 read, out 32 written; backward g 32 and the
    # saved x, W, b read, their gradients 24 + 48 + 16 written
    assert linear_row.split() == ["Linear", "1", "48", "56", "120", "1", "96", "104", "208"]
    assert "backward / forward = 1.78" in summary


def test_per_module_summary():
    class Model:  # what Tracer reads: named_parameters()
        def __init__(self):
            self.first, self.second = layer(3, 4, np.float32), layer(4, 2, np.float32, seed=1)

        def named_parameters(self):
            yield "first.weight", self.first[0]
            yield "first.bias", self.first[1]
            yield "second.weight", self.second[0]
            yield "second.bias", self.second[1]

        def __call__(self, x):
            return linear(linear(x, *self.first).tanh(), *self.second)

    model = Model()
    with trace.Tracer(module=model) as tracer:
        model(mg.ones(5, 3)).sum().backward()
    modules = {(r.op, r.phase): r.module for r in tracer.records}
    assert modules[("Tanh", "forward")] is None
    summary = tracer.summary().splitlines()
    start = summary.index(next(line for line in summary if line.startswith("module")))
    rows = {line.split()[0]: line.split() for line in summary[start + 1 : start + 4]}
    # first: 2*5*3*4 = 120 matmul forward, x is a constant so 120 backward; second: 80 and 160
    assert rows["first"][1:3] == ["1", "120"] and rows["first"][5:7] == ["1", "120"]
    assert rows["second"][1:3] == ["1", "80"] and rows["second"][5:7] == ["1", "160"]
    assert rows["(none)"][1] == "2"  # the Tanh and the Sum


def test_tracer_leaves_no_watcher_even_after_an_error():
    with trace.Tracer():
        assert len(autograd.watchers()) == 1
    assert autograd.watchers() == ()
    with pytest.raises(ValueError, match="boom"), trace.Tracer():
        raise ValueError("boom")
    assert autograd.watchers() == ()


# ---------------------------------------------------------------------------------------------
# the N L d^2 law


def test_doubling_d_quadruples_and_doubling_n_or_l_doubles():
    base = measure(8, 2, 4)
    wider, deeper, more = measure(16, 2, 4), measure(8, 4, 4), measure(8, 2, 8)
    assert base["backward_matmul_flops"] == 4 * 4 * 2 * 8 * 8  # 4 N L d^2
    assert wider["backward_matmul_flops"] == 4 * base["backward_matmul_flops"]
    assert deeper["backward_flops"] == 2 * base["backward_flops"]
    assert more["backward_flops"] == 2 * base["backward_flops"]
    # all flops: 4 N L d^2 + 4 N L d (bias sums and tanh' per unit)
    assert base["backward_flops"] == 4 * 4 * 2 * 8 * 8 + 4 * 4 * 2 * 8
    assert wider["backward_flops"] == 4 * 4 * 2 * 16 * 16 + 4 * 4 * 2 * 16  # x (4d + 2)/(d + 1)


def test_complexity_table_ratio_and_gd_over_sgd():
    report = trace.complexity(widths=(4, 8), depths=(1, 3), batches=(1, 5), activation="relu")
    assert len(report.rows) == 8
    for row in report.rows:
        d, L, N = row["d"], row["L"], row["N"]
        assert row["NLd2"] == N * L * d * d
        assert row["backward_matmul_flops"] == 4 * N * L * d * d
        assert row["backward_flops"] == 4 * N * L * d * d + 3 * N * L * d  # relu' is 2 flops
        assert row["ratio"] == pytest.approx(4 + 3 / d)
    assert report.gd_vs_sgd == {(4, 1, 5): 5.0, (4, 3, 5): 5.0, (8, 1, 5): 5.0, (8, 3, 5): 5.0}
    text = str(report)
    assert "N L d^2" in text and "full-batch GD step (N = 5) / SGD step (N = 1)" in text


def test_complexity_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "law.png"
    report = trace.complexity(widths=(4,), depths=(1,), batches=(2,), plot=path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert f"plot written to {path}" in str(report)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"activation": "gelu"}, "unknown activation 'gelu'"),
        ({"widths": ()}, "widths must be a non-empty sequence of positive ints"),
        ({"batches": (0,)}, "batches must be a non-empty sequence of positive ints"),
    ],
)
def test_complexity_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        trace.complexity(**kwargs)


# ---------------------------------------------------------------------------------------------
# explain_neuron


def test_explain_neuron_by_hand(capsys):
    weight = mg.Tensor(np.array([[0.5, 1.0], [-1.0, 0.25]]), requires_grad=True)
    bias = mg.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    result = trace.explain_neuron((weight, bias), [2.0, 1.0], 1, upstream=0.5)
    z = 2.0 * 1.0 + 1.0 * 0.25 - 0.2  # x^T w_1 + b_1 = 2.05
    dz = 0.5 * (1 - math.tanh(z) ** 2)
    assert result.z == pytest.approx(z, abs=1e-15) and result.phi == math.tanh(result.z)
    assert result.dloss_dz == pytest.approx(dz, rel=1e-14)
    np.testing.assert_allclose(result.dloss_dw, [dz * 2.0, dz * 1.0], rtol=1e-14)
    np.testing.assert_allclose(result.dloss_dx, [dz * 1.0, dz * 0.25], rtol=1e-14)
    assert result.dloss_db == result.dloss_dz
    assert result.operations == {"dLoss/dz": 3, "dLoss/dw": 2, "dLoss/dx": 2, "dLoss/db": 0}
    assert result.matches
    printed = capsys.readouterr().out
    assert printed.strip() == result.text
    assert "dLoss/dz    = dLoss/dphi * sigma'(z)" in printed and "[O(d): 2 multiplies]" in printed
    assert "agree with the engine's backward for neuron 1" in printed
    assert weight.grad is None  # the check does not touch the layer's .grad


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
def test_explain_neuron_equals_the_engine_backward(activation):
    d, e, j, upstream = 5, 3, 2, -1.5
    weight, bias = layer(d, e)
    x = np.random.default_rng(1).standard_normal(d)
    result = trace.explain_neuron((weight, bias), x, j, upstream, activation, verbose=False)
    # the engine, independently: backward of the whole layer with dLoss/dphi = upstream e_j
    x_tensor = mg.Tensor(x, requires_grad=True)
    z = linear(x_tensor, weight, bias)
    phi = z if activation == "identity" else getattr(z, activation)()
    seed = np.zeros(e)
    seed[j] = upstream
    phi.backward(seed)
    np.testing.assert_allclose(result.dloss_dw, weight.grad[:, j], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(result.dloss_dx, x_tensor.grad, rtol=1e-13, atol=1e-15)
    assert result.dloss_db == pytest.approx(bias.grad[j], rel=1e-13, abs=1e-15)
    assert np.all(np.delete(weight.grad, j, axis=1) == 0)
    assert result.matches and result.max_difference < 1e-13


def test_explain_neuron_float32_layer_still_matches():
    weight, bias = layer(4, 2, np.float32)
    result = trace.explain_neuron((weight, None), np.ones(4), 0, 2.0, verbose=False)
    assert result.matches and result.dloss_db is None
    assert "dLoss/db" not in result.text


def test_explain_neuron_bad_input():
    weight, bias = layer(3, 2)
    with pytest.raises(IndexError, match=r"neuron j=2 is out of range: the layer has 2 neurons"):
        trace.explain_neuron((weight, bias), np.ones(3), 2, 1.0)
    with pytest.raises(IndexError, match=r"neuron j=-1 is out of range"):
        trace.explain_neuron((weight, bias), np.ones(3), -1, 1.0)
    with pytest.raises(TypeError, match="needs a Linear layer .* got Tensor"):
        trace.explain_neuron(weight, np.ones(3), 0, 1.0)

    class Tanh:  # an activation module has no weight
        pass

    with pytest.raises(TypeError, match="needs a Linear layer .* got Tanh"):
        trace.explain_neuron(Tanh(), np.ones(3), 0, 1.0)
    with pytest.raises(
        ValueError, match=r"x must be one example of shape \(3,\), got shape \(2, 3\)"
    ):
        trace.explain_neuron((weight, bias), np.ones((2, 3)), 0, 1.0)
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        trace.explain_neuron((weight, bias), np.ones(3), 0, 1.0, activation="gelu")
    with pytest.raises(TypeError, match=r"bias must be a Tensor of shape \(2,\) or None"):
        trace.explain_neuron((weight, mg.ones(3)), np.ones(3), 0, 1.0)


def test_nn_linear_layers_and_per_module_summary():
    from minigrad import nn

    N, d, e = 6, 5, 3
    model = nn.Sequential(nn.Linear(d, e), nn.Tanh(), nn.Linear(e, e))
    x = mg.ones(N, d, requires_grad=True)
    with trace.Tracer(module=model) as tracer:
        model(x).sum().backward()
    by_module = {}
    for record in tracer.records:
        if record.op == "Linear":
            by_module[(record.module, record.phase)] = record.matmul_flops
    assert by_module == {
        ("0", "forward"): 2 * N * d * e,
        ("0", "backward"): 4 * N * d * e,
        ("2", "forward"): 2 * N * e * e,
        ("2", "backward"): 4 * N * e * e,
    }
    assert any(line.startswith("0 ") for line in tracer.summary().splitlines())


def test_explain_neuron_on_nn_linear():
    from minigrad import nn

    layer = nn.Linear(4, 3, dtype=np.float64)
    x = np.array([0.5, -1.0, 2.0, 0.25])
    result = trace.explain_neuron(layer, x, 2, upstream=1.25, activation="sigmoid", verbose=False)
    x_tensor = mg.Tensor(x, requires_grad=True)
    seed = np.zeros(3)
    seed[2] = 1.25
    layer(x_tensor).sigmoid().backward(seed)
    np.testing.assert_allclose(result.dloss_dw, layer.weight.grad[:, 2], rtol=1e-13)
    np.testing.assert_allclose(result.dloss_dx, x_tensor.grad, rtol=1e-13)
    assert result.dloss_db == pytest.approx(layer.bias.grad[2], rel=1e-13)
    for not_linear in (nn.Tanh(), nn.Sequential(layer)):
        name = type(not_linear).__name__
        with pytest.raises(TypeError, match=f"needs a Linear layer .* got {name}"):
            trace.explain_neuron(not_linear, x, 0, 1.0)
    with pytest.raises(IndexError, match="neuron j=3 is out of range: the layer has 3 neurons"):
        trace.explain_neuron(layer, x, 3, 1.0)


def test_costs_of_a_graph_whose_constant_input_backward_released():
    N, d, e = 4, 3, 2
    x = mg.ones(N, d)  # a constant operand: its array goes when backward frees the graph
    weight = mg.ones(d, e, requires_grad=True)
    bias = mg.ones(e, requires_grad=True)
    out = (x @ weight).sum() + linear(x, weight, bias).sum()
    out.backward()
    costs = {node.op.name: trace.node_costs(node) for node in autograd.graph_nodes(out.grad_fn)}
    matmul_forward, matmul_backward = costs["MatMul"]
    assert (matmul_forward.matmul_flops, matmul_backward.matmul_flops) == (2 * N * d * e,) * 2
    linear_forward, linear_backward = costs["Linear"]
    assert linear_forward.flops == 2 * N * d * e + N * e
    assert linear_backward.flops == 2 * N * d * e + N * e  # dLoss/dW and dLoss/db only


def test_explain_neuron_on_a_bare_linear_explains_that_layer_alone():
    from minigrad import nn

    layer = nn.Linear(3, 2, dtype=np.float64)
    x = np.array([1.0, -2.0, 0.5])
    result = trace.explain_neuron(layer, x, 1, upstream=0.75, verbose=False)
    assert result.activation == "identity" and result.phi == result.z
    assert result.sigma_prime == 1.0 and result.dloss_dz == 0.75
    np.testing.assert_allclose(result.dloss_dw, 0.75 * x, rtol=1e-15)
    assert result.matches and "sigma = identity" in result.text
    named = trace.explain_neuron(layer, x, 1, upstream=0.75, activation="tanh", verbose=False)
    assert named.activation == "tanh" and named.phi == pytest.approx(math.tanh(named.z))
