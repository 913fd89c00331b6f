"""Lowering: an op's own `forward` or `vjp` run on `Symbol` stand-ins, which write each NumPy
call and operator it makes as source text, so the program reads like the hand derivation
(`g_linear = g_tanh * (1 - tanh * tanh)`) and stays exact (the same calls, in the same order).

A `Symbol` is an ndarray (a copy of the real value, so shapes, dtypes and NumPy's results are the
real ones, and the op's `is_constant` takes the array path) that knows the expression computing
it. Anything that would hand its value to Python (`bool`, `float`, `.item()`, a plain copy used
later) cannot become code: `Unlowerable` is raised, and the recorder writes a call of the op
class's method instead, which is just as exact. Temporaries used once are folded into the line
that uses them, unless something between writes into what they read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np


class Unlowerable(Exception):
    """This op's code cannot be written as NumPy source: call the op's method instead."""


# ---- expressions ---------------------------------------------------------------------------

_PRECEDENCE = {"**": 15, "@": 12, "*": 12, "/": 12, "+": 11, "-": 11}
_COMPARISON = 6
_ATOM = 100


class Expr:
    """Source text with its operator precedence, so it is parenthesized only where needed.

    A temporary appears in the text as a marker holding the precedence its place needs, so that
    folding it in later can add parentheses exactly where they are wanted.
    """

    def __init__(self, text: str, precedence: int = _ATOM, names: frozenset = frozenset()):
        self.text, self.precedence, self.names = text, precedence, names
        self.temporary: str | None = None

    @classmethod
    def reference(cls, name: str) -> Expr:
        """The expression of the temporary variable `name`, folded in where it is used once."""
        expr = cls(_marker(name, 0), _ATOM, frozenset({name}))
        expr.temporary = name
        return expr

    def wrapped(self, at_least: int) -> str:
        """The text, parenthesized if its operator binds less tightly than `at_least` needs."""
        if self.temporary is not None:
            return _marker(self.temporary, at_least)
        return self.text if self.precedence >= at_least else f"({self.text})"


def _marker(name: str, precedence: int) -> str:
    return f"\x00{name}:{precedence}\x00"


_MARKER = re.compile("\x00(_t\\d+):(\\d+)\x00")


def _binary(symbol: str, left: Expr, right: Expr) -> Expr:
    precedence = _PRECEDENCE.get(symbol, _COMPARISON)
    if symbol == "**":  # right-associative
        text = f"{left.wrapped(precedence + 1)} ** {right.wrapped(precedence)}"
    else:
        text = f"{left.wrapped(precedence)} {symbol} {right.wrapped(precedence + 1)}"
    return Expr(text, precedence, left.names | right.names)


_UFUNC_OPERATORS = {
    "add": "+", "subtract": "-", "multiply": "*", "divide": "/", "true_divide": "/",
    "matmul": "@", "power": "**", "greater": ">", "greater_equal": ">=", "less": "<",
    "less_equal": "<=", "equal": "==", "not_equal": "!=",
}  # fmt: skip


class Line:
    """One statement of a lowered op: `target = expr`, or `expr` run for its effect on
    `writes` (an in-place update)."""

    def __init__(self, target: str | None, expr: Expr, writes: frozenset = frozenset()):
        self.target, self.expr, self.writes = target, expr, writes


# ---- the lowering of one op -------------------------------------------------------------------


class Lowering:
    """Collects the lines one op's code makes; `constant(value)` gives the source text of an
    array or scalar the op's code brings in itself."""

    def __init__(self, constant) -> None:
        self.lines: list[Line] = []
        self.constant = constant  # value -> source text, for ndarrays and other constants
        self.count = 0

    def symbol(self, value, name: str) -> Symbol:
        """A stand-in for the program variable `name`, whose value now is `value`."""
        symbol = np.array(value, copy=True).view(Symbol)
        symbol.expr, symbol.lowering = Expr(name, names=frozenset({name})), self
        symbol.owns = True
        return symbol

    def result(self, value, expr: Expr) -> Symbol:
        """A new temporary holding `value`, computed by `expr`."""
        self.count += 1
        name = f"_t{self.count}"
        self.lines.append(Line(name, expr))
        array = np.asarray(value)
        symbol = array.view(Symbol)
        symbol.expr, symbol.lowering = Expr.reference(name), self
        symbol.owns = array.base is None  # not a view of another's buffer (`.T`, a reshape)
        return symbol

    def effect(self, expr: Expr, writes: frozenset) -> None:
        """Add a statement run for what it writes (`writes`), not for a value it names."""
        self.lines.append(Line(None, expr, writes))

    def expr(self, value: Any) -> Expr:
        """The source of an operand: a symbol's variable, or a literal."""
        if isinstance(value, Symbol):
            if getattr(value, "lowering", None) is not self:
                raise Unlowerable("a view of a symbol")
            return value.expr
        if value is None or isinstance(value, (bool, int, str)):
            return Expr(repr(value))
        if isinstance(value, float):
            if not np.isfinite(value):
                raise Unlowerable("a non-finite literal")
            return Expr(repr(value), _ATOM if value >= 0 else 14)
        if isinstance(value, tuple):
            inner = ", ".join(self.expr(v).text for v in value)
            return Expr(f"({inner},)" if len(value) == 1 else f"({inner})")
        if isinstance(value, np.dtype):
            return Expr(f"np.{value}")
        if isinstance(value, Scalar):
            return Expr(value.text)
        return Expr(self.constant(value))

    def arguments(self, args: tuple, kwargs: dict) -> tuple[str, frozenset]:
        """A call's argument list as source, and the variables it reads."""
        exprs = [self.expr(a) for a in args] + [self.expr(v) for v in kwargs.values()]
        texts = [e.text for e in exprs[: len(args)]]
        texts += [f"{k}={e.text}" for k, e in zip(kwargs, exprs[len(args) :])]
        return ", ".join(texts), frozenset().union(*(e.names for e in exprs))

    def assignments(self, outputs: list) -> list[str]:
        """The op's lines ending with `target = output` for each (target, output, as_array),
        temporaries used once folded in; a temporary that is an output takes the output's name
        (`linear = x @ w; linear += b`, `difference = x - y` then read by the loss)."""
        lines = list(self.lines)
        renamed: set[str] = set()
        for target, output, as_array in outputs:
            expr = self.expr(output)
            temporary = expr.temporary
            if temporary is not None and not as_array and temporary not in renamed:
                lines = [_rename(line, temporary, target) for line in lines]
                renamed.add(temporary)
                continue
            text = f"np.asarray({expr.text})" if as_array else expr.text
            lines.append(Line(target, Expr(text, expr.precedence, expr.names)))
        return _fold(lines)


def _rename(line: Line, temporary: str, name: str) -> Line:
    """`line` with the temporary `temporary` called `name` (a program variable) instead."""
    text = re.sub(f"\x00{temporary}:\\d+\x00", name, line.expr.text)
    swap = lambda names: frozenset(name if n == temporary else n for n in names)  # noqa: E731
    expr = Expr(text, line.expr.precedence, swap(line.expr.names))
    target = name if line.target == temporary else line.target
    return Line(target, expr, swap(line.writes))


def _fold(lines: list[Line]) -> list[str]:
    """The lines as source, each temporary read exactly once folded into its reader when
    nothing between them writes into what it reads (NumPy calls are pure otherwise, so the
    order of evaluation does not change a bit of the result)."""
    folded: dict[str, Expr] = {}
    kept: list[Line] = []
    for i, line in enumerate(lines):
        name = line.target
        if name is not None and name.startswith("_t") and _foldable(lines, i):
            folded[name] = line.expr
        else:
            kept.append(line)
    rendered = []
    for line in kept:
        text = _resolve(line.expr.text, folded)
        target = line.target
        rendered.append(text if target is None else f"{target} = {text}")
    return rendered


def _foldable(lines: list[Line], i: int) -> bool:
    name = lines[i].target
    reads = [j for j, line in enumerate(lines) if name in line.expr.names]
    if len(reads) != 1 or any(name in line.writes for line in lines):
        return False
    j = reads[0]
    if lines[j].expr.text.count(f"\x00{name}:") != 1:
        return False
    return not any(lines[i].expr.names & line.writes for line in lines[i + 1 : j])


def _resolve(text: str, folded: dict) -> str:
    def replace(match) -> str:
        name, precedence = match.group(1), int(match.group(2))
        expr = folded.get(name)
        if expr is None:
            return name
        inner = _resolve(expr.text, folded)
        return inner if expr.precedence >= precedence else f"({inner})"

    return _MARKER.sub(replace, text)


# ---- the stand-ins ---------------------------------------------------------------------------


_SCALAR_OPERATIONS: dict[str, Callable] = {
    "+": float.__add__, "-": float.__sub__, "*": float.__mul__, "/": float.__truediv__,
    "**": float.__pow__,
}  # fmt: skip


class Scalar:
    """A Python number read at run time (an optimizer option): arithmetic on it is written out
    (`1 - dampening`), its truth is noted as a guard, and anything that would turn it into a
    plain float (`float()`, `math.sqrt`) cannot be lowered."""

    def __init__(self, value: float, text: str, guards: list, source: str = ""):
        self.value, self.text, self.guards = value, text, guards
        self.source = source or text  # how to read it again where `text` is not defined

    def __bool__(self) -> bool:
        self.guards.append((self.source, bool(self.value)))
        return bool(self.value)

    def __float__(self) -> float:
        raise Unlowerable("a run-time number turned into a plain float")

    __index__ = __int__ = __float__  # type: ignore[assignment]

    def _combine(self, symbol: str, other, reflected: bool = False):
        if isinstance(other, Scalar):
            other_value, other_text, other_source = other.value, other.text, other.source
        elif isinstance(other, (int, float)) and not isinstance(other, bool):
            other_value, other_text = other, repr(other)
            other_source = other_text
        else:
            return NotImplemented
        operate = _SCALAR_OPERATIONS[symbol]
        left, right = (other_value, self.value) if reflected else (self.value, other_value)
        texts = (other_text, self.text) if reflected else (self.text, other_text)
        sources = (other_source, self.source) if reflected else (self.source, other_source)
        return Scalar(
            operate(float(left), right),
            f"({texts[0]} {symbol} {texts[1]})",
            self.guards,
            f"({sources[0]} {symbol} {sources[1]})",
        )

    def __add__(self, other):
        return self._combine("+", other)

    def __radd__(self, other):
        return self._combine("+", other, True)

    def __sub__(self, other):
        return self._combine("-", other)

    def __rsub__(self, other):
        return self._combine("-", other, True)

    def __mul__(self, other):
        return self._combine("*", other)

    def __rmul__(self, other):
        return self._combine("*", other, True)

    def __truediv__(self, other):
        return self._combine("/", other)

    def __rtruediv__(self, other):
        return self._combine("/", other, True)

    def __pow__(self, other):
        return self._combine("**", other)

    def __rpow__(self, other):
        return self._combine("**", other, True)

    def __neg__(self):
        return Scalar(-self.value, f"(-{self.text})", self.guards, f"(-{self.source})")


def _refuse(*args, **kwargs):
    """Refuse to hand a symbol's value to Python: the op must then be called as itself."""
    raise Unlowerable("the op reads a value in Python")


class Symbol(np.ndarray):
    """An ndarray that writes what NumPy does with it into its `Lowering`."""

    expr: Expr
    lowering: Lowering
    owns: bool

    __bool__ = __float__ = __int__ = __index__ = item = tolist = __iter__ = _refuse  # type: ignore[assignment]
    __setitem__ = _refuse  # type: ignore[assignment]

    def __array_finalize__(self, obj: Any) -> None:
        self.lowering = None  # type: ignore[assignment]  # a view made behind NumPy's back
        self.owns = False

    def __array_ufunc__(self, ufunc, method: str, *inputs, **kwargs):
        lowering = self.lowering
        out = kwargs.pop("out", None)
        plain = [_plain(x) for x in inputs]
        if out is not None:
            target = out[0]
            if len(out) != 1 or not isinstance(target, Symbol) or not target.owns:
                raise Unlowerable("an out= that is not a variable")
            getattr(ufunc, method)(*plain, out=target.view(np.ndarray), **kwargs)
            arguments, names = lowering.arguments(inputs, kwargs)
            call = f"np.{_ufunc_name(ufunc, method)}({arguments}, out={target.expr.text})"
            lowering.effect(Expr(call, names=names | target.expr.names), target.expr.names)
            return target
        value = getattr(ufunc, method)(*plain, **kwargs)
        name = ufunc.__name__
        if method == "__call__" and name in _UFUNC_OPERATORS and not kwargs and len(inputs) == 2:
            expr = _binary(_UFUNC_OPERATORS[name], *(lowering.expr(x) for x in inputs))
        elif method == "__call__" and name == "negative" and not kwargs:
            operand = lowering.expr(inputs[0])
            expr = Expr(f"-{operand.wrapped(14)}", 14, operand.names)
        else:
            arguments, names = lowering.arguments(inputs, kwargs)
            expr = Expr(f"np.{_ufunc_name(ufunc, method)}({arguments})", names=names)
        return lowering.result(value, expr)

    def __array_function__(self, func, types, args, kwargs):
        if getattr(func, "__module__", "").split(".")[0] != "numpy" or not hasattr(
            np, func.__name__
        ):
            raise Unlowerable(f"{func.__name__} is not a NumPy function")
        lowering = self.lowering
        plain_args = tuple(_plain(a) for a in args)
        plain_kwargs = {k: _plain(v) for k, v in kwargs.items()}
        value = func(*plain_args, **plain_kwargs)
        if not isinstance(value, (np.ndarray, np.generic)):
            raise Unlowerable(f"{func.__name__} returns no array")
        arguments, names = lowering.arguments(args, kwargs)
        return lowering.result(value, Expr(f"np.{func.__name__}({arguments})", names=names))

    def _method(self, name: str, value, *args, **kwargs):
        arguments, names = self.lowering.arguments(args, kwargs)
        text = f"{self.expr.wrapped(_ATOM)}.{name}({arguments})"
        return self.lowering.result(value, Expr(text, names=names | self.expr.names))

    def _attribute(self, name: str, value):
        text = f"{self.expr.wrapped(_ATOM)}.{name}"
        return self.lowering.result(value, Expr(text, names=self.expr.names))

    @property
    def T(self):  # type: ignore[override]
        return self._attribute("T", self.view(np.ndarray).T)

    @property
    def mT(self):  # type: ignore[override]
        return self._attribute("mT", self.view(np.ndarray).mT)

    def reshape(self, *shape, **kwargs):  # type: ignore[override]
        return self._method("reshape", self.view(np.ndarray).reshape(*shape, **kwargs), *shape)

    def astype(self, dtype, *args, **kwargs):  # type: ignore[override]
        value = self.view(np.ndarray).astype(dtype, *args, **kwargs)
        return self._method("astype", value, np.dtype(dtype), *args, **kwargs)

    def sum(self, *args, **kwargs):  # type: ignore[override]
        return self._method("sum", self.view(np.ndarray).sum(*args, **kwargs), *args, **kwargs)

    def clip(self, *args, **kwargs):  # type: ignore[override]
        return self._method("clip", self.view(np.ndarray).clip(*args, **kwargs), *args, **kwargs)

    def copy(self, *args, **kwargs):  # type: ignore[override]
        return self._method("copy", self.view(np.ndarray).copy(*args, **kwargs), *args, **kwargs)

    def __getitem__(self, index):
        return self._method("__getitem__", self.view(np.ndarray)[_plain(index)], index)

    def _inplace(self, symbol: str, other):
        if not self.owns:
            raise Unlowerable("an in-place update of a view")
        ufunc = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}[symbol]
        ufunc(self.view(np.ndarray), _plain(other), out=self.view(np.ndarray))
        operand = self.lowering.expr(other)
        text = f"{self.expr.text} {symbol}= {operand.text}"
        self.lowering.effect(Expr(text, names=self.expr.names | operand.names), self.expr.names)
        return self

    def __iadd__(self, other):  # type: ignore[misc]
        return self._inplace("+", other)

    def __isub__(self, other):  # type: ignore[misc]
        return self._inplace("-", other)

    def __imul__(self, other):  # type: ignore[misc]
        return self._inplace("*", other)

    def __itruediv__(self, other):  # type: ignore[misc]
        return self._inplace("/", other)


def _ufunc_name(ufunc, method: str) -> str:
    return ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"


def _plain(value):
    if isinstance(value, Symbol):
        return value.view(np.ndarray)
    if isinstance(value, Scalar):
        return value.value
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def lower(run, inputs: list, constant) -> tuple[Lowering, Any]:
    """Run `run(*symbols)` (an op's forward or VJP, its parameters bound) on stand-ins for the
    program variables `inputs` ((name, value) pairs; a value named None is passed as it is).
    Returns the
    lowering and what `run` returned; raises `Unlowerable` if it cannot become code."""
    lowering = Lowering(constant)
    symbols = [v if name is None else lowering.symbol(v, name) for name, v in inputs]
    try:
        with np.errstate(all="ignore"):
            return lowering, run(*symbols)
    except Unlowerable:
        raise
    except Exception as error:  # the op's code met a stand-in it cannot handle
        raise Unlowerable(str(error)) from None
