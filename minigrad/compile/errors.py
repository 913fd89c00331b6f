"""What `mg.compile` raises and warns, and how it names the user's line that caused it."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent.parent)


class TraceError(RuntimeError):
    """`fn` did something a recorded program cannot replay: it read a tensor's value in Python
    (`bool(t)`, `t.item()`, `float(t)`, `.numpy()`, `.tolist()`), or fed an op an array that
    is neither an argument, a parameter, a captured tensor nor an op's result.

    Like jax's concretization errors, the message names the line and the fix: return the tensor
    and read its value outside the compiled function.
    """


class CompileWarning(UserWarning):
    """`mg.compile` runs a function eagerly instead, and says why (once per reason)."""


def user_line() -> str:
    """`file:line: code` of the innermost frame outside minigrad: the user's line that is
    running now (or '<unknown>' if every frame is minigrad's own)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = str(Path(frame.f_code.co_filename).resolve())
        if not filename.startswith(_PACKAGE):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}: {_source(frame)}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


def _source(frame) -> str:
    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()


def value_read_error(what: str) -> TraceError:
    """The error for reading a tensor's value inside a function being compiled."""
    return TraceError(
        f"{what} reads a tensor's value, which a compiled step cannot replay (the value "
        f"differs from call to call, the recorded program does not): at {user_line()}. "
        "Return the tensor from the compiled function and read it outside "
        "(`loss = step(x, y); print(loss.item())`), or call the function uncompiled"
    )
