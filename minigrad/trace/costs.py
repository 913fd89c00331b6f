"""Exact flop counts of every primitive, forward and backward, as functions of shapes.

Each primitive holds its own formulas (`forward_cost` and `backward_cost` on its class in
`minigrad.ops`); this module looks them up by op and states the conventions they follow.

Conventions (docs/trace.md lists every constant):

- A matrix product (n, d) @ (d, e) costs 2 n d e flops: one multiply and one add per term, the
  usual multiply-add convention. Its backward costs 2 n d e per input whose gradient is needed
  (g @ b^T and a^T g), so 4 n d e when both are. The fused `Linear` (x @ W + b) counts its
  product the same way; its bias add (N e) and the bias gradient (a sum of N e numbers) are
  counted apart, as elementwise and reduction flops, so the matmul column stays exactly
  2 N d e forward and 4 N d e backward (lecture 001, slide 'Cost per layer').
- An elementwise op costs 1 flop per output element, a transcendental function (exp, log, tanh,
  sigmoid, softplus, sin, cos, sqrt) included: one call of the maths library counts as one op, as
  the lecture's "activation function: O(1)" does. A backward costs the arithmetic of its VJP
  formula per element (tanh: g (1 - out^2) is 3).
- A reduction over n input elements costs n; summing a broadcast gradient back to its input's
  shape (which the engine does after a VJP) costs the size of the gradient being summed.
- Shape ops (reshape, transpose, broadcast, slicing, concatenation) and casts cost 0 flops.
- An op outside the op table (a user's `Function`) has unknown cost: `None`.
"""

from __future__ import annotations

from ..ops import PRIMITIVES, Cost, Elementwise, Op

__all__ = ["Cost", "backward_cost", "cost_table", "forward_cost"]

_BY_NAME = {op.name: op for op in PRIMITIVES}


def _primitive(op: type[Op] | str) -> type[Op] | None:
    return _BY_NAME.get(op) if isinstance(op, str) else op


def forward_cost(
    op: type[Op] | str, input_shapes: list, output_shape: tuple, params: tuple = ()
) -> Cost | None:
    """Flops of `op`'s forward (a primitive's class or name) on inputs of `input_shapes` (None:
    an absent input, e.g. no bias); None when the op is not in the op table."""
    primitive = _primitive(op)
    return None if primitive is None else primitive.forward_cost(input_shapes, output_shape, params)


def backward_cost(
    op: type[Op] | str, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple = ()
) -> Cost | None:
    """Flops of `op`'s VJP for the inputs flagged in `needs`, plus the engine's summing of
    broadcast gradients back to their inputs' shapes; None when the op is not in the op table."""
    primitive = _primitive(op)
    if primitive is None:
        return None
    return primitive.backward_cost(input_shapes, output_shape, needs, params)


def cost_table() -> str:
    """A Markdown table of every primitive's flops, read from the op table: its kind, its first
    sample's input shapes, and the forward and backward (every gradient wanted) flops there;
    elementwise ops also give their per-element counts. docs/trace.md shows it."""
    rows = [
        "| op | kind | per element: forward; backward per input | sample inputs "
        "| forward flops | backward flops |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for op in PRIMITIVES:
        arrays, params = op.samples()[0]
        shapes = [a.shape for a in arrays]
        output = op.forward(*arrays, *params)
        needs = tuple(a.dtype.kind == "f" for a in arrays)
        forward = op.forward_cost(shapes, output.shape, params)
        backward = op.backward_cost(shapes, output.shape, needs, params)
        per_element = ""
        if issubclass(op, Elementwise):
            shared, own = op.vjp_flops
            per_element = f"{op.flops}; " + (f"{shared} shared + " if shared else "")
            per_element += ", ".join(str(flops) for flops in own)
        kind = next(base.__name__ for base in op.__mro__[1:] if base.__module__ == Op.__module__)
        described = " ".join(str(shape) for shape in shapes)
        rows.append(
            f"| {op.name} | {kind} | {per_element} | {described} "
            f"| {_flops(forward)} | {_flops(backward)} |"
        )
    return "\n".join(rows) + "\n"


def _flops(cost: Cost | None) -> str:
    if cost is None:
        return "unknown"
    if cost.matmul_flops:
        return f"{cost.flops} ({cost.matmul_flops} matmul)"
    return str(cost.flops)
