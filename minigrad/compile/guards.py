"""`guard`: whether a cached program may replay now, read with C-level maps, no Python loop.

A program replays only while what it was recorded with still holds: every module's parameters
and submodules are the same objects in their places, every tensor it reads has the same shape
and dtype, and its update's branches (`branches`, generated code) still go the same way.

Each of the first two is one pass of `map` over prepared sequences: `operator.is_` against the
objects held at trace time, and the (shape, dtype) pairs compared with `==` against the pairs
read then (`==` on a dtype is NumPy's). On benchmark case 2 (12 parameters, 11 submodules, 14
tensors) the checks take about 52,000 instructions a call (valgrind's callgrind, the difference
of 400 and 100 calls), 78,800 as the Python loops they replace with the update's old guards; the
hand-written step is 872,000.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, getitem, is_

from ..tensor import Tensor

_SHAPE_AND_DTYPE = attrgetter("_data.shape", "_data.dtype")


def guard(slots: list, tensors: list[Tensor], branches: Callable[[], bool]) -> Callable[[], bool]:
    """A function of no arguments: whether each `(registry, name, object)` of `slots` still
    has `registry[name] is object`, each of `tensors` its present shape and dtype, and
    `branches()` holds."""
    registries = [registry for registry, _, _ in slots]
    names = [name for _, name, _ in slots]
    held = [value for _, _, value in slots]
    shapes = list(map(_SHAPE_AND_DTYPE, tensors))

    def checks() -> bool:
        return (
            all(map(is_, map(getitem, registries, names), held))
            and list(map(_SHAPE_AND_DTYPE, tensors)) == shapes
            and branches()
        )

    return checks
