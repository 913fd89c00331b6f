"""Differential property test of the whole engine: random programs of 3-8 ops, run twice.

hypothesis composes a program (a list of steps over the public Tensor API, every op of `OPS`
below) on drawn leaves. The program is interpreted twice: once with minigrad Tensors, once with
plain NumPy (the reference). Then:

- forward: every output of the minigrad run has the reference's shape, dtype and values;
- first order: the gradient of L = sum_k sum(out_k * c_k) (fixed random cotangents c_k) with
  respect to every leaf matches central finite differences of the NumPy program, in float64;
- second order: the gradient of sum(grad L . v) taken through `mg.grad(create_graph=True)` (a
  Hessian-vector product) matches central finite differences of the first-order gradient;
- shapes and dtypes: `.backward()` into `.grad`, `mg.grad`, and `create_graph=True` gradients
  all have the leaf's exact shape and dtype, even when the program casts in between.

Values are checked in a "wide" copy of the program (leaves in float64, `.float()` a no-op) where
finite differences are valid; the program as drawn (float32 and float64 mixed) is checked for
forward values, dtypes, and gradients against the wide ones at float32 precision.

The generator keeps every op on its smooth part: the builder evaluates the program as it draws it
and rejects a step whose operands are within `MARGIN` of a kink (abs, relu, clip, maximum, the
max reductions' ties) or outside the op's domain (log, sqrt, pow, division), or whose result is
not finite and below `BOUND` in magnitude.

`MINIGRAD_FUZZ_EXAMPLES=20000` runs many more examples than CI's default.

Every engine bug the test has found is pinned by a regression test at the bottom of this file (a
minimal reproducer of it), so it stays fixed even if the generator changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from math import prod

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg

EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "800"))

# Operands are kept this far from kinks and domain edges, and results below BOUND in magnitude,
# so a finite-difference step (at most 1e-5 on a leaf) never crosses a kink.
MARGIN = 1e-2
BOUND = 1e3

# Finite differences, in float64. First order: eps = 1e-6 makes the truncation error
# O(eps^2 f''') ~ 1e-12 and the rounding error ~ 1e-16 |L| / eps = 1e-10 |L|, far below
# rtol 1e-4 / atol 1e-6 (atol scaled by the size of the loss's terms). Second order: the
# difference of two analytic gradients with h = 1e-5 has rounding error ~ 1e-11 |grad| and
# truncation error O(h^2) ~ 1e-10, so rtol 1e-4 / atol 1e-5 leaves a wide margin.
FD_EPS = 1e-6
FD_RTOL, FD_ATOL = 1e-4, 1e-6
HVP_EPS = 1e-5
HVP_RTOL, HVP_ATOL = 1e-4, 1e-5
# A float32 program against its float64 twin: float32's unit roundoff is 6e-8, and up to eight
# ops (each a few roundings, amplified by cancellation in sub/var/log_softmax) stay below 2e-3.
F32_RTOL, F32_ATOL = 2e-3, 2e-4

# ---------------------------------------------------------------------------------------------
# programs


@dataclass
class Step:
    """One op of a program: `op` names a row of OPS, `args` index earlier values."""

    op: str
    args: tuple = ()
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.op}{list(self.args)}({params})"


def _short(value):
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()})"
    if isinstance(value, tuple):
        return "(" + ", ".join(str(_short(v)) for v in value) + ")"
    return repr(value)


@dataclass
class Program:
    """Leaves (their values and whether they require grad), steps, and the loss's ingredients:
    the outputs (values no later step consumes), a cotangent per output and a direction per leaf
    for the Hessian-vector product."""

    leaves: list = field(default_factory=list)  # (ndarray in its dtype, requires_grad)
    steps: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    cotangents: list = field(default_factory=list)
    directions: list = field(default_factory=list)
    done: int = 0  # how many ops the builder managed to add

    def __repr__(self) -> str:
        lines = ["Program("]
        for i, (values, requires_grad) in enumerate(self.leaves):
            lines.append(
                f"  leaf {i}: {values.dtype} {values.shape} requires_grad={requires_grad} "
                f"{values.tolist()}"
            )
        for i, step in enumerate(self.steps):
            lines.append(f"  v{i} = {step!r}")
        lines.append(f"  outputs {self.outputs})")
        return "\n".join(lines)


def evaluate(program: Program, backend: str, wide: bool, leaf_values=None):
    """Run `program` with minigrad ("mg") or NumPy ("np"); `wide` runs it all in float64.

    Returns (outputs, leaves): leaves are the minigrad leaf Tensors (or the NumPy arrays).
    `leaf_values` replaces the leaves' values (finite differences).
    """
    leaves = []
    for i, (values, requires_grad) in enumerate(program.leaves):
        array = values if leaf_values is None else leaf_values[i]
        array = array.astype(np.float64) if wide else array.astype(values.dtype)
        leaves.append(mg.Tensor(array, requires_grad=requires_grad) if backend == "mg" else array)
    values = []
    with np.errstate(all="ignore"):
        for step in program.steps:
            if step.op == "leaf":
                values.append(leaves[step.params["index"]])
                continue
            row = OPS[step.op]
            fn = row.mg if backend == "mg" else row.np
            args = [values[i] for i in step.args]
            params = dict(step.params)
            if wide and step.op == "float":
                params["wide"] = True
            out = fn(*args, **params)
            values.append(out if backend == "mg" else np.asarray(out))
    return [values[i] for i in program.outputs], leaves


def mg_loss(program: Program, outputs):
    """L = sum_k sum(out_k * c_k), the cotangent in the output's dtype."""
    total = None
    for out, cotangent in zip(outputs, program.cotangents):
        term = (out * cotangent.astype(out.dtype)).sum()
        total = term if total is None else total + term
    return total


def np_loss(program: Program, outputs) -> float:
    terms = zip(outputs, program.cotangents)
    return float(sum(np.sum(np.asarray(o, np.float64) * c) for o, c in terms))


# ---------------------------------------------------------------------------------------------
# the op table: name -> (NumPy reference, minigrad call); the builder's drawing rules follow


@dataclass(frozen=True)
class Row:
    """One op: `np(*arrays, **params)` is the NumPy reference, `mg(*tensors, **params)` the
    public minigrad call; the builder's `build_unary`/`build_binary` draw the params."""

    np: object
    mg: object


def _np_logsumexp(x, axis, keepdims):
    shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_softmax(x, axis):
    shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    e = np.exp(x - shift)
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(x, axis):
    return x - _np_logsumexp(x, axis, keepdims=True)


def _np_axis(x, axis):
    """PyTorch's rule for a 0-d tensor: axis 0 or -1 names its one (virtual) dimension."""
    return None if np.ndim(x) == 0 else axis


def _binary(fn):
    """fn(a, b) on two values, or on a value and a Python number on either side."""

    def run(a, b=None, number=None, side="right"):
        if b is None:
            return fn(a, number) if side == "right" else fn(number, a)
        return fn(a, b)

    return run


def _np_transpose(x, kind, axes=()):
    if kind == "reverse" or kind == "T":
        return np.transpose(x)
    if kind == "mT":
        return np.swapaxes(x, -1, -2)
    if kind == "swap":
        return np.swapaxes(x, axes[0], axes[1]) if x.ndim else x
    return np.transpose(x, axes)  # "permute": a full permutation


def _mg_transpose(x, kind, axes=()):
    if kind == "reverse":
        return x.transpose()
    if kind == "T":
        return x.T
    if kind == "mT":
        return x.mT
    if kind == "swap":
        return x.transpose(*axes)
    return x.permute(*axes)


def _np_squeeze(x, axis):
    if axis is None:
        return np.squeeze(x)
    if x.ndim == 0:
        return x
    return np.squeeze(x, axis=axis)


def _np_flatten(x, start, end):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:s] + (prod(x.shape[s : e + 1]),) + x.shape[e + 1 :])


def _np_unsqueeze(x, axis):
    return np.expand_dims(x, axis)


def _np_float(x, wide=False):
    return x if wide else x.astype(np.float32)


def _mg_float(x, wide=False):
    return x if wide else x.float()


def _np_where(a, b=None, condition=None, number=None):
    return np.where(condition, a, number if b is None else b)


def _mg_where(a, b=None, condition=None, number=None):
    return mg.where(condition, a, number if b is None else b)


def _extremum(fn):
    """maximum/minimum of two values, or of a value and a Python number."""

    def run(a, b=None, number=None):
        return fn(a, number if b is None else b)

    return run


OPS = {
    # elementwise arithmetic: tensor (op) tensor, tensor (op) number, number (op) tensor
    "add": Row(_binary(lambda a, b: a + b), _binary(lambda a, b: a + b)),
    "sub": Row(_binary(lambda a, b: a - b), _binary(lambda a, b: a - b)),
    "mul": Row(_binary(lambda a, b: a * b), _binary(lambda a, b: a * b)),
    "div": Row(_binary(lambda a, b: a / b), _binary(lambda a, b: a / b)),
    "pow": Row(_binary(lambda a, b: a**b), _binary(lambda a, b: a**b)),
    "maximum": Row(_extremum(np.maximum), _extremum(mg.maximum)),
    "minimum": Row(_extremum(np.minimum), _extremum(mg.minimum)),
    "where": Row(_np_where, _mg_where),
    # elementwise, one input
    "neg": Row(np.negative, lambda x: -x),
    "exp": Row(np.exp, lambda x: x.exp()),
    "log": Row(np.log, lambda x: x.log()),
    "sqrt": Row(np.sqrt, lambda x: x.sqrt()),
    "abs": Row(np.abs, lambda x: x.abs()),
    "tanh": Row(np.tanh, lambda x: x.tanh()),
    "sigmoid": Row(lambda x: 1 / (1 + np.exp(-x)), lambda x: x.sigmoid()),
    "relu": Row(lambda x: np.maximum(x, 0), lambda x: x.relu()),
    "leaky_relu": Row(
        lambda x, slope: np.where(x > 0, x, x * slope), lambda x, slope: x.leaky_relu(slope)
    ),
    "softplus": Row(lambda x: np.log1p(np.exp(x)), lambda x: x.softplus()),
    "sin": Row(np.sin, lambda x: x.sin()),
    "cos": Row(np.cos, lambda x: x.cos()),
    "clip": Row(lambda x, low, high: np.clip(x, low, high), lambda x, low, high: x.clip(low, high)),
    "double": Row(lambda x: x.astype(np.float64), lambda x: x.double()),
    "float": Row(_np_float, _mg_float),
    # reductions
    "sum": Row(
        lambda x, axis, keepdims: np.sum(x, axis=_np_axis(x, axis), keepdims=keepdims),
        lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims),
    ),
    "mean": Row(
        lambda x, axis, keepdims: np.mean(x, axis=_np_axis(x, axis), keepdims=keepdims),
        lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims),
    ),
    "var": Row(
        lambda x, axis, keepdims, correction: np.var(
            x, axis=_np_axis(x, axis), keepdims=keepdims, ddof=correction
        ),
        lambda x, axis, keepdims, correction: x.var(
            axis=axis, keepdims=keepdims, correction=correction
        ),
    ),
    "max": Row(
        lambda x, axis, keepdims: np.max(x, axis=_np_axis(x, axis), keepdims=keepdims),
        lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims),
    ),
    "min": Row(
        lambda x, axis, keepdims: np.min(x, axis=_np_axis(x, axis), keepdims=keepdims),
        lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims),
    ),
    "logsumexp": Row(
        lambda x, axis, keepdims: _np_logsumexp(x, _np_axis(x, axis), keepdims),
        lambda x, axis, keepdims: x.logsumexp(axis=axis, keepdims=keepdims),
    ),
    "softmax": Row(
        lambda x, axis: _np_softmax(x, _np_axis(x, axis)), lambda x, axis: x.softmax(axis)
    ),
    "log_softmax": Row(
        lambda x, axis: _np_log_softmax(x, _np_axis(x, axis)), lambda x, axis: x.log_softmax(axis)
    ),
    # shape
    "reshape": Row(lambda x, shape: np.reshape(x, shape), lambda x, shape: x.reshape(shape)),
    "transpose": Row(_np_transpose, _mg_transpose),
    "flatten": Row(_np_flatten, lambda x, start, end: x.flatten(start, end)),
    "squeeze": Row(_np_squeeze, lambda x, axis: x.squeeze(axis)),
    "unsqueeze": Row(_np_unsqueeze, lambda x, axis: x.unsqueeze(axis)),
    "broadcast_to": Row(
        lambda x, shape: np.broadcast_to(x, shape), lambda x, shape: x.broadcast_to(shape)
    ),
    "getitem": Row(lambda x, index: x[index], lambda x, index: x[index]),
    "concatenate": Row(
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        lambda *xs, axis: mg.concatenate(list(xs), axis=axis),
    ),
    "stack": Row(
        lambda *xs, axis: np.stack(xs, axis=axis), lambda *xs, axis: mg.stack(list(xs), axis=axis)
    ),
    "matmul": Row(lambda a, b: np.matmul(a, b), lambda a, b: a @ b),
}


# ---------------------------------------------------------------------------------------------
# the builder: draws a program step by step, evaluating it (in NumPy) as it goes


SIDES = [1, 2, 3, 1, 2, 3, 2, 3, 0]  # sizes of a leaf's axes: size 0 now and then
NUMBERS = [2.0, -0.5, 3.0, 0.25, 1.5, -2.0, 2, 3]  # Python operands (floats and ints)
EXPONENTS = [2, 3, 0.5, -1.0, 1.5, 2.0, 1, -0.5, 0]
BASES = [2.0, 0.5, 3.0, 1.5]


class Builder:
    """Draws steps with `data.draw`; keeps each value's reference result in the program's real
    dtypes (`real`) and in float64 (`wide`), and how many times later steps consume it."""

    def __init__(self, data):
        self.draw = data.draw
        self.program = Program()
        self.real: list = []
        self.wide: list = []
        self.uses: list = []

    # ---- values

    def leaf(self, shape: tuple, requires_grad=None) -> int:
        dtype = self.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
        if requires_grad is None:
            requires_grad = self.draw(st.sampled_from([True, True, True, False]), label="grad")
        size = prod(shape)
        magnitudes = self.draw(
            st.lists(st.floats(0.25, 2.0), min_size=size, max_size=size), label="values"
        )
        signs = self.draw(st.lists(st.booleans(), min_size=size, max_size=size), label="signs")
        values = np.array(
            [m if s else -m for m, s in zip(magnitudes, signs)], dtype=np.float64
        ).reshape(shape)
        values = values.astype(dtype)
        self.program.leaves.append((values, requires_grad))
        self._append(Step("leaf", (), {"index": len(self.program.leaves) - 1}), values, values)
        return len(self.real) - 1

    def shape(self, min_dims=0, max_dims=3) -> tuple:
        ndim = self.draw(st.integers(min_dims, max_dims), label="ndim")
        return tuple(self.draw(st.sampled_from(SIDES), label="side") for _ in range(ndim))

    def _append(self, step, real, wide) -> None:
        self.program.steps.append(step)
        real = np.asarray(real)
        self.real.append(real)
        self.wide.append(np.asarray(wide, dtype=np.float64))
        self.uses.append(0)
        for i in step.args:
            self.uses[i] += 1

    def pick(self) -> int | None:
        """An earlier value to operate on: usually the newest, sometimes any."""
        candidates = list(range(len(self.real)))
        if not candidates:
            return None
        if self.draw(st.booleans(), label="newest"):
            return candidates[-1]
        return self.draw(st.sampled_from(candidates), label="value")

    def operand_shape(self, shape: tuple) -> tuple:
        """A shape broadcasting with `shape`: axes kept, made 1, or (where 1) stretched;
        leading axes dropped, or one added."""
        out = []
        for n in shape:
            choice = self.draw(st.sampled_from(["keep", "keep", "one", "stretch"]), label="bdim")
            out.append(1 if choice == "one" else (2 if choice == "stretch" and n == 1 else n))
        drop = self.draw(st.integers(0, len(out)), label="drop")
        out = out[drop:]
        if len(out) < 3 and self.draw(st.integers(0, 4), label="prepend") == 0:
            out = [self.draw(st.sampled_from([1, 2]), label="lead")] + out
        return tuple(out)

    def operand(self, shape: tuple):
        """A second operand: an earlier value whose shape broadcasts with `shape`, or a new
        leaf of a broadcasting shape."""
        candidates = [i for i in range(len(self.real)) if _broadcasts(self.real[i].shape, shape)]
        if candidates and self.draw(st.booleans(), label="reuse"):
            return self.draw(st.sampled_from(candidates), label="other")
        return self.leaf(self.operand_shape(shape))

    # ---- steps

    def try_step(self, op: str, args: tuple, params: dict, domain=None) -> bool:
        """Evaluate a candidate step; keep it if it is defined, smooth and bounded there."""
        row = OPS[op]
        try:
            with np.errstate(all="ignore"):
                real = np.asarray(row.np(*[self.real[i] for i in args], **params))
                wide_params = dict(params, wide=True) if op == "float" else params
                wide = np.asarray(row.np(*[self.wide[i] for i in args], **wide_params))
        except (ValueError, IndexError, TypeError):
            return False
        if not np.all(np.isfinite(wide)) or (wide.size and np.abs(wide).max() > BOUND):
            return False
        if domain is not None and not domain(*[self.wide[i] for i in args]):
            return False
        self._append(Step(op, args, params), real, wide)
        return True


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _away(x, points, margin=MARGIN) -> bool:
    x = np.asarray(x)
    return all(x.size == 0 or np.min(np.abs(x - p)) > margin for p in points)


def _positive(x, margin=0.1) -> bool:
    x = np.asarray(x)
    return x.size == 0 or np.min(x) > margin


def _no_ties(x, axis) -> bool:
    """Every group the reduction combines has a unique extreme, by MARGIN (both max and min)."""
    x = np.asarray(x)
    if x.ndim == 0 or x.size == 0:
        return True
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis))
    rest = [a for a in range(x.ndim) if a not in axes]
    groups = np.transpose(x, rest + list(axes)).reshape(-1, prod(x.shape[a] for a in axes))
    if groups.shape[1] < 2:
        return True
    ordered = np.sort(groups, axis=1)
    return bool(
        np.min(ordered[:, -1] - ordered[:, -2]) > MARGIN
        and np.min(ordered[:, 1] - ordered[:, 0]) > MARGIN
    )


def draw_axis(b: Builder, ndim: int, allow_tuple=True):
    """None, one axis (maybe negative), or a tuple of axes; keepdims is drawn separately."""
    if ndim == 0:
        return b.draw(st.sampled_from([None, 0, -1]), label="axis")
    kind = b.draw(st.sampled_from(["none", "int", "int", "tuple"] if allow_tuple else ["int"]))
    if kind == "none":
        return None
    if kind == "int":
        return b.draw(st.integers(-ndim, ndim - 1), label="axis")
    axes = b.draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim), label="axes")
    return tuple(sorted(axes))


def _reduced_sizes(shape: tuple, axis) -> list:
    if not shape:
        return []
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
    return [shape[a] for a in axes]


def build_unary(b: Builder, op: str, x: int) -> bool:
    """Draw the parameters of a one-input op on value x and try it."""
    shape = b.real[x].shape
    ndim = len(shape)
    if op in ("neg", "tanh", "sigmoid", "softplus", "sin", "cos", "double", "float"):
        return b.try_step(op, (x,), {})
    if op == "exp":
        return b.try_step(op, (x,), {}, lambda v: v.size == 0 or v.max() < 4)
    if op in ("log", "sqrt"):
        return b.try_step(op, (x,), {}, _positive)
    if op in ("abs", "relu"):
        return b.try_step(op, (x,), {}, lambda v: _away(v, [0]))
    if op == "leaky_relu":
        slope = b.draw(st.sampled_from([0.01, 0.2, 1.5]), label="slope")
        return b.try_step(op, (x,), {"slope": slope}, lambda v: _away(v, [0]))
    if op == "clip":
        low = b.draw(st.one_of(st.none(), st.floats(-2, 1)), label="low")
        high = b.draw(st.one_of(st.none(), st.floats(-1, 2)), label="high")
        if low is None and high is None or (low is not None and high is not None and high < low):
            return False
        bounds = [p for p in (low, high) if p is not None]
        return b.try_step(op, (x,), {"low": low, "high": high}, lambda v: _away(v, bounds))
    if op in ("sum", "mean", "var", "max", "min", "logsumexp"):
        axis = draw_axis(b, ndim)
        params = {"axis": axis, "keepdims": b.draw(st.booleans(), label="keepdims")}
        sizes = _reduced_sizes(shape, axis)
        if op in ("mean", "var", "logsumexp") and 0 in sizes:
            return False  # undefined (NaN or -inf) over an empty group
        if op in ("max", "min"):
            if 0 in sizes:
                return False
            return b.try_step(op, (x,), params, lambda v: _no_ties(v, _np_axis(v, axis)))
        if op == "var":
            params["correction"] = b.draw(st.sampled_from([1, 0]), label="correction")
            if prod(sizes) <= params["correction"]:
                return False
        return b.try_step(op, (x,), params)
    if op in ("softmax", "log_softmax"):
        axis = b.draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1), label="axis")
        return b.try_step(op, (x,), {"axis": axis})
    if op == "reshape":
        size = prod(shape)
        target = list(b.draw(st.sampled_from(_factorizations(size)), label="target"))
        if size and target and b.draw(st.booleans(), label="minus1"):
            target[b.draw(st.integers(0, len(target) - 1))] = -1
        return b.try_step(op, (x,), {"shape": tuple(target)})
    if op == "transpose":
        kinds = ["reverse", "T", "swap", "permute"] + (["mT"] if ndim >= 2 else [])
        kind = b.draw(st.sampled_from(kinds), label="kind")
        axes = ()
        if kind == "swap":
            sides = st.integers(-max(ndim, 1), max(ndim, 1) - 1)  # 0 and -1 on a 0-d tensor
            axes = (b.draw(sides, label="dim0"), b.draw(sides, label="dim1"))
        elif kind == "permute":
            axes = tuple(b.draw(st.permutations(range(ndim)), label="perm"))
        return b.try_step(op, (x,), {"kind": kind, "axes": axes})
    if op == "flatten":
        if ndim == 0:
            return b.try_step(op, (x,), {"start": 0, "end": -1})
        start = b.draw(st.integers(-ndim, ndim - 1), label="start")
        end = b.draw(st.integers(-ndim, ndim - 1), label="end")
        if start % ndim > end % ndim:
            start, end = end, start
        return b.try_step(op, (x,), {"start": start, "end": end})
    if op == "squeeze":
        ones = [i for i, n in enumerate(shape) if n == 1]
        options = [None] + ones + [i - ndim for i in ones]
        if len(ones) > 1:
            options.append(tuple(ones))
        return b.try_step(op, (x,), {"axis": b.draw(st.sampled_from(options), label="axis")})
    if op == "unsqueeze":
        return b.try_step(op, (x,), {"axis": b.draw(st.integers(-ndim - 1, ndim), label="axis")})
    if op == "broadcast_to":
        target = [2 if n == 1 and b.draw(st.booleans()) else n for n in shape]
        if len(target) < 3 and b.draw(st.booleans(), label="lead"):
            target = [b.draw(st.sampled_from([1, 2, 3]))] + target
        return b.try_step(op, (x,), {"shape": tuple(target)})
    if op == "getitem":
        if ndim == 0:
            return False
        return b.try_step(op, (x,), {"index": draw_index(b, shape)})
    raise AssertionError(op)


def _factorizations(size: int) -> list:
    """Shapes of 0-3 axes holding `size` elements (small sides, 0 where size is 0)."""
    found = []
    if size == 1:
        found.append(())
    for a in range(0 if size == 0 else 1, size + 1):
        if (a == 0 and size == 0) or (a and size % a == 0):
            found.append((a,))
            rest = 0 if a == 0 else size // a
            for c in range(1, rest + 1):
                if rest % c == 0 or rest == 0:
                    found.append((a, c if rest == 0 else rest // c))
                    if len(found) > 12:
                        break
    found += [(size, 1, 1), (1, size), (1, size, 1)]
    return sorted(set(found), key=lambda s: (len(s), s))


def draw_index(b: Builder, shape: tuple):
    """Slices, an int, an integer array (with repeats, negatives) or a boolean mask."""
    kind = b.draw(st.sampled_from(["slices", "int", "array", "mask", "mixed"]), label="index")
    n = shape[0]
    if kind == "int":
        if n == 0:
            return slice(None)
        return b.draw(st.integers(-n, n - 1), label="i")
    if kind == "array":
        if n == 0:
            return np.array([], dtype=np.int64)
        picks = b.draw(st.lists(st.integers(-n, n - 1), min_size=0, max_size=4), label="picks")
        return np.array(picks, dtype=np.int64)
    if kind == "mask":
        full = b.draw(st.booleans(), label="full")
        mask_shape = shape if full else shape[:1]
        bits = b.draw(st.lists(st.booleans(), min_size=prod(mask_shape), max_size=prod(mask_shape)))
        return np.array(bits, dtype=bool).reshape(mask_shape)
    parts = []
    for i, m in enumerate(shape):
        if kind == "mixed" and i == 0 and m:
            picks = b.draw(st.lists(st.integers(-m, m - 1), min_size=1, max_size=3))
            parts.append(np.array(picks, dtype=np.int64))
            continue
        start = b.draw(st.one_of(st.none(), st.integers(-3, 3)))
        stop = b.draw(st.one_of(st.none(), st.integers(-3, 3)))
        step = b.draw(st.sampled_from([None, 1, 2, -1, -2]))
        parts.append(slice(start, stop, step))
    return tuple(parts)


def build_binary(b: Builder, op: str, x: int) -> bool:
    """Draw the other operand of a two-input op (a value, a new leaf or a Python number)."""
    mark = len(b.real)
    shape = b.real[x].shape
    if op in ("add", "sub", "mul", "div", "pow"):
        form = b.draw(st.sampled_from(["tensor", "right", "left"]), label="form")
        if form != "tensor":
            if op == "pow":
                number = b.draw(st.sampled_from(EXPONENTS if form == "right" else BASES))
            else:
                number = b.draw(st.sampled_from(NUMBERS), label="number")
            params = {"number": number, "side": form}

            def domain(v):
                if op == "div" and form == "left":
                    return _away(v, [0], 0.1)
                if op == "pow" and form == "right":
                    whole = isinstance(number, int) and number >= 0
                    return _away(v, [0], 0.1) if whole else _positive(v)
                if op == "pow":
                    return v.size == 0 or v.max() < 4
                return True

            return b.try_step(op, (x,), params, domain)
        y = b.operand(shape)
        domains = {
            "div": lambda u, v: _away(v, [0], 0.1),
            "pow": lambda u, v: _positive(u) and (v.size == 0 or np.abs(v).max() < 3),
        }
        if b.try_step(op, (x, y), {}, domains.get(op)):
            return True
    elif op in ("maximum", "minimum"):
        if b.draw(st.booleans(), label="number?"):
            number = b.draw(st.sampled_from([0.5, -0.5, 1.0]))
            return b.try_step(op, (x,), {"number": number}, lambda v: _away(v, [number]))
        y = b.operand(shape)
        if b.try_step(op, (x, y), {}, lambda u, v: _away(u - v, [0])):
            return True
    elif op == "where":
        condition_shape = b.operand_shape(shape)
        bits = b.draw(
            st.lists(st.booleans(), min_size=prod(condition_shape), max_size=prod(condition_shape))
        )
        condition = np.array(bits, dtype=bool).reshape(condition_shape)
        if b.draw(st.booleans(), label="number?"):
            number = b.draw(st.sampled_from([0.0, 1.5, -2.0]))
            return b.try_step(op, (x,), {"condition": condition, "number": number})
        y = b.operand(shape)
        if b.try_step(op, (x, y), {"condition": condition}):
            return True
    elif op == "matmul":
        if not shape:
            return False
        batch = [] if len(shape) > 2 else [[], [], [2], [1]][b.draw(st.integers(0, 3))]
        m = b.draw(st.sampled_from([1, 2, 3, 0]), label="m")
        if b.draw(st.booleans(), label="x on the left"):
            inner = shape[-1]
            other = (inner,) if b.draw(st.booleans()) else tuple(batch) + (inner, m)
            args = (x, None)
        else:
            inner = shape[-2] if len(shape) >= 2 else shape[0]
            other = (inner,) if b.draw(st.booleans()) else tuple(batch) + (m, inner)
            args = (None, x)
        same = [i for i in range(len(b.real)) if b.real[i].shape == other]
        y = b.draw(st.sampled_from(same)) if same and b.draw(st.booleans()) else b.leaf(other)
        args = tuple(y if a is None else a for a in args)
        if b.try_step(op, args, {}):
            return True
    elif op in ("concatenate", "stack"):
        ndim = len(shape)
        if op == "concatenate" and ndim == 0:
            return False
        axis = b.draw(st.integers(-ndim - (op == "stack"), ndim - 1 + (op == "stack")))
        pieces = [x]
        for _ in range(b.draw(st.integers(1, 2), label="pieces")):
            if op == "concatenate":
                piece_shape = list(shape)
                piece_shape[axis] = b.draw(st.sampled_from([1, 2, 0]))
                piece_shape = tuple(piece_shape)
            else:
                piece_shape = shape
            same = [i for i in range(len(b.real)) if b.real[i].shape == piece_shape]
            if same and b.draw(st.booleans(), label="reuse"):
                pieces.append(b.draw(st.sampled_from(same)))
            else:
                pieces.append(b.leaf(piece_shape))
        if b.try_step(op, tuple(pieces), {"axis": axis}):
            return True
    else:
        raise AssertionError(op)
    _drop_from(b, mark)
    return False


def _drop_from(b: Builder, mark: int) -> None:
    """Forget leaves drawn for a step that was then rejected."""
    while len(b.real) > mark:
        step = b.program.steps.pop()
        b.real.pop(), b.wide.pop(), b.uses.pop()
        if step.op == "leaf":
            b.program.leaves.pop()
        for i in step.args:
            b.uses[i] -= 1


UNARY = [
    "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "softplus",
    "sin", "cos", "clip", "double", "float", "sum", "mean", "var", "max", "min", "logsumexp",
    "softmax", "log_softmax", "reshape", "transpose", "flatten", "squeeze", "unsqueeze",
    "broadcast_to", "getitem",
]  # fmt: skip
BINARY = [
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "matmul", "concatenate",
    "stack",
]  # fmt: skip
assert set(UNARY + BINARY) == set(OPS), "every row of OPS is drawn"


@st.composite
def programs(draw_, min_ops=3, max_ops=8):
    """A program of `min_ops..max_ops` ops on one or two drawn leaves."""
    b = Builder(_Data(draw_))
    for _ in range(b.draw(st.integers(1, 2), label="leaves")):
        b.leaf(b.shape(), requires_grad=True)
    target = b.draw(st.integers(min_ops, max_ops), label="ops")
    done = attempts = 0
    while done < target and attempts < 6 * target:
        attempts += 1
        x = b.pick()
        if x is None:
            break
        op = b.draw(st.sampled_from(UNARY + BINARY), label="op")
        built = build_unary(b, op, x) if op in UNARY else build_binary(b, op, x)
        done += built
    program = b.program
    program.outputs = [i for i, n in enumerate(b.uses) if n == 0]
    for i in program.outputs:
        shape = b.real[i].shape
        program.cotangents.append(
            np.array(
                b.draw(st.lists(st.floats(-1, 1), min_size=prod(shape), max_size=prod(shape)))
            ).reshape(shape)
        )
    for values, _ in program.leaves:
        program.directions.append(
            np.array(
                b.draw(st.lists(st.floats(-1, 1), min_size=values.size, max_size=values.size))
            ).reshape(values.shape)
        )
    program.done = done
    return program


class _Data:
    """`draw(strategy, label=None)` over a composite's draw function, like `st.data()`."""

    def __init__(self, draw):
        self.draw = lambda strategy, label=None: draw(strategy)


# ---------------------------------------------------------------------------------------------
# the checks


def _assert_close(actual, expected, rtol, atol, what: str, program: Program) -> None:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=f"{what}\n{program}")


def _scale(program: Program, outputs) -> float:
    """The size of the loss's terms, which finite differences' rounding error scales with."""
    terms = zip(outputs, program.cotangents)
    return 1.0 + sum(float(np.sum(np.abs(np.asarray(o, np.float64) * c))) for o, c in terms)


def finite_difference_gradient(program: Program) -> list:
    """Central differences of the NumPy program's loss, in float64, per grad-requiring leaf."""
    base = [values.astype(np.float64) for values, _ in program.leaves]
    grads = []
    for i, (values, requires_grad) in enumerate(program.leaves):
        if not requires_grad:
            grads.append(None)
            continue
        grad = np.zeros(values.shape)
        for j in np.ndindex(values.shape):
            shifted = [v.copy() for v in base]
            shifted[i][j] += FD_EPS
            up = np_loss(program, evaluate(program, "np", True, shifted)[0])
            shifted[i][j] -= 2 * FD_EPS
            down = np_loss(program, evaluate(program, "np", True, shifted)[0])
            grad[j] = (up - down) / (2 * FD_EPS)
        grads.append(grad)
    return grads


def mg_gradient(program: Program, wide: bool, leaf_values=None, create_graph=False):
    """mg.grad of the loss with respect to every grad-requiring leaf (and those leaves)."""
    outputs, leaves = evaluate(program, "mg", wide, leaf_values)
    wanted = [t for t in leaves if t.requires_grad]
    loss = mg_loss(program, outputs)
    return mg.grad(loss, wanted, create_graph=create_graph), wanted


def hessian_vector_product(program: Program, wide: bool):
    """The gradient of sum_i grad_i . v_i, through mg.grad(create_graph=True), as arrays (zeros
    of the leaf's shape and dtype where the first-order gradient does not depend on a leaf)."""
    grads, wanted = mg_gradient(program, wide, create_graph=True)
    directions = [d for d, (_, rg) in zip(program.directions, program.leaves) if rg]
    total = None
    for g, d in zip(grads, directions):
        term = (g * d.astype(g.dtype)).sum()
        total = term if total is None else total + term
    if not total.requires_grad:  # a gradient that does not depend on the leaves: H = 0
        return [np.zeros(t.shape, t.dtype) for t in wanted]
    second = mg.grad(total, wanted, allow_unused=True)
    return [np.zeros(t.shape, t.dtype) if s is None else s.data for s, t in zip(second, wanted)]


def _all_values(program: Program, wide=True) -> list:
    """Every value of the program (NumPy run), for checks that depend on their shapes."""
    saved = program.outputs
    program.outputs = list(range(len(program.steps)))
    try:
        return evaluate(program, "np", wide)[0]
    finally:
        program.outputs = saved


def check_program(program: Program) -> None:
    """Every check of the module docstring, on one program."""
    wanted_leaves = [(v, rg) for v, rg in program.leaves if rg]
    has_f32 = any(v.dtype == np.float32 for v in _all_values(program, wide=False))

    # forward, as drawn and wide, against NumPy: shapes, dtypes, values
    for wide in (False, True):
        got, _ = evaluate(program, "mg", wide)
        expected, _ = evaluate(program, "np", wide)
        for k, (g, e) in enumerate(zip(got, expected)):
            assert g.shape == e.shape, f"output {k}: shape {g.shape} != {e.shape}\n{program}"
            assert g.dtype == e.dtype, f"output {k}: dtype {g.dtype} != {e.dtype}\n{program}"
            f32 = e.dtype == np.float32 or (has_f32 and not wide)
            rtol, atol = (F32_RTOL, F32_ATOL) if f32 else (1e-9, 1e-12)
            scale = 1 + (np.abs(e).max() if e.size else 0)
            _assert_close(g.data, e, rtol, atol * scale, f"forward output {k} wide={wide}", program)
    if not wanted_leaves:
        return

    # first order, wide, against finite differences
    wide_outputs, _ = evaluate(program, "np", True)
    scale = _scale(program, wide_outputs)
    reference = [g for g in finite_difference_gradient(program) if g is not None]
    wide_grads, _ = mg_gradient(program, wide=True)
    for i, (g, r) in enumerate(zip(wide_grads, reference)):
        _assert_close(g.data, r, FD_RTOL, FD_ATOL * scale, f"gradient of leaf {i} (wide)", program)

    # second order, wide, against finite differences of the first-order gradient
    hvp = hessian_vector_product(program, wide=True)
    directions = [d for d, (_, rg) in zip(program.directions, program.leaves) if rg]
    ups = [v.astype(np.float64) for v, _ in program.leaves]
    downs = [v.astype(np.float64) for v, _ in program.leaves]
    j = 0
    for i, (_, rg) in enumerate(program.leaves):
        if rg:
            ups[i] = ups[i] + HVP_EPS * directions[j]
            downs[i] = downs[i] - HVP_EPS * directions[j]
            j += 1
    up, _ = mg_gradient(program, True, ups)
    down, _ = mg_gradient(program, True, downs)
    grad_scale = 1 + max((np.abs(g.data).max() for g in wide_grads if g.size), default=0)
    for i, (h, u, d) in enumerate(zip(hvp, up, down)):
        fd = (u.data - d.data) / (2 * HVP_EPS)
        _assert_close(
            h, fd, HVP_RTOL, HVP_ATOL * grad_scale, f"Hessian-vector product, leaf {i}", program
        )

    # as drawn: every gradient path has the leaf's exact shape and dtype, and the wide values
    rtol, atol = (F32_RTOL, F32_ATOL * grad_scale) if has_f32 else (1e-7, 1e-9 * grad_scale)
    outputs, leaves = evaluate(program, "mg", False)
    mg_loss(program, outputs).backward()
    paths = {".backward() .grad": [t.grad for t in leaves if t.requires_grad]}
    paths["mg.grad"] = [g.data for g in mg_gradient(program, False)[0]]
    created = mg_gradient(program, False, create_graph=True)[0]
    paths["mg.grad(create_graph=True)"] = [g.data for g in created]
    outputs, leaves = evaluate(program, "mg", False)
    mg_loss(program, outputs).backward(create_graph=True)
    paths[".backward(create_graph=True) .grad"] = [t.grad for t in leaves if t.requires_grad]
    paths["second order (create_graph=True)"] = hessian_vector_product(program, wide=False)
    for path, grads in paths.items():
        for i, (g, (values, _)) in enumerate(zip(grads, wanted_leaves)):
            assert g is not None, f"{path}: leaf {i} got no gradient\n{program}"
            assert g.shape == values.shape, (
                f"{path}: leaf {i} of shape {values.shape} got a gradient of shape {g.shape}\n"
                f"{program}"
            )
            assert g.dtype == values.dtype, (
                f"{path}: leaf {i} of dtype {values.dtype} got a gradient of dtype {g.dtype}"
                f"\n{program}"
            )
            if path.startswith("second"):
                _assert_close(g, hvp[i], rtol, atol * 10, f"{path}, leaf {i}", program)
            else:
                _assert_close(g, wide_grads[i].data, rtol, atol, f"{path}, leaf {i}", program)


# ---------------------------------------------------------------------------------------------
# the property test


@settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(programs())
def test_random_programs_match_numpy_and_finite_differences(program):
    """Forward, first- and second-order gradients, shapes and dtypes of a random program."""
    check_program(program)


# ---------------------------------------------------------------------------------------------
# regressions: a minimal reproducer of each engine bug this test found, all fixed


def _leaf(values, dtype=np.float64):
    return mg.Tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_regression_zero_dim_three_grads():
    """x*x + x on a 0-d x: the third contribution is added in place into a NumPy scalar."""
    x = _leaf(2.0)
    (x * x + x).backward()
    assert x.grad.shape == () and x.grad == 5.0


def test_regression_zero_dim_second_order():
    """x / x on a 0-d x uses x twice; the second-order pass reads it more often and crashes."""
    x = _leaf(-1.0)
    (g,) = mg.grad(x / x, x, create_graph=True)
    (h,) = mg.grad(g, x, allow_unused=True)
    assert h is None or h.item() == 0.0


def test_regression_zero_dim_tanh():
    """x.tanh().sum() on a 0-d x: Tanh.vjp_into's `out * out` is a NumPy scalar, not a buffer."""
    x = _leaf(0.5)
    x.tanh().sum().backward()
    assert np.isclose(x.grad, 1 - np.tanh(0.5) ** 2)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize(
    "op", ["sum", "mean", "var", "max", "min", "logsumexp", "softmax", "log_softmax"]
)
def test_regression_zero_dim_axis(op, axis):
    """PyTorch accepts dim 0 and -1 on a 0-d tensor (its one virtual dimension), forward and
    backward (softmax(0) runs, but its create_graph backward raises)."""
    x = _leaf(0.5)
    out = x.var(axis, correction=0) if op == "var" else getattr(x, op)(axis)
    (g,) = mg.grad(out.sum(), x, create_graph=True)
    expected, slope = {"softmax": (1.0, 0.0), "log_softmax": (0.0, 0.0), "var": (0.0, 0.0)}.get(
        op, (0.5, 1.0)
    )
    assert out.shape == () and np.isclose(out.item(), expected) and np.isclose(g.item(), slope)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_regression_empty_softmax(op):
    """softmax of a (5, 0) tensor along its empty axis is a (5, 0) tensor."""
    x = mg.Tensor(np.zeros((5, 0)), requires_grad=True)
    out = getattr(x, op)(-1)
    out.sum().backward()
    assert out.shape == (5, 0) and x.grad.shape == (5, 0)


@pytest.mark.parametrize("op", ["max", "min"])
def test_regression_empty_max(op):
    """max of a (2, 0) tensor along axis 0 reduces non-empty groups: a (0,) result, as NumPy."""
    x = mg.Tensor(np.zeros((2, 0)), requires_grad=True)
    out = getattr(x, op)(axis=0)
    out.sum().backward()
    assert out.shape == (0,) and x.grad.shape == (2, 0)


def test_regression_empty_logsumexp():
    out = mg.Tensor(np.zeros(0)).logsumexp()
    assert out.shape == () and out.item() == -np.inf


@pytest.mark.parametrize("path", ["mg.grad", "backward"])
def test_regression_create_graph_dtype(path):
    """A float32 leaf cast to float64 inside: its create_graph gradient must stay float32."""
    x = _leaf([1.0, 2.0], np.float32)
    loss = (x.double() ** 2).sum()
    if path == "mg.grad":
        (g,) = mg.grad(loss, x, create_graph=True)
        grad = g.data
    else:
        loss.backward(create_graph=True)
        grad = x.grad
    assert grad.dtype == np.float32


def test_regression_create_graph_dtype_mixed_operands():
    """The same without a cast: a float32 leaf times a float64 one."""
    x, y = _leaf([1.0, 2.0], np.float32), _leaf([3.0, 4.0])
    gx, gy = mg.grad((x * y).sum(), (x, y), create_graph=True)
    assert gx.dtype == np.float32 and gy.dtype == np.float64


def test_regression_concatenate_many():
    xs = [_leaf([float(i)]) for i in range(64)]
    mg.concatenate(xs).sum().backward()
    assert all(x.grad.tolist() == [1.0] for x in xs)


def test_regression_permute_two_axes():
    """permute(0, 1) (and transpose((0, 1))) is the identity on a 2-D tensor, as in PyTorch."""
    x = mg.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.permute(0, 1).shape == (2, 3)
    assert x.transpose((0, 1)).shape == (2, 3)


def test_regression_identity_transpose():
    """transpose(0, 0) is the identity; its create_graph VJP transposes the gradient."""
    x = _leaf(np.arange(6.0).reshape(2, 3))
    y = x.transpose(0, 0)
    (g,) = mg.grad((y * y).sum(), x, create_graph=True)
    assert g.shape == (2, 3) and np.allclose(g.data, 2 * x.data)


@pytest.mark.parametrize("axes", [(0, 0), (0, -1)])
def test_regression_zero_dim_swap(axes):
    """PyTorch swaps dims 0 and -1 of a 0-d tensor as a no-op."""
    x = _leaf(1.5)
    y = x.transpose(*axes)
    y.backward()
    assert y.shape == () and x.grad == 1.0


def test_regression_pow_zero_exponent_at_zero():
    a = _leaf([0.0, 1.0])
    (a**0).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0]
