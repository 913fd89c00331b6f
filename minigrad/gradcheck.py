"""Finite-difference gradient checks: of a function, of its second derivatives, of a whole graph.

The engine's gradient is compared with central differences,
    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),
whose error is O(eps^2) from truncation plus O(machine eps / eps) from rounding; with float64 and
eps = 1e-6 both are around 1e-10, which is why the inputs must be float64 (in float32 the rounding
term alone is about 1e-1 and any comparison would be meaningless).

Two modes: `full` builds both Jacobians element by element; `fast` compares random projections
u^T J v, which costs two evaluations per input instead of two per input element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import autograd
from .autograd import FREED, Node
from .tensor import Tensor, wrap

FULL_MODE_LIMIT = 4096  # auto mode: full Jacobians up to this many (input x output) elements


class GradcheckError(AssertionError):
    """The engine's gradient disagrees with finite differences."""


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _checked_inputs(inputs: tuple) -> list[int]:
    indices = []
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            continue
        if tensor.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 inputs, but input {index} is {tensor.dtype}: central "
                "differences in single precision are too coarse to check anything; create it "
                "with dtype=np.float64"
            )
        indices.append(index)
    if not indices:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    return indices


def _outputs(fn, inputs: tuple) -> tuple:
    return _as_tuple(fn(*inputs))


def _output_values(fn, inputs: tuple) -> np.ndarray:
    # Evaluated with grad mode on: `fn` may itself differentiate (gradgradcheck's does).
    outputs = _outputs(fn, inputs)
    return np.concatenate([np.asarray(o.data, dtype=np.float64).ravel() for o in outputs])


def _engine_vjp(outputs: tuple, inputs: tuple, indices: list, cotangent: np.ndarray) -> list:
    """u^T J for each checked input, u = `cotangent` spread over the outputs."""
    roots, seeds, offset = [], [], 0
    for out in outputs:
        piece = cotangent[offset : offset + out.size].reshape(out.shape)
        offset += out.size
        if out.requires_grad:
            roots.append(out)
            seeds.append(piece.astype(out.dtype))
    if not roots:
        return [np.zeros(inputs[i].shape) for i in indices]
    grads = autograd.grad(
        roots, [inputs[i] for i in indices], seeds, retain_graph=True, allow_unused=True
    )
    return [
        np.zeros(inputs[i].shape) if g is None else np.asarray(g.data, dtype=np.float64)
        for g, i in zip(grads, indices)
    ]


def _central_difference(fn, inputs: tuple, tensor: Tensor, direction: np.ndarray, eps: float):
    original = tensor.data.copy()
    try:
        tensor.data = original + eps * direction
        plus = _output_values(fn, inputs)
        tensor.data = original - eps * direction
        minus = _output_values(fn, inputs)
    finally:
        tensor.data = original
    return (plus - minus) / (2 * eps)


def _mismatch(engine, numeric, atol: float, rtol: float):
    difference = np.abs(engine - numeric)
    bad = difference > atol + rtol * np.abs(numeric)
    return np.argwhere(bad), difference


def gradcheck(
    fn,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    mode: str = "auto",
    projections: int = 3,
) -> bool:
    """Check the gradients of `fn` at `inputs` (float64 tensors) against central differences.

    Every input that requires grad is checked, for every output of `fn` (a Tensor or a tuple of
    them). `mode='full'` compares whole Jacobians, `'fast'` compares `projections` random
    projections u^T J v, `'auto'` picks full for small problems. Returns True, or raises
    `GradcheckError` naming the input, the element, both values and their difference (returns
    False instead when `raise_exception=False`).
    """
    inputs = _as_tuple(inputs)
    indices = _checked_inputs(inputs)
    outputs = _outputs(fn, inputs)
    out_size = sum(o.size for o in outputs)
    in_size = sum(inputs[i].size for i in indices)
    if mode == "auto":
        mode = "full" if out_size * in_size <= FULL_MODE_LIMIT else "fast"
    if mode not in ("full", "fast"):
        raise ValueError(f"mode must be 'auto', 'full' or 'fast', got {mode!r}")
    check = _check_full if mode == "full" else _check_fast
    message = check(fn, inputs, indices, outputs, out_size, eps, atol, rtol, projections)
    if message is None:
        return True
    if raise_exception:
        raise GradcheckError(message)
    return False


def _check_full(fn, inputs, indices, outputs, out_size, eps, atol, rtol, projections):
    engine_rows = []
    for k in range(out_size):
        unit = np.zeros(out_size)
        unit[k] = 1.0
        engine_rows.append(_engine_vjp(outputs, inputs, indices, unit))
    for slot, index in enumerate(indices):
        tensor = inputs[index]
        engine = np.stack([row[slot].ravel() for row in engine_rows])  # (out, in)
        numeric = np.empty_like(engine)
        for j in range(tensor.size):
            direction = np.zeros(tensor.size)
            direction[j] = 1.0
            numeric[:, j] = _central_difference(
                fn, inputs, tensor, direction.reshape(tensor.shape), eps
            )
        bad, difference = _mismatch(engine, numeric, atol, rtol)
        if len(bad):
            k, j = bad[np.argmax(difference[tuple(bad.T)])]
            element = np.unravel_index(j, tensor.shape)
            return (
                f"gradcheck failed for input {index} (shape {tensor.shape}) at element "
                f"{tuple(int(e) for e in element)}, output element {int(k)}: engine gradient "
                f"{engine[k, j]:.10g}, finite difference {numeric[k, j]:.10g}, difference "
                f"{difference[k, j]:.3g} (atol {atol}, rtol {rtol}); {len(bad)} of "
                f"{engine.size} Jacobian entries disagree"
            )
    return None


def _check_fast(fn, inputs, indices, outputs, out_size, eps, atol, rtol, projections):
    rng = np.random.default_rng(0)
    for trial in range(projections):
        cotangent = rng.standard_normal(out_size)
        engine = _engine_vjp(outputs, inputs, indices, cotangent)
        for slot, index in enumerate(indices):
            tensor = inputs[index]
            direction = rng.standard_normal(tensor.shape)
            numeric = float(cotangent @ _central_difference(fn, inputs, tensor, direction, eps))
            analytic = float(np.sum(engine[slot] * direction))
            if abs(analytic - numeric) > atol + rtol * abs(numeric):
                return (
                    f"gradcheck (fast mode, projection {trial}) failed for input {index} "
                    f"(shape {tensor.shape}): engine u^T J v = {analytic:.10g}, finite difference "
                    f"{numeric:.10g}, difference {abs(analytic - numeric):.3g} (atol {atol}, "
                    f"rtol {rtol}); rerun with mode='full' to find the element"
                )
    return None


def gradgradcheck(
    fn,
    inputs,
    grad_outputs=None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    mode: str = "auto",
) -> bool:
    """Check second derivatives: gradcheck of x -> d(u^T fn(x))/dx with `create_graph=True`.

    `grad_outputs` (u) defaults to fixed random float64 arrays shaped like the outputs.
    """
    inputs = _as_tuple(inputs)
    indices = _checked_inputs(inputs)
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = tuple(rng.standard_normal(o.shape) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)

    def first_derivatives(*args):
        grads = autograd.grad(
            _outputs(fn, args),
            [args[i] for i in indices],
            grad_outputs,
            create_graph=True,
            allow_unused=True,
        )
        return tuple(
            g if g is not None else wrap(np.zeros(args[i].shape), None)
            for g, i in zip(grads, indices)
        )

    return gradcheck(
        first_derivatives, inputs, eps, atol, rtol, raise_exception=raise_exception, mode=mode
    )


# ---------------------------------------------------------------------------------------------
# checking every node of a recorded graph


@dataclass
class NodeFailure:
    """One node whose VJP disagrees with finite differences for one of its inputs."""

    node: Node
    input_index: int
    max_abs_error: float
    engine: float
    numeric: float


@dataclass
class GraphCheck:
    """What `gradcheck_graph` found: `ok`, the `failures`, and `bad_nodes` (for `viz`)."""

    checked: int = 0
    failures: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def bad_nodes(self) -> set:
        return {failure.node for failure in self.failures}

    def __str__(self) -> str:
        if self.ok:
            return f"all {self.checked} nodes agree with finite differences"
        lines = [f"{len(self.failures)} of {self.checked} node checks disagree:"]
        for f in self.failures:
            lines.append(
                f"  {f.node.name()} (node #{f.node.seq}) input {f.input_index}: engine "
                f"{f.engine:.6g} vs finite difference {f.numeric:.6g} "
                f"(difference {f.max_abs_error:.3g})"
            )
        return "\n".join(lines)


def gradcheck_graph(
    root: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = False,
) -> GraphCheck:
    """Check each node of `root`'s recorded graph on its own: its VJP against finite differences
    of its forward, at the values it saw (replayed in float64).

    A wrong derivative anywhere in a large graph is then pinned to the node that has it. Call it
    before `backward` (or after `backward(retain_graph=True)`), while the graph still holds its
    values.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"gradcheck_graph needs a Tensor, got {type(root).__name__}")
    nodes = autograd.graph_nodes(root.grad_fn)[::-1]  # tape order: parents before children
    report = GraphCheck()
    values: dict = {}
    rng = np.random.default_rng(0)
    for node in nodes:
        if node.saved is FREED:
            raise ValueError(
                "gradcheck_graph: the graph's values were released by backward; call it before "
                "backward, or run backward(retain_graph=True)"
            )
        inputs = _node_inputs(node, values)
        out = _replay(node, inputs)
        values[node] = out
        report.checked += 1
        for index, parent in enumerate(node.parents):
            if parent is not None:
                failure = _check_node_input(node, inputs, out, index, eps, atol, rtol, rng)
                if failure is not None:
                    report.failures.append(failure)
    if raise_exception and not report.ok:
        raise GradcheckError(str(report))
    return report


def _float64(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return value


def _node_inputs(node: Node, values: dict) -> list:
    saved = node.saved or (None,) * len(node.parents)
    inputs = []
    for parent, array in zip(node.parents, saved):
        if type(parent) is Node:
            inputs.append(values[parent])
        elif parent is not None:
            inputs.append(_float64(parent.data))
        else:
            inputs.append(_float64(array))
    return inputs


def _params(node: Node) -> tuple:
    fresh = getattr(node.op, "fresh_params", None)
    return fresh(node) if fresh is not None else node.params


def _replay(node: Node, inputs: list) -> np.ndarray:
    return np.asarray(node.op.forward(*inputs, *_params(node)))


def _check_node_input(node, inputs, out, index, eps, atol, rtol, rng):
    op, params = node.op, _params(node)
    out = np.asarray(op.forward(*inputs, *params))  # with these params (a custom op's context)
    needs = tuple(i == index for i in range(len(inputs)))
    upstream = rng.standard_normal(out.shape)
    saved = tuple(inputs) if op.saves_inputs else None
    engine_grad = op.vjp(upstream, out if op.saves_output else None, saved, needs, *params)[index]
    engine_grad = autograd.unbroadcast(
        np.asarray(engine_grad, dtype=np.float64), inputs[index].shape
    )
    direction = rng.standard_normal(np.shape(inputs[index]))
    shifted = list(inputs)
    shifted[index] = inputs[index] + eps * direction
    plus = np.asarray(op.forward(*shifted, *_params(node)))
    shifted[index] = inputs[index] - eps * direction
    minus = np.asarray(op.forward(*shifted, *_params(node)))
    numeric = float(np.sum(upstream * (plus - minus)) / (2 * eps))
    engine = float(np.sum(engine_grad.reshape(np.shape(direction)) * direction))
    if abs(engine - numeric) > atol + rtol * abs(numeric):
        return NodeFailure(node, index, abs(engine - numeric), engine, numeric)
    return None
