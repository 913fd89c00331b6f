"""Custom differentiable functions: subclass `Function`, write `forward` and `backward`.

    class Cube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    y = Cube.apply(t)

`forward` and `backward` work on ndarrays. A custom Function's backward is not itself recorded,
so it is differentiable once; check it with `mg.gradcheck`.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, apply


def _values(value):
    return value.data if isinstance(value, Tensor) else value


class Context:
    """What `forward` leaves for `backward`: saved arrays and which inputs need gradients."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays for `backward`, which finds them in `ctx.saved_tensors`."""
        self.saved_tensors = arrays


class _CustomOp:
    """Adapts a Function subclass to the op interface of `minigrad.ops`."""

    saves_inputs = False
    saves_output = False
    saves_residuals = ()

    def __init__(self, function: type):
        self.function = function
        self.name = function.__name__

    @staticmethod
    def fresh_params(node) -> tuple:
        """A new context, so replaying the forward (gradient checks) leaves the node's alone."""
        return (Context(tuple(parent is not None for parent in node.parents)),)

    def forward(self, *arrays_and_context):
        *arrays, context = arrays_and_context
        return self.function.forward(context, *arrays)

    def vjp(self, g, out, inputs, needs, context):
        grads = self.function.backward(context, g if isinstance(g, np.ndarray) else g.data)
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(needs):
            raise RuntimeError(
                f"{self.name}.backward returned {len(grads)} gradients for {len(needs)} inputs"
            )
        return tuple(
            None if grad is None or not needed else np.asarray(_values(grad))
            for grad, needed in zip(grads, needs)
        )


class Function:
    """A user-defined op with a hand-written backward (as `torch.autograd.Function`)."""

    @classmethod
    def apply(cls, *inputs) -> Tensor:
        """Run the Function on `inputs` and record it on the tape, as `torch.autograd.Function`."""
        for method in ("forward", "backward"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"{cls.__name__} must define a static {method}(ctx, ...)")
        op = cls.__dict__.get("_op") or _CustomOp(cls)
        cls._op = op  # type: ignore[attr-defined]  # one adapter per Function subclass
        needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        return apply(op, inputs, (Context(needs),))
