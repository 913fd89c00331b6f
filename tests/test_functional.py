"""minigrad.functional: composites (var, linear, activations, maximum/minimum, dropout) and the
losses' values, gradients, reductions and bad-input errors, against hand-computed results."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import ops


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


# ---- var ---------------------------------------------------------------------------------------


def test_var_defaults_to_the_unbiased_estimate():
    x = f64([1.0, 2.0, 3.0, 6.0])  # mean 3, squared deviations 4 1 0 9 sum 14
    v = x.var()
    assert v.item() == pytest.approx(14 / 3)
    v.backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data - 3) / 3)
    assert F.var(x, correction=0).item() == pytest.approx(14 / 4)
    assert x.var(correction=0).item() == pytest.approx(np.var(x.data))


def test_var_over_an_axis_with_keepdims():
    data = np.array([[1.0, 5.0], [3.0, 9.0], [2.0, 4.0]])
    x = f64(data)
    np.testing.assert_allclose(x.var(axis=0).data, np.var(data, axis=0, ddof=1))
    kept = x.var(axis=1, keepdims=True, correction=0)
    assert kept.shape == (3, 1)
    np.testing.assert_allclose(kept.data, np.var(data, axis=1, keepdims=True))


# ---- linear and activations --------------------------------------------------------------------


def test_linear_is_x_at_w_plus_b_with_w_of_shape_in_out():
    x = f64([[1.0, 2.0]])
    w = f64([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = f64([0.5, -0.5, 0.0])
    y = F.linear(x, w, b)
    np.testing.assert_array_equal(y.data, [[5.5, 1.5, 0.0]])
    assert y.grad_fn.name() == "LinearBackward"
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(b.grad, [1, 1, 1])
    np.testing.assert_array_equal(x.grad, [[0.0, 3.5]])


def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"input has 3 features .*shape \(2, 3\).* weight expects 4 \(weight shape \(4, 5\)\)",
    ):
        F.linear(mg.zeros(2, 3), mg.zeros(4, 5))


@pytest.mark.parametrize(
    "function, method",
    [
        (F.relu, lambda x: x.relu()),
        (lambda x: F.leaky_relu(x, 0.3), lambda x: x.leaky_relu(0.3)),
        (F.sigmoid, lambda x: x.sigmoid()),
        (F.tanh, lambda x: x.tanh()),
        (F.softplus, lambda x: x.softplus()),
        (lambda x: F.softmax(x, axis=0), lambda x: x.softmax(axis=0)),
        (lambda x: F.log_softmax(x, 1), lambda x: x.log_softmax(axis=1)),
    ],
)
def test_functional_activations_match_the_methods(function, method):
    x = f64([[-1.5, 0.3], [2.0, -0.2]], requires_grad=False)
    np.testing.assert_array_equal(function(x).data, method(x).data)


def test_leaky_relu_default_slope_is_pytorchs():
    np.testing.assert_allclose(F.leaky_relu(f64([-2.0])).data, [-0.02])


def test_maximum_and_minimum_with_numbers():
    x = f64([-1.0, 0.5, 2.0])
    y = mg.maximum(x, 0.0)
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 2.0])
    assert y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(mg.minimum(1.0, x).data, [-1.0, 0.5, 1.0])


# ---- dropout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_p_outside_zero_one(p):
    with pytest.raises(ValueError, match=rf"dropout probability must be in \[0, 1\), got p={p}"):
        F.dropout(mg.ones(3), p)


def test_dropout_in_evaluation_and_at_p_zero_is_the_identity():
    x = mg.ones(4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_inverted_dropout_scales_kept_units_and_keeps_the_mean(seeded):
    x = mg.ones(100_000, requires_grad=True)
    y = F.dropout(x, 0.25)
    assert y.dtype == np.float32
    kept = y.data != 0
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    # Kept fraction ~ Binomial(1e5, 0.75)/1e5: standard error 0.0014, so 0.01 is 7 of them.
    assert abs(kept.mean() - 0.75) < 0.01
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.where(kept, 1 / 0.75, 0.0), rtol=1e-6)


def test_dropout_without_inversion_scales_at_evaluation(seeded):
    x = mg.full((1000,), 2.0)
    train = F.dropout(x, 0.4, inverted=False)
    assert set(np.unique(train.data)) <= {0.0, 2.0}
    np.testing.assert_allclose(F.dropout(x, 0.4, training=False, inverted=False).data, 1.2)


def test_dropout_masks_follow_the_engine_seed():
    x = mg.ones(50)
    mg.manual_seed(7)
    first = F.dropout(x, 0.5).data
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)


# ---- losses: values and gradients --------------------------------------------------------------


@pytest.mark.parametrize("reduction, value", [("mean", 2.5), ("sum", 5.0), ("none", [1.0, 4.0])])
def test_mse_loss_reductions(reduction, value):
    x = f64([1.0, -2.0])
    loss = F.mse_loss(x, np.zeros(2), reduction=reduction)
    np.testing.assert_allclose(loss.data, value)


def test_mse_loss_gradient_reaches_input_and_target():
    x, t = f64([1.0, 3.0]), f64([0.0, 1.0])
    F.mse_loss(x, t).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])
    np.testing.assert_array_equal(t.grad, [-1.0, -2.0])


def test_mse_loss_is_one_node_whose_gradient_is_the_lectures():
    """One MseLoss node, as PyTorch's MseLossBackward: d/dx = 2 (x - y) / N, in float32 the
    same bits as the hand-written 2 / N times the difference, for the sum 2 (x - y)."""
    values = np.array([[0.3, -1.7, 2.2], [0.9, 0.1, -0.4]], dtype=np.float32)
    x = mg.tensor(values, requires_grad=True)
    y = np.array([[0.0, 1.0, 2.0], [-1.0, 0.5, 0.25]], dtype=np.float32)
    loss = F.mse_loss(x, y)
    assert loss.grad_fn.name() == "MseLossBackward" and loss.dtype == np.float32
    loss.backward()
    difference = x.data - y
    np.testing.assert_array_equal(x.grad, difference * np.float32(2.0 / 6))
    x.grad = None
    F.mse_loss(x, y, reduction="sum").backward()
    np.testing.assert_array_equal(x.grad, difference * np.float32(2.0))


def test_mse_loss_of_0d_tensors():
    x, t = f64(3.0), f64(1.0)
    loss = F.mse_loss(x, t)
    assert loss.shape == () and loss.item() == 4.0
    loss.backward()
    assert x.grad.shape == () and x.grad == 4.0 and t.grad == -4.0


def test_mse_loss_of_an_empty_batch_is_nan_with_an_empty_gradient():
    """As the mean of no elements: NaN, and a gradient of the input's empty shape."""
    x = mg.tensor(np.zeros((0, 3)), requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = F.mse_loss(x, np.zeros((0, 3)))
    assert np.isnan(loss.item())
    loss.backward()
    assert x.grad.shape == (0, 3)


def test_mse_loss_of_a_tensor_used_three_times():
    """x as input and target, and again scaled: the gradients of each use add up, 2 (2x - x)
    2 / N from the first term and nothing from mse(x, x)."""
    x = f64([1.0, 2.0])
    (F.mse_loss(x * 2, x) + F.mse_loss(x, x)).backward()
    np.testing.assert_allclose(x.grad, [1.0, 2.0])


def test_binary_cross_entropy_values_and_gradient():
    p = f64([0.5, 0.8])
    y = np.array([1.0, 0.0])
    loss = F.binary_cross_entropy(p, y)
    assert loss.item() == pytest.approx((np.log(2) - np.log(0.2)) / 2)
    loss.backward()
    # d/dp of -(y log p + (1-y) log(1-p)) is (p - y) / (p (1 - p)), halved by the mean.
    np.testing.assert_allclose(p.grad, [(0.5 - 1) / 0.25 / 2, 0.8 / 0.16 / 2])


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    with np.errstate(divide="ignore"):
        loss = F.binary_cross_entropy(
            f64([0.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]), reduction="none"
        )
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0])


def test_binary_cross_entropy_gradient_is_finite_at_zero_and_one():
    p = f64([0.0, 1.0, 0.5])
    with np.errstate(divide="ignore", invalid="ignore"):
        F.binary_cross_entropy(p, np.array([0.0, 1.0, 1.0]), reduction="sum").backward()
    assert np.isfinite(p.grad).all()
    assert p.grad[2] == pytest.approx(-2.0)


def test_binary_cross_entropy_target_gradient():
    """dL/dy = log(1 - p) - log p = log((1 - p) / p), halved by the mean over two elements."""
    p = f64([0.3, 0.8], requires_grad=False)
    y = f64([0.6, 0.0])
    F.binary_cross_entropy(p, y).backward()
    np.testing.assert_allclose(y.grad, [np.log(0.7 / 0.3) / 2, np.log(0.2 / 0.8) / 2], rtol=1e-12)


# At p = 0.3, y = 0.6, one element (so the mean is the loss itself), with p (1 - p) = 0.21:
#   dL/dp = (p - y) / (p (1 - p)) = -0.3 / 0.21 = -1.428571...
#   dL/dy = log((1 - p) / p) = log(7 / 3) = 0.847298...
#   d2L/dp2 = y / p^2 + (1 - y) / (1 - p)^2 = 0.6 / 0.09 + 0.4 / 0.49 = 7.482993...
#   d2L/dp dy = d/dp log((1 - p) / p) = -1 / (p (1 - p)) = -4.761905...,  d2L/dy2 = 0
BCE_POINT = (0.3, 0.6)
BCE_FIRST = (-0.3 / 0.21, np.log(7 / 3))
BCE_SECOND = ((0.6 / 0.09 + 0.4 / 0.49, -1 / 0.21), (-1 / 0.21, 0.0))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param((1,), id="1d"),
        pytest.param((), id="0d"),
    ],
)
def test_binary_cross_entropy_second_derivatives_have_their_known_values(shape):
    p, y = (f64(np.full(shape, value)) for value in BCE_POINT)
    grads = mg.grad(F.binary_cross_entropy(p, y), [p, y], create_graph=True)
    np.testing.assert_allclose([g.item() for g in grads], BCE_FIRST, rtol=1e-12)
    for first, expected_row in zip(grads, BCE_SECOND):
        row = mg.grad(first.sum(), [p, y], retain_graph=True, allow_unused=True)
        values = [0.0 if g is None else g.item() for g in row]
        np.testing.assert_allclose(values, expected_row, rtol=1e-12, atol=1e-12)


def test_binary_cross_entropy_mixed_derivative_through_the_target_gradient():
    """d/dp (dL/dy): the target's gradient must stay a function of p under create_graph."""
    p, y = f64([0.3]), f64([0.6])
    (grad_y,) = mg.grad(F.binary_cross_entropy(p, y), y, create_graph=True)
    assert grad_y.requires_grad
    (mixed,) = mg.grad(grad_y.sum(), p)
    assert mixed.item() == pytest.approx(-4.761904761904762, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_gradgradcheck_over_both_inputs(reduction):
    rng = np.random.default_rng(3)
    p = f64(rng.uniform(0.05, 0.95, (2, 3)))
    y = f64(rng.uniform(0.0, 1.0, (2, 3)))
    assert mg.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), (p, y))
    assert mg.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), (p, y))


@pytest.mark.parametrize("role", ["input", "target"])
@pytest.mark.parametrize("bad", [1.5, -0.25, 2.0, np.nan, np.inf])
@pytest.mark.parametrize("kind", ["tensor", "ndarray"])
def test_binary_cross_entropy_refuses_values_outside_0_1(role, bad, kind):
    values = np.array([0.5, bad, 0.25])
    good = np.array([0.5, 0.5, 0.5])
    p, y = (values, good) if role == "input" else (good, values)
    target = mg.tensor(y) if kind == "tensor" else y
    message = f"binary_cross_entropy: all elements of {role} should be between 0 and 1, got {bad:g}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        F.binary_cross_entropy(mg.tensor(p), target)
    with pytest.raises(ValueError, match=f"{role} should be between 0 and 1"):
        mg.nn.BCELoss()(mg.tensor(p), target)


def test_binary_cross_entropy_accepts_the_ends_0_and_1():
    with np.errstate(divide="ignore"):
        loss = F.binary_cross_entropy(f64([0.0, 1.0]), f64([1.0, 1.0]), reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 0.0])


def test_bce_with_logits_is_stable_and_has_gradient_sigmoid_minus_target():
    x = f64([1000.0, -1000.0, 0.0, 2.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.data, [1000.0, 0.0, np.log(2), np.log1p(np.exp(-2.0))])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 0.0, -0.5, 1 / (1 + np.exp(-2.0)) - 1])


def test_bce_with_logits_equals_bce_of_sigmoid():
    x = f64([-1.5, 0.2, 3.0], requires_grad=False)
    y = np.array([0.0, 1.0, 0.3])
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, y).data,
        F.binary_cross_entropy(x.sigmoid(), y).data,
        rtol=1e-12,
    )


def test_cross_entropy_value_and_gradient():
    logits = f64([[0.0, 0.0], [np.log(3.0), 0.0]])
    loss = F.cross_entropy(logits, [0, 1])
    # row 0: -log(1/2); row 1: softmax = (3/4, 1/4), -log(1/4)
    assert loss.item() == pytest.approx((np.log(2) + np.log(4)) / 2)
    loss.backward()
    np.testing.assert_allclose(logits.grad, [[-0.25, 0.25], [0.375, -0.375]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_equals_nll_of_log_softmax(reduction, seeded):
    logits = mg.randn(5, 4, dtype=np.float64, requires_grad=True)
    labels = np.array([3, 0, 1, 1, 2])
    fused = F.cross_entropy(logits, labels, reduction=reduction)
    composed = F.nll_loss(logits.log_softmax(axis=1), labels, reduction=reduction)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    fused.sum().backward()
    fused_grad = logits.grad
    logits.grad = None
    composed.sum().backward()
    np.testing.assert_allclose(fused_grad, logits.grad, rtol=1e-12, atol=1e-15)


def test_cross_entropy_backward_twice_through_a_retained_graph_doubles_the_gradient():
    logits = f64([[0.0, 0.0], [np.log(3.0), 0.0]])
    loss = F.cross_entropy(logits, [0, 1])
    loss.backward(retain_graph=True)
    loss.backward()  # both read the softmax the forward kept, which the first left as it was
    np.testing.assert_allclose(logits.grad, 2 * np.array([[-0.25, 0.25], [0.375, -0.375]]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_backward_from_the_kept_softmax_equals_recomputing_it(reduction, seeded):
    logits = mg.randn(6, 5, dtype=np.float64).data
    labels = np.array([4, 0, 1, 1, 2, 3])
    out, probabilities = ops.SoftmaxCrossEntropy.forward_saving(logits, labels, reduction)
    np.testing.assert_array_equal(out, ops.SoftmaxCrossEntropy.forward(logits, labels, reduction))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-14)
    kept = probabilities.copy()
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    needs = (True, False)
    from_kept = ops.SoftmaxCrossEntropy.vjp(
        upstream, probabilities, (logits, labels), needs, reduction
    )
    again = ops.SoftmaxCrossEntropy.vjp(upstream, None, (logits, labels), needs, reduction)
    np.testing.assert_allclose(from_kept[0], again[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(probabilities, kept)  # left as they were, for a second backward
    assert mg.gradcheck(
        lambda x: F.cross_entropy(x, labels, reduction=reduction),
        [mg.tensor(logits, requires_grad=True)],
    )


def test_cross_entropy_is_stable_for_huge_logits():
    logits = mg.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = F.cross_entropy(logits, mg.tensor([1, 1]))
        loss.backward()
    assert loss.item() == pytest.approx(1000.0)
    np.testing.assert_allclose(logits.grad, [[0.5, -0.5], [0.0, 0.0]])
    assert logits.grad.dtype == np.float32


def test_nll_loss_picks_the_target_entries():
    log_probs = f64([[-0.1, -2.0], [-3.0, -0.5]])
    loss = F.nll_loss(log_probs, np.array([1, 0]), reduction="sum")
    assert loss.item() == pytest.approx(5.0)
    loss.backward()
    np.testing.assert_array_equal(log_probs.grad, [[0.0, -1.0], [-1.0, 0.0]])


# ---- losses: bad input -------------------------------------------------------------------------

LOSSES = [
    lambda r: F.mse_loss(mg.zeros(2), mg.zeros(2), reduction=r),
    lambda r: F.binary_cross_entropy(mg.full(2, 0.5), mg.zeros(2), reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(mg.zeros(2), mg.zeros(2), reduction=r),
    lambda r: F.cross_entropy(mg.zeros(2, 3), np.array([0, 1]), reduction=r),
    lambda r: F.nll_loss(mg.zeros(2, 3), np.array([0, 1]), reduction=r),
]


@pytest.mark.parametrize("loss", LOSSES)
def test_unknown_reduction(loss):
    with pytest.raises(ValueError, match=r"reduction must be one of .* got 'average'"):
        loss("average")


@pytest.mark.parametrize(
    "loss, name",
    [
        (F.mse_loss, "mse_loss"),
        (F.binary_cross_entropy, "binary_cross_entropy"),
        (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
    ],
)
def test_elementwise_losses_do_not_broadcast_silently(loss, name):
    with pytest.raises(
        ValueError, match=rf"{name}: input shape \(3, 1\) and target shape \(3,\) must be equal"
    ):
        loss(mg.full((3, 1), 0.5), mg.zeros(3))


@pytest.mark.parametrize(
    "loss, name", [(F.cross_entropy, "cross_entropy"), (F.nll_loss, "nll_loss")]
)
def test_class_losses_check_their_targets(loss, name):
    with pytest.raises(
        TypeError, match=rf"{name}: target must hold integer class indices, got dtype float32"
    ):
        loss(mg.zeros(2, 3), mg.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match=rf"{name}: target holds class 3 but input has 3 classes"):
        loss(mg.zeros(2, 3), np.array([0, 3]))
    with pytest.raises(IndexError, match="target holds class -1"):
        loss(mg.zeros(2, 3), np.array([-1, 0]))
    with pytest.raises(
        ValueError,
        match=r"input of shape \(N, C\) and target of shape \(N,\), "
        r"got input \(2, 3\) and target \(3,\)",
    ):
        loss(mg.zeros(2, 3), np.array([0, 1, 2]))
