"""`Snapshot`: the values a training step changes (tensors' data and gradients, optimizer state,
the engine RNG), copied, so a traced call can be checked against its compiled replay.

The first call of a compiled function runs eagerly while it is recorded; the state before it is
put back, the generated program runs from there, and its results must equal eager's bit for
bit, or the function stays eager for those inputs (and says so). That catches what a recording
cannot see, such as a parameter updated through `.data` by hand.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import random


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b) or (a != a and b != b)  # NaN options equal themselves here


def _copy(value):
    return None if value is None else np.array(value, copy=True)


class Snapshot:
    """Copies of `tensors`' data and grads, `optimizers`' state and options, and the RNG state."""

    def __init__(self, tensors: list, optimizers: list):
        self.tensors = [(t, _copy(t.data), _copy(t.grad)) for t in tensors]
        self.optimizers = [
            (
                o,
                {p: copy.deepcopy(s) for p, s in o.state.items()},
                o.step_count,
                [
                    {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
                    for g in o.param_groups
                ],
            )
            for o in optimizers
        ]
        self.rng = random.get_state()

    def restore(self) -> None:
        """Put every value back (in the tensors' own buffers where they still fit)."""
        for tensor, data, grad in self.tensors:
            if tensor.data.shape == data.shape and tensor.data.dtype == data.dtype:
                np.copyto(tensor.data, data)
            else:
                tensor.data = data.copy()
            tensor.grad = _copy(grad)
        for optimizer, state, step_count, groups in self.optimizers:
            optimizer.state = {p: copy.deepcopy(s) for p, s in state.items()}
            optimizer.step_count = step_count
            for group, options in zip(optimizer.param_groups, groups):
                group.update(copy.deepcopy(options))
        random.set_state(self.rng)

    def options_changed(self) -> bool:
        """Whether an optimizer's options differ from the copied ones (a scheduler stepped)."""
        return not all(
            _same(options, [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups])
            for o, _, _, options in self.optimizers
        )

    def matches_now(self) -> bool:
        """Whether the live values equal the copied ones, bit for bit."""
        now = Snapshot([t for t, _, _ in self.tensors], [o for o, *_ in self.optimizers])
        return (
            all(_same(a[1], b[1]) and _same(a[2], b[2]) for a, b in zip(self.tensors, now.tensors))
            and all(
                _same(a[1], b[1]) and a[2] == b[2] and _same(a[3], b[3])
                for a, b in zip(self.optimizers, now.optimizers)
            )
            and _same(self.rng, now.rng)
        )
