"""minigrad.class_losses (cross_entropy, nll_loss) with PyTorch's options, and
binary_cross_entropy_with_logits's weight and pos_weight: values against a NumPy reference written
here from PyTorch's definitions one target at a time, worked numbers, gradients (twice) against
finite differences, unbatched and K-dimensional inputs, the fused fast path, the nn modules, and
the errors for bad options."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


def reference_class_loss(
    log_probs, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0
):
    """PyTorch's nll / cross-entropy from log-probabilities with classes on axis 1 (axis 0 when
    unbatched), one target at a time: loss = (1 - eps) (-w[y] l[y]) + eps / C sum_c (-w_c l_c);
    the mean divides by the summed weights of the targets not ignored."""
    if log_probs.ndim == 1:
        log_probs, target = log_probs[None], np.asarray(target)[None]
        unbatched = True
    else:
        unbatched = False
    classes = log_probs.shape[1]
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    losses = np.zeros(target.shape)
    denominator = 0.0
    for position in np.ndindex(target.shape):
        label = target[position]
        if label == ignore_index:
            continue
        row = log_probs[(position[0], slice(None)) + position[1:]]
        losses[position] = (1 - smoothing) * (-w[label] * row[label]) + smoothing / classes * (
            -(w * row).sum()
        )
        denominator += w[label]
    if reduction == "none":
        return losses[0] if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denominator


def numpy_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


SHAPES = [((5, 4), (5,)), ((4,), ()), ((2, 3, 4, 2), (2, 4, 2))]
OPTIONS = list(
    itertools.product(
        [None, [0.5, 2.0, 1.0, 3.0]],  # weight (for 4 classes; cut to 3 where C = 3)
        [-100, 1],  # ignore_index: the default, which no label has, or a class
        ["mean", "sum", "none"],
    )
)


def case(input_shape, target_shape, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(input_shape)
    classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    labels = rng.integers(0, classes, size=target_shape)
    return logits, labels, classes


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("weight, ignore_index, reduction", OPTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_equals_pytorchs_definition(
    shapes, weight, ignore_index, reduction, smoothing
):
    logits, labels, classes = case(*shapes)
    weight = None if weight is None else weight[:classes]
    loss = F.cross_entropy(
        f64(logits, requires_grad=False),
        labels,
        weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=smoothing,
    )
    axis = 0 if logits.ndim == 1 else 1
    expected = reference_class_loss(
        numpy_log_softmax(logits, axis), labels, weight, ignore_index, reduction, smoothing
    )
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("weight, ignore_index, reduction", OPTIONS)
def test_nll_loss_equals_pytorchs_definition(shapes, weight, ignore_index, reduction):
    log_probs, labels, classes = case(*shapes, seed=1)
    weight = None if weight is None else np.array(weight[:classes])
    loss = F.nll_loss(
        f64(log_probs, requires_grad=False),
        mg.tensor(labels),
        mg.tensor(weight) if weight is not None else None,
        ignore_index=ignore_index,
        reduction=reduction,
    )
    expected = reference_class_loss(log_probs, labels, weight, ignore_index, reduction)
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_weighted_mean_divides_by_the_weights_of_the_targets():
    logits = f64([[0.0, 0.0], [math.log(3.0), 0.0]])  # softmax rows (1/2, 1/2), (3/4, 1/4)
    loss = F.cross_entropy(logits, [0, 1], weight=[1.0, 3.0])
    assert loss.item() == pytest.approx((math.log(2) + 3 * math.log(4)) / (1 + 3), rel=1e-14)
    loss.backward()
    # d/dlogits of row n: w[y_n] (softmax - onehot) / (w[0] + w[1])
    np.testing.assert_allclose(logits.grad, [[-0.125, 0.125], [0.5625, -0.5625]], rtol=1e-14)


def test_an_ignored_target_counts_for_nothing():
    logits = f64([[0.0, 0.0], [math.log(3.0), 0.0], [5.0, -5.0]])
    loss = F.cross_entropy(logits, [0, 1, -100])
    assert loss.item() == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(logits.grad, [[-0.25, 0.25], [0.375, -0.375], [0.0, 0.0]])
    assert F.cross_entropy(logits, [0, 1, 1], ignore_index=1).item() == pytest.approx(math.log(2))


def test_label_smoothing_on_a_worked_example():
    # softmax (3/4, 1/4): l = (log 3/4, log 1/4); target 0, eps 0.2, C 2
    logits = f64([[math.log(3.0), 0.0]])
    loss = F.cross_entropy(logits, [0], label_smoothing=0.2)
    expected = 0.8 * -math.log(0.75) + 0.1 * -(math.log(0.75) + math.log(0.25))
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    loss.backward()
    # the gradient is softmax minus the smoothed target (0.9, 0.1)
    np.testing.assert_allclose(logits.grad, [[0.75 - 0.9, 0.25 - 0.1]], rtol=1e-13)


def test_every_target_ignored_gives_nan_for_the_mean_and_zero_for_the_sum():
    logits = f64(np.zeros((2, 3)))
    assert math.isnan(F.cross_entropy(logits, [-100, -100]).item())
    assert F.cross_entropy(logits, [-100, -100], reduction="sum").item() == 0.0


def test_the_plain_case_keeps_the_fused_op():
    logits = f64(np.zeros((2, 3, 4)))
    labels = np.zeros((2, 4), dtype=int)
    assert F.cross_entropy(logits, labels).grad_fn.name() == "SoftmaxCrossEntropyBackward"
    weighted = F.cross_entropy(logits, labels, weight=[1.0, 1.0, 1.0])
    assert weighted.grad_fn.name() != "SoftmaxCrossEntropyBackward"


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_class_losses_with_options_gradcheck_twice(shapes):
    logits, labels, classes = case(*shapes, seed=2)
    labels.flat[0] = 1 if labels.size > 1 else 0  # one target ignored, never the only one
    weight = np.array([0.5, 2.0, 1.0, 3.0][:classes])
    x = f64(logits)

    def smoothed(t):
        return F.cross_entropy(t, labels, weight, ignore_index=1, label_smoothing=0.25)

    def nll(t):
        return F.nll_loss(t.log_softmax(axis=0 if t.ndim == 1 else 1), labels, weight)

    for loss in (smoothed, nll):
        assert mg.gradcheck(loss, [x])
        assert mg.gradgradcheck(loss, [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [None, [1.0, 2.0, 0.5]])
def test_class_losses_keep_the_dtype_and_give_gradients_of_the_input_shape(dtype, weight):
    x = mg.tensor(np.ones((2, 3, 2)), dtype=dtype, requires_grad=True)
    labels = np.array([[0, 2], [1, -100]])
    loss = F.cross_entropy(x, labels, weight, label_smoothing=0.1)
    assert loss.dtype == dtype and loss.shape == ()
    loss.backward()
    assert x.grad.dtype == dtype and x.grad.shape == (2, 3, 2)
    np.testing.assert_array_equal(x.grad[1, :, 1], 0)  # the ignored position


def test_unbatched_and_empty_inputs():
    x = f64([1.0, 2.0, 0.5])
    loss = F.cross_entropy(x, np.array(1), reduction="none")
    assert loss.shape == () and loss.item() == pytest.approx(-numpy_log_softmax(x.data, 0)[1])
    assert F.nll_loss(x, np.array(2), reduction="none").item() == -0.5
    empty = f64(np.zeros((0, 3)))
    for weight in (None, [1.0, 2.0, 3.0]):
        assert F.cross_entropy(empty, np.zeros(0, int), weight, reduction="sum").item() == 0.0
        assert F.cross_entropy(empty, np.zeros(0, int), weight, reduction="none").shape == (0,)


def test_loss_modules_take_the_same_options():
    logits, labels, _ = case((2, 4, 3), (2, 3), seed=3)
    x = f64(logits)
    weight = mg.tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64)
    module = nn.CrossEntropyLoss(weight=weight, ignore_index=2, label_smoothing=0.1)
    function = F.cross_entropy(x, labels, weight, ignore_index=2, label_smoothing=0.1)
    np.testing.assert_allclose(module(x, labels).data, function.data, rtol=1e-15)
    log_probs = x.log_softmax(dim=1)
    nll = nn.NLLLoss(weight, ignore_index=0, reduction="sum")(log_probs, labels)
    expected = F.nll_loss(log_probs, labels, weight, ignore_index=0, reduction="sum")
    assert nll.item() == expected.item()
    assert repr(module) == (
        "CrossEntropyLoss(weight=tensor([1., 2., 3., 4.], dtype=float64), ignore_index=2, "
        "reduction='mean', label_smoothing=0.1)"
    )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x, y: F.cross_entropy(x, y, "sum"), TypeError, "pass reduction= by keyword"),
        (lambda x, y: F.cross_entropy(x, y, [1.0, 2.0]), ValueError, r"weight must be 3 numbers"),
        (
            lambda x, y: F.nll_loss(x, y, mg.ones(3, requires_grad=True)),
            ValueError,
            "weight requires grad",
        ),
        (
            lambda x, y: F.cross_entropy(x, y, label_smoothing=1.5),
            ValueError,
            r"label_smoothing must be in \[0, 1\], got 1.5",
        ),
        (lambda x, y: F.cross_entropy(x, y, ignore_index=0.5), TypeError, "ignore_index must be"),
        (
            lambda x, y: F.cross_entropy(x, np.array([0, -100]), ignore_index=-1),
            IndexError,
            "target holds class -100 but input has 3 classes",
        ),
        (
            lambda x, y: F.cross_entropy(x.reshape(2, 3, 1), y),
            ValueError,
            r"expected input of shape \(C,\), \(N, C\) or \(N, C, d1, ..., dK\) .* got input "
            r"\(2, 3, 1\) and target \(2,\)",
        ),
        (
            lambda x, y: F.nll_loss(x[0], y),
            ValueError,
            r"expected input of shape \(C,\) and target of shape \(\), got input \(3,\)",
        ),
        (lambda x, y: F.cross_entropy(x[0, 0], y), ValueError, r"got input \(\)"),
    ],
)
def test_class_losses_refuse_bad_options(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.zeros(2, 3), np.array([0, 1]))


# ---- binary_cross_entropy_with_logits: weight and pos_weight ------------------------------------


def reference_bce_with_logits(x, y, weight=None, pos_weight=None):
    """-w (p y log sigma(x) + (1 - y) log(1 - sigma(x))), as PyTorch's docs write it."""
    sigma = 1 / (1 + np.exp(-x))
    p = 1.0 if pos_weight is None else pos_weight
    w = 1.0 if weight is None else weight
    return -w * (p * y * np.log(sigma) + (1 - y) * np.log(1 - sigma))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_weight_and_pos_weight_follow_pytorchs_formula(reduction, seeded):
    x = mg.randn(4, 3, dtype=np.float64, requires_grad=True)
    y = (np.random.default_rng(0).random((4, 3)) > 0.5).astype(np.float64)
    weight, pos_weight = np.array([[0.5], [1.0], [2.0], [1.5]]), np.array([3.0, 1.0, 0.25])
    loss = F.binary_cross_entropy_with_logits(
        x, y, weight, reduction=reduction, pos_weight=pos_weight
    )
    expected = reference_bce_with_logits(x.data, y, weight, pos_weight)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)

    def with_options(t):
        return F.binary_cross_entropy_with_logits(
            t, y, weight, reduction=reduction, pos_weight=pos_weight
        )

    assert mg.gradcheck(with_options, [x]) and mg.gradgradcheck(with_options, [x])


def test_bce_with_logits_pos_weight_gradient_and_stability():
    # d/dx of (1 - y) softplus(x) + p y softplus(-x) = (1 - y) sigma(x) - p y (1 - sigma(x))
    x = f64([0.0, 0.0, 1000.0, -1000.0])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    with np.errstate(over="raise", invalid="raise"):
        loss = F.binary_cross_entropy_with_logits(x, y, reduction="sum", pos_weight=mg.tensor(2.0))
        loss.backward()
    assert loss.item() == pytest.approx(3 * math.log(2) + 2000.0)
    np.testing.assert_allclose(x.grad, [-1.0, 0.5, 0.0, -2.0])
    module = nn.BCEWithLogitsLoss(reduction="sum", pos_weight=mg.tensor(2.0))
    assert module(x, y).item() == loss.item()


def test_bce_with_logits_refuses_a_weight_that_broadcasts_the_loss():
    with pytest.raises(
        ValueError, match=r"pos_weight of shape \(4,\) does not broadcast .* \(2, 3\)"
    ):
        F.binary_cross_entropy_with_logits(mg.zeros(2, 3), mg.zeros(2, 3), pos_weight=np.ones(4))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 2, 3\) does not broadcast"):
        F.binary_cross_entropy_with_logits(mg.zeros(2, 3), mg.zeros(2, 3), np.ones((2, 2, 3)))
    with pytest.raises(TypeError, match="pass reduction= by keyword"):
        F.binary_cross_entropy_with_logits(mg.zeros(2), mg.zeros(2), "sum")


# ---- cross_entropy with class probabilities ------------------------------------------------------


def reference_soft_cross_entropy(logits, p, weight=None, reduction="mean", smoothing=0.0):
    """PyTorch's definition for probability targets, classes on axis 1 (0 when unbatched)."""
    axis = 0 if logits.ndim == 1 else 1
    classes = logits.shape[axis]
    p = p * (1 - smoothing) + smoothing / classes
    w = np.ones(classes) if weight is None else np.asarray(weight)
    w = w.reshape((classes,) + (1,) * (logits.ndim - 1 - axis))
    losses = -(w * p * numpy_log_softmax(logits, axis)).sum(axis=axis)
    return {"mean": losses.sum() / losses.size, "sum": losses.sum(), "none": losses}[reduction]


@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 4, 3, 2)], ids=str)
@pytest.mark.parametrize("weight", [None, [0.5, 2.0, 1.0, 3.0]])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_class_probabilities_equals_pytorchs_definition(
    shape, weight, reduction, smoothing
):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal(shape)
    axis = 0 if len(shape) == 1 else 1
    p = rng.random(shape)
    p /= p.sum(axis=axis, keepdims=True)
    loss = F.cross_entropy(f64(logits), p, weight, reduction=reduction, label_smoothing=smoothing)
    expected = reference_soft_cross_entropy(logits, p, weight, reduction, smoothing)
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)


def test_one_hot_probabilities_give_the_index_loss_but_weights_divide_differently():
    logits = f64([[0.0, 0.0], [math.log(3.0), 0.0]])
    one_hot = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert F.cross_entropy(logits, one_hot).item() == pytest.approx(
        F.cross_entropy(logits, [0, 1]).item(), rel=1e-14
    )
    # with weights (1, 3): the index form divides by 1 + 3, the probability form by N = 2
    soft = F.cross_entropy(logits, one_hot, weight=[1.0, 3.0])
    assert soft.item() == pytest.approx((math.log(2) + 3 * math.log(4)) / 2, rel=1e-14)


def test_probability_targets_gradcheck_twice_in_logits_and_targets(seeded):
    x = mg.randn(3, 4, dtype=np.float64, requires_grad=True)
    p = mg.tensor(np.full((3, 4), 0.25), dtype=np.float64, requires_grad=True)
    weight = np.array([1.0, 2.0, 0.5, 1.5])

    def loss(a, b):
        return F.cross_entropy(a, b, weight, label_smoothing=0.1)

    assert mg.gradcheck(loss, [x, p]) and mg.gradgradcheck(loss, [x, p])


def test_probability_targets_keep_the_dtype_and_refuse_ignore_index():
    x = mg.zeros(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, np.full((2, 3), 1 / 3, dtype=np.float32))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(math.log(3), rel=1e-6)
    loss.backward()
    assert x.grad.dtype == np.float32 and np.abs(x.grad).max() < 1e-7
    with pytest.raises(ValueError, match="ignore_index is for class-index targets"):
        F.cross_entropy(x, np.zeros((2, 3)), ignore_index=0)
    assert math.isnan(F.cross_entropy(mg.zeros(0, 3), np.zeros((0, 3))).item())


# ---- binary_cross_entropy: weight ---------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_weight_rescales_each_element(reduction):
    p = f64([[0.2, 0.9], [0.5, 0.7]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    weight = np.array([2.0, 0.5])  # per column, broadcast over the rows
    loss = F.binary_cross_entropy(p, y, weight, reduction=reduction)
    each = -weight * (y * np.log(p.data) + (1 - y) * np.log(1 - p.data))
    expected = {"mean": each.mean(), "sum": each.sum(), "none": each}[reduction]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-13)

    def weighted(a):
        return F.binary_cross_entropy(a, y, weight, reduction=reduction)

    assert mg.gradcheck(weighted, [p]) and mg.gradgradcheck(weighted, [p])
    module = nn.BCELoss(weight=mg.tensor(weight, dtype=np.float64), reduction=reduction)
    np.testing.assert_allclose(module(p, y).data, expected, rtol=1e-13)


def test_loss_modules_refuse_a_reduction_where_the_weight_goes():
    for module in (nn.BCELoss, nn.BCEWithLogitsLoss, nn.NLLLoss, nn.CrossEntropyLoss):
        with pytest.raises(TypeError, match="pass reduction= by keyword"):
            module("sum")
    with pytest.raises(TypeError, match="pass reduction= by keyword"):
        F.binary_cross_entropy(mg.full(2, 0.5), mg.zeros(2), "sum")
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        F.binary_cross_entropy(mg.full(2, 0.5), mg.zeros(2), np.ones(3))
