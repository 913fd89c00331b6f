"""Convolution and pooling: hand-computed values and gradients, the errors bad shapes and
arguments raise, the tracer's exact flop counts, second derivatives through the gradient
products, and the nn layers' shapes and initialization.

Forward against loop references, float64 gradcheck and gradgradcheck, float32 dtypes and freed
graphs run for these ops as rows of the op table in tests/test_ops.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, trace
from minigrad import functional as F

NINE = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
DIAGONAL = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # y = top-left minus bottom-right


def leaf(values) -> mg.Tensor:
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- hand-computed values and gradients -------------------------------------------------------


def test_conv2d_of_a_3x3_image_by_hand():
    """Each 2x2 window of 1..9 gives x[r, q] - x[r + 1, q + 1] = -4; summing y, x's corners
    are each read once, as +1 (top left) or -1 (bottom right), and W's tap (i, j) receives the
    sum of the four elements it read."""
    x, w, b = leaf(NINE), leaf(DIAGONAL), leaf([0.5])
    y = F.conv2d(x, w, b)
    np.testing.assert_array_equal(y.data, [[[[-3.5, -3.5], [-3.5, -3.5]]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 1, 0], [1, 0, -1], [0, -1, -1]])
    np.testing.assert_array_equal(w.grad[0, 0], [[1 + 2 + 4 + 5, 2 + 3 + 5 + 6], [24, 28]])
    np.testing.assert_array_equal(b.grad, [4.0])


def test_conv2d_with_padding_and_stride_by_hand():
    """Padded to 5x5 and read every second place, the windows start at padded (0, 0), (0, 2),
    (2, 0), (2, 2): 0 - 1, 0 - 3, 0 - 7 and 5 - 9."""
    x, w = leaf(NINE), leaf(DIAGONAL)
    y = F.conv2d(x, w, stride=2, padding=1)
    np.testing.assert_array_equal(y.data, [[[[-1, -3], [-7, -4]]]])
    y.sum().backward()
    # Padded (1, 1), (1, 3), (3, 1), (3, 3) are read as -1; padded (2, 2), x's centre, as +1.
    np.testing.assert_array_equal(x.grad[0, 0], [[-1, 0, -1], [0, 1, 0], [-1, 0, -1]])


def test_conv2d_groups_keep_channels_apart():
    """Two groups of one channel each, weights 1 and 10: each output sees only its own input."""
    x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])[None]
    w = np.array([1.0, 10.0]).reshape(2, 1, 1, 1)
    y = F.conv2d(mg.tensor(x), mg.tensor(w), groups=2)
    np.testing.assert_array_equal(y.data[0, :, 0, 0], [1.0, 20.0])


def test_conv1d_is_a_sliding_dot_product():
    x, w = leaf([[[1.0, 2.0, 3.0, 4.0]]]), leaf([[[1.0, -1.0]]])
    y = F.conv1d(x, w, padding=1)
    np.testing.assert_array_equal(y.data, [[[-1, -1, -1, -1, 4]]])
    assert y.shape == (1, 1, 5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[0, 0, 0, 0]]])
    np.testing.assert_array_equal(w.grad, [[[10, 10]]])


POOLED = np.array(
    [[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 1.0], [0.0, 2.0, 7.0, 7.0], [6.0, 1.0, 7.0, 3.0]]
)


def test_max_pool2d_sends_the_gradient_to_the_first_maximum():
    """The bottom-right window holds 7, 7, 7, 3: the tie goes to the first in row-major order."""
    x = leaf(POOLED[None, None])
    y = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data[0, 0], [[5, 8], [6, 7]])
    y.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    expected = np.zeros((4, 4))
    expected[0, 1], expected[1, 2], expected[3, 0], expected[2, 2] = 1, 2, 3, 4
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_gradients_add_up_where_windows_overlap():
    x = leaf([[[[1.0, 3.0, 2.0]]]])
    y = F.max_pool2d(x, (1, 2), stride=1)
    np.testing.assert_array_equal(y.data, [[[[3.0, 3.0]]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 2.0, 0.0]]]])


@pytest.mark.parametrize("kernel, stride", [(2, 3), (2, 2)])
def test_max_pool2d_gradient_is_zero_where_no_window_reads(kernel, stride):
    """On 5x5, 2x2 windows with stride 3 skip row and column 2, and with stride 2 never reach
    row and column 4: the gradient there is zero, not what the memory held before (a freed
    buffer of sevens of the same size is there to be reused)."""
    x = leaf(np.arange(25.0).reshape(1, 1, 5, 5))
    y = F.max_pool2d(x, kernel, stride=stride)
    del y
    np.full((1, 1, 5, 5), 7.0)  # freed at once, as a stale buffer for the gradient's image
    y = F.max_pool2d(x, kernel, stride=stride)
    y.sum().backward()
    expected = np.zeros((5, 5))
    for r in range(y.shape[2]):
        for c in range(y.shape[3]):
            expected[r * stride + 1, c * stride + 1] = 1.0  # each window's bottom-right element
    np.testing.assert_array_equal(x.grad[0, 0], expected)


def test_max_pool2d_pads_with_minus_infinity():
    """Each window holds one element of x and three of padding: a zero padding would win."""
    x = leaf([[[[-1.0, -2.0], [-3.0, -4.0]]]])
    y = F.max_pool2d(x, 2, padding=1)
    np.testing.assert_array_equal(y.data, x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((1, 1, 2, 2)))


def test_avg_pool2d_counts_the_padding():
    x = leaf([[[[1.0, 2.0], [3.0, 4.0]]]])
    y = F.avg_pool2d(x, 2, padding=1)
    np.testing.assert_array_equal(y.data, [[[[0.25, 0.5], [0.75, 1.0]]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((1, 1, 2, 2), 0.25))


def test_avg_pool2d_of_overlapping_windows_by_hand():
    x = leaf(NINE)
    y = F.avg_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(y.data[0, 0], [[3, 4], [6, 7]])
    y.sum().backward()
    np.testing.assert_array_equal(
        x.grad[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]
    )


# ---- second derivatives -----------------------------------------------------------------------


def test_mixed_second_derivative_through_the_gradient_products():
    """For L = sum(conv(x, w)^2) / 2, d/dw <dL/dx, v> runs backward through the recorded
    Conv2dInputGrad and Conv2dWeightGrad: it matches central differences of <dL/dx, v> in w."""
    rng = np.random.default_rng(0)
    x, w = leaf(rng.normal(size=(1, 2, 4, 4))), leaf(rng.normal(size=(3, 2, 2, 2)))
    v = rng.normal(size=x.shape)

    def loss(weights):
        return (F.conv2d(x, weights, stride=(1, 2), padding=1) ** 2).sum() / 2

    (grad_x,) = mg.grad(loss(w), x, create_graph=True)
    assert grad_x.grad_fn is not None
    (mixed,) = mg.grad((grad_x * mg.tensor(v)).sum(), w)

    def directional(weights) -> float:
        (g,) = mg.grad(loss(mg.tensor(weights)), x)
        return float((g.data * v).sum())

    numeric = np.zeros(w.shape)
    for index in np.ndindex(*w.shape):
        bump = np.zeros(w.shape)
        bump[index] = 1e-6
        numeric[index] = (directional(w.data + bump) - directional(w.data - bump)) / 2e-6
    np.testing.assert_allclose(mixed.data, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(mixed.data).max() > 0.1


# ---- bad shapes and arguments -----------------------------------------------------------------


SHAPE_ERRORS = {
    "wrong channels": (
        (1, 3, 5, 5),
        (2, 2, 3, 3),
        {},
        r"input has 3 channels \(shape \(1, 3, 5, 5\)\) but the weight \(shape \(2, 2, 3, 3\)\) "
        r"expects 2 x groups=1 = 2",
    ),
    "kernel larger than the padded input": (
        (1, 1, 2, 2),
        (1, 1, 3, 3),
        {},
        r"the kernel \(3, 3\) with dilation \(1, 1\) spans 3 along H, where the padded input "
        r"has only 2 \+ 2 x 0 = 2 \(input shape \(1, 1, 2, 2\), padding \(0, 0\)\)",
    ),
    "dilated kernel larger than the padded input": (
        (1, 1, 4, 4),
        (1, 1, 2, 2),
        {"dilation": 4, "padding": (1, 0)},
        r"the kernel \(2, 2\) with dilation \(4, 4\) spans 5 along W, where the padded input "
        r"has only 4 \+ 2 x 0 = 4",
    ),
    "groups not dividing": (
        (1, 3, 4, 4),
        (2, 1, 2, 2),
        {"groups": 2},
        r"groups=2 must divide both the input's 3 channels and the weight's 2 output channels",
    ),
    "3-D input": ((3, 5, 5), (2, 3, 3, 3), {}, r"input must be 4-D \(N, C, H, W\), got shape"),
    "3-D weight": ((1, 3, 5, 5), (2, 3, 3), {}, r"weight must be 4-D \(C_out, C_in / groups"),
}


@pytest.mark.parametrize(
    "x_shape, w_shape, options, message", SHAPE_ERRORS.values(), ids=SHAPE_ERRORS
)
def test_conv2d_shape_errors_name_what_was_expected(x_shape, w_shape, options, message):
    with pytest.raises(mg.ShapeError, match="conv2d: " + message):
        F.conv2d(mg.zeros(x_shape), mg.zeros(w_shape), **options)


def test_conv2d_checks_the_bias_shape():
    with pytest.raises(mg.ShapeError, match=r"bias must have shape \(2,\), got \(3,\)"):
        F.conv2d(mg.zeros(1, 1, 3, 3), mg.zeros(2, 1, 2, 2), mg.zeros(3))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"stride": 0}, "stride must be an int or a pair of ints, each at least 1, got 0"),
        ({"padding": -1}, "padding must be .* at least 0, got -1"),
        ({"dilation": (1, 2, 3)}, r"dilation must be .*got \(1, 2, 3\)"),
        ({"stride": 1.5}, "stride must be .*got 1.5"),
        ({"groups": 0}, "groups must be an int at least 1, got 0"),
    ],
)
def test_conv2d_argument_errors(options, message):
    with pytest.raises(ValueError, match="conv2d: " + message):
        F.conv2d(mg.zeros(1, 2, 4, 4), mg.zeros(2, 2, 2, 2), **options)


def test_conv1d_errors_speak_of_one_dimension():
    with pytest.raises(mg.ShapeError, match=r"conv1d: input must be 3-D \(N, C, L\)"):
        F.conv1d(mg.zeros(1, 2, 4, 4), mg.zeros(2, 2, 2))
    with pytest.raises(
        ValueError, match="conv1d: stride must be an int at least 1, got \\(1, 2\\)"
    ):
        F.conv1d(mg.zeros(1, 2, 4), mg.zeros(2, 2, 2), stride=(1, 2))


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pooling_errors(pool):
    name = pool.__name__
    with pytest.raises(ValueError, match=rf"{name}: padding \(2, 2\) must be at most half"):
        pool(mg.zeros(1, 1, 4, 4), 3, padding=2)
    with pytest.raises(mg.ShapeError, match=rf"{name}: the kernel \(5, 5\) .* spans 5 along H"):
        pool(mg.zeros(1, 1, 4, 4), 5)
    with pytest.raises(mg.ShapeError, match=rf"{name}: input must be 4-D"):
        pool(mg.zeros(4, 4), 2)
    with pytest.raises(ValueError, match=rf"{name}: kernel_size must be .*got 0"):
        pool(mg.zeros(1, 1, 4, 4), 0)


# ---- exact flops in the tracer ----------------------------------------------------------------


def test_tracer_counts_conv_flops_exactly():
    """Forward 2 N C_out H_out W_out (C_in / groups) kH kW; backward that product once per
    gradient, plus col2im's N C_in H_out W_out kH kW adds for the input's."""
    n, c_in, c_out, groups, size, k = 2, 4, 6, 2, 7, 3
    x = mg.randn(n, c_in, size, size, requires_grad=True)
    w = mg.randn(c_out, c_in // groups, k, k, requires_grad=True)
    with trace.Tracer() as tracer:
        y = F.conv2d(x, w, stride=2, padding=1, groups=groups)
        y.sum().backward()
    out = (size + 2 - k) // 2 + 1
    product = 2 * n * c_out * out * out * (c_in // groups) * k * k
    conv = [r for r in tracer.records if r.op == "Conv2d"]
    assert [(r.phase, r.matmul_flops, r.other_flops) for r in conv] == [
        ("forward", product, 0),
        ("backward", 2 * product, n * c_in * out * out * k * k),
    ]


def test_tracer_counts_the_weight_gradient_alone_for_a_constant_input():
    x = mg.randn(1, 3, 5, 5)
    w = mg.randn(2, 3, 2, 2, requires_grad=True)
    with trace.Tracer() as tracer:
        F.conv2d(x, w).sum().backward()
    (backward,) = [r for r in tracer.records if r.op == "Conv2d" and r.phase == "backward"]
    assert (backward.matmul_flops, backward.other_flops) == (2 * 2 * 4 * 4 * 3 * 2 * 2, 0)


# ---- nn layers --------------------------------------------------------------------------------


def test_conv2d_layer_shapes_and_parameters():
    layer = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2)
    assert layer.weight.shape == (6, 2, 3, 2) and layer.bias.shape == (6,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    y = layer(mg.randn(5, 4, 9, 8))
    assert y.shape == (5, 6, 5, 5) and y.dtype == np.float32
    assert repr(layer) == (
        "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), groups=2)"
    )


def test_conv1d_layer_shapes_without_bias():
    layer = nn.Conv1d(3, 5, 4, dilation=2, bias=False, dtype=np.float64)
    assert layer.bias is None and layer.weight.dtype == np.float64
    assert layer(mg.randn(2, 3, 20, dtype=np.float64)).shape == (2, 5, 14)


@pytest.mark.parametrize("layer", [nn.Conv2d(32, 64, 3, groups=2), nn.Conv1d(48, 64, 3)])
def test_conv_init_is_pytorchs_uniform_with_bound_one_over_root_fan_in(layer, seeded):
    """fan_in = (C_in / groups) prod(kernel) = 144 for both: U(-1/12, 1/12), std 1/(12 sqrt 3)."""
    bound = 1 / math.sqrt(144)
    weights, bias = layer.weight.data, layer.bias.data
    assert np.abs(weights).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weights).max() > 0.99 * bound
    assert weights.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert abs(weights.mean()) < 0.05 * bound


def test_conv_layer_argument_errors():
    with pytest.raises(ValueError, match="Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be .*got 0"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="MaxPool2d: padding \\(2, 2\\) must be at most half"):
        nn.MaxPool2d(2, padding=2)


def test_pooling_layers_and_flatten_feed_a_linear_head():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2, stride=1),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 10),
    )
    assert repr(model[2]) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    x = mg.randn(3, 1, 8, 8)
    features = model[:4](x)
    np.testing.assert_array_equal(model[4](features).data, F.flatten(features, 1).data)
    assert F.flatten(features).shape == (3 * 4 * 3 * 3,)
    out = model(x)
    assert out.shape == (3, 10)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


@pytest.mark.parametrize("groups", [1, 2])
def test_an_empty_batch_convolves_to_an_empty_batch_with_zero_weight_gradients(groups):
    x = mg.tensor(np.zeros((0, 4, 5, 5)), requires_grad=True)
    w = mg.tensor(np.ones((6, 4 // groups, 3, 3)), requires_grad=True)
    b = mg.tensor(np.ones(6), requires_grad=True)
    y = F.conv2d(x, w, b, padding=1, groups=groups)
    assert y.shape == (0, 6, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 4, 5, 5)
    np.testing.assert_array_equal(w.grad, np.zeros(w.shape))
    np.testing.assert_array_equal(b.grad, np.zeros(6))
    line = F.conv1d(mg.tensor(np.zeros((0, 2, 7))), mg.tensor(np.ones((3, 2, 3))))
    assert line.shape == (0, 3, 5)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d], ids=["max", "avg"])
def test_an_empty_batch_pools_to_an_empty_batch(pool):
    x = mg.tensor(np.zeros((0, 3, 4, 4)), requires_grad=True)
    y = pool(x, 2)
    assert y.shape == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 4, 4)


def test_max_pool2d_sends_the_gradient_to_the_first_nan():
    """max lets NaN through, and the window's first NaN (row-major) takes the gradient."""
    x = leaf([[[[1.0, np.nan], [np.nan, 2.0]]]])
    y = F.max_pool2d(x, 2)
    assert np.isnan(y.data).all()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_max_pool2d_ties_go_first_in_overlapping_padded_windows():
    """Stride 1 and padding 1 on equal values: each window's first element of x takes its
    gradient, the windows sharing the top-left corner add up there."""
    x = leaf(np.ones((1, 1, 2, 2)))
    y = F.max_pool2d(x, 2, stride=1, padding=1)
    assert y.shape == (1, 1, 3, 3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[4.0, 2.0], [2.0, 1.0]]]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d], ids=["max", "avg"])
def test_pooling_keeps_the_dtype(pool, dtype):
    x = mg.tensor(np.arange(32, dtype=dtype).reshape(2, 1, 4, 4), requires_grad=True)
    y = pool(x, 2)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == dtype and x.grad.shape == x.shape


def test_max_pool2d_of_minus_infinity_sends_the_gradient_to_x_not_the_padding():
    """Windows of -inf elements tie with the -inf padding: as PyTorch, each window's first
    element of x takes the gradient, none of it is lost in the padding."""
    x = leaf(np.full((1, 1, 2, 2), -np.inf))
    y = F.max_pool2d(x, 2, stride=1, padding=1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[4.0, 2.0], [2.0, 1.0]]]])
