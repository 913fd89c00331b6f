"""Tensor construction, dtypes, attributes, factories, seeding, and the error messages of
DESIGN.md's Errors section that concern tensors and autograd."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

# ---- construction and dtypes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype, shape",
    [
        (3.0, np.float32, ()),
        (3, np.int64, ()),
        (True, np.bool_, ()),
        ([[1.0, 2.0], [3.0, 4.0]], np.float32, (2, 2)),
        ([1, 2, 3], np.int64, (3,)),
        (np.zeros((2, 3)), np.float64, (2, 3)),
        (np.zeros(2, dtype=np.float32), np.float32, (2,)),
        (np.arange(4), np.int64, (4,)),
        (np.float64(1.5), np.float64, ()),
    ],
)
def test_construction_keeps_or_defaults_the_dtype(data, dtype, shape):
    t = mg.Tensor(data)
    assert t.dtype == dtype and t.shape == shape
    np.testing.assert_array_equal(t.data, np.asarray(data))


def test_construction_from_a_tensor_copies_its_values():
    a = mg.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    b = mg.Tensor(a)
    assert b.dtype == np.float64 and not b.requires_grad
    b.data[0] = 5.0
    assert a.data[0] == 1.0


def test_construction_copies_ndarrays():
    array = np.ones(3)
    t = mg.Tensor(array)
    array[0] = 7.0
    assert t.data[0] == 1.0


def test_explicit_dtype():
    assert mg.tensor([1, 2], dtype="float64").dtype == np.float64
    assert mg.tensor([1.5], dtype=mg.float32).dtype == np.float32
    assert mg.tensor(np.ones(2), dtype=np.float32).dtype == np.float32


def test_unconvertible_data_raises():
    with pytest.raises(TypeError, match="cannot make a tensor from dict data"):
        mg.Tensor({"a": 1})


def test_default_dtype_round_trip():
    assert mg.get_default_dtype() == np.float32
    mg.set_default_dtype(np.float64)
    try:
        assert mg.get_default_dtype() == np.float64
        assert mg.tensor([1.0]).dtype == np.float64
        assert mg.zeros(2).dtype == np.float64
        assert mg.randn(2).dtype == np.float64
        assert mg.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    finally:
        mg.set_default_dtype(np.float32)
    assert mg.tensor([1.0]).dtype == np.float32
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        mg.set_default_dtype(np.int64)


# ---- attributes -------------------------------------------------------------------------------


def test_attributes():
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.is_leaf and x.grad_fn is None and x.grad is None and x.requires_grad
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.data
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    np.testing.assert_array_equal(x.T.data, x.data.T)
    np.testing.assert_array_equal(np.asarray(x.detach()), x.data)
    assert np.asarray(x.detach(), dtype=np.float64).dtype == np.float64
    y = x * 2
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward"
    d = y.detach()
    assert d.is_leaf and not d.requires_grad


def test_mT_swaps_the_last_two_axes():
    x = mg.zeros(4, 2, 3)
    assert x.mT.shape == (4, 3, 2)


def test_item_and_its_error():
    assert mg.tensor([[2.5]]).item() == 2.5
    assert isinstance(mg.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one element, got shape \(2,\)"):
        mg.tensor([1.0, 2.0]).item()


def test_len_of_a_0d_tensor_raises():
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(mg.tensor(1.0))


def test_bool_of_a_multi_element_tensor_raises():
    assert bool(mg.tensor([1.0]))
    with pytest.raises(ValueError, match=r"shape \(2,\) is ambiguous"):
        bool(mg.tensor([1.0, 2.0]))


def test_iteration_gives_rows():
    rows = list(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [row.tolist() for row in rows] == [[1.0, 2.0], [3.0, 4.0]]


def test_repr():
    assert repr(mg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(mg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(mg.tensor([1.0], dtype=np.float64)) == "tensor([1.], dtype=float64)"
    y = mg.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(mg.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]], dtype=int64)"


# ---- factories --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, expected",
    [
        (lambda **kw: mg.zeros(2, 3, **kw), np.zeros((2, 3))),
        (lambda **kw: mg.zeros((2, 3), **kw), np.zeros((2, 3))),
        (lambda **kw: mg.ones(2, **kw), np.ones(2)),
        (lambda **kw: mg.ones([3, 1], **kw), np.ones((3, 1))),
        (lambda **kw: mg.full((2, 2), 7.5, **kw), np.full((2, 2), 7.5)),
        (lambda **kw: mg.full(3, -1.0, **kw), np.full(3, -1.0)),
        (lambda **kw: mg.eye(3, **kw), np.eye(3)),
        (lambda **kw: mg.eye(2, 3, **kw), np.eye(2, 3)),
        (lambda **kw: mg.arange(0.0, 1.0, 0.25, **kw), np.arange(0, 1, 0.25)),
        (lambda **kw: mg.zeros_like(np.ones((2, 2)), **kw), np.zeros((2, 2))),
        (lambda **kw: mg.ones_like(mg.zeros(3), **kw), np.ones(3)),
    ],
)
@pytest.mark.parametrize("dtype", [None, np.float64])
def test_factories(factory, expected, dtype):
    t = factory(dtype=dtype)
    np.testing.assert_array_equal(t.data, expected)
    if dtype is not None:
        assert t.dtype == dtype
    grad = factory(dtype=dtype, requires_grad=True)
    assert grad.requires_grad and grad.is_leaf


def test_factory_default_dtypes():
    assert mg.zeros(2).dtype == np.float32
    assert mg.eye(2).dtype == np.float32
    assert mg.arange(4).dtype == np.int64
    np.testing.assert_array_equal(mg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_array_equal(mg.arange(2, 8, 3).data, [2, 5])
    assert mg.arange(4, dtype=np.float32).dtype == np.float32
    assert mg.zeros_like(np.ones(2)).dtype == np.float64
    assert mg.ones_like(mg.zeros(2), dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("factory", [mg.randn, mg.rand])
def test_random_factories_shapes_dtypes_and_seeding(factory):
    mg.manual_seed(123)
    a = factory(3, 4)
    b = factory((3, 4), dtype=np.float64, requires_grad=True)
    mg.manual_seed(123)
    c = factory(3, 4)
    d = factory((3, 4), dtype=np.float64)
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert b.dtype == np.float64 and b.requires_grad
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)
    assert not np.array_equal(a.data, factory(3, 4).data)


def test_random_factories_draw_the_right_distributions(seeded):
    normal = mg.randn(20000, dtype=np.float64).data
    uniform = mg.rand(20000, dtype=np.float64).data
    # Four standard errors: the mean of 20000 draws is within 4 / sqrt(20000) ~ 0.03.
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1) < 0.03
    assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.01


def test_manual_seed_rejects_non_integers():
    with pytest.raises(TypeError, match="expects an int, got float"):
        mg.manual_seed(1.5)


def test_integer_factory_cannot_require_grad():
    with pytest.raises(TypeError, match="got dtype int64"):
        mg.zeros(2, dtype=np.int64, requires_grad=True)


# ---- shape methods ----------------------------------------------------------------------------


def test_reshape_varargs_tuple_and_minus_one():
    x = mg.arange(6)
    assert x.reshape(2, 3).shape == (2, 3)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape(-1, 3).shape == (2, 3)
    assert x.view(6) is x


def test_flatten_squeeze_unsqueeze_shapes():
    x = mg.zeros(2, 1, 3, 1)
    assert x.flatten().shape == (6,)
    assert x.flatten(1, 2).shape == (2, 3, 1)
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(1).shape == (2, 3, 1)
    assert x.squeeze((1, 3)).shape == (2, 3)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3, 1)
    assert mg.tensor(1.0).flatten().shape == (1,)


def test_transpose_two_axes_of_a_3d_tensor_swaps_them():
    assert mg.zeros(2, 3, 4).transpose(0, 2).shape == (4, 3, 2)


def test_transpose_two_axes_of_a_2d_tensor_swaps_them():
    assert mg.zeros(2, 3).transpose(0, 1).shape == (3, 2)


def test_transpose_rejects_a_non_permutation():
    with pytest.raises(ValueError, match=r"not a permutation of 3 axes"):
        mg.zeros(2, 3, 4).transpose(0, 0, 1)


def test_axis_out_of_range():
    with pytest.raises(IndexError, match="axis 2 is out of range for a tensor with 2 dimensions"):
        mg.zeros(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match="repeats a dimension"):
        mg.zeros(2, 3).sum(axis=(1, -1))


# ---- DESIGN.md's errors -----------------------------------------------------------------------


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(
        mg.ShapeError, match=r"shapes \(2, 3\) and \(4, 5\) do not fit.*\(3\).*\(4\)"
    ):
        mg.zeros(2, 3) @ mg.zeros(4, 5)
    with pytest.raises(mg.ShapeError, match=r"\(3,\) and \(2,\)"):
        mg.zeros(3) @ mg.zeros(2)
    with pytest.raises(
        mg.ShapeError, match=r"batch dimensions of \(2, 3, 4\) and \(3, 4, 5\) do not broadcast"
    ):
        mg.zeros(2, 3, 4) @ mg.zeros(3, 4, 5)
    with pytest.raises(mg.ShapeError, match=r"at least one dimension, got shapes \(\) and \(2,\)"):
        mg.tensor(1.0) @ mg.zeros(2)


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b])
def test_broadcasting_mismatch_names_both_shapes(op):
    with pytest.raises(mg.ShapeError, match=r"operands of shapes \(2, 3\) and \(4,\) do not fit"):
        op(mg.zeros(2, 3, requires_grad=True), mg.zeros(4))
    with pytest.raises(mg.ShapeError, match=r"\(2, 3\) and \(2,\)"):
        op(mg.zeros(2, 3), np.zeros(2))


def test_reshape_to_an_incompatible_shape():
    with pytest.raises(
        mg.ShapeError, match=r"cannot reshape a tensor of shape \(2, 3\) into shape \(4, 2\)"
    ):
        mg.zeros(2, 3).reshape(4, 2)
    with pytest.raises(mg.ShapeError, match=r"shape \(2, 3\) into shape \(-1, 4\)"):
        mg.zeros(2, 3).reshape(-1, 4)
    with pytest.raises(mg.ShapeError, match=r"into shape \(-1, -1\)"):
        mg.zeros(2, 3).reshape(-1, -1)


def test_broadcast_to_an_incompatible_shape():
    with pytest.raises(
        mg.ShapeError, match=r"cannot broadcast a tensor of shape \(2, 3\) to \(4, 3\)"
    ):
        mg.zeros(2, 3).broadcast_to(4, 3)


@pytest.mark.parametrize("source, target", [((3,), (3, 1)), ((2, 3), (3,))])
def test_broadcast_to_a_shape_that_is_not_the_broadcast_result(source, target):
    with pytest.raises(mg.ShapeError, match="cannot broadcast a tensor of shape"):
        mg.zeros(*source).broadcast_to(*target)


def test_backward_on_non_scalar_names_the_shape():
    y = mg.zeros(2, 2, requires_grad=True) * 2
    with pytest.raises(mg.BackwardError, match=r"non-scalar tensor of shape \(2, 2\)"):
        y.backward()


def test_second_backward_on_freed_graph():
    x = mg.ones(2, requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(mg.BackwardError, match=r"second time \(SumBackward has already released"):
        loss.backward()


def test_int_tensor_requires_grad():
    with pytest.raises(
        TypeError, match="only floating-point tensors can require grad, got dtype int64"
    ):
        mg.Tensor([1, 2, 3], requires_grad=True)
    t = mg.arange(3)
    with pytest.raises(TypeError, match="int64"):
        t.requires_grad = True


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="at least one of min and max"):
        mg.zeros(2).clip()


def test_max_of_an_empty_tensor():
    with pytest.raises(ValueError, match=r"max\(\) of an empty tensor of shape \(0,\)"):
        mg.zeros(0).max()


# ---- NumPy functions cannot silently cut the graph ---------------------------------------------


def test_numpy_functions_on_a_tensor_that_requires_grad_raise():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"cut it from the graph.*\.detach\(\)"):
        np.dot(w, w)
    with pytest.raises(RuntimeError, match="cut it from the graph"):
        np.asarray(w)
    assert np.dot(w.detach(), w.detach()) == 5.0
    assert np.asarray(mg.tensor([1.0])).shape == (1,)  # no grad: nothing to cut
    assert w.numpy() is w.data  # an explicit request for the values, as `.data`


# ---- bad input is refused where it enters ------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "abc",
        np.array([1, None], dtype=object),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]),
        np.array([1 + 2j]),
    ],
)
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="a tensor holds numbers"):
        mg.tensor(data)


def test_a_non_numeric_dtype_is_refused():
    with pytest.raises(TypeError, match="a tensor holds numbers"):
        mg.tensor([1, 2], dtype="U3")


def test_requires_grad_must_be_a_bool():
    with pytest.raises(TypeError, match="requires_grad must be True or False, got str 'yes'"):
        mg.tensor([1.0], requires_grad="yes")


def test_shapes_must_be_integers():
    with pytest.raises(TypeError, match="a shape is made of integers, got float 3.5"):
        mg.randn(3.5)
    with pytest.raises(TypeError, match="integers"):
        mg.zeros(2, 3.0)


def test_an_integer_too_large_is_an_overflow():
    with pytest.raises(OverflowError, match="does not fit in a tensor"):
        mg.tensor(2**70)
    with pytest.raises(OverflowError):
        mg.tensor([1, -(2**64)])
    assert mg.tensor(2**62).item() == 2**62


def test_a_float_axis_is_a_type_error():
    with pytest.raises(
        TypeError, match="axis must be None, an int or a tuple of ints, got float 1.5"
    ):
        mg.tensor([[1.0]]).sum(axis=1.5)


def test_an_integer_tensor_to_a_negative_power_is_a_value_error_not_a_shape_error():
    with pytest.raises(ValueError, match="Pow .*negative integer powers") as caught:
        mg.tensor([2, 3]) ** -1
    assert not isinstance(caught.value, mg.ShapeError)


# ---- explicit axes on 0-d tensors, and empty axes ---------------------------------------------


@pytest.mark.parametrize("axis", [0, -1, (0,)])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "min", "logsumexp"])
def test_a_0d_tensor_accepts_axis_0_and_minus_1(reduction, axis):
    x = mg.tensor(2.0, dtype=np.float64, requires_grad=True)
    y = getattr(x, reduction)(axis=axis)
    assert y.shape == () and y.item() == pytest.approx(2.0)
    y.backward()
    assert x.grad.shape == () and x.grad == pytest.approx(1.0)
    with pytest.raises(IndexError, match="out of range"):
        getattr(x, reduction)(axis=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor_with_create_graph(name):
    x = mg.tensor(0.3, dtype=np.float64, requires_grad=True)
    y = getattr(x, name)(axis=0)
    assert y.shape == () and y.item() == pytest.approx(1.0 if name == "softmax" else 0.0)
    (g,) = mg.grad(y * x, x, create_graph=True)
    assert g.shape == () and g.item() == pytest.approx(y.item())
    assert mg.gradgradcheck(lambda t: getattr(t, name)(axis=-1) * t, (x,))


def test_transpose_of_a_0d_tensor_and_the_identity_permutation():
    x = mg.tensor(2.0, dtype=np.float64, requires_grad=True)
    assert x.transpose(0, 0).shape == () and x.transpose().shape == ()
    m = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64, requires_grad=True)
    np.testing.assert_array_equal(m.transpose((0, 1)).data, m.data)  # a tuple is a permutation
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)  # two axes are swapped
    (g,) = mg.grad((m.transpose((0, 1)) * m.T).sum(), m, create_graph=True)
    np.testing.assert_array_equal(g.data, 2 * m.data.T)
    assert mg.gradgradcheck(lambda t: t.transpose((0, 1)) * t.permute(1, 0), (m,))


def test_permute_takes_a_full_permutation():
    x = mg.zeros(2, 3, 4)
    assert x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.permute((1, 2, 0)).shape == (3, 4, 2)
    with pytest.raises(ValueError, match=r"\(0, 1\) are not a permutation of 3 axes"):
        x.permute(0, 1)
    assert x.transpose(0, 1).shape == (3, 2, 4)


def test_reductions_over_empty_axes_with_an_answer():
    assert mg.tensor(np.zeros((5, 0))).softmax(-1).shape == (5, 0)
    assert mg.tensor(np.zeros((5, 0))).log_softmax(-1).shape == (5, 0)
    assert mg.tensor(np.zeros(0)).logsumexp().item() == -np.inf
    assert mg.tensor(np.zeros((2, 0))).max(axis=0).shape == (0,)
    x = mg.tensor(np.zeros((2, 0)), dtype=np.float64, requires_grad=True)
    x.logsumexp(axis=1).sum().backward()
    assert x.grad.shape == (2, 0)
    layer = mg.nn.Linear(0, 3)
    out = layer(mg.zeros(4, 0))
    np.testing.assert_array_equal(out.data, np.broadcast_to(layer.bias.data, (4, 3)))


def test_max_over_an_empty_axis_has_no_value():
    with pytest.raises(
        ValueError, match=r"max\(\) over an empty axis of a tensor of shape \(2, 0\)"
    ):
        mg.tensor(np.zeros((2, 0))).max(axis=1)


@pytest.mark.parametrize("count", [63, 64, 200])
@pytest.mark.parametrize("join", ["concatenate", "stack"])
def test_joining_many_tensors_that_require_grad(join, count):
    pieces = [mg.tensor([float(i)], dtype=np.float64, requires_grad=True) for i in range(count)]
    joined = getattr(mg, join)(pieces)
    (joined * joined).sum().backward()
    for i, piece in enumerate(pieces):
        np.testing.assert_array_equal(piece.grad, [2.0 * i])


# ---- PyTorch's argument names: dim= and keepdim= ----------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "mean", "var", "logsumexp"])
def test_dim_and_keepdim_are_aliases_of_axis_and_keepdims(reduction):
    x = mg.tensor(np.arange(6.0).reshape(2, 3), dtype=np.float64)
    numpy_style = getattr(x, reduction)(axis=1, keepdims=True)
    pytorch_style = getattr(x, reduction)(dim=1, keepdim=True)
    assert pytorch_style.shape == (2, 1)
    np.testing.assert_array_equal(pytorch_style.data, numpy_style.data)
    with pytest.raises(TypeError, match="got both axis= and dim="):
        getattr(x, reduction)(axis=1, dim=1)
    with pytest.raises(TypeError, match="got both keepdims= and keepdim="):
        getattr(x, reduction)(dim=1, keepdims=True, keepdim=True)


def test_max_and_min_with_dim_return_values_and_indices_as_pytorch():
    x = mg.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 0.0]], dtype=np.float64, requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])  # the first of the tied maxima
    assert indices.dtype == np.int64 and not indices.requires_grad
    smallest = x.min(dim=0, keepdim=True)
    assert smallest.values.shape == (1, 3) and smallest.indices.shape == (1, 3)
    np.testing.assert_array_equal(smallest.indices.data, [[0, 1, 1]])
    values.sum().backward()  # the values stay differentiable
    np.testing.assert_array_equal(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    assert isinstance(x.max(axis=1), mg.Tensor)  # NumPy's spelling keeps NumPy's amax


def test_argmax_and_argmin():
    x = mg.tensor([[1.0, 9.0, 3.0], [8.0, 2.0, 8.0]])
    assert x.argmax().item() == 1  # of the flattened tensor, as in PyTorch
    np.testing.assert_array_equal(x.argmax(dim=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(axis=0, keepdims=True).data, [[0, 1, 0]])
    assert mg.tensor(4.0).argmax(dim=0).item() == 0
    with pytest.raises(ValueError, match="empty"):
        mg.zeros(0).argmax()


def test_softmax_concatenate_and_stack_take_dim():
    x = mg.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=np.float64)
    np.testing.assert_array_equal(x.softmax(dim=0).data, x.softmax(axis=0).data)
    np.testing.assert_array_equal(x.log_softmax(dim=0).data, x.log_softmax(0).data)
    assert mg.concatenate([x, x], dim=1).shape == (2, 4)
    assert mg.stack([x, x], dim=2).shape == (2, 2, 2)
    with pytest.raises(TypeError, match="got both axis= and dim="):
        mg.stack([x, x], axis=0, dim=0)


def test_pytorch_names_numel_dim_square_std_allclose():
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]], dtype=np.float64)
    assert x.numel() == 6 and x.dim() == 2
    np.testing.assert_array_equal(x.square().data, x.data**2)
    np.testing.assert_allclose(x.std(dim=1).data, np.std(x.data, axis=1, ddof=1))
    np.testing.assert_allclose(x.std().data, np.std(x.data, ddof=1))
    assert x.allclose(x.data + 1e-9) and not x.allclose(x + 1e-3)


def test_clone_copies_the_buffer_and_passes_the_gradient_back():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.data is not x.data and y.dtype == x.dtype
    with mg.no_grad():
        y += 1
    np.testing.assert_array_equal(x.data, [1.0, 2.0])  # its own buffer
    (x.clone() * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    labels = mg.tensor([1, 2])
    assert labels.clone().data is not labels.data


def test_expand_keeps_a_dimension_given_as_minus_1():
    x = mg.tensor([[1.0], [2.0]], requires_grad=True)
    assert x.expand(-1, 3).shape == (2, 3)
    assert x.expand(4, -1, 3).shape == (4, 2, 3)
    x.expand(-1, 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [[3.0], [3.0]])
