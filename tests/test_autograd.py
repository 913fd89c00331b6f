"""The tape: accumulation, freed graphs, grad mode, deep graphs, memory, higher derivatives,
mg.grad, hooks, retain_grad, anomaly detection, custom Functions and dtype rules."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import minigrad as mg


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


def line_of(marker: str) -> int:
    """The line number in this file of the line that contains `marker`."""
    with open(__file__) as source:
        lines = list(enumerate(source, start=1))
    return next(number for number, line in lines if marker in line and "line_of" not in line)


# ---- backward basics --------------------------------------------------------------------------


def test_gradients_accumulate_over_two_backwards():
    x = f64([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_second_backward_on_a_freed_graph_raises_clearly():
    x = f64([1.0, 2.0])
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(mg.BackwardError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = f64([1.0, 2.0])
    loss = (x.exp() * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 4 * np.exp([1.0, 2.0]))


def test_non_scalar_root_needs_a_gradient():
    y = f64(np.ones((2, 3))) * 2
    with pytest.raises(mg.BackwardError, match=r"non-scalar tensor of shape \(2, 3\) needs"):
        y.backward()


def test_gradient_of_the_wrong_shape_raises():
    y = f64(np.ones((2, 3))) * 2
    with pytest.raises(mg.BackwardError, match=r"gradient has shape \(3,\).*shape \(2, 3\)"):
        y.backward(np.ones(3))


def test_non_scalar_root_with_gradient_is_a_vector_jacobian_product():
    x = f64([1.0, 2.0, 3.0])
    (x * x).backward(np.array([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, -6.0])


def test_backward_from_a_tensor_without_graph_raises():
    with pytest.raises(mg.BackwardError, match=r"shape \(2,\) that does not require grad"):
        mg.tensor([1.0, 2.0]).backward(np.ones(2))


def test_diamond_graph_sums_both_paths():
    x = f64([0.5, -1.0])
    y = x * x  # used twice below
    z = (y * 3 + y.exp()).sum()
    z.backward()
    values = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad, (3 + np.exp(values**2)) * 2 * values, rtol=1e-14)


def test_same_tensor_twice_in_one_op():
    x = f64([3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0])


def test_a_100000_op_chain_runs_forward_and_backward():
    x = f64(0.5)
    h = x
    for i in range(100_000):
        h = h * 1.0 if i % 2 else h + 1.0
    assert h.item() == pytest.approx(50_000.5)
    h.backward()
    assert x.grad == 1.0
    del h  # freeing the chain must not recurse either


def _random_graph(seed: int, size: int) -> list:
    """Tensors of a random DAG: each op takes one or two earlier tensors."""
    rng = np.random.default_rng(seed)
    values = [f64(rng.standard_normal(3)) for _ in range(3)]
    for _ in range(size):
        a = values[rng.integers(len(values))]
        b = values[rng.integers(len(values))]
        values.append(
            [a + b, a * b, a.tanh(), mg.where(np.array([1, 0, 1]) > 0, a, b)][rng.integers(4)]
        )
    return values


@pytest.mark.parametrize("seed", range(5))
def test_the_walk_order_lists_every_reachable_node_once_consumers_before_producers(seed):
    from minigrad import autograd

    values = _random_graph(seed, 60)
    roots = [values[-1].grad_fn, values[-7].grad_fn, values[-1].grad_fn]  # one root twice
    order = autograd.reachable_nodes(roots)
    expected, stack = set(), [node for node in roots]
    while stack:  # reachability by the slow, obvious route
        node = stack.pop()
        if node not in expected:
            expected.add(node)
            stack.extend(p for p in node.parents if isinstance(p, autograd.Node))
    assert len(order) == len(set(order)) == len(expected) and set(order) == expected
    position = {node: index for index, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            if isinstance(parent, autograd.Node):
                assert position[node] < position[parent]


def test_a_walk_inside_a_hook_leaves_the_outer_walk_whole():
    x = f64([0.5, -1.0])
    shared = x.tanh()
    inner = []
    doubled = shared * 2.0  # a graph through the outer one's nodes, walked inside its backward
    shared.register_hook(lambda grad: inner.append(len(autograd_nodes(doubled))))
    (shared * shared + shared.exp()).sum().backward()
    t = np.tanh([0.5, -1.0])
    np.testing.assert_allclose(x.grad, (2 * t + np.exp(t)) * (1 - t * t))
    assert inner == [2]
    doubled = None  # the hook reaches its own node through `doubled`: break that cycle


@pytest.mark.parametrize("hooked", ["a", "b", "c", "d"])
def test_a_walk_inside_a_hook_that_remarks_waiting_nodes_runs_each_node_once(hooked):
    # The hook's walk marks every node of the graph as its own, nodes the outer walk has already
    # met and queued among them; the outer walk must still run each node once.
    x = f64([0.5, -1.0])
    a = x.tanh()
    b, c = a * 2.0, a * 3.0
    d = b * c
    loss = (d + a).sum()
    root = [loss]
    {"a": a, "b": b, "c": c, "d": d}[hooked].register_hook(
        lambda grad: autograd_nodes(root[0]) and None
    )
    loss.backward()
    root.clear()
    t = np.tanh([0.5, -1.0])
    np.testing.assert_allclose(x.grad, (12 * t + 1) * (1 - t * t))


def autograd_nodes(tensor) -> list:
    from minigrad import autograd

    return autograd.graph_nodes(tensor.grad_fn)


def test_nodes_give_their_parents_in_input_order():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    assert a.tanh().grad_fn.parents == (a,)
    assert (a * b).grad_fn.parents == (a, b)
    assert (2.0 - a).grad_fn.parents == (None, a)
    product = a * b
    where = mg.where(np.array([True, False]), product, b)
    assert where.grad_fn.parents == (None, product.grad_fn, b)


def test_a_product_with_a_constant_keeps_the_constant_and_lets_the_tensor_go():
    x = mg.randn(1000, dtype=np.float64, requires_grad=True)
    hidden = x + 1.0
    buffer = weakref.ref(hidden.data)
    scaled = hidden * 0.5
    halved = hidden / 2.0
    assert scaled.grad_fn.saved == (None, 0.5)
    assert halved.grad_fn.saved == (None, 2.0)
    assert (2.0 / hidden).grad_fn.saved[1] is hidden.data  # d/db of a / b reads b
    del hidden
    assert buffer() is None
    (scaled + halved).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(1000))


def test_a_product_with_a_constant_array_keeps_the_array_alone():
    x = mg.randn(1000, dtype=np.float64, requires_grad=True)
    hidden = x + 1.0
    buffer = weakref.ref(hidden.data)
    mask = np.full(1000, 0.5)
    masked = hidden * mask  # an ndarray operand, not a number
    assert masked.grad_fn.saved[0] is None and masked.grad_fn.saved[1] is mask
    del hidden
    assert buffer() is None
    masked.sum().backward()
    np.testing.assert_array_equal(x.grad, mask)


def test_second_derivative_through_a_product_with_a_constant():
    x = f64([0.5, -1.5])
    y = (x * 3.0).tanh().sum()
    (first,) = mg.grad(y, x, create_graph=True)
    (second,) = mg.grad(first.sum(), x)
    t = np.tanh(3.0 * x.data)
    np.testing.assert_allclose(second.data, -18.0 * t * (1 - t * t))


# ---- grad mode --------------------------------------------------------------------------------


def test_no_grad_records_nothing():
    x = f64([1.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
    assert mg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_grad_mode_context_managers_nest_and_restore():
    x = f64([1.0])
    with mg.no_grad():
        with mg.enable_grad():
            assert (x * 2).requires_grad
            with mg.no_grad():
                assert not (x * 2).requires_grad
            assert mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
        with mg.set_grad_enabled(True):
            assert (x * 2).grad_fn is not None
        with mg.set_grad_enabled(False):
            assert (x * 2).grad_fn is None
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_grad_mode_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            raise ZeroDivisionError
    assert mg.is_grad_enabled()


def test_grad_modes_as_decorators():
    x = f64([1.0])

    @mg.no_grad()
    def evaluate():
        return x * 2, mg.is_grad_enabled()

    @mg.enable_grad()
    def record():
        return x * 2

    @mg.set_grad_enabled(False)
    def off():
        return x * 2

    assert mg.is_grad_enabled()  # defining a set_grad_enabled decorator changes nothing
    y, enabled_inside = evaluate()
    assert y.grad_fn is None and not enabled_inside
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert record().grad_fn is not None
        assert not mg.is_grad_enabled()
    assert off().grad_fn is None
    assert mg.is_grad_enabled()
    assert evaluate.__name__ == "evaluate"


def test_set_grad_enabled_called_plainly_sets_the_mode():
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled()
        assert (f64([1.0]) * 2).grad_fn is None
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()


# ---- memory -----------------------------------------------------------------------------------


def test_graph_and_its_buffers_are_freed_after_backward_and_del():
    baseline = mg.live_nodes()
    x = mg.randn(1000, 100, dtype=np.float64, requires_grad=True)
    hidden = x.tanh()  # Tanh saves its (large) output for backward
    buffer = weakref.ref(hidden.data)
    loss = (hidden * hidden).mean()
    del hidden
    assert buffer() is not None
    assert mg.live_nodes() == baseline + 3
    loss.backward()
    assert buffer() is None  # released by backward, though `loss` is still alive
    del loss
    assert mg.live_nodes() == baseline  # no reference cycles: freed without gc.collect()
    gc.collect()
    assert mg.live_nodes() == baseline


def test_total_loss_trap_keeps_graphs_alive_and_item_does_not():
    w = mg.tensor([0.5, -0.5], requires_grad=True)
    data = mg.tensor([[1.0, 2.0], [3.0, 4.0]])

    def step():
        loss = ((data @ w) ** 2).mean()
        loss.backward()
        return loss

    baseline = mg.live_nodes()
    total = 0.0
    counts = []
    for _ in range(3):
        total += step()  # the trap: `total` holds every step's graph
        counts.append(mg.live_nodes())
    assert counts[0] > baseline and counts[0] < counts[1] < counts[2]
    del total
    gc.collect()
    assert mg.live_nodes() == baseline
    total = 0.0
    for _ in range(3):
        total += step().item()
        assert mg.live_nodes() == baseline
    assert isinstance(total, float)


# ---- higher derivatives and mg.grad -----------------------------------------------------------


def test_hessian_vector_product_of_sum_of_cubes():
    x = f64([1.0, -2.0, 0.5])
    v = np.array([0.3, 1.0, -2.0])
    (g,) = mg.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2)
    assert g.requires_grad
    (hv,) = mg.grad((g * v).sum(), x)
    np.testing.assert_allclose(hv.data, 6 * x.data * v, rtol=1e-14)
    assert x.grad is None


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    a = np.array([[1.0, 2.0, 0.0], [-1.0, 3.0, 4.0], [0.5, 0.0, -2.0]])
    x = f64([0.2, -0.7, 1.1])
    (g,) = mg.grad(x @ a @ x, x, create_graph=True)
    np.testing.assert_allclose(g.data, (a + a.T) @ x.data, rtol=1e-14)
    hessian = np.stack([mg.grad(g[i], x, retain_graph=True)[0].data for i in range(3)])
    np.testing.assert_allclose(hessian, a + a.T, rtol=1e-14)


def test_second_derivative_of_tanh():
    x = f64([0.3, -1.2])
    (first,) = mg.grad(x.tanh().sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(second.data, -2 * t * (1 - t**2), rtol=1e-12)


def test_backward_with_create_graph_fills_grad():
    x = f64([2.0])
    (x**3).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad, [12.0])


def test_grad_raises_for_unused_inputs_unless_allowed():
    x, unused = f64([1.0]), f64([2.0])
    with pytest.raises(mg.BackwardError, match=r"input 1 \(shape \(1,\)\) is not reachable"):
        mg.grad((x * 2).sum(), [x, unused])
    gx, gu = mg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    np.testing.assert_array_equal(gx.data, [2.0])
    assert gu is None


def test_grad_with_grad_outputs_and_several_outputs():
    x = f64([1.0, 2.0])
    y, z = x * x, x * 3
    (gx,) = mg.grad([y, z], x, grad_outputs=[np.array([1.0, -1.0]), np.array([2.0, 2.0])])
    np.testing.assert_array_equal(gx.data, [2.0 + 6.0, -4.0 + 6.0])
    assert isinstance(gx, mg.Tensor) and gx.dtype == np.float64


def test_grad_leaves_dot_grad_untouched():
    x = f64([1.0, 2.0])
    x.grad = np.array([10.0, 10.0])
    (g,) = mg.grad((x * x).sum(), x)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [10.0, 10.0])
    y = f64([1.0])
    mg.grad((y * y).sum(), y)
    assert y.grad is None


def test_grad_of_a_non_leaf_input():
    x = f64([1.0, 2.0])
    h = x * 3
    (gh,) = mg.grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh.data, 2 * h.data)


def test_grad_needs_inputs_that_require_grad():
    with pytest.raises(mg.BackwardError, match=r"shape \(2,\) does not require grad"):
        mg.grad((f64([1.0]) * 2).sum(), mg.tensor([1.0, 2.0]))


def test_grad_counts_grad_outputs():
    x = f64([1.0])
    with pytest.raises(ValueError, match="got 2 grad_outputs for 1 outputs"):
        mg.grad(x * 2, x, grad_outputs=[np.ones(1), np.ones(1)])


# ---- an activation's VJP never writes into a gradient someone else holds -------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_an_activation_between_linear_layers_gets_the_hand_derived_gradient(activation):
    rng = np.random.default_rng(0)
    x = f64(rng.standard_normal((4, 3)), requires_grad=False)
    w1, w2 = f64(rng.standard_normal((3, 5))), f64(rng.standard_normal((5, 2)))
    getattr(x @ w1, activation)().matmul(w2).sum().backward()
    h = x.data @ w1.data
    slope = {
        "relu": (h > 0) * 1.0,
        "tanh": 1 - np.tanh(h) ** 2,
        "sigmoid": 1 / (1 + np.exp(-h)) * (1 - 1 / (1 + np.exp(-h))),
    }[activation]
    np.testing.assert_allclose(w1.grad, x.data.T @ (slope * w2.data.sum(axis=1)), rtol=1e-12)


def test_a_gradient_a_hook_keeps_is_never_overwritten():
    x = f64([[-1.0, 2.0]])
    w = f64([[1.0, 1.0], [1.0, -1.0]])
    h = (x @ w).relu()
    kept = []
    h.register_hook(kept.append)  # holds the gradient flowing into the ReLU
    (h * f64([[3.0, 4.0]], requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(kept[0], [[3.0, 4.0]])  # not masked afterwards


def test_a_retained_gradient_is_never_overwritten():
    x = f64([[-1.0, 2.0]])
    w = f64([[1.0, 1.0], [1.0, -1.0]])
    h = (x @ w).relu()
    h.retain_grad()
    (h * f64([[3.0, 4.0]], requires_grad=False)).sum().backward()
    np.testing.assert_array_equal(h.grad, [[3.0, 4.0]])
    np.testing.assert_array_equal(w.grad, [[-3.0, 0.0], [6.0, 0.0]])  # x @ w = [1, -3]


def test_one_gradient_shared_by_two_activations_reaches_both_intact():
    # Add hands the same array to both branches; the first ReLU must not mask it for the second.
    x = f64([-1.0, 2.0])
    a, b = (x * 1.0).relu(), (x * -1.0).relu()
    (a + b).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 1.0])


# ---- retain_grad, hooks, detach, unreached leaves ---------------------------------------------


def test_retain_grad_on_a_non_leaf():
    x = f64([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    other = x * 2
    (h * h + other).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)
    assert other.grad is None  # non-leaves keep no gradient unless asked
    np.testing.assert_array_equal(x.grad, 6 * h.data + 2)


def test_retain_grad_accumulates_over_retained_backwards():
    x = f64([1.0])
    h = x * 3
    h.retain_grad()
    loss = (h * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(h.grad, [4.0])


def test_hook_on_a_leaf_sees_and_replaces_the_gradient():
    x = f64([1.0, 2.0])
    seen = []

    def double(grad):
        seen.append(np.array(grad))
        return grad * 2

    handle = x.register_hook(double)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert len(seen) == 1


def test_hook_on_a_non_leaf_changes_what_flows_upstream():
    x = f64([1.0, 2.0])
    h = x * x
    seen = []
    h.register_hook(lambda grad: seen.append(np.array(grad)))  # observes, returns None
    h.register_hook(lambda grad: grad * 0 + 1)  # replaces with ones
    (h * 5).sum().backward()
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])
    np.testing.assert_array_equal(x.grad, 2 * x.data)  # d(h)/dx with the replaced gradient 1


def test_hook_handle_remove_on_a_non_leaf():
    x = f64([1.0])
    h = x * 2
    handle = h.register_hook(lambda grad: grad * 10)
    handle.remove()
    handle.remove()  # removing twice is harmless
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_hook_needs_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).register_hook(print)


def test_detach_cuts_the_graph_and_shares_memory():
    x = f64([1.0, 2.0])
    h = x * 2
    d = h.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.data, h.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, h.data)  # nothing flowed through d


def test_a_leaf_never_reached_keeps_grad_none():
    a, b = f64([1.0]), f64([2.0])
    _ = b * 3
    (a * 2).sum().backward()
    assert b.grad is None
    np.testing.assert_array_equal(a.grad, [2.0])


def test_interior_gradients_do_not_leak_between_backward_calls():
    x = f64([1.0, 2.0])
    shared = x * x
    first = (shared * 2).sum()
    second = (shared * 5).sum()
    first.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, 4 * x.data)
    x.grad = None
    second.backward()
    np.testing.assert_array_equal(x.grad, 10 * x.data)


def test_requires_grad_only_changes_on_leaves():
    h = f64([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        h.requires_grad = False


# ---- anomaly detection ------------------------------------------------------------------------


def test_detect_anomaly_names_the_forward_op_and_line():
    x = f64([1.0, 0.0])
    with np.errstate(divide="ignore"), mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as error:
            x.log()  # anomaly: forward log(0)
    message = str(error.value)
    assert message.startswith("Log produced a non-finite value in the forward pass")
    assert "(2,)" in message
    assert f"test_autograd.py:{line_of('# anomaly: forward log(0)')}" in message


def test_detect_anomaly_names_the_backward_op_and_its_creation_line():
    x = f64([4.0, 0.0])
    with np.errstate(divide="ignore"), mg.detect_anomaly():
        root = x.sqrt()  # anomaly: sqrt at 0 has an infinite derivative
        loss = root.sum()
        with pytest.raises(mg.AnomalyError) as error:
            loss.backward()
    message = str(error.value)
    assert message.startswith("SqrtBackward returned a non-finite gradient for input 0")
    assert f"test_autograd.py:{line_of('# anomaly: sqrt at 0')}" in message


def test_without_detect_anomaly_non_finite_values_pass_silently():
    x = f64([0.0])
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad).all()
    assert mg.autograd.watchers() == ()


def test_detect_anomaly_names_user_code_in_a_folder_called_minigrad(tmp_path):
    folder = tmp_path / "minigrad" / "experiments"
    folder.mkdir(parents=True)
    script = folder / "user.py"
    script.write_text("import numpy as np\n\ndef run(x):\n    return x.log()\n")
    namespace: dict = {}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    with np.errstate(divide="ignore"), mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as error:
            namespace["run"](f64([0.0]))
    assert f"{script}:4" in str(error.value)


# ---- custom Functions -------------------------------------------------------------------------


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class WrongCube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x**2  # wrong: the derivative of x^3 is 3 x^2


class ScaledProduct(mg.Function):
    """a * b * k for a constant k: two tensor inputs and one number."""

    @staticmethod
    def forward(ctx, a, b, k):
        ctx.save_for_backward(a, b)
        ctx.k = k
        return a * b * k

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b * ctx.k, grad * a * ctx.k, None


class NoGradient(mg.Function):
    """Passes x through and hands back no gradient for it (None), as a PyTorch Function may."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return None


def test_nodes_under_one_that_passes_no_gradient_are_reached_and_released():
    from minigrad import autograd

    x = f64([0.5, -1.0])
    hidden = (x.tanh() * 2.0).tanh()
    (NoGradient.apply(hidden) + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    node, released = hidden.grad_fn, 0
    while isinstance(node, autograd.Node):  # nothing flowed into these, but the walk ran them
        assert node.saved is autograd.FREED and node.out is None
        node, released = node.first, released + 1
    assert released == 3


def test_custom_function_values_and_gradcheck():
    x = f64([[0.5, -1.0], [2.0, 0.1]])
    y = Cube.apply(x)
    np.testing.assert_array_equal(y.data, x.data**3)
    assert y.grad_fn.name() == "CubeBackward"
    assert mg.gradcheck(Cube.apply, (x,))


def test_custom_function_with_a_constant_argument_and_needs_input_grad():
    a, b = f64([1.0, 2.0]), mg.tensor([3.0, 4.0], dtype=np.float64)
    seen = []

    class Spy(ScaledProduct):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return ScaledProduct.forward(ctx, a, b, k)

    Spy.apply(a, b, 2.0).sum().backward()
    assert seen == [(True, False, False)]
    np.testing.assert_array_equal(a.grad, [6.0, 8.0])
    assert mg.gradcheck(lambda p, q: ScaledProduct.apply(p, q, 0.5), (a, f64([3.0, 4.0])))


def test_wrong_custom_backward_fails_gradcheck_and_is_named_by_gradcheck_graph():
    x = f64([[0.5, -1.0], [2.0, 0.1]])
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(WrongCube.apply, (x,))
    root = (WrongCube.apply(x.tanh()) * 2).sum()
    report = mg.gradcheck_graph(root)
    assert not report.ok
    assert {node.op.name for node in report.bad_nodes} == {"WrongCube"}
    assert "WrongCubeBackward" in str(report)
    assert "TanhBackward" not in str(report)


def test_custom_function_returning_the_wrong_number_of_gradients():
    class TooFew(mg.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 gradients for 2 inputs"):
        TooFew.apply(f64([1.0]), f64([2.0])).sum().backward()


def test_function_subclass_without_backward():
    class NoBackward(mg.Function):
        @staticmethod
        def forward(ctx, a):
            return a

    NoBackward.backward = None
    with pytest.raises(TypeError, match=r"NoBackward must define a static backward\(ctx, ...\)"):
        NoBackward.apply(f64([1.0]))


# ---- dtypes -----------------------------------------------------------------------------------


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(
        TypeError, match="only floating-point tensors can require grad, got dtype int64"
    ):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="got dtype bool"):
        mg.tensor([True]).requires_grad_()


def test_float32_gradients_survive_mixed_ops_with_python_floats():
    x = mg.tensor([0.5, 1.5], requires_grad=True)
    loss = ((x * 0.1 + 2).exp() / 3.0 - x**2 * 0.5).mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32
    expected = (0.1 * np.exp(x.data * 0.1 + 2) / 3.0 - x.data) / 2
    np.testing.assert_allclose(x.grad, expected, rtol=1e-6)


def test_bool_and_int_tensors_take_the_floating_dtype():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = mg.tensor([True, False, True])
    counts = mg.tensor([1, 2, 3])
    out = x * mask + counts * x - counts
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 9.0])
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 4.0])
    assert (mask * counts).dtype == np.int64


def test_int_tensor_with_a_python_float_gives_the_default_dtype():
    assert (mg.arange(3) * 0.5).dtype == mg.get_default_dtype()


def test_grad_accepts_a_single_ndarray_as_grad_outputs():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (gradient,) = mg.grad(x * x, x, grad_outputs=np.array([1.0, 0.5], dtype=np.float32))
    np.testing.assert_allclose(gradient.data, [2.0, 2.0])


def test_a_custom_backward_of_the_wrong_shape_is_an_error():
    class WrongShape(mg.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return grad[:2]

    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(mg.BackwardError, match=r"shape \(2,\) does not reduce to .* \(3,\)"):
        WrongShape.apply(x).sum().backward()


# ---- 0-d tensors: NumPy returns scalars for 0-d arithmetic; gradients stay 0-d arrays --------


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (lambda x: x * x + x, 5.0),  # d/dx = 2x + 1 at 2
        (lambda x: x + x + x, 3.0),
        (lambda x: x**3 - 2 * x**2 + x, 5.0),  # 3x^2 - 4x + 1 at 2
        (lambda x: x.tanh().sum(), 1 - math.tanh(2.0) ** 2),
        (lambda x: x.sigmoid() * x.sigmoid() * x.sigmoid(), None),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_0d_tensor_used_three_times(program, expected, dtype):
    x = mg.tensor(2.0, dtype=dtype, requires_grad=True)
    program(x).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.dtype == dtype
    if expected is None:
        s = 1 / (1 + math.exp(-2.0))
        expected = 3 * s**2 * s * (1 - s)
    assert x.grad == pytest.approx(expected, rel=1e-6)
    assert mg.gradcheck(program, (f64(2.0),))


def test_a_0d_penalty_used_three_times_accumulates_over_backwards():
    w = f64([1.0, -2.0])
    scale = f64(0.5)
    penalty = scale * (w * w).sum()
    loss = penalty + penalty * 2 + penalty.exp() * 0
    loss.backward()
    np.testing.assert_allclose(w.grad, 3 * 0.5 * 2 * w.data)
    assert scale.grad == pytest.approx(3 * 5.0)


def test_second_derivatives_through_a_0d_divisor_and_exponent():
    x, t = f64([1.0, 2.0]), f64(3.0)
    (g,) = mg.grad((x / t).sum(), t, create_graph=True)  # -sum(x) / t^2
    (h,) = mg.grad(g, t)
    assert h.shape == () and h.item() == pytest.approx(2 * 3.0 / 27)
    (g,) = mg.grad((x**t).sum(), t, create_graph=True)  # sum(x^t ln x)
    (h,) = mg.grad(g, t)
    assert h.item() == pytest.approx(2.0**3 * math.log(2.0) ** 2)
    assert mg.gradgradcheck(lambda a, b: a / b, (f64([1.0, 2.0]), f64(3.0)))
    assert mg.gradgradcheck(lambda a, b: a**b, (f64([1.5, 2.0]), f64(1.5)))


# ---- a buffer saved for backward and changed before it -----------------------------------------


def test_changing_a_saved_leaf_in_place_makes_backward_refuse():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = (x * x).sum()
    x.data += 1
    with pytest.raises(
        mg.BackwardError, match=r"MulBackward .*shape \(3,\).*modified by an in-place"
    ):
        z.backward()


def test_changing_a_saved_input_that_needs_no_grad_is_caught_too():
    data = mg.tensor([1.0, 2.0])
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    loss = (data * w).sum()
    data.data *= 2
    with pytest.raises(mg.BackwardError, match="modified by an in-place operation"):
        loss.backward()


def test_changing_a_saved_intermediate_or_output_is_caught():
    x = f64([0.5, 1.0])
    h = x * 2
    y = (h * h).sum()
    h.data -= 1
    with pytest.raises(mg.BackwardError, match="MulBackward"):
        y.backward()
    e = x.exp()  # Exp keeps its output for the VJP; `* 3.0` keeps only the 3.0
    loss = (e * 3.0).sum()
    e.data += 1
    with pytest.raises(mg.BackwardError, match=r"ExpBackward .*its output of shape \(2,\)"):
        loss.backward()


def test_changing_a_detached_alias_in_place_counts_for_the_original():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    alias = x.detach()
    alias.data += 1
    with pytest.raises(mg.BackwardError, match="modified by an in-place operation"):
        loss.backward()


def test_changing_the_original_counts_for_a_detached_alias_a_node_saved():
    x = f64([1.0, 2.0, 3.0, 4.0])
    w = f64([1.0, 1.0, 1.0, 1.0])
    loss = (x.detach() * w).sum()  # Mul keeps the alias's array for dLoss/dw
    with mg.no_grad():
        x.add_(1)
    with pytest.raises(mg.BackwardError, match="MulBackward .*modified by an in-place"):
        loss.backward()
    assert w.grad is None


@pytest.mark.parametrize(
    "write",
    [
        lambda x: x[0:2].zero_(),
        lambda x: x.reshape(2, 2).mul_(2),
        lambda x: x.reshape(2, 2).T[0].fill_(5.0),
        lambda x: x.detach()[1:].add_(1),
    ],
    ids=["slice", "reshape", "view-of-a-view", "slice-of-an-alias"],
)
def test_a_write_through_a_view_counts_for_the_buffer_it_views(write):
    x = f64([1.0, 2.0, 3.0, 4.0])
    loss = (x * x).sum()
    with mg.no_grad():
        write(x)
    with pytest.raises(mg.BackwardError, match="MulBackward .*modified by an in-place"):
        loss.backward()
    assert x.grad is None


def test_a_write_to_a_buffer_counts_for_a_view_a_node_saved_and_for_its_output():
    x = f64([1.0, 2.0, 3.0, 4.0])
    w = f64([1.0, 2.0])
    loss = (x[1:3] * w).sum()  # Mul keeps the view's array for dLoss/dw
    with mg.no_grad():
        x.mul_(3)
    with pytest.raises(mg.BackwardError, match="MulBackward"):
        loss.backward()
    y = x.tanh()  # Tanh keeps its output for its VJP
    total = (y * 2.0).sum()  # Mul keeps only the 2.0, so Tanh is the node that sees it
    with mg.no_grad():
        y.reshape(2, 2).zero_()
    with pytest.raises(mg.BackwardError, match=r"TanhBackward .*its output"):
        total.backward()


def test_views_unwritten_leave_backward_alone():
    x = f64([1.0, 2.0, 3.0, 4.0])
    loss = (x.reshape(2, 2).T * 2.0).sum() + (x[1:3] * x[1:3]).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 6.0, 8.0, 2.0])


def test_an_optimizer_step_between_two_backwards_of_a_retained_graph_is_caught():
    model = mg.nn.Linear(3, 1)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    loss = (model(mg.ones(4, 3)) ** 2).mean()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(mg.BackwardError, match="modified by an in-place operation"):
        loss.backward()


def test_the_update_idiom_after_backward_keeps_working():
    theta = mg.tensor(5.0, requires_grad=True)
    for _ in range(3):
        loss = (theta - 2.0) ** 2
        loss.backward()
        with mg.no_grad():
            theta.data -= 0.25 * theta.grad
        theta.grad = None
    assert theta.item() == pytest.approx(2.0 + 3.0 * 0.5**3)


def test_rebinding_data_to_a_new_array_leaves_the_saved_values_and_the_gradient_alone():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    x.data = x.data + 1  # a new buffer: the saved one still holds what the forward saw
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


# ---- grad mode is per thread ---------------------------------------------------------------


def test_no_grad_in_one_thread_leaves_other_threads_recording():
    import threading

    inside, release = threading.Event(), threading.Event()

    def evaluate():
        with mg.no_grad():
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=evaluate)
    worker.start()
    inside.wait(5)
    try:
        x = f64([1.0])
        assert mg.is_grad_enabled() and (x * 2).grad_fn is not None
    finally:
        release.set()
        worker.join()


def test_overlapping_no_grad_scopes_in_two_threads_leave_recording_on():
    import threading

    barrier = threading.Barrier(2)
    modes = []

    def overlap(delay):
        with mg.no_grad():
            barrier.wait(5)
            modes.append(mg.is_grad_enabled())
        barrier.wait(5)
        modes.append(mg.is_grad_enabled())

    threads = [threading.Thread(target=overlap, args=(d,)) for d in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(modes) == [False, False, True, True]
    assert mg.is_grad_enabled() and (f64([1.0]) * 2).grad_fn is not None


def test_concurrent_backwards_into_a_shared_leaf_lose_no_contribution():
    import sys
    import threading

    count, rounds, trials = 4, 5, 60

    def one_trial() -> np.ndarray:
        w = f64(np.zeros(64))
        barrier = threading.Barrier(count)

        def contribute():
            barrier.wait(5)
            for _ in range(rounds):
                (w * 1.0).sum().backward()

        threads = [threading.Thread(target=contribute) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return w.grad

    # The race is at a fresh leaf, when two threads both find `.grad` None and store their own
    # array; switching threads every microsecond makes it likely within a few dozen trials.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        totals = [one_trial() for _ in range(trials)]
    finally:
        sys.setswitchinterval(interval)
    for total in totals:
        np.testing.assert_array_equal(total, np.full(64, count * rounds * 1.0))


# ---- hooks and .grad keep the tensor's shape and dtype -----------------------------------------


def test_a_leaf_hook_may_not_change_the_gradient_shape_or_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.array(1.0, dtype=np.float32))
    with pytest.raises(mg.BackwardError, match=r"shape \(\) .* one of shape \(2,\)"):
        x.sum().backward()
    y = mg.tensor([1.0, 2.0], requires_grad=True)
    y.register_hook(lambda g: g.astype(np.float64))
    with pytest.raises(
        mg.BackwardError, match="dtype float64 for one of shape \\(2,\\) and dtype float32"
    ):
        y.sum().backward()


def test_a_node_hook_may_not_change_the_gradient_shape():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g[:1])
    with pytest.raises(mg.BackwardError, match="not its shape or dtype"):
        h.sum().backward()


def test_a_hook_may_scale_the_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 3)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("abc", TypeError, "must be an ndarray"),
        (
            np.ones(3, np.float32),
            ValueError,
            r"shape \(3,\) and dtype float32 to a tensor of shape \(2,\)",
        ),
        (np.ones(2, np.float64), ValueError, "dtype float64 to a tensor of shape"),
        (np.array(1.0, np.float32), ValueError, r"shape \(\)"),
    ],
)
def test_grad_assignment_is_checked(value, error, message):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        x.grad = value
    x.grad = np.ones(2, np.float32)
    x.grad = None


# ---- gradients come back in the input's dtype on every path --------------------------------


def test_grad_with_create_graph_keeps_a_float32_input_float32_through_a_cast():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = mg.grad((x.double() ** 2).sum(), x, create_graph=True)
    assert g.dtype == np.float32 and g.shape == (2,)
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    (h,) = mg.grad(g.sum(), x)
    assert h.dtype == np.float32
    np.testing.assert_array_equal(h.data, [2.0, 2.0])
    (x.double() ** 2).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32


def test_a_tensor_seed_under_create_graph_stays_in_the_graph():
    """grad_outputs v that requires grad: d/dv <v, dy/dx> is the Jacobian's row sum, as in
    PyTorch's double-backward trick; without create_graph the seed is a constant."""
    x, v = f64([1.0, 2.0]), f64([3.0, 5.0])
    (gx,) = mg.grad(x * x, x, grad_outputs=v, create_graph=True)
    np.testing.assert_array_equal(gx.data, [6.0, 20.0])  # 2 x v
    (gv,) = mg.grad(gx.sum(), v)
    np.testing.assert_array_equal(gv.data, [2.0, 4.0])  # 2 x
    y = x * x
    y.backward(mg.tensor([1.0, 1.0], dtype=np.float32, requires_grad=True), create_graph=True)
    assert x.grad.dtype == np.float64  # the float32 seed is cast to y's dtype
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
