"""The op table: every primitive, one class each, holding everything about it.

A primitive's class (see `base.Op`) has its forward on ndarrays, its vector-Jacobian product
beside it (written once, run on arrays and, under `backward(create_graph=True)`, on Tensors),
its flop costs forward and backward, and the sample inputs its gradient checks use. The engine,
the tracer, `minigrad gradcheck`, the op tests and the cost table in docs/trace.md all read these
classes, so adding an op means adding its class to the file of its kind here and its row in
tests/test_ops.py (the NumPy reference it is tested against).

The files, by kind: `elementwise` (one input, or broadcasting two or three), `linalg` (matrix
products), `reductions`, `softmax`, `losses` (the fused ones), `shape` (moving elements only),
`conv` (2-D convolution and its two gradient products), `pool` (max and average pooling),
`pad` (constant padding);
`base` holds what they share, `windows` the sliding-window view conv and pool read through.
"""

from .base import (
    PRIMITIVES,
    Cost,
    Elementwise,
    Op,
    Reduction,
    Sample,
    ShapeOp,
    call,
    is_constant,
    sample_values,
    size,
    values,
)
from .conv import Conv2d, Conv2dInputGrad, Conv2dWeightGrad
from .elementwise import (
    Abs,
    Add,
    Cast,
    Clip,
    Cos,
    Div,
    Exp,
    LeakyRelu,
    Log,
    Maximum,
    Minimum,
    Mul,
    Neg,
    Pow,
    Relu,
    Sigmoid,
    Sin,
    Softplus,
    Sqrt,
    Sub,
    Tanh,
    Where,
    stable_sigmoid,
)
from .linalg import Linear, MatMul
from .losses import BinaryCrossEntropy, MseLoss, SoftmaxCrossEntropy
from .pad import Pad
from .pool import AvgPool2d, AvgPool2dGrad, MaxPool2d, MaxPool2dGather, MaxPool2dGrad
from .reductions import LogSumExp, Max, Mean, Min, Sum, keepdims_shape, reduced_count
from .shape import BroadcastTo, Concatenate, GetItem, IndexAdd, Reshape, Transpose
from .softmax import LogSoftmax, Softmax

__all__ = [
    "PRIMITIVES", "Cost", "Elementwise", "Op", "Reduction", "Sample", "ShapeOp", "call",
    "is_constant", "sample_values", "size", "values", "stable_sigmoid", "keepdims_shape",
    "reduced_count", "Abs", "Add", "Cast", "Clip", "Cos", "Div", "Exp", "LeakyRelu", "Log",
    "Maximum", "Minimum", "Mul", "Neg", "Pow", "Relu", "Sigmoid", "Sin", "Softplus", "Sqrt",
    "Sub", "Tanh", "Where", "Linear", "MatMul", "BinaryCrossEntropy",
    "SoftmaxCrossEntropy", "MseLoss", "LogSumExp", "Max", "Mean", "Min", "Sum", "BroadcastTo",
    "Concatenate", "GetItem", "IndexAdd", "Reshape", "Transpose", "LogSoftmax", "Softmax",
    "Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad", "AvgPool2d", "AvgPool2dGrad", "MaxPool2d",
    "MaxPool2dGather", "MaxPool2dGrad", "Pad",
]  # fmt: skip
