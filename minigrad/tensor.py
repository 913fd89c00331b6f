"""Tensor: an ndarray with a place on the tape. Thin by design: every method dispatches to an op."""

from __future__ import annotations

import builtins
import numbers
import weakref
from math import prod
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from . import autograd, ops, structure
from .autograd import Node, grad_mode
from .dtypes import get_default_dtype


class ShapeError(ValueError):
    """Operands whose shapes do not fit together (broadcasting, matmul, reshape)."""


def wrap(data: np.ndarray, node: Node | None) -> Tensor:
    """A Tensor around `data` produced by `node` (None for a constant), with no checks or copies."""
    tensor = Tensor.__new__(Tensor)
    tensor._data = data
    tensor._grad = None
    tensor._requires_grad = node is not None
    tensor.grad_fn = node
    tensor._hooks = None
    tensor.name = None
    tensor._version = 0
    tensor._base = None
    return tensor


# One `needs` tuple per pattern of wanted inputs, shared by every node of that pattern, and one
# (None, c) / (c, None) pair per constant number c, by c's identity (every `x + 0.5` in a loop
# shares one): then a recorded op leaves one new object, its node, for the cyclic garbage
# collector to count, which kept a 100,000-op graph from being walked twice while it was built
# (tests/test_speed_guards.py). An entry keeps its number alive, so its id cannot be reused while
# the entry exists. Bounded.
_needs_patterns: dict = {}
_constant_pairs: tuple[dict, dict] = ({}, {})
_SHARED_LIMIT = 1024


def _shared_needs(needs: tuple) -> tuple:
    """The one shared tuple equal to `needs` (per input, whether its gradient is wanted)."""
    shared = _needs_patterns.get(needs)
    if shared is None:
        if len(_needs_patterns) >= _SHARED_LIMIT:
            _needs_patterns.clear()
        shared = _needs_patterns[needs] = needs
    return shared


def _constant_alone(constant, index: int) -> tuple:
    """`saved` of a two-input node that keeps only its constant operand at `index`."""
    if type(constant) is not float and type(constant) is not int:
        return (None, constant) if index else (constant, None)
    table = _constant_pairs[index]
    pair = table.get(id(constant))
    if pair is None:
        if len(table) >= _SHARED_LIMIT:
            table.clear()
        pair = table[id(constant)] = (None, constant) if index else (constant, None)
    return pair


def apply(op, inputs: tuple, params: tuple = ()) -> Tensor:
    """Run primitive `op` on `inputs` (Tensors, ndarrays, numbers or None) and, when grad mode is
    on and an input requires grad, record it on the tape: the one path every op takes.

    Per input the node notes its parent on the tape (its node, the leaf Tensor itself, or None
    for a constant: anything that does not require grad) and whether its gradient is wanted.
    """
    arrays: list = []
    parents: list = []
    wanted_grads: list[bool] = []
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x._data)
            wanted = x._requires_grad
        else:
            arrays.append(x)
            wanted = False
        parents.append((x.grad_fn or x) if wanted else None)
        wanted_grads.append(wanted)
    recording = True in wanted_grads and grad_mode.enabled
    residuals = None
    try:
        if recording and op.saves_residuals and _saves_residuals(op, wanted_grads):
            out, residuals = op.forward_saving(*arrays, *params)
        else:
            out = op.forward(*arrays, *params)
    except ValueError as error:
        raise _shape_error(op, arrays, error) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # NumPy gives scalars for 0-d arithmetic
    node = None
    if recording:
        needs = _shared_needs(tuple(wanted_grads))
        saved, saved_from = _saved(op, inputs, arrays, needs)
        kept = residuals if op.saves_residuals else out if op.saves_output else None
        node = Node(op, tuple(parents), needs, saved, saved_from, out, params, kept)
    if autograd._watchers:
        _notify_forward(op, arrays, params, out, node)
    result = wrap(out, node)
    if out.base is not None:  # perhaps a view of an input's buffer
        _share_owner(result, out, inputs)
    return result


def _saves_residuals(op, wanted_grads: list) -> bool:
    """Whether a wanted gradient reads the residuals `op.forward_saving` keeps."""
    return any(wanted and reads for wanted, reads in zip(wanted_grads, op.saves_residuals))


def _share_owner(result: Tensor, out: np.ndarray, inputs: tuple) -> None:
    """If `out` views an input tensor's buffer (reshape, transpose, basic indexing), `result`
    counts its in-place writes on that buffer's owner, so a write through the view is seen by
    every node that saved the buffer, and the other way round (`Tensor._bump_version`)."""
    for x in inputs:
        if isinstance(x, Tensor) and (x._data is out.base or x._data.base is out.base):
            result._base = x if x._base is None else x._base
            return


def _saved(op, inputs: tuple, arrays: list, needs: tuple) -> tuple:
    """What a node keeps of its inputs (`Node.saved`), and the Tensors whose very arrays those
    are (the node notes their versions, so backward refuses to run on a buffer changed since).

    The inputs' arrays when its VJP reads them. Beside a constant operand whose value alone the
    wanted gradient reads, only the constant: `x * 0.5` keeps 0.5 (its gradient is g * 0.5) and
    lets x's buffer go, as PyTorch saves only what the wanted gradient reads. An op that reads no
    inputs keeps its constants anyway, so `gradcheck_graph` and `viz` can replay it; None when
    it has none.
    """
    if False not in needs:  # every input a tensor requiring grad: the usual case (a Linear layer)
        return (tuple(arrays), tuple(inputs)) if op.saves_inputs else (None, ())
    if len(arrays) == 2:
        constant = needs.index(False)
        if not op.saves_inputs or op.constant_suffices[constant]:
            saved = _constant_alone(arrays[constant], constant)
            tensor = inputs[constant]
            return saved, (tensor,) if isinstance(tensor, Tensor) else ()
    if op.saves_inputs:
        return tuple(arrays), tuple([t for t in inputs if isinstance(t, Tensor)])
    saved = tuple([None if needed else array for array, needed in zip(arrays, needs)])
    kept = [t for t, needed in zip(inputs, needs) if isinstance(t, Tensor) and not needed]
    return saved, tuple(kept)


def _notify_forward(op, arrays: list, params: tuple, out: np.ndarray, node) -> None:
    for watcher in autograd._watchers:
        watcher.on_forward(op, arrays, params, out, node)


def _apply_in_place(op, x: Tensor) -> Tensor:
    """`x` becomes op(x), as PyTorch's `x.relu_()`: it takes the result's value and node (its old
    node becomes the new one's parent) and is returned.

    The result goes to a new buffer, so a value saved for backward, a view's base or a detached
    alias is never overwritten: only code holding x's old raw `.data` array keeps the old values.
    """
    if x._requires_grad and grad_mode.enabled and x.grad_fn is None:
        raise RuntimeError(
            f"{op.name.lower()}_: a leaf tensor that requires grad cannot be changed in place "
            "(its gradient is about itself, not its new value); use the out-of-place "
            f"{op.name.lower()}(), or change it inside no_grad()"
        )
    previous = x.grad_fn
    result = apply(op, (x,))
    x._data, x.grad_fn = result._data, result.grad_fn
    if previous is not None and previous.hooks and x.grad_fn is not None:
        _move_retain_grad(previous, x.grad_fn, x)
    return x


def _move_retain_grad(previous: Node, node: Node, tensor: Tensor) -> None:
    """`tensor.retain_grad()` follows the tensor to its new node after an in-place op, as in
    PyTorch; other hooks stay where they were registered and see the gradient of the old value."""
    hooks = previous.hooks or []
    moving = [
        hook
        for hook in hooks
        if getattr(hook, "retained", None) is not None and hook.retained() is tensor
    ]
    for hook in moving:
        hooks.remove(hook)
    node.hooks = moving or None


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts to exactly `target` (NumPy's rule)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _shape_error(op, arrays: list, error: ValueError) -> ValueError:
    """The error for a forward that NumPy refused: a ShapeError naming both shapes when they do
    not fit, else NumPy's own complaint under the op's name (an integer to a negative power)."""
    shapes = " and ".join(str(np.shape(a)) for a in arrays if a is not None)
    if op is ops.MatMul:
        return _matmul_error(*(np.shape(a) for a in arrays))
    try:
        np.broadcast_shapes(*(np.shape(a) for a in arrays if a is not None))
    except ValueError:
        pass
    else:
        return ValueError(f"{op.name} of operands of shapes {shapes}: {error}")
    return ShapeError(f"{op.name}: operands of shapes {shapes} do not fit together ({error})")


def _matmul_error(shape_a: tuple, shape_b: tuple) -> ShapeError:
    if not shape_a or not shape_b:
        return ShapeError(
            f"matmul needs operands with at least one dimension, got shapes {shape_a} and {shape_b}"
        )
    inner_b = shape_b[-2] if len(shape_b) > 1 else shape_b[0]
    if shape_a[-1] != inner_b:
        which = "second-to-last" if len(shape_b) > 1 else "only"
        return ShapeError(
            f"matmul: shapes {shape_a} and {shape_b} do not fit: the last dimension of the first "
            f"({shape_a[-1]}) must equal the {which} dimension of the second ({inner_b})"
        )
    return ShapeError(f"matmul: the batch dimensions of {shape_a} and {shape_b} do not broadcast")


def _operand(value, like: Tensor):
    """A binary op's other operand: Tensors pass through; numbers stay Python numbers (so a
    float32 tensor times 2.0 stays float32); sequences and ndarrays become arrays. Integer or bool
    arrays next to a floating tensor take its dtype, as in PyTorch."""
    if isinstance(value, Tensor) or type(value) in _PYTHON_NUMBERS:
        return value
    if isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "fiub":
        return value.item()  # a NumPy scalar acts as a Python number, as in PyTorch
    if isinstance(value, Size):  # NumPy would take an int subclass for int64, not a Python int
        return int(value)
    if isinstance(value, numbers.Number):
        return value
    array = np.asarray(value)
    if array.dtype.kind in "iub" and like._data.dtype.kind == "f":
        array = array.astype(like._data.dtype)
    elif array.dtype == np.float64 and not isinstance(value, np.ndarray):
        array = array.astype(get_default_dtype())
    return array


def _binary(op, a, b) -> Tensor:
    """`a (op) b` for a binary operator, after PyTorch's operand rules: mixed tensor dtypes
    promote (`_promote`); a tensor's other operand follows `_beside_tensor`."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype != b._data.dtype:
            a, b = _promote(a, b)
    elif isinstance(a, Tensor):
        a, b = _beside_tensor(a, b)
    else:
        b, a = _beside_tensor(b, a)
    return apply(op, (a, b))


def _beside_tensor(tensor: Tensor, other) -> tuple:
    """A tensor and its non-tensor operand: numbers stay numbers (an integer tensor with a float
    becomes the default float dtype, as int tensor * 0.5 is float in PyTorch); other values
    become arrays (`_operand`)."""
    if type(other) not in _PYTHON_NUMBERS:
        return tensor, _operand(other, tensor)
    if type(other) is float and tensor._data.dtype.kind != "f":
        return tensor.to(get_default_dtype()), other
    return tensor, other


_PYTHON_NUMBERS = (float, int, bool)


def _promote(a: Tensor, b: Tensor) -> tuple:
    """Mixed dtypes: an integer/bool tensor takes the floating one's dtype (PyTorch's rule)."""
    kind_a, kind_b = a._data.dtype.kind, b._data.dtype.kind
    if kind_a == "f" and kind_b != "f":
        return a, b.to(a.dtype)
    if kind_b == "f" and kind_a != "f":
        return a.to(b.dtype), b
    return a, b


def _normalize_axis(axis, ndim: int):
    """None, or a sorted tuple of non-negative axes; out-of-range axes raise with the ndim.

    A 0-d tensor accepts axis 0 and -1, as PyTorch does, and reduces over nothing: `()`.
    """
    if axis is None:
        return None
    axes = (axis,) if _is_integer(axis) else _axis_tuple(axis)
    span = max(ndim, 1)
    normalized = []
    for a in axes:
        if not -span <= a < span:
            raise IndexError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(a) % span)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis {axis} repeats a dimension")
    return () if ndim == 0 else tuple(sorted(normalized))


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _axis_tuple(axis) -> tuple:
    if isinstance(axis, (tuple, list)) and all(_is_integer(a) for a in axis):
        return tuple(axis)
    raise TypeError(
        f"axis must be None, an int or a tuple of ints, got {type(axis).__name__} {axis!r}"
    )


def _single_axis(axis, ndim: int) -> int:
    if not _is_integer(axis):
        raise TypeError(f"axis must be an int here, got {type(axis).__name__} {axis!r}")
    return _normalize_axis(axis, ndim)[0]


def _shape_args(shape: tuple) -> tuple:
    """Accept shapes as varargs or as one tuple/list: f(2, 3) == f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if not _is_integer(n):
            raise TypeError(f"a shape is made of integers, got {type(n).__name__} {n!r} in {shape}")
    return tuple(int(n) for n in shape)


def _index_value(index):
    """Tensors inside an index become their arrays; lists become integer or bool arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_index_value(part) for part in index)
    return index


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    `Tensor(data, requires_grad=False, dtype=None)`: data may be a number, a nested list, an
    ndarray or a Tensor. Python numbers and lists become the default dtype (float32); a floating
    ndarray keeps its dtype (float64 stays float64).
    """

    __slots__ = (
        "_data",
        "_grad",
        "_requires_grad",
        "grad_fn",
        "_hooks",
        "name",
        "_version",
        "_base",
        "__weakref__",
    )
    _data: np.ndarray
    _grad: np.ndarray | None
    _requires_grad: bool
    grad_fn: Node | None
    _hooks: list | None
    name: str | None
    _version: int  # in-place writes to the buffer through the Tensor API (`_bump_version`)
    _base: Tensor | None  # the tensor whose buffer (and version) a `detach()`ed alias shares
    # ndarray (op) Tensor defers to Tensor's reflected operators instead of looping elementwise.
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(
                f"requires_grad must be True or False, got {type(requires_grad).__name__} "
                f"{requires_grad!r}"
            )
        self._data = _to_array(data, dtype)
        self._grad = None
        self.grad_fn = None
        self._hooks = None
        self.name = name
        self._version = 0
        self._base = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ---- data, grad and the version counter -----------------------------------------------------

    def _set_data(self, value: np.ndarray) -> None:
        if value is self._data:  # `t.data += 1`: the buffer was changed in place
            # First, and for a leaf that is no view inline: an optimizer's step does this for
            # every parameter (a twelfth of case 2's compiled step went to these calls).
            if self._base is None and self.grad_fn is None:
                self._version += 1
            else:
                self._bump_version()
            return
        if isinstance(value, np.generic):  # 0-d arithmetic gives NumPy scalars
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"Tensor.data must be an ndarray, got {type(value).__name__}; wrap it in "
                "np.asarray(...) first"
            )
        reshaped = value.shape != self._data.shape or value.dtype != self._data.dtype
        self._data = value
        if reshaped:  # told after the change (see `structure`)
            structure.changed()

    data = property(
        attrgetter("_data"),
        _set_data,
        doc="The values, an ndarray. `t.data -= lr * t.grad` (under no_grad) updates in place.",
    )

    def _bump_version(self) -> None:
        """Note that this tensor's buffer changed in place: a node that saved it for backward
        (or that produced it and kept its output) then refuses to run on the changed values.

        Every alias (`detach()`) and view (reshape, transpose, basic indexing) of a buffer counts
        its writes on the buffer's owner, `_base`, as PyTorch's views share one counter: a write
        through any of them is a write to all.
        """
        owner = self if self._base is None else self._base
        owner._version += 1
        for tensor in (self, owner) if owner is not self else (self,):
            if tensor.grad_fn is not None:
                tensor.grad_fn.out_version += 1

    def _set_grad(self, value) -> None:
        self._grad = None if value is None else _checked_grad(self, value)

    grad = property(
        attrgetter("_grad"),
        _set_grad,
        doc="The accumulated gradient (an ndarray of this tensor's shape and dtype), or None.",
    )

    # ---- attributes ---------------------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        """The size along each dimension, as NumPy's tuple."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """How many dimensions (0 for a scalar tensor)."""
        return self._data.ndim

    @property
    def size(self) -> Size:
        """The number of elements, NumPy's `size`; called, PyTorch's `size()`: `t.size()` is the
        shape and `t.size(dim)` one dimension's length."""
        return Size(self._data.size, self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the values (float32 by default)."""
        return self._data.dtype

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor (settable on leaves, floating dtypes only)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        self.requires_grad_(requires_grad)

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no recorded op produced (a parameter, an input): backward
        stores its gradient in `.grad`."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        """The transpose: the axes reversed (a matrix's rows become its columns)."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """Transpose of the last two axes (matrix transpose over any batch dimensions)."""
        axes = list(range(self.ndim))
        axes[-2:] = axes[-1], axes[-2]
        return self.transpose(*axes)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether ops on this tensor are recorded for backward (only a floating
        tensor can require grad), and return it, as PyTorch's `requires_grad_`."""
        if not self.is_leaf:
            raise RuntimeError("requires_grad can only be changed on leaf tensors (no grad_fn)")
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require grad, got dtype {self._data.dtype}; "
                "convert first, e.g. Tensor(data, dtype='float32')"
            )
        self._requires_grad = bool(requires_grad)
        return self

    def numpy(self) -> np.ndarray:
        """The values as an ndarray (shares memory), like `.data`: an explicit request for the
        values, so unlike NumPy's implicit conversion (`__array__`) it works on any tensor."""
        return self._data

    def item(self) -> builtins.float:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The values as (nested) Python lists of numbers."""
        return self._data.tolist()

    # How the engine below this layer makes a Tensor under create_graph: `type(t)._wrap(...)`.
    _wrap = staticmethod(wrap)

    @staticmethod
    def apply_op(op, inputs: tuple, params: tuple = ()) -> Tensor:
        """Run primitive `op` on `inputs` and record it: how a VJP applies an op to Tensors under
        create_graph (`ops.call`) without the op table importing this layer above it."""
        return apply(op, inputs, params)

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and the version counter, as in
        PyTorch: changing the alias in place counts as changing this tensor)."""
        alias = wrap(self._data, None)
        alias._base = self._base if self._base is not None else self
        return alias

    def to(self, dtype=None, *, device: str | None = None) -> Tensor:
        """This tensor in another dtype: a copy, differentiable between floating dtypes (itself
        when the dtype is already right, as PyTorch's `to`).

        `dtype` may be a dtype, another Tensor (take its dtype: `x.to(y)`) or the device "cpu",
        which changes nothing: minigrad runs on the CPU only, and any other device is an error.
        """
        if isinstance(dtype, Tensor):
            dtype = dtype.dtype
        if isinstance(dtype, str) and device is None and dtype.split(":")[0] in _DEVICES:
            dtype, device = None, dtype
        if device is not None and device != "cpu":
            raise ValueError(f"minigrad runs on the CPU only; got device {device!r}")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind != "f":  # an integer or bool copy carries no gradient
            return wrap(self._data.astype(dtype), None)
        return apply(ops.Cast, (self,), (dtype,))

    astype = to

    def clone(self) -> Tensor:
        """A copy with its own buffer, still in the graph: the gradient flows back unchanged."""
        if self._data.dtype.kind != "f":
            return wrap(self._data.copy(), None)
        return apply(ops.Cast, (self,), (self._data.dtype,))

    def numel(self) -> int:
        """The number of elements (PyTorch's name for `size`)."""
        return self._data.size

    def dim(self) -> int:
        """The number of dimensions (PyTorch's name for `ndim`)."""
        return self._data.ndim

    def square(self) -> Tensor:
        """x * x."""
        return self * self

    def std(self, axis=None, keepdims=None, correction: int = 1, *, dim=None, keepdim=None):
        """Standard deviation: the square root of `var` (same arguments)."""
        return self.var(axis, keepdims, correction, dim=dim, keepdim=keepdim).sqrt()

    def allclose(self, other, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8) -> bool:
        """Whether every element is within atol + rtol |other| of `other`, as `torch.allclose`."""
        values = other._data if isinstance(other, Tensor) else np.asarray(other)
        return bool(np.allclose(self._data, values, rtol=rtol, atol=atol))

    def float(self) -> Tensor:
        """A float32 copy (`to(np.float32)`), differentiable."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """A float64 copy (`to(np.float64)`), differentiable; gradient checks use it."""
        return self.to(np.float64)

    def __array__(self, dtype=None, copy=None):
        """NumPy's view of the values. A tensor that requires grad refuses: `np.dot(w, w)` on it
        would compute without recording anything, and backward would silently miss it."""
        if self._requires_grad:
            raise RuntimeError(_CUT_GRAPH_MESSAGE.format(what="converting it to a NumPy array"))
        array = self._data if dtype is None else self._data.astype(dtype)
        return array.copy() if copy else array

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() "
                "or .all() on its .data"
            )
        return bool(self._data)

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype != get_default_dtype():
            extras.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ---- autograd -----------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate the gradient of this tensor into the `.grad` of every leaf it depends on.

        A non-scalar tensor needs `gradient`, the vector of the vector-Jacobian product. Without
        `retain_graph` the graph's saved arrays are released as backward passes them.
        """
        autograd.backward(self, gradient, retain_graph, create_graph)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if self.is_leaf:
            return
        reference = weakref.ref(self)

        def retain(grad):
            tensor = reference()
            if tensor is not None:
                values = grad.data if isinstance(grad, Tensor) else grad
                tensor.grad = values.copy() if tensor.grad is None else tensor.grad + values

        retain.retained = reference  # type: ignore[attr-defined]  # an in-place op moves this hook to the tensor's new node
        self._add_hook(retain)

    def register_hook(self, hook):
        """Call `hook(grad)` with the gradient flowing into this tensor; a non-None return value
        replaces the gradient. Returns a handle whose `remove()` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        return self._add_hook(hook)

    def _add_hook(self, hook):
        owner = self if self.is_leaf else self.grad_fn
        hooks = owner._hooks if self.is_leaf else owner.hooks
        if hooks is None:
            hooks = []
            if self.is_leaf:
                self._hooks = hooks
            else:
                owner.hooks = hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient: `.grad` becomes None."""
        self.grad = None

    # ---- operators ----------------------------------------------------------------------------

    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, other, self)

    def __sub__(self, other):
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        return _binary(ops.Sub, other, self)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, other, self)

    def __truediv__(self, other):
        return _binary(ops.Div, self, other)

    def __rtruediv__(self, other):
        return _binary(ops.Div, other, self)

    def __pow__(self, other):
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other):
        return _binary(ops.Pow, other, self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _operand_tensor(other, self).matmul(self)

    # ---- in place: `p -= lr * p.grad` changes p itself, as in PyTorch -------------------------

    def __iadd__(self, other):
        return _update_in_place(self, ops.Add, np.add, other, "add_")

    def __isub__(self, other):
        return _update_in_place(self, ops.Sub, np.subtract, other, "sub_")

    def __imul__(self, other):
        return _update_in_place(self, ops.Mul, np.multiply, other, "mul_")

    def __itruediv__(self, other):
        return _update_in_place(self, ops.Div, np.divide, other, "div_")

    def add_(self, other) -> Tensor:
        """self += other, in this tensor's own buffer (see `__iadd__`)."""
        return self.__iadd__(other)

    def sub_(self, other) -> Tensor:
        """self -= other, in this tensor's own buffer."""
        return self.__isub__(other)

    def mul_(self, other) -> Tensor:
        """self *= other, in this tensor's own buffer."""
        return self.__imul__(other)

    def div_(self, other) -> Tensor:
        """self /= other, in this tensor's own buffer."""
        return self.__itruediv__(other)

    def zero_(self) -> Tensor:
        """Set every element to 0, in place."""
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        """Set every element to `value` (a number), in place."""
        return _fill_in_place(self, _operand_tensor(value, self), "fill_")

    def copy_(self, source) -> Tensor:
        """Copy `source` (broadcast to this shape) into this tensor, in place; under grad mode
        the gradient flows to `source`, as in PyTorch."""
        source = source if isinstance(source, Tensor) else _operand_tensor(source, self)
        return _fill_in_place(self, source, "copy_")

    def clamp_(self, min=None, max=None) -> Tensor:
        """clip(min, max), in place (bounds as for `clip`)."""
        if min is None and max is None:
            raise ValueError("clamp_ needs at least one of min and max")
        bound_grad = min if isinstance(min, Tensor) and min._requires_grad else max
        if not _changes_recorded(self, bound_grad, "clamp_"):
            low = min._data if isinstance(min, Tensor) else min
            high = max._data if isinstance(max, Tensor) else max
            np.clip(self._data, low, high, out=self._data)
            self._bump_version()
            return self
        return _adopt(self, self.clip(min, max))

    def __neg__(self):
        return apply(ops.Neg, (self,))

    def __pos__(self):
        return self

    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other):
        return _compare(np.equal, self, other)

    def __ne__(self, other):
        return _compare(np.not_equal, self, other)

    def matmul(self, other) -> Tensor:
        """Matrix product (1-D, 2-D, or batched N-D with broadcast batch dimensions)."""
        return _binary(ops.MatMul, self, other)

    # ---- elementwise --------------------------------------------------------------------------

    def exp(self) -> Tensor:
        """e^x elementwise; d/dx = e^x."""
        return apply(ops.Exp, (self,))

    def log(self) -> Tensor:
        """ln x elementwise; d/dx = 1/x."""
        return apply(ops.Log, (self,))

    def sqrt(self) -> Tensor:
        """sqrt x elementwise; d/dx = 1 / (2 sqrt x)."""
        return apply(ops.Sqrt, (self,))

    def abs(self) -> Tensor:
        """|x| elementwise; d/dx = sign(x), 0 at 0 as in PyTorch."""
        return apply(ops.Abs, (self,))

    def tanh(self) -> Tensor:
        """tanh x elementwise, the lectures' activation; d/dx = 1 - tanh(x)^2."""
        return apply(ops.Tanh, (self,))

    def tanh_(self) -> Tensor:
        """tanh in place, as `x.tanh_()` in PyTorch: this tensor becomes tanh(self)."""
        return _apply_in_place(ops.Tanh, self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x) elementwise, without overflow; d/dx = sigma (1 - sigma)."""
        return apply(ops.Sigmoid, (self,))

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; d/dx = 1 where x > 0, else 0."""
        return apply(ops.Relu, (self,))

    def relu_(self) -> Tensor:
        """relu in place, as `x.relu_()` in PyTorch: this tensor becomes relu(self)."""
        return _apply_in_place(ops.Relu, self)

    def leaky_relu(self, negative_slope: builtins.float = 0.01) -> Tensor:
        """x where x > 0, else negative_slope x; d/dx = 1 or negative_slope."""
        return apply(ops.LeakyRelu, (self,), (negative_slope,))

    def softplus(self) -> Tensor:
        """ln(1 + e^x) elementwise, without overflow; d/dx = sigmoid(x)."""
        return apply(ops.Softplus, (self,))

    def sin(self) -> Tensor:
        """sin x elementwise; d/dx = cos x."""
        return apply(ops.Sin, (self,))

    def cos(self) -> Tensor:
        """cos x elementwise; d/dx = -sin x."""
        return apply(ops.Cos, (self,))

    def clip(self, min=None, max=None) -> Tensor:
        """min(max(self, min), max) elementwise; either bound may be None, a number or a Tensor
        (broadcast with self, and differentiable too, as in PyTorch: see `selection.clamp`)."""
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            from .selection import clamp

            return clamp(self, min, max)
        return apply(ops.Clip, (self,), (min, max))

    clamp = clip

    # ---- reductions ---------------------------------------------------------------------------

    # Reductions take NumPy's `axis` / `keepdims` and PyTorch's `dim` / `keepdim` alike.

    def sum(self, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
        """Sum over `axis` (None: all; an int or a tuple), keeping reduced axes as 1 if
        `keepdims`. `dim` and `keepdim` are PyTorch's names for the same arguments."""
        axes, keep = self._reduction_axes(axis, dim, keepdims, keepdim)
        return apply(ops.Sum, (self,), (axes, keep))

    def mean(self, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
        """Mean over `axis` (alias `dim`), as `sum`."""
        axes, keep = self._reduction_axes(axis, dim, keepdims, keepdim)
        return apply(ops.Mean, (self,), (axes, keep))

    def var(
        self, axis=None, keepdims=None, correction: int = 1, *, dim=None, keepdim=None
    ) -> Tensor:
        """Variance sum (x - mean)^2 / (n - correction) over `axis` (alias `dim`): Bessel's
        correction=1 (unbiased) as in PyTorch, correction=0 for NumPy's population variance
        (lecture 001, 'Expectation and variance')."""
        axes, keep = self._reduction_axes(axis, dim, keepdims, keepdim)
        count = ops.reduced_count(self.shape, axes)
        deviation = self - self.mean(axis=axes, keepdims=True)
        return (deviation * deviation).sum(axis=axes, keepdims=keep) / max(count - correction, 0)

    def max(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """The largest value over `axis` (NumPy's amax: a gradient split evenly between ties).

        Given PyTorch's `dim`, returns PyTorch's pair `(values, indices)` instead, the indices
        of the first maximum as an int64 tensor without gradient.
        """
        return self._extreme(ops.Max, np.argmax, axis, dim, keepdims, keepdim)

    def min(self, axis=None, keepdims=None, *, dim=None, keepdim=None):
        """The smallest value over `axis`; with `dim`, the pair `(values, indices)` (see `max`)."""
        return self._extreme(ops.Min, np.argmin, axis, dim, keepdims, keepdim)

    def argmax(self, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
        """The index of the first maximum over one axis (or of the flattened tensor), int64."""
        return self._arg_extreme(np.argmax, axis, dim, keepdims, keepdim)

    def argmin(self, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
        """The index of the first minimum over one axis (or of the flattened tensor), int64."""
        return self._arg_extreme(np.argmin, axis, dim, keepdims, keepdim)

    def logsumexp(self, axis=None, keepdims=None, *, dim=None, keepdim=None) -> Tensor:
        """log sum e^x over `axis` (alias `dim`), computed without overflow."""
        axes, keep = self._reduction_axes(axis, dim, keepdims, keepdim)
        return apply(ops.LogSumExp, (self,), (axes, keep))

    def softmax(self, axis=None, *, dim=None, dtype=None) -> Tensor:
        """e^x_i / sum_j e^x_j along `axis` (alias `dim`; default the last), stable. With
        `dtype`, the input is cast to it first, as in PyTorch (`dtype=mg.float64` for a float32
        input computes in float64; the gradient comes back to the input in float32)."""
        if dtype is not None:
            return self.to(dtype).softmax(axis, dim=dim)
        axis = _one_of("axis", axis, "dim", dim, default=-1)
        if self.ndim == 0:  # a softmax over one element: as a vector of one, so it stays exact
            _normalize_axis(axis, 0)
            return self.reshape(1).softmax(0).reshape(())
        return apply(ops.Softmax, (self,), (_single_axis(axis, self.ndim),))

    def log_softmax(self, axis=None, *, dim=None, dtype=None) -> Tensor:
        """x_i - logsumexp(x) along `axis` (alias `dim`; default the last), stable; `dtype`
        casts the input first, as for `softmax`."""
        if dtype is not None:
            return self.to(dtype).log_softmax(axis, dim=dim)
        axis = _one_of("axis", axis, "dim", dim, default=-1)
        if self.ndim == 0:
            _normalize_axis(axis, 0)
            return self.reshape(1).log_softmax(0).reshape(())
        return apply(ops.LogSoftmax, (self,), (_single_axis(axis, self.ndim),))

    def _reduction_axes(self, axis, dim, keepdims, keepdim) -> tuple:
        """(normalized axes, keepdims) from either spelling of the arguments."""
        axis = _one_of("axis", axis, "dim", dim, default=None)
        keep = _one_of("keepdims", keepdims, "keepdim", keepdim, default=False)
        return _normalize_axis(axis, self.ndim), bool(keep)

    def _extreme(self, op, arg, axis, dim, keepdims, keepdim):
        axes, keep = self._reduction_axes(axis, dim, keepdims, keepdim)
        self._check_nonempty(op.name.lower(), axes)
        values = apply(op, (self,), (axes, keep))
        if dim is None:
            return values
        indices = self._arg_extreme(arg, None, dim, None, keepdim)
        return ValuesIndices(values, indices)

    def _arg_extreme(self, arg, axis, dim, keepdims, keepdim) -> Tensor:
        axis = _one_of("axis", axis, "dim", dim, default=None)
        keep = bool(_one_of("keepdims", keepdims, "keepdim", keepdim, default=False))
        if axis is not None and not _is_integer(axis):
            raise TypeError(f"{arg.__name__} takes one axis, got {axis!r}")
        axes = _normalize_axis(axis, self.ndim)
        self._check_nonempty(arg.__name__, axes)
        if axes == ():  # a 0-d tensor: its one element is at index 0
            return wrap(np.zeros((), np.int64), None)
        index = arg(self._data, axis=None if axes is None else axes[0], keepdims=keep)
        return wrap(np.asarray(index, dtype=np.int64), None)

    def _check_nonempty(self, what: str, axes) -> None:
        """max and min have no value over nothing: refuse a reduction over an empty axis (an
        empty result, as max over axis 0 of a (2, 0) tensor, is fine)."""
        shape = self.shape
        reduced = range(len(shape)) if axes is None else axes
        if axes is None and self._data.size == 0:
            raise ValueError(f"{what}() of an empty tensor of shape {shape}")
        if any(shape[i] == 0 for i in reduced):
            raise ValueError(
                f"{what}() over an empty axis of a tensor of shape {shape} (axis {axes}) has no "
                "value"
            )

    # ---- shape --------------------------------------------------------------------------------

    def reshape(self, *shape) -> Tensor:
        """The same values in a new shape (varargs or one tuple; one size may be -1, inferred),
        a view when NumPy can make one; the gradient is reshaped back."""
        target = _resolve_shape(_shape_args(shape), self.shape)
        if target == self.shape:
            return self
        return apply(ops.Reshape, (self,), (target,))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """The values with dimensions start_dim..end_dim joined into one, as `torch.flatten`."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        middle = prod(self.shape[start : end + 1])
        return self.reshape(self.shape[:start] + (middle,) + self.shape[end + 1 :])

    def squeeze(self, axis=None, *, dim=None) -> Tensor:
        """Drop the axes of length 1: all of them, or those of `axis` (alias `dim`; an int or a
        tuple) that have length 1, leaving the others, as PyTorch's `squeeze(dim)`."""
        axis = _one_of("axis", axis, "dim", dim, default=None)
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _normalize_axis(axis, self.ndim)
        shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self.reshape(shape)

    def unsqueeze(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """A new axis of length 1 at position `axis` (alias `dim`; negative counts from the end
        of the result, as in PyTorch)."""
        axis = _one_of("axis", axis, "dim", dim, default=None)
        if not _is_integer(axis):
            raise TypeError(f"unsqueeze takes one int axis, got {axis!r}")
        axis = _normalize_axis(axis, self.ndim + 1)[0]
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def transpose(self, *axes) -> Tensor:
        """Reorder the axes.

        `transpose()` reverses them (NumPy's `.T`); `transpose(dim0, dim1)` swaps two, as
        PyTorch's; three or more axes, or one tuple of axes, are a full permutation as NumPy's
        `transpose(x, axes)` (so `transpose((0, 1))` of a matrix is the identity).
        """
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            return self.permute(*axes[0])
        if not axes:
            return self.permute(*range(self.ndim - 1, -1, -1))
        if len(axes) == 2:
            order = list(range(self.ndim))
            i, j = _normalize_axis(axes[0], self.ndim), _normalize_axis(axes[1], self.ndim)
            if self.ndim:
                order[i[0]], order[j[0]] = order[j[0]], order[i[0]]
            return self.permute(*order)
        return self.permute(*axes)

    def permute(self, *dims) -> Tensor:
        """The axes in the order `dims`, a permutation of all of them (PyTorch's `permute`)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if not all(_is_integer(d) for d in dims):
            raise TypeError(f"permute takes integer axes, got {dims}")
        span = max(self.ndim, 1)
        if len(dims) != self.ndim or sorted(d % span for d in dims if -span <= d < span) != list(
            range(self.ndim)
        ):
            raise ValueError(
                f"axes {dims} are not a permutation of {self.ndim} axes (a tensor of shape "
                f"{self.shape}); permute takes every axis once"
            )
        axes = tuple(d % span for d in dims)
        return apply(ops.Transpose, (self,), (axes,))

    def broadcast_to(self, *shape) -> Tensor:
        """This tensor broadcast to `shape` (a view); -1 keeps a dimension, as PyTorch's expand."""
        shape = _shape_args(shape)
        lead = len(shape) - self.ndim
        shape = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
        )
        if not _broadcasts_to(self.shape, shape):
            raise ShapeError(f"cannot broadcast a tensor of shape {self.shape} to {shape}")
        if shape == self.shape:
            return self
        return apply(ops.BroadcastTo, (self,), (shape,))

    expand = broadcast_to

    def __getitem__(self, index) -> Tensor:
        index = _index_value(index)
        return apply(ops.GetItem, (self,), (index,))

    # ---- selection (composed in `selection`) --------------------------------------------------

    def gather(self, dim: int, index) -> Tensor:
        """The elements along `dim` at `index`, as `torch.gather` (see `selection.gather`)."""
        from .selection import gather

        return gather(self, dim, index)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        """(values, indices) of the k largest elements along `dim` (see `selection.topk`)."""
        from .selection import topk

        return topk(self, k, dim, largest, sorted)

    def masked_fill(self, mask, value) -> Tensor:
        """This tensor with `value` where the bool `mask` holds (see `selection.masked_fill`)."""
        from .selection import masked_fill

        return masked_fill(self, mask, value)

    # ---- new tensors like this one ------------------------------------------------------------

    def new_tensor(self, data, *, dtype=None, requires_grad: bool = False) -> Tensor:
        """A new leaf holding a copy of `data`, in this tensor's dtype unless `dtype` is given."""
        return Tensor(data, requires_grad, self._data.dtype if dtype is None else dtype)

    def new_full(self, size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
        """A new leaf of shape `size` filled with `fill_value`, in this tensor's dtype."""
        dtype = self._data.dtype if dtype is None else np.dtype(dtype)
        shape = _shape_args(size if isinstance(size, tuple) else (size,))
        values = np.full(shape, fill_value, dtype=dtype)
        return Tensor(values, requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        """A new leaf of zeros of shape `size` (varargs or one tuple), in this tensor's dtype."""
        return self.new_full(size, 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        """A new leaf of ones of shape `size` (varargs or one tuple), in this tensor's dtype."""
        return self.new_full(size, 1, dtype=dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        """A new leaf of shape `size` whose values are unspecified, as PyTorch's; minigrad gives
        zeros, so a run stays reproducible."""
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)


class _HookHandle:
    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class ValuesIndices(NamedTuple):
    """What `max(dim=...)`, `min(dim=...)` and `topk` return, as PyTorch's
    `torch.return_types.max`: `values, indices = x.max(dim=1)`."""

    values: Tensor
    indices: Tensor


# Device names `to` recognises, to answer "cpu" with nothing to do and the others with an error.
_DEVICES = ("cpu", "cuda", "mps", "xpu", "meta")


class Size(int):
    """`Tensor.size`: the number of elements, an int as NumPy's `size`, that answers a call as
    PyTorch's `size()` does: `t.size()` is the shape and `t.size(dim)` the length of one axis.

    NumPy takes an int subclass for an int64 array, not for a Python int, so `array / t.size`
    of a float32 array gives float64; Tensor arithmetic treats it as a Python int (float32 stays
    float32), and `t.numel()` or `int(t.size)` is a plain int for NumPy code.
    """

    shape: tuple

    def __new__(cls, count: int, shape: tuple) -> Size:
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    def __reduce__(self):
        """Copied or pickled, it is the plain int it counts."""
        return (int, (int(self),))

    def __call__(self, dim: int | None = None):
        if dim is None:
            return self.shape
        if not _is_integer(dim):
            raise TypeError(f"size(dim) takes an int, got {type(dim).__name__} {dim!r}")
        if not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(
                f"dimension {dim} is out of range for a tensor with {len(self.shape)} dimensions"
            )
        return self.shape[dim]


def _one_of(name, value, alias: str, alias_value, default):
    """An argument given under minigrad's `name` or PyTorch's `alias`; both at once is an
    error even when they agree, since one of them is then a leftover."""
    if value is not None and alias_value is not None:
        raise TypeError(f"got both {name}= and {alias}=; give one ({alias} is {name}'s alias)")
    if value is not None:
        return value
    return default if alias_value is None else alias_value


_CUT_GRAPH_MESSAGE = (
    "{what} on a tensor that requires grad would cut it from the graph: NumPy functions do "
    "not record ops, so backward would miss them. Use the Tensor op (mg.matmul, x.sum(), ...) "
    "to stay differentiable, or .detach() first (x.detach().numpy()) for plain values"
)


def _checked_grad(tensor: Tensor, value) -> np.ndarray | None:
    """A value for `tensor.grad`: None, or an array of the tensor's exact shape and dtype (a
    Tensor gives its values). Anything else would fail later inside an optimizer's NumPy code,
    or, broadcast, silently update every element with one number."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        value = value._data
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"a tensor's .grad must be an ndarray (or None), got {type(value).__name__}"
        )
    data = tensor._data
    if value.shape != data.shape or value.dtype != data.dtype:
        raise ValueError(
            f"assigned .grad of shape {value.shape} and dtype {value.dtype} to a tensor of shape "
            f"{data.shape} and dtype {data.dtype}; a gradient must match its tensor exactly"
        )
    return value


def _changes_recorded(tensor: Tensor, other, name: str) -> bool:
    """Whether an in-place change of `tensor` must be recorded on the tape (grad mode on, and it
    or `other` requires grad). A leaf that requires grad refuses, as in PyTorch: its gradient is
    about its own value, which the change would overwrite; update it under `no_grad()`."""
    if not grad_mode.enabled:
        return False
    other_grad = isinstance(other, Tensor) and other._requires_grad
    if tensor._requires_grad and tensor.grad_fn is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be changed in place while grad "
            "mode is on; do it inside `with mg.no_grad():` (the optimizer-step idiom), or use "
            "the out-of-place op"
        )
    return tensor._requires_grad or other_grad


def _update_in_place(tensor: Tensor, op, ufunc, other, name: str) -> Tensor:
    """`tensor (op)= other` written into tensor's own buffer, so every alias of the buffer sees
    it and its version moves on (a node that saved the old values refuses to backpropagate).

    Under grad mode, with anything requiring grad, the change is recorded instead: the result of
    the out-of-place op becomes the tensor's value and history, and the old buffer stays intact
    for the nodes that saved it, as `relu_` does when its buffer is not free.
    """
    if _changes_recorded(tensor, other, name):
        return _adopt(tensor, _binary(op, tensor, other))
    operand = other._data if isinstance(other, Tensor) else other
    try:
        ufunc(tensor._data, operand, out=tensor._data)
    except ValueError as error:
        raise ShapeError(
            f"{name}: the result of shapes {tensor.shape} and {np.shape(operand)} does not "
            f"fit in place in a tensor of shape {tensor.shape} ({error})"
        ) from None
    tensor._bump_version()
    return tensor


def _fill_in_place(tensor: Tensor, source: Tensor, name: str) -> Tensor:
    """`tensor[...] = source`, broadcast. Recorded, the tensor becomes a fresh copy of source:
    its old values are dropped, never combined with the new (0 * inf would be NaN)."""
    if not _broadcasts_to(source.shape, tensor.shape):
        raise ShapeError(
            f"{name}: cannot copy values of shape {source.shape} into a tensor of shape "
            f"{tensor.shape}"
        )
    if _changes_recorded(tensor, source, name):
        zeros = wrap(np.zeros(tensor.shape, tensor.dtype), None)
        return _adopt(tensor, zeros + source)  # a new buffer holding source, broadcast
    np.copyto(tensor._data, source._data)
    tensor._bump_version()
    return tensor


def _adopt(tensor: Tensor, result: Tensor) -> Tensor:
    """`tensor` takes `result`'s values and history (a recorded in-place op)."""
    if result._data.shape != tensor._data.shape:
        raise ShapeError(
            f"an in-place op on a tensor of shape {tensor.shape} gave shape {result.shape}, "
            "which does not fit in it"
        )
    tensor._data = result._data.astype(tensor._data.dtype, copy=False)
    tensor.grad_fn = result.grad_fn
    tensor._requires_grad = result._requires_grad
    return tensor


def _compare(ufunc, a: Tensor, b) -> Tensor:
    other = b.data if isinstance(b, Tensor) else b
    return wrap(np.asarray(ufunc(a.data, other)), None)


def _operand_tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return wrap(np.asarray(_operand(value, like)), None)


def _to_array(data, dtype) -> np.ndarray:
    """Python numbers and lists become the default dtype; ndarrays keep theirs unless told.

    Only numbers make a tensor (bool, integer, floating dtypes): strings, objects, dates and
    records are refused here rather than failing later inside an op.
    """
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dtype = _numeric_dtype(np.dtype(dtype), data)
        return np.array(_checked_numbers(data), dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        _numeric_dtype(data.dtype, data)
        return np.array(data)
    array = np.array(_checked_numbers(data))
    _numeric_dtype(array.dtype, data)
    if array.dtype == np.float64:
        array = array.astype(get_default_dtype())
    return array


_NUMERIC_KINDS = "biuf"


def _numeric_dtype(dtype: np.dtype, data) -> np.dtype:
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
        raise TypeError(
            f"cannot make a tensor from {type(data).__name__} data of dtype {dtype}: a tensor "
            "holds numbers (bool, integer or floating dtypes)"
        )
    return dtype


def _checked_numbers(data):
    """`data` itself, once no Python int in it is too large for int64 (NumPy would quietly make
    an object array of it)."""
    if isinstance(data, int) and not isinstance(data, bool):
        if not -(2**63) <= data < 2**63:
            raise OverflowError(f"the integer {data} does not fit in a tensor (int64 at most)")
    elif isinstance(data, (list, tuple)):
        for item in data:
            _checked_numbers(item)
    return data


def _resolve_shape(shape: tuple, current: tuple) -> tuple:
    """`shape` with its one -1 filled in; raises if it cannot hold the elements of `current`."""
    size = prod(current)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    known = prod(n for n in shape if n != -1)
    fits = len(unknown) <= 1 and all(n >= -1 for n in shape)
    if fits and unknown:
        fits = known > 0 and size % known == 0
        if fits:
            shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    if not fits or prod(shape) != size:
        raise ShapeError(f"cannot reshape a tensor of shape {current} into shape {shape}")
    return shape
