"""Tensor factories: zeros, ones, full, eye, arange, randn, rand and the *_like forms.

Each takes `dtype` (default: the engine's default float dtype) and `requires_grad`; shapes come as
varargs or one tuple, so `zeros(2, 3) == zeros((2, 3))`. Random ones draw from the engine RNG.
"""

from __future__ import annotations

import numpy as np

from .dtypes import get_default_dtype
from .random import generator
from .tensor import Tensor, _shape_args


def _make(data: np.ndarray, requires_grad: bool) -> Tensor:
    tensor = Tensor.__new__(Tensor)
    Tensor.__init__(tensor, data, requires_grad=requires_grad)
    return tensor


def _dtype(dtype) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """`Tensor(data, ...)` under PyTorch's lower-case name."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of `shape` (varargs or one tuple), of `dtype` (default: float32)."""
    return _make(np.zeros(_shape_args(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of `shape` (varargs or one tuple), of `dtype` (default: float32)."""
    return _make(np.ones(_shape_args(shape), dtype=_dtype(dtype)), requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` (an int or a tuple) holding `fill_value` everywhere."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(np.full(shape, fill_value, dtype=_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity (m defaults to n): ones on the diagonal, zeros elsewhere."""
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Like `torch.arange`: integer arguments give int64 unless a dtype is asked for."""
    if stop is None:
        start, stop = 0, start
    integral = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    if dtype is None and integral:
        return _make(np.arange(start, stop, step, dtype=np.int64), requires_grad)
    return _make(np.arange(start, stop, step, dtype=_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the engine RNG."""
    dtype = _dtype(dtype)
    return _make(generator().standard_normal(_shape_args(shape), dtype=dtype), requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from the engine RNG."""
    dtype = _dtype(dtype)
    return _make(generator().random(_shape_args(shape), dtype=dtype), requires_grad)


def _array_of(other) -> np.ndarray:
    return other.data if isinstance(other, Tensor) else np.asarray(other)


def zeros_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of `other`'s shape and (unless given) dtype; `other` a Tensor or an array."""
    data = _array_of(other)
    return _make(np.zeros(data.shape, dtype=dtype or data.dtype), requires_grad)


def ones_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of `other`'s shape and (unless given) dtype; `other` a Tensor or an array."""
    data = _array_of(other)
    return _make(np.ones(data.shape, dtype=dtype or data.dtype), requires_grad)
