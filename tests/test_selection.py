"""minigrad.selection and the PyTorch-named Tensor methods around it: gather, topk, masked_fill,
clamp with Tensor bounds, squeeze/unsqueeze(dim), size(), the new_* factories and to(): values
against NumPy built independently here, gradients (twice) against finite differences, shapes and
dtypes of the gradients, 0-d and empty inputs, and the errors for bad input."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import ShapeError


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


DTYPES = [np.float32, np.float64]


# ---- gather -----------------------------------------------------------------------------------


def numpy_gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """out[i][j][k] = x[i][index[i][j][k]][k] for dim 1, element by element."""
    out = np.empty(index.shape, dtype=x.dtype)
    for position in np.ndindex(index.shape):
        source = list(position)
        source[dim] = index[position]
        out[position] = x[tuple(source)]
    return out


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_gather_picks_as_pytorch_defines_it(dim, seeded):
    x = mg.randn(3, 4, 5, dtype=np.float64)
    rng = np.random.default_rng(dim + 5)
    shape = [2, 3, 4]
    shape[dim] = 6  # along dim the index may be longer than x, and repeat
    index = rng.integers(0, x.shape[dim], size=shape)
    np.testing.assert_array_equal(x.gather(dim, index).data, numpy_gather(x.data, dim, index))


def test_gather_gradient_adds_up_over_repeated_indices():
    x = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = x.gather(1, mg.tensor([[0, 0, 2], [1, 1, 1]]))
    np.testing.assert_array_equal(out.data, [[1.0, 1.0, 3.0], [5.0, 5.0, 5.0]])
    out.backward(np.array([[1.0, 10.0, 100.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(x.grad, [[11.0, 0.0, 100.0], [0.0, 6.0, 0.0]])


def test_gather_gradchecks_twice(seeded):
    x = mg.randn(3, 4, dtype=np.float64, requires_grad=True)
    index = np.array([[3, 0, 0], [1, 1, 2], [0, 3, 3]])
    assert mg.gradcheck(lambda t: t.gather(1, index) ** 2, [x])
    assert mg.gradgradcheck(lambda t: t.gather(1, index) ** 2, [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_gradient_has_the_input_shape_and_dtype(dtype):
    x = mg.tensor(np.arange(6.0).reshape(2, 3), dtype=dtype, requires_grad=True)
    x.gather(0, [[1, 0, 1]]).sum().backward()
    assert x.grad.shape == (2, 3) and x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 1]])


def test_gather_of_a_0d_tensor_and_with_an_empty_index():
    x = f64(2.5)
    out = x.gather(0, np.array(0))
    assert out.shape == () and out.item() == 2.5
    out.backward()
    assert x.grad.shape == () and x.grad == 1.0
    y = f64([[1.0, 2.0]])
    empty = y.gather(1, np.zeros((1, 0), dtype=np.int64))
    assert empty.shape == (1, 0)
    empty.sum().backward()
    np.testing.assert_array_equal(y.grad, [[0.0, 0.0]])


@pytest.mark.parametrize(
    "index, error, message",
    [
        (np.array([[0.0, 1.0]]), TypeError, "index must hold integers, got dtype float64"),
        (np.array([0, 1]), ShapeError, "index has 1 dimensions .* the input has 2"),
        (np.array([[0], [1], [0]]), ShapeError, "larger than the input shape .* in dimension 0"),
        (np.array([[0, 3]]), IndexError, "index 3 is out of range for dimension 1 of size 3"),
        (np.array([[-1, 0]]), IndexError, "index -1 is out of range"),
    ],
)
def test_gather_refuses_an_index_that_does_not_fit(index, error, message):
    with pytest.raises(error, match=message):
        f64(np.zeros((2, 3))).gather(1, index)


def test_gather_refuses_a_dim_out_of_range():
    with pytest.raises(IndexError, match="axis 2 is out of range"):
        f64(np.zeros((2, 3))).gather(2, np.zeros((2, 3), dtype=int))


# ---- topk -------------------------------------------------------------------------------------


def test_topk_returns_values_and_indices_as_a_named_pair():
    x = f64([[1.0, 5.0, 3.0, 4.0], [0.0, -1.0, 2.0, 7.0]])
    values, indices = x.topk(2)
    np.testing.assert_array_equal(values.data, [[5.0, 4.0], [7.0, 2.0]])
    np.testing.assert_array_equal(indices.data, [[1, 3], [3, 2]])
    assert indices.dtype == np.int64 and not indices.requires_grad
    smallest = x.topk(1, dim=0, largest=False)
    np.testing.assert_array_equal(smallest.values.data, [[0.0, -1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(smallest.indices.data, [[1, 1, 1, 0]])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0, 1], [0, 0, 1, 1]])


@pytest.mark.parametrize("largest", [True, False])
def test_topk_agrees_with_a_full_sort(largest, seeded):
    x = mg.randn(4, 6, dtype=np.float64)
    values, indices = x.topk(4, dim=1, largest=largest)
    ordered = np.sort(x.data, axis=1)
    expected = ordered[:, ::-1][:, :4] if largest else ordered[:, :4]
    np.testing.assert_array_equal(values.data, expected)
    np.testing.assert_array_equal(np.take_along_axis(x.data, indices.data, 1), expected)


def test_topk_counts_nan_as_the_largest():
    values, indices = f64([1.0, np.nan, 3.0]).topk(2)
    assert np.isnan(values.data[0]) and values.data[1] == 3.0 and indices.tolist() == [1, 2]


def test_topk_gradchecks_twice(seeded):
    x = mg.randn(3, 5, dtype=np.float64, requires_grad=True)
    assert mg.gradcheck(lambda t: t.topk(2, dim=1).values ** 2, [x])
    assert mg.gradgradcheck(lambda t: t.topk(2, dim=0).values ** 2, [x])


@pytest.mark.parametrize("dtype", DTYPES)
def test_topk_of_0d_and_of_k_zero(dtype):
    x = mg.tensor(3.0, dtype=dtype, requires_grad=True)
    values, indices = x.topk(1)
    assert values.shape == indices.shape == () and values.item() == 3.0 and indices.item() == 0
    values.backward()
    assert x.grad.dtype == dtype and x.grad == 1.0
    none = mg.tensor([[1.0, 2.0]], dtype=dtype).topk(0)
    assert none.values.shape == (1, 0) and none.values.dtype == dtype


def test_topk_refuses_k_out_of_range_or_not_an_int():
    with pytest.raises(ValueError, match="k=4 is out of range for dimension 1 of size 3"):
        f64(np.zeros((2, 3))).topk(4)
    with pytest.raises(ValueError, match="k=-1 is out of range"):
        f64(np.zeros(3)).topk(-1)
    with pytest.raises(TypeError, match="k must be an int, got float 2.0"):
        f64(np.zeros(3)).topk(2.0)


# ---- masked_fill ------------------------------------------------------------------------------


def test_masked_fill_fills_where_the_mask_holds_and_broadcasts_it():
    x = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = mg.tensor([True, False, True])
    out = x.masked_fill(mask, -1.0)
    np.testing.assert_array_equal(out.data, [[-1.0, 2.0, -1.0], [-1.0, 5.0, -1.0]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])


def test_masked_fill_with_a_0d_tensor_value_sends_it_the_filled_gradient():
    x = f64([1.0, 2.0, 3.0])
    value = f64(0.5)
    out = x.masked_fill(np.array([True, True, False]), value)
    np.testing.assert_array_equal(out.data, [0.5, 0.5, 3.0])
    (out * f64([1.0, 10.0, 100.0], requires_grad=False)).sum().backward()
    assert value.grad == 11.0 and value.grad.shape == ()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 100.0])


def test_masked_fill_gradchecks_twice(seeded):
    x = mg.randn(2, 3, dtype=np.float64, requires_grad=True)
    value = f64(0.25)
    mask = np.array([[True, False, False], [False, True, True]])
    assert mg.gradcheck(lambda t, v: t.masked_fill(mask, v) ** 2, [x, value])
    assert mg.gradgradcheck(lambda t, v: t.masked_fill(mask, v) ** 2, [x, value])


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
def test_masked_fill_keeps_the_dtype_and_handles_0d_and_empty(dtype):
    x = mg.tensor(np.arange(3), dtype=dtype)
    assert x.masked_fill(x > 0, 7).tolist() == [0, 7, 7] and x.masked_fill(x > 0, 7).dtype == dtype
    assert mg.tensor(2, dtype=dtype).masked_fill(np.array(True), 9).tolist() == 9
    assert mg.zeros(0, 2, dtype=dtype).masked_fill(np.zeros(2, bool), 1).shape == (0, 2)


def test_masked_fill_refuses_bad_masks_and_values():
    x = f64(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="mask must be a bool tensor, got dtype int64"):
        x.masked_fill(np.array([1, 0, 1]), 0.0)
    with pytest.raises(ShapeError, match=r"mask of shape \(4, 3\) does not broadcast .* \(2, 3\)"):
        x.masked_fill(np.ones((4, 3), bool), 0.0)
    with pytest.raises(ShapeError, match=r"a tensor value must be 0-d .* got shape \(3,\)"):
        x.masked_fill(np.ones(3, bool), f64([1.0, 2.0, 3.0]))


# ---- clamp with Tensor bounds -----------------------------------------------------------------


def test_clamp_with_tensor_bounds_equals_numpy_clip_and_broadcasts(seeded):
    x = mg.randn(4, 3, dtype=np.float64)
    low, high = f64([-0.5, 0.0, 0.2]), f64([[0.5], [1.0], [-1.0], [2.0]])
    np.testing.assert_array_equal(x.clamp(low, high).data, np.clip(x.data, low.data, high.data))
    np.testing.assert_array_equal(x.clip(min=low).data, np.maximum(x.data, low.data))
    np.testing.assert_array_equal(x.clamp(max=high).data, np.minimum(x.data, high.data))
    np.testing.assert_array_equal(x.clamp(low, 0.3).data, np.clip(x.data, low.data, 0.3))


def test_clamp_gradient_follows_pytorchs_rule():
    # x below, at, inside, at and above [low, high] = [0, 1]; then low > high; then low == high.
    x = f64([-1.0, 0.0, 0.5, 1.0, 2.0, 0.5, -1.0])
    low = f64([0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0])
    high = f64([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    out = x.clamp(low, high)
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(low.grad, [1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(high.grad, [0, 0, 0, 0, 1, 1, 0])


def test_clamp_with_tensor_bounds_gradchecks_twice():
    x = f64([-1.0, 0.3, 0.5, 2.0, 0.7])
    low = f64([0.0, 0.1, 0.2, 0.0, 1.5])
    high = f64([1.0, 0.9, 0.4, 1.0, 1.0])
    assert mg.gradcheck(lambda a, b, c: a.clamp(b, c) ** 2, [x, low, high])
    assert mg.gradgradcheck(lambda a, b, c: a.clamp(b, c) ** 2, [x, low, high])


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_with_tensor_bounds_keeps_shapes_and_dtypes(dtype):
    x = mg.tensor([[-2.0, 0.5, 3.0]], dtype=dtype, requires_grad=True)
    low = mg.tensor(0.0, dtype=dtype, requires_grad=True)
    out = x.clamp(low, 1.0)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == low.grad.dtype == dtype and low.grad.shape == () and low.grad == 1.0


def test_clamp_in_place_takes_tensor_bounds():
    x = mg.tensor([-2.0, 0.5, 3.0])
    assert x.clamp_(mg.tensor([0.0, 0.0, 0.0]), mg.tensor(1.0)) is x
    assert x.tolist() == [0.0, 0.5, 1.0]
    low = mg.tensor([0.0, 1.0, 0.0], requires_grad=True)
    y = mg.tensor([-2.0, 0.5, 3.0]) * 1.0
    y.clamp_(low)
    y.sum().backward()
    assert y.tolist() == [0.0, 1.0, 3.0] and low.grad.tolist() == [1.0, 1.0, 0.0]


# ---- squeeze, unsqueeze, size, factories, to ----------------------------------------------------


def test_squeeze_and_unsqueeze_take_dim_as_pytorch():
    x = mg.zeros(1, 3, 1, 2)
    assert x.squeeze(dim=0).shape == (3, 1, 2)
    assert x.squeeze((0, 2)).shape == (3, 2) and x.squeeze(dim=(0, 1)).shape == (3, 1, 2)
    assert x.squeeze(1).shape == x.shape  # length 3: left alone, as PyTorch does
    assert x.unsqueeze(dim=-1).shape == (1, 3, 1, 2, 1) and x.unsqueeze(0).shape[0] == 1
    assert mg.tensor(1.0).unsqueeze(0).shape == (1,)
    with pytest.raises(TypeError, match="got both axis= and dim="):
        x.squeeze(0, dim=0)
    with pytest.raises(TypeError, match="unsqueeze takes one int axis"):
        x.unsqueeze((0, 1))


def test_size_is_numpys_count_and_pytorchs_shape_when_called():
    x = mg.zeros(2, 3)
    assert x.size == 6 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2
    assert mg.tensor(1.0).size() == () and mg.tensor(1.0).size == 1
    with pytest.raises(IndexError, match="dimension 2 is out of range for a tensor with 2"):
        x.size(2)
    assert (mg.ones(4) / mg.ones(4).size).dtype == np.float32  # a number, as a Python int is
    assert type(copy.deepcopy(x.size)) is int and pickle.loads(pickle.dumps(x.size)) == 6
    assert (mg.ones(4).size * mg.ones(4, dtype=np.float32)).dtype == np.float32
    with pytest.raises(TypeError, match="size\\(dim\\) takes an int"):
        x.size("1")


@pytest.mark.parametrize("dtype", DTYPES + [np.int64])
def test_new_factories_take_this_tensors_dtype(dtype):
    x = mg.tensor([1, 2], dtype=dtype)
    made = [x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_full((2, 3), 4), x.new_empty(2, 3)]
    for tensor, value in zip(made, [0, 1, 4, 0]):
        assert tensor.dtype == dtype and tensor.shape == (2, 3) and (tensor.data == value).all()
    copied = x.new_tensor([[5, 6]])
    assert copied.dtype == dtype and copied.tolist() == [[5, 6]]
    assert x.new_zeros(0).shape == (0,) and x.new_zeros(()).shape == ()


def test_new_factories_take_dtype_and_requires_grad():
    x = mg.tensor([1.0])
    made = x.new_ones(2, dtype=mg.float64, requires_grad=True)
    assert made.dtype == np.float64 and made.requires_grad and made.is_leaf
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        mg.tensor([1]).new_zeros(2, requires_grad=True)


def test_to_takes_a_dtype_a_tensor_or_the_cpu():
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(mg.float64)
    assert y.dtype == np.float64 and x.to(dtype=mg.float64).dtype == np.float64
    assert x.to(mg.tensor([1], dtype=mg.int64)).tolist() == [1, 2]
    assert x.to("cpu") is x and x.to(device="cpu") is x and x.to(x.dtype) is x
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="CPU only; got device 'cuda'"):
        x.to("cuda")
    with pytest.raises(ValueError, match="CPU only; got device 'cuda:0'"):
        x.to("cuda:0")


def test_tolist_gives_python_numbers():
    assert mg.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    assert mg.tensor(3).tolist() == 3 and type(mg.tensor(3).tolist()) is int


def test_softmax_and_log_softmax_take_dtype():
    x = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    p = x.softmax(dim=1, dtype=mg.float64)
    logp = x.log_softmax(-1, dtype=mg.float64)
    expected = np.exp(x.data.astype(np.float64)) / np.exp(x.data.astype(np.float64)).sum()
    assert p.dtype == logp.dtype == np.float64
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    np.testing.assert_allclose(logp.data, np.log(expected), rtol=1e-15)
    (p[0, 0] + logp[0, 2]).backward()
    assert x.grad.dtype == np.float32
