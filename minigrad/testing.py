"""Property-test kit: hypothesis strategies for shapes, arrays and axes, and `check_op`.

minigrad's own op tests are built from these pieces, and a user's custom `Function` can be tested
the same way:

    from minigrad.testing import broadcastable_shapes, check_op

    check_op(lambda a, b: a * b, shapes=broadcastable_shapes(2), reference=np.multiply)
    check_op(Cube, (3, 2))                    # a custom Function, on drawn (3, 2) inputs
    check_op(Cube, mg.tensor([[0.5, -1.0]]))  # or on given values

Needs the `dev` extra (hypothesis); `import minigrad` alone never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    from hypothesis.strategies import SearchStrategy
except ImportError as error:  # pragma: no cover - exercised only without the dev extra
    raise ImportError(
        "minigrad.testing needs hypothesis, which comes with minigrad's dev extra: "
        "pip install 'minigrad-tape[dev]' (or pip install hypothesis)"
    ) from error

from .function import Function
from .gradcheck import check_tolerances, gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["arrays", "axes_and_keepdims", "broadcastable_shapes", "check_op", "shapes"]

Shape = tuple[int, ...]


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> SearchStrategy[Shape]:
    """Array shapes with `min_dims..max_dims` dimensions of `min_side..max_side` elements each.

    Small by default, so a gradcheck of a drawn input stays fast.
    """
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2,
    min_dims: int = 0,
    max_dims: int = 3,
    min_side: int = 1,
    max_side: int = 4,
) -> SearchStrategy[tuple[Shape, ...]]:
    """Tuples of `num_shapes` shapes that broadcast together (NumPy's rule).

    The shapes differ the ways broadcasting allows: some dimensions are 1 in one shape and n in
    another, and shorter shapes miss leading dimensions, which is where a VJP that forgets to sum
    its gradient back (`unbroadcast`) gets caught.
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(lambda drawn: tuple(drawn.input_shapes))


def _element_strategy(
    min_value: float, max_value: float, away_from: Sequence[float], margin: float
) -> SearchStrategy[float]:
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    if not away_from:
        return elements
    # Points closer than `margin` to a singularity are pushed out to the margin, not filtered, so
    # hypothesis never runs out of examples when the margin is a large part of the range.
    points = tuple(away_from)

    def push_away(value: float) -> float:
        for point in points:
            if abs(value - point) < margin:
                outward = np.inf if value >= point else -np.inf
                value = point + margin if value >= point else point - margin
                while abs(value - point) < margin:  # point + margin may round inward
                    value = float(np.nextafter(value, outward))
        return value

    def allowed(value: float) -> bool:
        return min_value <= value <= max_value and all(abs(value - p) >= margin for p in points)

    return elements.map(push_away).filter(allowed)


@st.composite
def arrays(
    draw,
    shape: Shape | SearchStrategy[Shape],
    dtype=np.float64,
    min_value: float = -3.0,
    max_value: float = 3.0,
    away_from: Sequence[float] = (),
    margin: float = 0.1,
    min_gap: float | None = None,
):
    """Arrays of `shape` (a shape or a strategy of shapes) with values in [min_value, max_value].

    `float64` by default, as gradcheck needs. Options keep values off the points where an op or
    its derivative is singular or undefined: `away_from=(0,)` with `margin` keeps every element at
    least `margin` from 0 (abs, relu, division); a positive `min_value` keeps log and sqrt inside
    their domain; `min_gap` makes all elements distinct and at least that far apart, so a max,
    min or sort has no ties for a finite difference to straddle.
    """
    shape = tuple(draw(shape) if isinstance(shape, SearchStrategy) else shape)
    if min_gap is None:
        elements = _element_strategy(min_value, max_value, away_from, margin)
        array = draw(hnp.arrays(np.float64, shape, elements=elements))
    else:
        array = _distinct_values(draw, shape, min_value, max_value, min_gap)
    return array.astype(dtype)


def _distinct_values(draw, shape: Shape, min_value: float, max_value: float, gap: float):
    """Elements on a grid of spacing `gap` in [min_value, max_value], no grid point used twice."""
    points = int((max_value - min_value) // gap) + 1
    size = int(np.prod(shape, dtype=np.int64))
    if size > points:
        raise ValueError(
            f"arrays: {size} distinct values at least {gap} apart do not fit in "
            f"[{min_value}, {max_value}]; widen the bounds or lower min_gap"
        )
    steps = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, points - 1), unique=True))
    return min_value + steps * gap


@st.composite
def axes_and_keepdims(draw, ndim: int, single_axis: bool = False):
    """A pair `(axis, keepdims)` valid for a reduction over an `ndim`-dimensional array.

    `axis` is None (every axis), one int (negative ones included) or a tuple of distinct axes,
    as NumPy takes it; with `single_axis=True` it is always one int (softmax, log_softmax), and
    `ndim` must then be at least 1.
    """
    keepdims = draw(st.booleans())
    if single_axis:
        if ndim < 1:
            raise ValueError("axes_and_keepdims: single_axis needs ndim >= 1")
        return draw(st.integers(-ndim, ndim - 1)), keepdims
    if ndim == 0:
        return None, keepdims
    one_axis = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return draw(st.one_of(st.none(), one_axis, several)), keepdims


def check_op(
    fn: Callable | type[Function],
    *inputs,
    shapes: SearchStrategy | None = None,
    reference: Callable | None = None,
    min_value: float = -2.0,
    max_value: float = 2.0,
    away_from: Sequence[float] = (),
    margin: float = 0.1,
    second_order: bool = False,
    check_float32: bool = True,
    max_examples: int | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> None:
    """Gradcheck `fn` (a function of Tensors, or a custom `Function` subclass) on drawn or given
    inputs, and check that every gradient comes back with its input's exact shape and dtype.

    Each of `inputs` is a shape (a tuple: values are drawn), a strategy of shapes or of arrays,
    or a concrete Tensor or ndarray (used as given, in float64). `shapes=` instead draws the shapes
    of all inputs at once, e.g. `broadcastable_shapes(2)`. Drawn values lie in
    [min_value, max_value], at least `margin` from every point in `away_from`.

    For each example: the forward matches `reference(*arrays)` when given; `mg.gradcheck` passes
    in float64 (`mg.gradgradcheck` too with `second_order=True`); backward puts a gradient of the
    input's shape and dtype in each input's `.grad`, in float64 and, with `check_float32`, again
    with every input cast to float32. Raises `AssertionError` (or `mg.GradcheckError`) with the
    falsifying inputs; returns None when everything holds.

    With drawn inputs it runs its own hypothesis search, so call it from a plain test; inside a
    `@given` test, draw the arrays there and pass them in (concrete inputs run once).
    `eps`, `atol` and `rtol` follow gradcheck's rules (finite; eps > 0, atol and rtol >= 0) and
    are checked before anything is drawn; a NaN or infinity in a Jacobian fails the check.
    """
    eps, atol, rtol = check_tolerances(eps, atol, rtol)
    if isinstance(fn, type) and issubclass(fn, Function):
        fn = fn.apply
    if shapes is not None and inputs:
        raise TypeError("check_op: give the inputs either positionally or as shapes=, not both")
    options = dict(min_value=min_value, max_value=max_value, away_from=away_from, margin=margin)

    def run(arrays_in: list) -> None:
        _check_forward(fn, arrays_in, reference)
        tensors = [_float64_input(a) for a in arrays_in]
        gradcheck(fn, tensors, eps=eps, atol=atol, rtol=rtol)
        if second_order:
            gradgradcheck(fn, tensors, eps=eps, atol=atol, rtol=rtol)
        _check_grad_layout(fn, arrays_in, np.float64)
        if check_float32:
            _check_grad_layout(fn, arrays_in, np.float32)

    if shapes is None and all(_is_concrete(value) for value in inputs):
        run([_as_array(value) for value in inputs])
        return

    @settings(
        max_examples=max_examples or _default_examples(),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.data())
    def drawn(data) -> None:
        specs = data.draw(shapes, label="shapes") if shapes is not None else inputs
        run([_draw_input(data, spec, index, options) for index, spec in enumerate(specs)])

    drawn()


def _is_concrete(value) -> bool:
    return isinstance(value, (Tensor, np.ndarray, np.generic))


def _as_array(value) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _draw_input(data, spec, index: int, options: dict) -> np.ndarray:
    if _is_concrete(spec):
        return _as_array(spec)
    if isinstance(spec, SearchStrategy):
        spec = data.draw(spec, label=f"input {index}")
        if isinstance(spec, (np.ndarray, Tensor)):
            return _as_array(spec)
    return data.draw(arrays(tuple(spec), **options), label=f"input {index}")


def _float64_input(array: np.ndarray) -> Tensor:
    """Floating inputs become float64 tensors that require grad; others stay constants."""
    if array.dtype.kind == "f":
        return Tensor(array.astype(np.float64), requires_grad=True)
    return Tensor(array)


def _check_forward(fn, arrays_in: list, reference: Callable | None) -> None:
    if reference is None:
        return
    out = fn(*[Tensor(a.astype(np.float64) if a.dtype.kind == "f" else a) for a in arrays_in])
    expected = reference(*arrays_in)
    np.testing.assert_allclose(
        out.data, expected, rtol=1e-7, atol=1e-10, err_msg="forward differs from the reference"
    )


def _check_grad_layout(fn, arrays_in: list, dtype) -> None:
    """Backward from a random cotangent: every `.grad` has its input's shape and dtype."""
    tensors = [
        Tensor(a.astype(dtype), requires_grad=True) if a.dtype.kind == "f" else Tensor(a)
        for a in arrays_in
    ]
    out = fn(*tensors)
    if not out.requires_grad:
        return
    cotangent = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    out.backward(cotangent)
    for index, tensor in enumerate(tensors):
        if not tensor.requires_grad or tensor.grad is None:
            continue
        assert isinstance(tensor.grad, np.ndarray), (
            f"input {index}: .grad is a {type(tensor.grad).__name__}, not an ndarray"
        )
        assert tensor.grad.shape == tensor.shape, (
            f"input {index}: gradient of shape {tensor.grad.shape} for an input of shape "
            f"{tensor.shape}"
        )
        assert tensor.grad.dtype == tensor.dtype, (
            f"input {index}: gradient of dtype {tensor.grad.dtype} for a {tensor.dtype} input"
        )


def _default_examples() -> int:
    """The loaded hypothesis profile's example count (a project's conftest may set one)."""
    default = settings.default
    return default.max_examples if default is not None else 100
