"""Residuals: what a recorded forward keeps for its VJP besides its inputs (a convolution's im2col
matrix, a max pool's arg-max taps). The gradient from them must equal the one computed from the
inputs alone (the VJP given None, as under create_graph and in the gradient checks), they are
kept only for a wanted gradient that reads them, and they never stand for the output.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import ops

RNG = np.random.default_rng(7)


def leaf(*shape) -> mg.Tensor:
    return mg.tensor(RNG.standard_normal(shape), requires_grad=True)


CONVOLUTIONS = [  # (x shape, weight shape, stride, padding, dilation, groups)
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0, 1, 1),
    ((1, 2, 7, 6), (2, 2, 2, 3), (2, 1), (1, 0), (1, 2), 1),
    ((2, 4, 4, 4), (6, 2, 2, 2), 1, 1, 1, 2),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation, groups", CONVOLUTIONS)
def test_conv2d_weight_gradient_from_the_kept_matrix_equals_the_one_from_x(
    x_shape, w_shape, stride, padding, dilation, groups
):
    x, w = leaf(*x_shape), leaf(*w_shape)
    y = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    node = y.grad_fn
    assert node.op is ops.Conv2d
    assert node.out is not None and node.output is None  # the matrix, never shown as the output
    g = RNG.standard_normal(y.shape)
    kept = ops.Conv2d.vjp(g, node.out, node.saved, (True, True), *node.params)
    alone = ops.Conv2d.vjp(g, None, node.saved, (True, True), *node.params)
    np.testing.assert_array_equal(kept[0], alone[0])
    np.testing.assert_array_equal(kept[1], alone[1])
    y.backward(g)
    np.testing.assert_array_equal(w.grad, alone[1])


def test_a_frozen_convolution_keeps_no_matrix():
    """The matrix serves only the weight's gradient: with the weight frozen, nothing is kept."""
    x, w = leaf(2, 1, 6, 6), mg.tensor(RNG.standard_normal((3, 1, 3, 3)))
    y = F.conv2d(x, w)
    assert y.grad_fn.out is None
    params = y.grad_fn.params  # let go of by backward
    y.sum().backward()
    expected = ops.Conv2dInputGrad.forward(np.ones(y.shape), w.data, x.shape, *params)
    np.testing.assert_array_equal(x.grad, expected)


def test_no_grad_keeps_nothing_and_gives_the_same_output():
    x, w = leaf(2, 2, 5, 5), leaf(3, 2, 3, 3)
    recorded = F.conv2d(x, w)
    with mg.no_grad():
        plain = F.conv2d(x, w)
    assert plain.grad_fn is None
    np.testing.assert_array_equal(plain.data, recorded.data)


POOLS = [  # (x shape, kernel, stride, padding)
    ((2, 3, 6, 6), 2, 2, 0),
    ((1, 2, 5, 5), 3, 1, 1),
    ((1, 1, 5, 6), (2, 3), (1, 2), (1, 1)),
]


@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOLS)
def test_max_pool2d_gradient_from_the_kept_taps_equals_the_one_from_x(
    x_shape, kernel, stride, padding
):
    values = RNG.integers(-2, 3, size=x_shape).astype(np.float64)  # ties in many windows
    values.flat[::7] = np.nan  # and NaNs in some
    x = mg.tensor(values, requires_grad=True)
    y = F.max_pool2d(x, kernel, stride=stride, padding=padding)
    node = y.grad_fn
    assert node.out.dtype == np.intp and node.output is None
    g = RNG.standard_normal(y.shape)
    (kept,) = ops.MaxPool2d.vjp(g, node.out, node.saved, (True,), *node.params)
    (alone,) = ops.MaxPool2d.vjp(g, None, node.saved, (True,), *node.params)
    np.testing.assert_array_equal(kept, alone)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, alone)


def test_an_in_place_op_on_a_max_pool_output_is_allowed():
    """Max pooling keeps its taps, not its output (as PyTorch keeps indices): a ReLU in place on
    the pooled values changes nothing the pool's backward reads."""
    x = mg.tensor([[[[1.0, -2.0], [-3.0, -4.0]], [[-1.0, -2.0], [-3.0, -5.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.relu_()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(x.grad[0, 1], np.zeros((2, 2)))


def test_a_retained_graph_reuses_the_residuals_unchanged():
    x, w = leaf(2, 2, 6, 6), leaf(3, 2, 3, 3)
    loss = (F.max_pool2d(F.conv2d(x, w), 2) ** 2).sum()
    loss.backward(retain_graph=True)
    first = (x.grad.copy(), w.grad.copy())
    x.grad = w.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad, first[0])
    np.testing.assert_array_equal(w.grad, first[1])


def test_second_derivatives_through_a_convolution_and_a_max_pool():
    """Under create_graph the VJPs get no residuals and apply recorded ops to x, so the weight
    gradient's dependence on x is differentiated too (a constant matrix would lose it)."""
    x, w = leaf(1, 2, 6, 6), leaf(2, 2, 3, 3)

    def fn(x, w):
        return F.max_pool2d(F.conv2d(x, w), 2) ** 2

    assert mg.gradgradcheck(fn, (x, w))
