"""Finite-difference gradient checks: of a function, of its second derivatives, of a whole graph.

The engine's gradient is compared with central differences,
    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),
whose error is O(eps^2) from truncation plus O(machine eps / eps) from rounding; with float64 and
eps = 1e-6 both are around 1e-10, which is why the inputs must be float64 (in float32 the rounding
term alone is about 1e-1 and any comparison would be meaningless).

Two modes: `full` builds both Jacobians element by element; `fast` compares random projections
u^T J v, which costs two evaluations per input instead of two per input element.

A non-finite number never agrees: NaN in either Jacobian (engine or finite difference) fails, and
so does an infinity, unless both hold the same infinity at the same element. `eps` must be finite
and > 0, `atol` and `rtol` finite and >= 0; anything else is refused with a ValueError, since with
eps = 0 every difference quotient is 0/0 and with rtol = NaN no comparison can fail.
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


POSITIVE_ARGUMENTS = ("eps",)  # must be > 0; the other tolerances (atol, rtol) must be >= 0


def check_tolerance(name: str, value) -> float:
    """`value` as a float if it is a finite real number, > 0 for `eps` and >= 0 for `atol` and
    `rtol`; otherwise a ValueError that names the argument and the value it got."""
    positive = name in POSITIVE_ARGUMENTS
    number = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    if number is None or not np.isfinite(number) or number < 0 or (positive and number == 0):
        rule = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {rule}, got {value!r}")
    return number


def check_tolerances(eps, atol, rtol) -> tuple[float, float, float]:
    """(eps, atol, rtol) as floats once eps is finite and > 0 and atol, rtol are finite and >= 0;
    otherwise a ValueError naming the first bad argument and its value.

    eps = 0 would make every difference quotient 0/0 = NaN, and a NaN or infinite tolerance makes
    the test |engine - numeric| <= atol + rtol |numeric| either never or always true.
    """
    return (
        check_tolerance("eps", eps),
        check_tolerance("atol", atol),
        check_tolerance("rtol", rtol),
    )


def _check_projections(projections) -> int:
    """Fast mode compares `projections` random projections: zero of them would check nothing."""
    if (
        isinstance(projections, bool)
        or not isinstance(projections, (int, np.integer))
        or projections < 1
    ):
        raise ValueError(f"projections must be an int >= 1, got {projections!r}")
    return int(projections)


def disagreement(engine, numeric, atol: float, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """(bad, difference) elementwise for an engine and a finite-difference value.

    Two finite values agree when |engine - numeric| <= atol + rtol |numeric|. A NaN on either side
    never agrees, nor does an infinity, unless both sides hold the same infinity (then the
    difference is 0). `difference` is |engine - numeric|: NaN or inf where a side is not finite.
    """
    engine = np.asarray(engine, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    same_infinity = np.isinf(engine) & (engine == numeric)
    finite = np.isfinite(engine) & np.isfinite(numeric)
    with np.errstate(invalid="ignore"):
        difference = np.where(same_infinity, 0.0, np.abs(engine - numeric))
        too_far = difference > atol + rtol * np.abs(numeric)
    bad = ~same_infinity & (~finite | too_far)
    return bad, difference


def _nonfinite_note(engine: float, numeric: float) -> str:
    if np.isfinite(engine) and np.isfinite(numeric):
        return ""
    return "; a non-finite value never agrees (only the same infinity on both sides does)"


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
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which the comparison then fails
        return (plus - minus) / (2 * eps)


def _mismatch(engine, numeric, atol: float, rtol: float):
    bad, difference = disagreement(engine, numeric, atol, rtol)
    return np.argwhere(bad), difference


def _worst(bad: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """The bad entry to report: a NaN one first, else the largest difference."""
    differences = difference[tuple(bad.T)]
    nan = np.isnan(differences)
    return bad[np.argmax(nan)] if nan.any() else bad[np.argmax(differences)]


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
    projections u^T J v, `'auto'` picks full for small problems. Entries agree when
    |engine - numeric| <= atol + rtol |numeric|; a NaN or infinity on either side fails unless
    both sides hold the same infinity. Returns True, or raises `GradcheckError` naming the input,
    the element, both values and their difference (returns False instead when
    `raise_exception=False`).

    `eps` must be finite and > 0, `atol` and `rtol` finite and >= 0, `projections` an int >= 1;
    otherwise ValueError.
    """
    eps, atol, rtol = check_tolerances(eps, atol, rtol)
    projections = _check_projections(projections)
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
            k, j = _worst(bad, difference)
            element = np.unravel_index(j, tensor.shape)
            return (
                f"gradcheck failed for input {index} (shape {tensor.shape}) at element "
                f"{tuple(int(e) for e in element)}, output element {int(k)}: engine gradient "
                f"{engine[k, j]:.10g}, finite difference {numeric[k, j]:.10g}, difference "
                f"{difference[k, j]:.3g} (atol {atol}, rtol {rtol}); {len(bad)} of "
                f"{engine.size} Jacobian entries disagree"
                f"{_nonfinite_note(engine[k, j], numeric[k, j])}"
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
            with np.errstate(invalid="ignore", over="ignore"):
                numeric = float(cotangent @ _central_difference(fn, inputs, tensor, direction, eps))
                analytic = float(np.sum(engine[slot] * direction))
            bad, difference = disagreement(analytic, numeric, atol, rtol)
            if bad:
                return (
                    f"gradcheck (fast mode, projection {trial}) failed for input {index} "
                    f"(shape {tensor.shape}): engine u^T J v = {analytic:.10g}, finite difference "
                    f"{numeric:.10g}, difference {float(difference):.3g} (atol {atol}, "
                    f"rtol {rtol}){_nonfinite_note(analytic, numeric)}; rerun with mode='full' "
                    "to find the element"
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

    `grad_outputs` (u) defaults to fixed random float64 arrays shaped like the outputs. The
    comparison and the rules for `eps`, `atol` and `rtol` are gradcheck's: non-finite values fail.
    """
    eps, atol, rtol = check_tolerances(eps, atol, rtol)
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
        """Whether every node's VJP agreed with finite differences."""
        return not self.failures

    @property
    def bad_nodes(self) -> set:
        """The nodes whose VJP disagreed with finite differences."""
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
    values. As in gradcheck, a NaN or infinity on either side of a node's check is a failure, and
    `eps` must be finite and > 0, `atol` and `rtol` finite and >= 0.
    """
    eps, atol, rtol = check_tolerances(eps, atol, rtol)
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
    with np.errstate(invalid="ignore", over="ignore"):
        numeric = float(np.sum(upstream * (plus - minus)) / (2 * eps))
        engine = float(np.sum(engine_grad.reshape(np.shape(direction)) * direction))
    bad, difference = disagreement(engine, numeric, atol, rtol)
    if bad:
        return NodeFailure(node, index, float(difference), engine, numeric)
    return None
