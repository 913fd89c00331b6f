"""batch_norm, layer_norm, embedding, pad and dropout2d: known values against NumPy written out
by hand, PyTorch's running-statistics rule, float32 and float64, and their argument errors.
(Their gradients and second derivatives are checked by the op-table rows in test_ops.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import ShapeError
from minigrad.nn import functional as F

DTYPES = (np.float32, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_training_normalizes_each_channel_and_moves_the_running_statistics(dtype):
    x = np.arange(24, dtype=dtype).reshape(2, 3, 2, 2) ** 1.5
    mean, var = mg.zeros(3, dtype=dtype), mg.ones(3, dtype=dtype)
    weight, bias = mg.tensor([1.0, 2.0, -1.0], dtype=dtype), mg.tensor([0.0, 1.0, 3.0], dtype=dtype)
    y = F.batch_norm(mg.tensor(x), mean, var, weight, bias, training=True, momentum=0.25, eps=0.1)
    per_channel = x.transpose(1, 0, 2, 3).reshape(3, -1)  # 8 values per channel
    mu, biased = per_channel.mean(axis=1), per_channel.var(axis=1)
    expected = (x - mu[:, None, None]) / np.sqrt(biased[:, None, None] + 0.1)
    expected = expected * weight.data[:, None, None] + bias.data[:, None, None]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert y.dtype == dtype and mean.dtype == dtype and var.dtype == dtype
    np.testing.assert_allclose(y.data, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(mean.data, 0.25 * mu, rtol=tolerance)
    # Into the running variance goes the unbiased variance, 8/7 of the biased one.
    np.testing.assert_allclose(var.data, 0.75 + 0.25 * biased * 8 / 7, rtol=tolerance)


def test_batch_norm_evaluation_uses_the_running_statistics_and_leaves_them():
    x = mg.tensor([[1.0, 2.0], [3.0, 6.0]])
    mean, var = mg.tensor([1.0, 2.0]), mg.tensor([4.0, 16.0])
    y = F.batch_norm(x, mean, var, training=False, eps=0.0)
    np.testing.assert_allclose(y.data, [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(mean.data, [1.0, 2.0])
    np.testing.assert_array_equal(var.data, [4.0, 16.0])


def test_batch_norm_gradient_matches_the_closed_form():
    """dL/dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps) per channel."""
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    t = mg.tensor(x, requires_grad=True)
    F.batch_norm(t, None, None, training=True, eps=1e-5).backward(g)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    expected = (g - g.mean(0) - x_hat * (g * x_hat).mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(t.grad, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.batch_norm(mg.zeros(3), None, None, training=True), ShapeError, "at least 2"),
        (lambda: F.batch_norm(mg.zeros(1, 3), None, None, training=True), ValueError, "than 1"),
        (lambda: F.batch_norm(mg.zeros(2, 3), None, None), ValueError, "running_mean"),
        (lambda: F.batch_norm(mg.zeros(2, 3), mg.zeros(2), None), ShapeError, r"\(3,\)"),
        (
            lambda: F.batch_norm(mg.zeros(2, 3), None, None, mg.ones(4), training=True),
            ShapeError,
            "weight",
        ),
        (
            lambda: F.batch_norm(mg.zeros(2, 3), None, None, training=True, momentum=2),
            ValueError,
            "momentum",
        ),
    ],
)
def test_batch_norm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_normalizes_each_example_over_its_trailing_axes(dtype):
    x = np.array([[[1.0, 2.0], [3.0, 6.0]], [[0.0, 0.0], [0.0, 4.0]]], dtype=dtype)
    weight = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype)
    y = F.layer_norm(mg.tensor(x), (2, 2), weight, None, eps=0.0)
    # Example 0: mean 3, biased variance 3.5; example 1: mean 1, variance 3.
    first = (x[0] - 3) / np.sqrt(3.5) * weight.data
    second = (x[1] - 1) / np.sqrt(3.0) * weight.data
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, np.stack([first, second]), rtol=1e-6)


@pytest.mark.parametrize("shape", [3, (2, 3), (4,)])
def test_layer_norm_needs_the_trailing_axes(shape):
    with pytest.raises(ShapeError, match="trailing axes"):
        F.layer_norm(mg.zeros(2, 3, 2), shape)


def test_layer_norm_checks_weight_shape():
    with pytest.raises(ShapeError, match="weight must have shape"):
        F.layer_norm(mg.zeros(2, 3), 3, mg.ones(2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding_picks_rows_and_adds_the_gradients_of_a_repeated_index(dtype):
    weight = mg.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True, dtype=dtype)
    out = F.embedding(mg.tensor(np.array([[2, 0], [2, 2]])), weight)
    np.testing.assert_array_equal(out.data, [[[4, 5], [0, 1]], [[4, 5], [4, 5]]])
    out.backward(np.ones((2, 2, 2)))
    assert weight.grad.dtype == dtype
    np.testing.assert_array_equal(weight.grad, [[1, 1], [0, 0], [3, 3], [0, 0]])


@pytest.mark.parametrize("padding_idx", [2, -2])
def test_embedding_padding_row_is_picked_but_gets_no_gradient(padding_idx):
    weight = mg.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    out = F.embedding(np.array([[0, 2], [2, 0]]), weight, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.data, [[[0, 1], [4, 5]], [[4, 5], [0, 1]]])
    out.backward(np.ones((2, 2, 2)))
    np.testing.assert_array_equal(weight.grad, [[2, 2], [0, 0], [0, 0], [0, 0]])


@pytest.mark.parametrize(
    "padding_idx, error, message",
    [(4, ValueError, r"within -4\.\.3"), (-5, ValueError, "got -5"), (1.0, TypeError, "an int")],
)
def test_embedding_padding_idx_errors(padding_idx, error, message):
    with pytest.raises(error, match=message):
        F.embedding(np.array([0]), mg.zeros(4, 2), padding_idx=padding_idx)


def test_embedding_of_a_single_index_is_one_row():
    weight = mg.tensor(np.eye(3))
    np.testing.assert_array_equal(F.embedding(np.array(1), weight).data, [0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    "indices, weight, error, message",
    [
        (np.array([0.0]), mg.zeros(3, 2), TypeError, "integers"),
        (np.array([3]), mg.zeros(3, 2), IndexError, "index 3 is out of range for 3 rows"),
        (np.array([-1]), mg.zeros(3, 2), IndexError, "index -1"),
        (np.array([0]), mg.zeros(3), ShapeError, "2-D"),
    ],
)
def test_embedding_errors(indices, weight, error, message):
    with pytest.raises(error, match=message):
        F.embedding(indices, weight)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pad_orders_widths_from_the_last_axis_and_cuts_the_gradient_back(dtype):
    x = mg.tensor([[1.0, 2.0]], requires_grad=True, dtype=dtype)
    y = F.pad(x, (1, 0, 0, 2), value=-1.0)
    np.testing.assert_array_equal(y.data, [[-1, 1, 2], [-1, -1, -1], [-1, -1, -1]])
    y.backward(np.arange(9.0).reshape(3, 3))
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad, [[1.0, 2.0]])


def test_pad_of_nothing_is_the_input():
    x = mg.tensor(2.0)
    assert F.pad(x, ()).item() == 2.0


@pytest.mark.parametrize(
    "pad, mode, message",
    [
        ((1,), "constant", "even number"),
        ((1, 1, 1, 1), "constant", "at most 2 x 1"),
        ((-1, 0), "constant", "non-negative"),
        ((1.5, 0), "constant", "ints"),
        ((1, 1), "reflect", "mode must be 'constant'"),
    ],
)
def test_pad_errors(pad, mode, message):
    with pytest.raises(ValueError, match=message):
        F.pad(mg.zeros(3), pad, mode=mode)


def test_dropout2d_drops_whole_channels_and_scales_the_rest():
    mg.manual_seed(0)
    y = F.dropout2d(mg.ones(8, 16, 3, 3), p=0.5).data
    per_channel = y.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()  # one value per channel
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    x = mg.ones(2, 3, 4, 4)
    assert F.dropout2d(x, 0.5, training=False) is x


def test_dropout2d_errors():
    with pytest.raises(ValueError, match="probability"):
        F.dropout2d(mg.ones(1, 1, 2, 2), p=1.0)
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        F.dropout2d(mg.ones(2, 2), p=0.5)
