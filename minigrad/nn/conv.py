"""Convolution and pooling layers: Conv1d, Conv2d, MaxPool2d, AvgPool2d (PyTorch's arguments).

Their weights follow PyTorch's layout, (C_out, C_in / groups, *kernel), unlike Linear's (in, out):
a convolution weight's fan_in is C_in / groups times the kernel's size, read from its SECOND axis
on. `nn.Flatten` (in `layers`) turns their (N, C, H, W) output into the (N, C H W) a Linear reads.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..functional import _ints, _pool_sizes
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the checked arguments, the parameters and their init.

    Initialization, PyTorch's: W ~ U(-b, b) with b = 1 / sqrt(fan_in), fan_in = (C_in / groups)
    kH kW, which is `kaiming_uniform_` with a = sqrt(5) (gain sqrt(2 / (1 + 5)) = sqrt(1/3), so
    b = gain sqrt(3 / fan_in)); the bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)). Each output is
    a unit f(x) = sum_i x_i w_i over d = fan_in inputs, so the lectures' variance argument
    (lecture 001, slides "Scaled initialization") applies with d = fan_in: Var[W] = b^2 / 3 =
    1 / (3 d) is a third of the 1/d that keeps the output's variance at the mean squared input,
    and a sixth of the ReLU gain's 2/d. `init.fans` (so `init.kaiming_*` and `init.xavier_*`)
    reads Linear's (in, out, *kernel) layout and would take C_out kH kW as the fan_in of a conv
    weight, so the fan is computed here from the conv layout.
    """

    dims = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        dtype=None,
    ):
        super().__init__()
        name, dims = type(self).__name__, self.dims
        (in_channels,) = _ints(name, "in_channels", in_channels, 1, 1)
        (out_channels,) = _ints(name, "out_channels", out_channels, 1, 1)
        (groups,) = _ints(name, "groups", groups, 1, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ints(name, "kernel_size", kernel_size, dims, 1)
        self.stride = _ints(name, "stride", stride, dims, 1)
        self.padding = _ints(name, "padding", padding, dims, 0)
        self.dilation = _ints(name, "dilation", dilation, dims, 1)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias again from PyTorch's default distributions (see the class)."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3.0 / fan_in)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        text += f", stride={self.stride}"
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """y = conv2d(x, W) + b over (N, C_in, H, W), W of shape (C_out, C_in / groups, kH, kW):
    `functional.conv2d`, whose docstring has the formula and output size.

    Args:
        in_channels, out_channels: C_in and C_out (both divisible by groups).
        kernel_size: kH, kW (an int for a square kernel).
        stride, padding, dilation: an int or a pair (along H, along W); padding is zeros.
        groups: channels split into this many independent convolutions.
        bias: whether to add a learnable b of shape (C_out,).
        dtype: of the parameters; the default dtype (float32) if None.

    Initialization as PyTorch's (see `_ConvNd`): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and
    b, fan_in = (C_in / groups) kH kW.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class Conv1d(_ConvNd):
    """y = conv1d(x, W) + b over (N, C_in, L), W of shape (C_out, C_in / groups, kL):
    `functional.conv1d`, a Conv2d on images of height 1. Arguments as Conv2d's, each one int;
    the same initialization with fan_in = (C_in / groups) kL."""

    dims = 1

    def forward(self, x: Tensor) -> Tensor:
        (stride,), (padding,), (dilation,) = self.stride, self.padding, self.dilation
        return F.conv1d(x, self.weight, self.bias, stride, padding, dilation, self.groups)


class _Pool2d(Module):
    """The arguments MaxPool2d and AvgPool2d share, checked as `functional` checks them."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        sizes = _pool_sizes(type(self).__name__, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = sizes

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each window of (N, C, H, W), padded with -inf: `functional.max_pool2d`
    (the gradient goes to the window's first arg-max in row-major order, as PyTorch).

    Args:
        kernel_size: kH, kW (an int for a square window).
        stride: an int or a pair; None (the default) means kernel_size, windows side by side.
        padding: an int or a pair, at most half the kernel.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each window of (N, C, H, W), padded with zeros that count in the mean:
    `functional.avg_pool2d`. Arguments as MaxPool2d's."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
