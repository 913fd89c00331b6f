"""In-place activations: `relu_`, `tanh_`, `F.relu(inplace=True)`, `nn.ReLU(inplace=True)`.

Each gives the out-of-place result and gradient: the tensor takes a new buffer holding the result,
so a value saved for backward, a view's base or an alias is never overwritten.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

INPLACE = [("relu_", "relu"), ("tanh_", "tanh")]


def _pre_activation(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    return x, w


@pytest.mark.parametrize("inplace, plain", INPLACE)
def test_the_in_place_result_and_gradients_equal_the_out_of_place_ones(inplace, plain):
    x, w = _pre_activation()
    expected = getattr(x @ w, plain)()
    (expected * expected).sum().backward()
    expected_grads = x.grad.copy(), w.grad.copy()
    x.grad = w.grad = None

    z = x @ w
    result = getattr(z, inplace)()
    assert result is z
    np.testing.assert_array_equal(z.data, expected.data)
    assert z.grad_fn.op.name == expected.grad_fn.op.name
    (z * z).sum().backward()
    np.testing.assert_allclose(x.grad, expected_grads[0])
    np.testing.assert_allclose(w.grad, expected_grads[1])


@pytest.mark.parametrize("inplace, plain", INPLACE)
def test_the_in_place_op_passes_a_gradient_check(inplace, plain):
    x, w = _pre_activation(1)
    assert mg.gradcheck(lambda a, b: getattr(a @ b, inplace)().sum(), (x, w))


def test_a_value_saved_for_backward_is_never_overwritten():
    x, w = _pre_activation()
    z = x @ w
    product = z * w.sum()  # Mul keeps z's array for its gradient with respect to w.sum()
    saved = z.data
    before = saved.copy()
    z.relu_()
    np.testing.assert_array_equal(saved, before)  # the new value went to a new buffer
    np.testing.assert_array_equal(z.data, np.maximum(before, 0))
    (product.sum() + z.sum()).backward()
    expected_w = x.data.T @ (np.full((5, 3), w.data.sum()) + (before > 0)) + before.sum()
    np.testing.assert_allclose(w.grad, expected_w)


def test_an_activation_applied_twice_in_place_keeps_the_first_output():
    x, w = _pre_activation()
    z = x @ w
    z.tanh_()
    first = z.data  # saved by the first Tanh node as its output
    z.tanh_()
    assert z.data is not first
    z.sum().backward()
    t1 = np.tanh(x.data @ w.data)
    t2 = np.tanh(t1)
    np.testing.assert_allclose(x.grad, ((1 - t2 * t2) * (1 - t1 * t1)) @ w.data.T)


def test_a_view_is_not_written_through_to_its_base():
    whole = mg.tensor(np.linspace(-1.0, 1.0, 8))
    part = whole[2:6]
    assert part.data.base is whole.data
    before = whole.data.copy()
    part.relu_()
    np.testing.assert_array_equal(part.data, np.maximum(before[2:6], 0))
    np.testing.assert_array_equal(whole.data, before)


def test_an_integer_tensor_gets_its_result_out_of_place():
    x = mg.tensor(np.array([-2, 0, 3]))
    assert x.relu_().data.tolist() == [0, 0, 3]


def test_a_leaf_that_requires_grad_cannot_change_in_place_outside_no_grad():
    leaf = mg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        leaf.relu_()
    with mg.no_grad():
        leaf.relu_()
    np.testing.assert_array_equal(leaf.data, [0.0, 2.0])
    assert leaf.grad_fn is None and leaf.requires_grad


def test_relu_module_and_functional_take_inplace_as_pytorch_does():
    x, w = _pre_activation()
    z = x @ w
    assert F.relu(z, inplace=True) is z
    assert F.relu(z) is not z
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.ReLU()) == "ReLU()"


def test_a_network_with_in_place_relus_trains_like_one_without():
    def gradients(inplace: bool) -> list:
        mg.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=inplace), nn.Linear(8, 2))
        inputs = mg.tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))
        F.cross_entropy(model(inputs), np.array([0, 1, 1, 0, 1, 0])).backward()
        return [p.grad for p in model.parameters()]

    for plain, in_place in zip(gradients(False), gradients(True)):
        np.testing.assert_array_equal(plain, in_place)


def test_retain_grad_follows_the_tensor_and_other_hooks_stay_as_in_pytorch():
    x, w = _pre_activation()
    z = x @ w
    z.retain_grad()
    seen = []
    z.register_hook(lambda grad: seen.append(grad.copy()))
    before = z.data.copy()
    z.relu_()
    scale = np.arange(1.0, 16.0).reshape(5, 3)
    (z * scale).sum().backward()
    np.testing.assert_array_equal(z.grad, scale)  # d/d(relu'd z): the new value's gradient
    np.testing.assert_array_equal(seen[0], scale * (before > 0))  # the old value's gradient


def test_in_place_values_and_gradients_against_known_results():
    x = mg.tensor([[1.0, -2.0]], dtype=np.float64, requires_grad=True)
    w = mg.tensor([[1.0, 0.5], [-1.0, 2.0]], dtype=np.float64, requires_grad=True)
    h = (x @ w).relu_()  # x @ w = [[3, -3.5]]
    np.testing.assert_array_equal(h.data, [[3.0, 0.0]])
    h.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, -1.0]])
    t = (x @ w).tanh_()
    np.testing.assert_allclose(t.data, np.tanh([[3.0, -3.5]]), rtol=1e-15)


# ---- in-place arithmetic: `p -= lr * p.grad` changes p itself ----------------------------------


def test_the_update_idiom_with_augmented_assignment_changes_the_parameter():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    alias = p.data
    losses = []
    for _ in range(3):
        loss = (p * p).sum()
        losses.append(loss.item())
        loss.backward()
        with mg.no_grad():
            p -= 0.25 * p.grad
        p.grad = None
    assert losses == [5.0, 1.25, 0.3125]  # each step halves p: the parameter really changes
    assert p.data is alias and p.is_leaf and p.requires_grad


@pytest.mark.parametrize(
    ("method", "operator", "expected"),
    [
        ("add_", "__iadd__", [3.0, 5.0]),
        ("sub_", "__isub__", [-1.0, -1.0]),
        ("mul_", "__imul__", [2.0, 6.0]),
        ("div_", "__itruediv__", [0.5, 2.0 / 3.0]),
    ],
)
def test_in_place_arithmetic_writes_into_the_buffer(method, operator, expected):
    for name in (method, operator):
        x = mg.tensor([1.0, 2.0])
        buffer = x.data
        assert getattr(x, name)(mg.tensor([2.0, 3.0])) is x
        assert x.data is buffer
        np.testing.assert_allclose(x.data, expected, rtol=1e-6)


def test_zero_fill_copy_and_clamp_in_place():
    x = mg.tensor([1.0, -2.0, 3.0])
    buffer = x.data
    assert x.clamp_(-1.0, 2.0) is x
    np.testing.assert_array_equal(x.data, [1.0, -1.0, 2.0])
    x.fill_(7)
    np.testing.assert_array_equal(x.data, [7.0, 7.0, 7.0])
    x.copy_([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(x.data, [4.0, 5.0, 6.0])
    x.zero_()
    np.testing.assert_array_equal(x.data, [0.0, 0.0, 0.0])
    assert x.data is buffer


def test_an_in_place_change_of_a_leaf_that_requires_grad_needs_no_grad():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: p.__isub__(1.0), lambda: p.add_(1.0), lambda: p.zero_()):
        with pytest.raises(RuntimeError, match=r"leaf tensor that requires grad .* mg\.no_grad"):
            change()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_an_in_place_change_is_seen_by_the_version_check():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (p * p).sum()
    with mg.no_grad():
        p.mul_(2)
    with pytest.raises(mg.BackwardError, match="modified by an in-place operation"):
        loss.backward()


def test_a_recorded_in_place_op_is_differentiable():
    x = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    h = x * x
    h += x  # recorded: h = x^2 + x
    h *= 3.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * (2 * x.data + 1))
    source = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    target = mg.zeros(2, dtype=np.float64)
    target.copy_(source)
    (target * target).sum().backward()
    np.testing.assert_array_equal(source.grad, [2.0, 4.0])
    assert mg.gradcheck(
        lambda t: (t * 2).add_(t * t).mul_(t),
        (mg.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True),),
    )


def test_an_in_place_result_that_does_not_fit_is_a_shape_error():
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(mg.ShapeError, match=r"does not fit in place in a tensor of shape \(2,\)"):
        x += mg.ones(3, 2)
    with pytest.raises(mg.ShapeError, match="cannot copy values of shape"):
        x.copy_([1.0, 2.0, 3.0])


def test_a_recorded_fill_or_copy_drops_the_old_values_even_when_they_are_infinite():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * np.array([1.0, np.inf], np.float32)  # a non-leaf holding inf: 0 * inf would be NaN
    h.fill_(3.0)
    np.testing.assert_array_equal(h.data, [3.0, 3.0])
    source = mg.tensor([4.0, 5.0], requires_grad=True)
    h = x * np.array([np.inf, 1.0], np.float32)
    h.copy_(source)
    np.testing.assert_array_equal(h.data, [4.0, 5.0])
    (h * h).sum().backward()
    np.testing.assert_array_equal(source.grad, [8.0, 10.0])
