"""Differential property test of `mg.compile`: the random programs of test_differential, each
made a step (forward, the loss, backward) and compiled with every private array kept in a
buffer (the size floor lowered to one byte), must give eager's outputs and gradients bit for bit
on every call, and no returned tensor or `.grad` may share memory with a kept buffer."""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from minigrad.compile import CompileWarning, TraceError
from tests.test_differential import OPS, evaluate, programs

buffers_module = importlib.import_module("minigrad.compile.buffers")  # `mg.compile` hides it
EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "300")) // 2 or 1
CALLS = 3


def as_step(program):
    """The program as a step over leaf tensors of its own; returns (step, leaves)."""
    leaves = [mg.Tensor(v.copy(), requires_grad=r) for v, r in program.leaves]
    dtypes = [out.dtype for out in evaluate(program, "mg", False)[0]]
    cotangents = [mg.Tensor(c.astype(d)) for c, d in zip(program.cotangents, dtypes)]

    def step():
        for leaf in leaves:
            leaf.grad = None
        values = []
        for item in program.steps:
            if item.op == "leaf":
                values.append(leaves[item.params["index"]])
            else:
                values.append(OPS[item.op].mg(*(values[i] for i in item.args), **item.params))
        outputs = [values[i] for i in program.outputs]
        terms = [(out * c).sum() for out, c in zip(outputs, cotangents)]
        loss = terms[0]
        for term in terms[1:]:
            loss = loss + term
        if loss.requires_grad:
            loss.backward()
        return (loss, *outputs)

    return step, leaves


def results(step, leaves) -> list:
    with np.errstate(all="ignore"):
        returned = step()
    grads = [None if leaf.grad is None else leaf.grad.copy() for leaf in leaves]
    return [r.data.copy() for r in returned], grads, returned


@settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(programs())
def test_compiled_random_programs_with_every_array_kept_equal_eager(program):
    floor = buffers_module.SMALLEST
    buffers_module.SMALLEST = 1
    try:
        eager_step, eager_leaves = as_step(program)
        step, leaves = as_step(program)
        compiled = mg.compile(step)
        for _ in range(CALLS):
            expected = results(eager_step, eager_leaves)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CompileWarning)
                try:
                    got = results(compiled, leaves)
                except TraceError:
                    assume(False)  # a program the tracer refuses to record, and says so
            for want, have in zip(expected[0], got[0]):
                assert want.dtype == have.dtype and np.array_equal(want, have, equal_nan=True)
            for want, have in zip(expected[1], got[1]):
                assert (want is None) == (have is None)
                if want is not None:
                    assert want.dtype == have.dtype and np.array_equal(want, have, equal_nan=True)
            _assert_apart(compiled, got[2], leaves)
    finally:
        buffers_module.SMALLEST = floor


def _assert_apart(compiled, returned, leaves) -> None:
    """No returned tensor and no `.grad` shares memory with this thread's kept buffers."""
    program = compiled._last
    if program is None or program.buffers is None:
        return
    kept = list(program.buffers.here().values())
    held = [r.data for r in returned] + [leaf.grad for leaf in leaves if leaf.grad is not None]
    for array in held:
        assert not any(np.shares_memory(array, buffer) for buffer in kept)
