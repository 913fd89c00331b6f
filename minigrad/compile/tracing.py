"""`recording(recorder)`: the scope in which one eager call is watched.

Inside it the recorder watches every op and VJP (`autograd.add_watcher`), every optimizer call
(`optim.optimizer.add_watcher`), every `.grad` assignment and every draw of the engine RNG, and
the Tensor methods that hand a value to Python (`bool(t)`, `float(t)`, `t.item()`,
`t.tolist()`, `t.numpy()`, `np.asarray(t)`, and `t.data` and `t.grad` read from outside the
engine) raise `TraceError`: a program recorded once cannot take the branch a later value would.
All of it is undone on the way out, however it ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .. import autograd, random
from ..optim import optimizer as optimizer_module
from ..tensor import Tensor
from .draws import RecordingGenerator, forget_draws
from .errors import value_read_error

# The Tensor methods that give Python a tensor's value, and how the error names each.
VALUE_READS = {
    "__bool__": "bool(tensor) (an `if` or `while` on a tensor)",
    "__float__": "float(tensor)",
    "item": "tensor.item()",
    "tolist": "tensor.tolist()",
    "numpy": "tensor.numpy()",
    "__array__": "np.asarray(tensor) (or another NumPy function given a tensor)",
}


def _refusing(what: str):
    def read(self, *args, **kwargs):
        raise value_read_error(what)

    return read


# Who may read `.data` and `.grad` while a step is recorded: the engine itself (its ops and
# losses read arrays to compute, which the recording sees as ops), and for gradients only the
# layers that hand them on (the walk, the optimizers, the recorder). A read from anywhere else,
# the user's code or `clip_grad_norm_`, would steer Python by values the program cannot see.
DATA_READERS = ("minigrad.",)
GRAD_READERS = ("minigrad.autograd", "minigrad.tensor", "minigrad.optim.", "minigrad.compile.")


def _caller_allowed(readers: tuple) -> bool:
    return sys._getframe(2).f_globals.get("__name__", "").startswith(readers)


def _watched_data(data: property) -> property:
    """`Tensor.data`, refused to the user's code while recording (as `.numpy()` is)."""

    def read(tensor):
        if not _caller_allowed(DATA_READERS):
            raise value_read_error("tensor.data")
        return data.fget(tensor)  # type: ignore[misc]

    return property(read, data.fset, doc=data.__doc__)


def _watched_grad(grad: property, recorder) -> property:
    """`Tensor.grad`, whose assignments the recorder hears of first, and whose values only the
    engine's layers that hand gradients on may read while recording."""

    def read(tensor):
        if not _caller_allowed(GRAD_READERS):
            raise value_read_error("reading tensor.grad (as clip_grad_norm_ does)")
        return grad.fget(tensor)  # type: ignore[misc]

    def assign(tensor, value):
        recorder.on_grad_set(tensor, value)
        grad.fset(tensor, value)  # type: ignore[misc]

    return property(read, assign, doc=grad.__doc__)


@contextmanager
def recording(recorder) -> Iterator[None]:
    """Watch everything the engine does in this scope through `recorder`."""
    originals = {name: Tensor.__dict__[name] for name in (*VALUE_READS, "grad", "data")}
    generator = random._generator
    autograd.add_watcher(recorder)
    optimizer_module.add_watcher(recorder)
    random._generator = RecordingGenerator(generator, recorder.on_draw)  # type: ignore[assignment]
    for name, what in VALUE_READS.items():
        setattr(Tensor, name, _refusing(what))
    Tensor.grad = _watched_grad(originals["grad"], recorder)  # type: ignore[method-assign]
    Tensor.data = _watched_data(originals["data"])  # type: ignore[method-assign]
    try:
        yield
    finally:
        forget_draws()
        for name, method in originals.items():
            setattr(Tensor, name, method)
        if isinstance(random._generator, RecordingGenerator):
            random._generator = generator
        optimizer_module.remove_watcher(recorder)
        autograd.remove_watcher(recorder)
