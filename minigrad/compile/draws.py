"""Random draws while tracing: the engine RNG's draws are recorded, so a compiled step draws
fresh numbers from the same stream on every call, as eager does.

While a trace runs, the engine generator is replaced by a `RecordingGenerator`: each draw is
made by the real generator (so the traced call's numbers are eager's) and written into the
program as the same call on the engine generator of the moment. The array it returns is a
`Drawn` array, which notes the NumPy arithmetic done on it outside any op (dropout's
`draw >= p`, `keep * scale`), so that when an op consumes the result the program can compute it
the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import TraceError, user_line

# The Generator methods a traced function may draw through; anything else fails loudly.
DRAWS = frozenset(
    {"random", "standard_normal", "normal", "uniform", "integers", "binomial", "permutation"}
)


# The plain array under each Drawn made in this trace, by id: `np.asarray(drawn)` (as a Tensor
# operator does to its operand) is a plain view of that array, not of the Drawn itself.
_owners: dict = {}


def as_drawn(array: np.ndarray, expression: Expression) -> Drawn:
    """`array` (a plain array just made) as a Drawn made by `expression`."""
    drawn = array.view(Drawn)
    drawn.expression = expression
    _owners[id(array)] = (array, drawn)
    return drawn


def drawn_behind(array: np.ndarray) -> Drawn | None:
    """The Drawn that `array` is a whole plain view of, if it is one."""
    entry = _owners.get(id(array.base)) if array.base is not None else None
    if entry is None:
        return None
    drawn = entry[1]
    return drawn if (drawn.shape, drawn.dtype) == (array.shape, array.dtype) else None


def forget_draws() -> None:
    """Drop this trace's Drawn arrays."""
    _owners.clear()


class Expression:
    """How a `Drawn` array was made: a generator draw (`name` given, already in the program),
    or a ufunc call on other values."""

    def __init__(
        self, name: str | None = None, ufunc=None, method: str = "", inputs=(), kwargs=None
    ):
        self.name = name
        self.ufunc = ufunc
        self.method = method
        self.inputs = inputs
        self.kwargs = kwargs or {}


class Drawn(np.ndarray):
    """An ndarray computed from the engine RNG during a trace, carrying its `Expression`."""

    expression: Expression | None

    def __array_finalize__(self, obj: Any) -> None:
        # A view or copy made other than by a ufunc (reshape, indexing, astype) has no known
        # expression; the recorder refuses to replay one.
        self.expression = None

    def __array_ufunc__(self, ufunc, method: str, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise TraceError(
                f"an in-place NumPy update of a random draw cannot be traced: at {user_line()}"
            )
        plain = [x.view(np.ndarray) if isinstance(x, Drawn) else x for x in inputs]
        result = np.asarray(getattr(ufunc, method)(*plain, **kwargs))
        return as_drawn(
            result, Expression(ufunc=ufunc, method=method, inputs=inputs, kwargs=kwargs)
        )


class RecordingGenerator:
    """Stands in for the engine generator during a trace: draws through the real one and tells
    `on_draw(method, args, kwargs, result)` of each, which returns the array handed back."""

    def __init__(self, real: np.random.Generator, on_draw):
        self._real = real
        self._on_draw = on_draw

    def __getattr__(self, name: str):
        if name not in DRAWS:
            raise TraceError(
                f"the engine RNG's {name!r} cannot be traced (a compiled step replays only "
                f"{sorted(DRAWS)}): at {user_line()}"
            )
        method = getattr(self._real, name)

        def draw(*args, **kwargs):
            return self._on_draw(name, args, kwargs, method(*args, **kwargs))

        return draw
