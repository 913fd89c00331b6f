"""2-D convolution (cross-correlation, as PyTorch's) on NCHW arrays, by im2col and one matmul,
and the two products its VJP is made of, each a primitive whose own VJP is built from the three.

Shapes: x (N, C_in, H, W), weight (C_out, C_in / G, kH, kW) for G groups, output
(N, C_out, H_out, W_out) with H_out = floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (likewise W):

    y[n, o, h, w] = sum_{c, i, j} x_padded[n, c, h sH + i dH, w sW + j dW] weight[o, c, i, j],

c running over the C_in / G input channels of output channel o's group.

im2col lays the windows out as the columns of a matrix X (per group, kH kW C_in/G rows ordered
as the weight's (channel, tap i, tap j), and H_out W_out N columns, the batch innermost), so the
convolution is one matrix product Y = W X of the weight matrix W (C_out/G, kH kW C_in/G), costing
2 N C_out H_out W_out (C_in/G) kH kW flops. The VJP is that of a matmul (lecture 001, slide
'Cost per layer'): dX = W^T G_y, sent back into x's shape by col2im (the transposed convolution),
and dW = G_y X^T; each costs the forward's flops again, col2im adding its N C_in H_out W_out kH kW
adds. All three maps are bilinear, <g, conv(x, w)> = <input_grad(g, w), x> = <weight_grad(x, g), w>,
so each one's VJP is the other two and gradients of any order stay within these ops.

The bias is not part of the primitive: `functional.conv2d` adds it by broadcasting, so its
gradient is the engine's ordinary sum of g over (N, H_out, W_out) and no VJP here repeats it.
"""

from __future__ import annotations

import numpy as np

from .base import Cost, Op, Sample, call, sample_values, size
from .windows import output_size, tap_reads, windows


def _image(x: np.ndarray, padding) -> np.ndarray:
    """x (N, C, H, W) as a batch-last image (C, H + 2 pH, W + 2 pW, N), zero-padded: one copy,
    none when x already has that layout (a convolution's output does) and needs no padding."""
    n, channels, height, width = x.shape
    (ph, pw) = padding
    if ph == pw == 0:
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    image = np.zeros((channels, height + 2 * ph, width + 2 * pw, n), dtype=x.dtype)
    image[:, ph : ph + height, pw : pw + width] = x.transpose(1, 2, 3, 0)
    return image


def _columns(x: np.ndarray, kernel: tuple, stride, padding, dilation, groups: int):
    """im2col: x (N, C, H, W) as (G, C/G kH kW, H_out W_out N), one column per window and group,
    its rows ordered (channel, tap i, tap j) as the weight's, with (H_out, W_out).

    The windows are read from the batch-last image of `_image`, so each copy into the matrix moves
    a whole row of windows at once, W_out N contiguous values (stride 1); the product's output
    (C_out, H_out, W_out, N) is that layout again, so the next layer's `_image` copies nothing.
    The channels-last image used before moved C/G values at a time (1 and 6 in the LeNet step
    of benchmark case 8). On 1 thread, that step's first layer took 3.1 ms (forward), 4.5 (input
    gradient) and 4.2 (weight gradient) that way and 0.8, 1.4 and 1.0 this way, its second layer's
    input gradient 7.7 and 1.2 ms, and the 64-channel layer of case 9 92, 159 and 91 ms against
    80, 89 and 83.
    """
    n, channels = x.shape[:2]
    view = windows(_image(x, padding).transpose(0, 3, 1, 2), kernel, stride, (0, 0), dilation)
    _, _, rows, cols, kh, kw = view.shape  # view: (C, N, H_out, W_out, kH, kW), N innermost
    # spelled out: -1 cannot stand for it in an empty batch
    columns = (channels // groups) * kh * kw
    matrix = view.transpose(0, 4, 5, 2, 3, 1).reshape(groups, columns, rows * cols * n)
    return matrix, (rows, cols)


def _add_columns(matrix: np.ndarray, input_shape, kernel, stride, padding, dilation):
    """col2im, the adjoint of `_columns`: (G, C/G kH kW, H_out W_out N) added back into zeros
    of x's shape (N, C, H, W), each tap's values where that tap read them (overlaps add up).

    As in `_columns`, the adds run on a batch-last image, W_out N contiguous values at a time;
    the result is that image cut to x's size and seen as NCHW (a view, no copy)."""
    n, channels, height, width = input_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    (ph, pw) = padding
    rows = output_size(height, kh, sh, ph, dh)
    cols = output_size(width, kw, sw, pw, dw)
    taps = matrix.reshape(channels, kh, kw, rows, cols, n)
    image = np.zeros((channels, height + 2 * ph, width + 2 * pw, n), dtype=matrix.dtype)
    for i in range(kh):
        for j in range(kw):
            rows_read, cols_read = tap_reads(i, dh, sh, rows), tap_reads(j, dw, sw, cols)
            image[:, rows_read, cols_read] += taps[:, i, j]
    return image[:, ph : ph + height, pw : pw + width].transpose(3, 0, 1, 2)


def _weight_matrix(weight, groups: int):
    """weight (C_out, C_in/G, kH, kW) as (G, C_out/G, C_in/G kH kW), the columns ordered as
    `_columns` orders its rows."""
    out_channels, per_group, kh, kw = weight.shape
    return weight.reshape(groups, out_channels // groups, per_group * kh * kw)


def _batch_last(y: np.ndarray, groups: int) -> np.ndarray:
    """An output-shaped array (N, C_out, H_out, W_out) as a contiguous (G, C_out/G, H_out W_out N),
    the layout of the product in `Conv2d`: no copy for a convolution's own output, and a broadcast
    gradient (that of a sum) becomes an array the matmul can hand to BLAS (a view with zero
    strides was four times slower on a 64-channel 32x32 batch)."""
    n, channels, rows, cols = y.shape
    flat = np.ascontiguousarray(y.transpose(1, 2, 3, 0))
    return flat.reshape(groups, channels // groups, rows * cols * n)


def _product_with_long_inner_axis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b^T over their long last axis (H_out W_out N), written (b @ a^T)^T: the same numbers,
    but OpenBLAS runs it faster with the small output's rows on the larger operand. On 1 thread,
    LeNet's (6, 36864) by (25, 36864) took 0.79 ms as a @ b^T and 0.41 ms so, its (16, 4096) by
    (150, 4096) 0.53 and 0.31 ms, and the 64-channel layer of benchmark case 9 37 and 29 ms."""
    return (b @ a.mT).mT


def _to_nchw(matrix: np.ndarray, n: int, rows: int, cols: int) -> np.ndarray:
    """(G, C_out/G, H_out W_out N) seen as (N, C_out, H_out, W_out): a view, no copy."""
    groups, per_group, _ = matrix.shape
    return matrix.reshape(groups * per_group, rows, cols, n).transpose(3, 0, 1, 2)


def _flops(output_shape, weight_shape, groups: int) -> tuple[int, int] | None:
    """(matmul, col2im) flops of one of the three products, from the convolution's output shape
    (N, C_out, H_out, W_out) and its weight's: 2 N C_out H_out W_out (C_in/G) kH kW, and
    N C_in H_out W_out kH kW adds for col2im. None when either shape is unknown (released)."""
    if output_shape is None or weight_shape is None:
        return None
    terms = size(output_shape) * size(weight_shape[1:])
    pixels = size(output_shape) // output_shape[1] if output_shape[1] else 0
    return 2 * terms, pixels * groups * size(weight_shape[1:])


def _cost(flops: tuple[int, int] | None, products: int, col2ims: int) -> Cost | None:
    """`products` matrix products and `col2ims` scatters of the sizes `_flops` gives."""
    if flops is None:
        return None
    matmul, scatter = flops
    return Cost(products * matmul, col2ims * scatter)


def _samples() -> list[tuple]:
    """(x, weight, params) cases: plain, stride with padding, dilation with unequal strides, and
    groups (params: stride, padding, dilation, groups)."""
    return [
        (sample_values(2, 2, 4, 4), sample_values(3, 2, 2, 2), ((1, 1), (0, 0), (1, 1), 1)),
        (sample_values(1, 2, 5, 5), sample_values(2, 2, 3, 3), ((2, 2), (1, 1), (1, 1), 1)),
        (sample_values(1, 2, 6, 5), sample_values(2, 2, 2, 2), ((1, 2), (1, 0), (2, 1), 1)),
        (sample_values(1, 4, 4, 4), sample_values(6, 2, 2, 3), ((1, 1), (0, 1), (1, 1), 2)),
    ]


def _weight_grad(g: np.ndarray, matrix: np.ndarray, weight_shape, groups: int) -> np.ndarray:
    """dW = G_y X^T, from g (N, C_out, H_out, W_out) and x's im2col matrix X."""
    return _product_with_long_inner_axis(_batch_last(g, groups), matrix).reshape(weight_shape)


class Conv2d(Op):
    """y = x (*) weight, cross-correlation over NCHW;  dx = conv2d_input_grad(g, weight),
    dweight = conv2d_weight_grad(x, g)

    params: stride, padding, dilation (pairs of ints) and groups, checked by
    `functional.conv2d`.

    Recorded for backward, the forward keeps its im2col matrix X (`saves_residuals`), and dweight
    is G_y X^T from it, as the hand-written step does, instead of laying x out again. In the
    LeNet step of benchmark case 8 that matrix took 355 and 449 us a step to build for its two
    layers, about 8% of the step; keeping it costs its memory (25 and 150 rows of 36,864 and 4,096
    columns there) from the forward to the backward.
    """

    name, saves_residuals, residuals_name = "Conv2d", (False, True), "columns"

    @staticmethod
    def forward(x, weight, stride, padding, dilation, groups):
        return Conv2d.forward_saving(x, weight, stride, padding, dilation, groups)[0]

    @staticmethod
    def forward_saving(x, weight, stride, padding, dilation, groups):
        """The convolution, and its im2col matrix X for the weight's gradient."""
        matrix, (rows, cols) = _columns(x, weight.shape[2:], stride, padding, dilation, groups)
        out = _weight_matrix(weight, groups) @ matrix
        return _to_nchw(out, x.shape[0], rows, cols), matrix

    @staticmethod
    def vjp(g, matrix, inputs, needs, *params):
        x, weight = inputs
        grad_x = call(Conv2dInputGrad, (g, weight), (x.shape, *params)) if needs[0] else None
        if not needs[1]:
            return (grad_x, None)
        if matrix is None:  # nothing kept: from x, as recorded ops under create_graph
            return (grad_x, call(Conv2dWeightGrad, (x, g), (weight.shape, *params)))
        return (grad_x, _weight_grad(g, matrix, weight.shape, params[3]))

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost | None:
        return _cost(_flops(output_shape, input_shapes[1], params[3]), 1, 0)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost | None:
        flops = _flops(output_shape, input_shapes[1], params[3])
        return _cost(flops, int(needs[0]) + int(needs[1]), int(needs[0]))

    @classmethod
    def samples(cls):
        return [Sample((x, weight), params) for x, weight, params in _samples()]


class Conv2dInputGrad(Op):
    """dx = col2im(W^T G_y): the gradient of conv2d with respect to x, a transposed convolution
    of g (N, C_out, H_out, W_out) with weight, into input_shape;  d/dg = conv2d(h, weight),
    d/dweight = conv2d_weight_grad(h, g)

    params: the input's shape, then conv2d's stride, padding, dilation and groups.
    """

    name = "Conv2dInputGrad"

    @staticmethod
    def forward(g, weight, input_shape, stride, padding, dilation, groups):
        matrix = _weight_matrix(weight, groups).mT @ _batch_last(g, groups)
        return _add_columns(matrix, input_shape, weight.shape[2:], stride, padding, dilation)

    @staticmethod
    def vjp(h, out, inputs, needs, input_shape, *params):
        g, weight = inputs
        grad_g = call(Conv2d, (h, weight), params) if needs[0] else None
        grad_w = call(Conv2dWeightGrad, (h, g), (weight.shape, *params)) if needs[1] else None
        return (grad_g, grad_w)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost | None:
        return _cost(_flops(input_shapes[0], input_shapes[1], params[4]), 1, 1)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost | None:
        flops = _flops(input_shapes[0], input_shapes[1], params[4])
        return _cost(flops, int(needs[0]) + int(needs[1]), 0)

    @classmethod
    def samples(cls):
        cases = []
        for x, weight, params in _samples():
            g = sample_values(*Conv2d.forward(x, weight, *params).shape)
            cases.append(Sample((g, weight), (x.shape, *params)))
        return cases


class Conv2dWeightGrad(Op):
    """dweight = G_y X^T (X the im2col matrix of x): the gradient of conv2d with respect to its
    weight;  d/dx = conv2d_input_grad(g, h), d/dg = conv2d(x, h)

    params: the weight's shape, then conv2d's stride, padding, dilation and groups.
    """

    name = "Conv2dWeightGrad"

    @staticmethod
    def forward(x, g, weight_shape, stride, padding, dilation, groups):
        matrix, _ = _columns(x, weight_shape[2:], stride, padding, dilation, groups)
        return _weight_grad(g, matrix, weight_shape, groups)

    @staticmethod
    def vjp(h, out, inputs, needs, weight_shape, *params):
        x, g = inputs
        grad_x = call(Conv2dInputGrad, (g, h), (x.shape, *params)) if needs[0] else None
        grad_g = call(Conv2d, (x, h), params) if needs[1] else None
        return (grad_x, grad_g)

    @classmethod
    def forward_cost(cls, input_shapes: list, output_shape: tuple, params: tuple) -> Cost | None:
        return _cost(_flops(input_shapes[1], params[0], params[4]), 1, 0)

    @classmethod
    def backward_cost(
        cls, input_shapes: list, output_shape: tuple, needs: tuple, params: tuple
    ) -> Cost | None:
        flops = _flops(input_shapes[1], params[0], params[4])
        return _cost(flops, int(needs[0]) + int(needs[1]), int(needs[0]))

    @classmethod
    def samples(cls):
        cases = []
        for x, weight, params in _samples():
            g = sample_values(*Conv2d.forward(x, weight, *params).shape)
            cases.append(Sample((x, g), (weight.shape, *params)))
        return cases
