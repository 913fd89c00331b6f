"""`guard`: whether a cached program may replay now.

A program replays only while what it was recorded with still holds: every module's parameters
and submodules are the same objects in their places, every tensor it reads has the same shape
and dtype, and its update's branches (`branches`, generated code) still go the same way.

The first two can change only where `structure.changed()` is called, so they are read again
only when its count has moved since the program last found them holding; then each is one pass
of `map` over prepared sequences: `operator.is_` against the objects held at trace time, and
the (shape, dtype) pairs compared with `==` against the pairs read then. On benchmark case 2
(12 parameters, 11 submodules, 14 tensors) the two passes took about 42,000 instructions a call
(valgrind's callgrind, the difference of 400 and 100 calls), about 4% of the compiled step;
comparing the count takes a few dozen. The update's branches read optimizer options and state,
which change without telling, so they are checked on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, getitem, is_

from .. import structure
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
    seen = [structure.changes]  # the count when slots and shapes were last found holding

    def checks() -> bool:
        if structure.changes != seen[0]:
            count = structure.changes
            if not (
                all(map(is_, map(getitem, registries, names), held))
                and list(map(_SHAPE_AND_DTYPE, tensors)) == shapes
            ):
                return False
            seen[0] = count
        return branches()

    return checks
