"""minigrad: a tape-based reverse-mode autograd engine over NumPy.

import minigrad as mg
x = mg.Tensor([[1.0, 2.0]], requires_grad=True)
w = mg.randn(2, 3, requires_grad=True)
loss = (x @ w).tanh().sum()
loss.backward()
x.grad   # ndarray of x's shape
"""

import numpy as np

from . import ops
from .anomaly import AnomalyError, detect_anomaly
from .autograd import (
    BackwardError,
    enable_grad,
    grad,
    is_grad_enabled,
    live_nodes,
    no_grad,
    set_grad_enabled,
)
from .dtypes import get_default_dtype, set_default_dtype
from .factories import (
    arange,
    eye,
    full,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .function import Function
from .gradcheck import GradcheckError, GraphCheck, gradcheck, gradcheck_graph, gradgradcheck
from .functional import cat, concatenate, maximum, minimum, stack, where
from .random import manual_seed
from .tensor import ShapeError, Tensor

from . import data, nn, optim, trace, viz
from .compile import CompileWarning, TraceError, compile
from .serialization import load, save
from .runs import Run, load_run

# dtype names as in PyTorch (`dtype=mg.float32`); they are NumPy's dtypes.
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

__version__ = "0.1.0"
