"""`detect_anomaly`: stop at the first NaN or infinity, naming the op and the line that made it."""

from __future__ import annotations

import os
import traceback

import numpy as np

from . import autograd, ops


class AnomalyError(RuntimeError):
    """A forward or backward op produced a NaN or an infinity under `detect_anomaly`."""


def _is_finite(array) -> bool:
    return array is None or array.dtype.kind != "f" or bool(np.isfinite(array).all())


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frames() -> list:
    """The forward's call stack without minigrad's own frames, innermost last."""
    return [
        frame
        for frame in traceback.extract_stack()
        if not os.path.abspath(frame.filename).startswith(_PACKAGE)
    ]


def _where(frames: list) -> str:
    if not frames:
        return "an unknown line"
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno} ({frame.line})"


class detect_anomaly:
    """Context manager: in its scope a NaN or infinity raises `AnomalyError` at the op that made it.

    Forward values are checked as each op runs; in backward, each VJP's gradients are checked and
    the error names the op, its input shapes and the user's line that created it in the forward.
    It slows every op down; use it to debug, not to train.
    """

    def __enter__(self):
        autograd.add_watcher(self)
        return self

    def __exit__(self, *exc_info):
        autograd.remove_watcher(self)
        return False

    def on_forward(self, op, arrays, params, out, node) -> None:
        """Note where in the user's code the op ran, for a later error (the watcher interface)."""
        frames = _user_frames()
        if node is not None:
            node.info = frames
        if not _is_finite(out):
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise AnomalyError(
                f"{op.name} produced a non-finite value in the forward pass (inputs of shapes "
                f"{shapes}), at {_where(frames)}"
            )

    def on_backward(self, node, grad, input_grads) -> None:
        """Raise on the first NaN gradient a node produces, naming the op's forward line."""
        for index, input_grad in enumerate(input_grads):
            values = None if input_grad is None else ops.values(input_grad)
            if not _is_finite(values):
                shapes = ", ".join(str(getattr(p, "shape", "constant")) for p in node.parents)
                raise AnomalyError(
                    f"{node.name()} returned a non-finite gradient for input {index} (inputs of "
                    f"shapes {shapes}); the op was created at {_where(node.info or [])}"
                )
