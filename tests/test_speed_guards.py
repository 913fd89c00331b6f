"""Speed guards: tests of how the engine spends memory and the garbage collector's time, not of
what it computes. Each guards a measured saving (see docs/performance.md); a change that
simplifies `Node` or the recording path may break one on purpose, and should then show in the
benchmarks that the saving is not worth its code.

- a recorded op leaves one new object (its node) for the cyclic garbage collector: a 100,000-op
  graph made it walk the whole graph twice while it was built when each op left three;
- nodes share one tuple per output shape and per constant number, in bounded tables.
"""

from __future__ import annotations

import gc
import math

import numpy as np

import minigrad as mg


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


def test_the_shared_output_shapes_stay_bounded_when_shapes_never_repeat():
    from minigrad import autograd

    x = f64(np.ones(1))
    for n in range(1, 3 * autograd._SHARED_SHAPES_LIMIT):
        assert (x * np.ones(n)).shape == (n,)
    assert len(autograd._shapes) <= autograd._SHARED_SHAPES_LIMIT


def _objects_tracked_by_a_chain(rounds: int) -> int:
    """How many more objects the garbage collector counts after `rounds` x (add, mul, tanh)."""
    x = mg.tensor(np.ones(16, np.float32), requires_grad=True)
    h = ((x + 0.5) * 0.75).tanh()  # the first time, the shared shape and constant pairs
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        for _ in range(rounds):
            h = (h + 0.5) * 0.75
            h = h.tanh()
        return gc.get_count()[0] - before
    finally:
        gc.enable()


def test_each_recorded_op_leaves_one_object_for_the_garbage_collector():
    # Its node: no tuple of parents, and no tuple per constant. The difference of two lengths
    # cancels what the measuring itself allocates.
    assert _objects_tracked_by_a_chain(400) - _objects_tracked_by_a_chain(100) == 3 * 300


def test_nodes_of_the_same_constant_number_share_one_pair_and_equal_numbers_need_not():
    x = f64([1.0, 2.0])
    half = 0.5
    assert (x + half).grad_fn.saved is (x + half).grad_fn.saved
    assert (x * -0.0).grad_fn.saved[1] is not (x * 0.0).grad_fn.saved[1]
    assert math.copysign(1.0, (x * -0.0).grad_fn.saved[1]) == -1.0
