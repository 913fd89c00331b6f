"""Elementwise primitives: one input (activations, exp, log, ...) and two or three inputs with
broadcasting (the engine sums each gradient back to its input's shape)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import Elementwise, Sample, call, is_constant, sample_values, values


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^-x is only formed where x >= 0."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def where(condition: np.ndarray, a, b):
    """`condition ? a : b` elementwise, in both VJP modes (the `Where` op on Tensors)."""
    return call(Where, (condition, a, b))


class Neg(Elementwise):
    """-x;  d/dx = -1"""

    name, saves_inputs = "Neg", False
    vjp_flops = (0, (1,))  # -g

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(np.negative)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (-g,)


class Exp(Elementwise):
    """e^x;  d/dx = e^x (the output, so it is saved instead of the input)"""

    name, saves_inputs, saves_output = "Exp", False, True
    vjp_flops = (0, (1,))  # g * out

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(np.exp)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * out,)


class Log(Elementwise):
    """ln x;  d/dx = 1/x"""

    name = "Log"
    vjp_flops = (0, (1,))  # g / x

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, low=0.5),))]

    forward = staticmethod(np.log)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g / inputs[0],)


class Sqrt(Elementwise):
    """sqrt x;  d/dx = 1 / (2 sqrt x)"""

    name, saves_inputs, saves_output = "Sqrt", False, True
    vjp_flops = (0, (2,))  # g / (2 out)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, low=0.5),))]

    forward = staticmethod(np.sqrt)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g / (2 * out),)


class Abs(Elementwise):
    """|x|;  d/dx = sign(x), taken as 0 at x = 0 as PyTorch does"""

    name = "Abs"
    vjp_flops = (0, (2,))  # g * sign(x)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3),))]

    forward = staticmethod(np.abs)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * np.sign(values(inputs[0])),)


class Tanh(Elementwise):
    """tanh x;  d/dx = 1 - tanh(x)^2"""

    name, saves_inputs, saves_output = "Tanh", False, True
    vjp_flops = (0, (3,))  # g * (1 - out * out)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(np.tanh)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (1 - out * out),)


class Sigmoid(Elementwise):
    """sigma(x) = 1 / (1 + e^-x);  d/dx = sigma(x) (1 - sigma(x))"""

    name, saves_inputs, saves_output = "Sigmoid", False, True
    vjp_flops = (0, (3,))  # g * (out * (1 - out))

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(stable_sigmoid)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (out * (1 - out)),)


class Relu(Elementwise):
    """max(x, 0);  d/dx = 1 where x > 0, else 0

    The VJP multiplies by the 0/1 mask (several times faster than a select); the only difference
    from a select is an infinite upstream gradient at a zeroed unit, which gives NaN, not 0.
    """

    name, saves_inputs, saves_output = "Relu", False, True
    vjp_flops = (0, (2,))  # g * (out > 0)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3),))]

    @staticmethod
    def forward(x):
        return np.maximum(x, 0)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * (values(out) > 0),)


class LeakyRelu(Elementwise):
    """x if x > 0 else slope x;  d/dx = 1 or slope"""

    name = "LeakyRelu"
    vjp_flops = (0, (3,))  # where(x > 0, g, g * slope)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3),), (0.1,))]

    @staticmethod
    def forward(x, negative_slope):
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def vjp(g, out, inputs, needs, negative_slope):
        return (where(values(inputs[0]) > 0, g, g * negative_slope),)


class Softplus(Elementwise):
    """ln(1 + e^x), computed as logaddexp(0, x) so it never overflows;  d/dx = sigma(x)"""

    name = "Softplus"
    vjp_flops = (0, (2,))  # g * sigmoid(x)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    @staticmethod
    def forward(x):
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * call(Sigmoid, (inputs[0],)),)


class Sin(Elementwise):
    """sin x;  d/dx = cos x"""

    name = "Sin"
    vjp_flops = (0, (2,))  # g * cos(x)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(np.sin)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g * call(Cos, (inputs[0],)),)


class Cos(Elementwise):
    """cos x;  d/dx = -sin x"""

    name = "Cos"
    vjp_flops = (0, (3,))  # -(g * sin(x))

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),))]

    forward = staticmethod(np.cos)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (-(g * call(Sin, (inputs[0],))),)


class Clip(Elementwise):
    """min(max(x, low), high);  d/dx = 1 inside [low, high] (ends included, as PyTorch), else 0"""

    name = "Clip"
    vjp_flops = (0, (3,))  # two comparisons and a select

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3),), (-1.0, 1.2))]

    @staticmethod
    def forward(x, low, high):
        return np.clip(x, low, high)

    @staticmethod
    def vjp(g, out, inputs, needs, low, high):
        x = values(inputs[0])
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return (where(inside, g, 0),)


class Cast(Elementwise):
    """x as another floating dtype;  the gradient is cast back (by the engine)"""

    name, saves_inputs = "Cast", False
    flops = 0
    vjp_flops = (0, (0,))  # g, cast back

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3),), (np.dtype(np.float64),))]

    @staticmethod
    def forward(x, dtype):
        return x.astype(dtype)

    @staticmethod
    def fresh_params(node) -> tuple:
        """Replays for gradient checks run in float64; a cast to float32 would blur them."""
        return (np.dtype(np.float64),)

    @staticmethod
    def vjp(g, out, inputs, needs, dtype):
        return (g,)


class Add(Elementwise):
    """a + b;  d/da = d/db = 1"""

    name, saves_inputs = "Add", False
    vjp_flops = (0, (0, 0))  # g, g

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(3)))]

    forward = staticmethod(np.add)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g, g)


class Sub(Elementwise):
    """a - b;  d/da = 1, d/db = -1"""

    name, saves_inputs = "Sub", False
    vjp_flops = (0, (0, 1))  # g, -g

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(2, 1)))]

    forward = staticmethod(np.subtract)

    @staticmethod
    def vjp(g, out, inputs, needs):
        return (g, -g if needs[1] else None)


class Mul(Elementwise):
    """a * b;  d/da = b, d/db = a"""

    name, constant_suffices = "Mul", (True, True)
    vjp_flops = (0, (1, 1))  # g * b, g * a

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(3)))]

    forward = staticmethod(np.multiply)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (g * b if needs[0] else None, g * a if needs[1] else None)


class Div(Elementwise):
    """a / b;  d/da = 1/b, d/db = -a/b^2"""

    name, constant_suffices = "Div", (False, True)  # d/da = 1/b reads b alone
    vjp_flops = (0, (1, 4))  # g / b, -(g * a) / (b * b)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3), sample_values(3, gap=0.5)))]

    forward = staticmethod(np.divide)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (g / b if needs[0] else None, -(g * a) / (b * b) if needs[1] else None)


class Pow(Elementwise):
    """a ** b;  d/da = b a^(b-1),  d/db = a^b ln a

    At a = 0 both are defined as PyTorch defines them: d/da = 0 where b = 0 too (a^0 = 1 for
    every a; b a^(b-1) would be 0 * inf), and d/db = 0 where b >= 0 (for b < 0 it stays
    a^b ln a = -inf). Only those elements are masked, so d2(a^b)/da db = a^(b-1) (1 + b ln a),
    which is 1/a at b = 0, is kept everywhere else. The masked elements get a base of 1 before
    the power and the log, so under create_graph no 0 * inf turns a second derivative into NaN;
    at a = b = 0 both mixed second derivatives are 0.
    """

    name, saves_output = "Pow", True
    vjp_flops = (0, (4, 5))  # g b a^(b-1);  where(a == 0, 0, g out ln a)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, low=0.5), sample_values(2, 3, low=0.5)))]

    forward = staticmethod(np.power)

    @staticmethod
    def vjp(g, out, inputs, needs):
        a, b = inputs
        return (
            Pow.base_gradient(g, a, b) if needs[0] else None,
            Pow.exponent_gradient(g, out, a, b) if needs[1] else None,
        )

    @staticmethod
    def base_gradient(g, a, b):
        """g b a^(b-1), and 0 where a == 0 and b == 0."""
        zero_exponent = np.equal(values(b), 0)
        if not zero_exponent.any():  # x ** 2 and every other nonzero exponent: no mask at all
            return g * b * a ** (b - 1)
        masked = np.equal(values(a), 0) & zero_exponent
        base = Pow.masked_base(a, masked)
        return where(masked, 0, g * b * base ** (b - 1))

    @staticmethod
    def exponent_gradient(g, out, a, b):
        """g a^b ln a, and 0 where a == 0 and b >= 0 (PyTorch's rule)."""
        masked = np.equal(values(a), 0) & np.greater_equal(values(b), 0)
        log_a = Pow.log(Pow.masked_base(a, masked))
        return where(masked, 0, g * out * log_a)

    @staticmethod
    def masked_base(a, masked: np.ndarray):
        """a with 1 wherever `masked` holds (a itself when nowhere)."""
        return where(masked, 1.0, a) if masked.any() else a

    @staticmethod
    def log(x):
        """ln x: -inf at 0 and NaN below, without NumPy's warnings (a^b ln a is then -inf or
        NaN, as in PyTorch)."""
        if not is_constant(x):
            return x.log()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)


class _Extremum(Elementwise, abstract=True):
    """Shared VJP of maximum/minimum: the gradient goes to the winner, split evenly on ties."""

    compare: Callable  # np.greater or np.less: where the first input wins outright

    @classmethod
    def vjp(cls, g, out, inputs, needs):
        a, b = values(inputs[0]), values(inputs[1])
        dtype = g.dtype
        share_a = np.where(cls.compare(a, b), 1.0, np.where(a == b, 0.5, 0.0)).astype(dtype)
        return (g * share_a if needs[0] else None, g * (1 - share_a) if needs[1] else None)


class Maximum(_Extremum):
    """max(a, b) elementwise"""

    name = "Maximum"
    vjp_flops = (4, (1, 2))  # the winner's share (2 comparisons, 2 selects); g s, g (1 - s)

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3), -0.8 * sample_values(2, 3, gap=0.3)))]

    forward = staticmethod(np.maximum)
    compare = staticmethod(np.greater)


class Minimum(_Extremum):
    """min(a, b) elementwise"""

    name = "Minimum"
    vjp_flops = (4, (1, 2))  # as Maximum

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3, gap=0.3), -0.8 * sample_values(2, 3, gap=0.3)))]

    forward = staticmethod(np.minimum)
    compare = staticmethod(np.less)


class Where(Elementwise):
    """where(c, a, b) picks a where c holds, else b;  d/da = c, d/db = not c (c has no gradient)"""

    name = "Where"
    vjp_flops = (0, (0, 1, 1))  # the condition gets none; a select per branch

    @classmethod
    def samples(cls):
        return [Sample((sample_values(2, 3) > 0, sample_values(2, 3), sample_values(2, 3) * 0.5))]

    @staticmethod
    def forward(condition, a, b):
        return np.where(condition, a, b)

    @staticmethod
    def vjp(g, out, inputs, needs):
        condition = values(inputs[0])
        return (
            None,
            where(condition, g, 0) if needs[1] else None,
            where(condition, 0, g) if needs[2] else None,
        )
