"""`minigrad gradcheck`: every primitive in `minigrad.ops` against central differences.

Each primitive is run on its own, through `tensor.apply`, on the small float64 cases its class
holds (`Op.samples`), chosen away from its kinks and ties (|x| away from 0 for Abs and Relu,
distinct values for Max), so a failure means a wrong vector-Jacobian product, not a
non-differentiable point. A primitive without samples is reported as unchecked, which also fails.
"""

from __future__ import annotations

import argparse
import numpy as np

from .. import autograd, ops
from ..gradcheck import check_tolerance, disagreement, gradcheck
from ..tensor import Tensor, apply


def add_parser(subparsers) -> None:
    """Add the `gradcheck` command and its options to the command line."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check every primitive op's gradient against finite differences",
        description="Check the vector-Jacobian product of every primitive in minigrad.ops "
        "against central finite differences on a small float64 case, print a table of the "
        "largest errors, and exit with status 1 if any op fails.",
    )
    parser.add_argument(
        "--eps", type=_number("eps"), default=1e-6, help="finite-difference step (finite, > 0)"
    )
    parser.add_argument(
        "--atol", type=_number("atol"), default=1e-5, help="absolute tolerance (finite, >= 0)"
    )
    parser.add_argument(
        "--rtol", type=_number("rtol"), default=1e-3, help="relative tolerance (finite, >= 0)"
    )
    parser.set_defaults(run=run)


def _number(name: str):
    """An argparse type for option `name`: a float obeying gradcheck's rule for it (eps finite
    and > 0, atol and rtol finite and >= 0), else argparse's usage error naming the option."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        try:
            return check_tolerance(name, value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def primitives() -> list[type[ops.Op]]:
    """Every primitive of the op table (`minigrad.ops.PRIMITIVES`), in definition order."""
    return list(ops.PRIMITIVES)


def cases() -> dict:
    """op name -> list of `ops.Sample`: the small cases each primitive is checked on, its own."""
    return {op.name: op.samples() for op in ops.PRIMITIVES}


def check_op(op: type[ops.Op], arrays: tuple, params: tuple, eps: float, atol: float, rtol: float):
    """(passed, max abs error of the full Jacobian) for one primitive on one case."""
    inputs = tuple(Tensor(a, requires_grad=True) if a.dtype == np.float64 else a for a in arrays)
    differentiable = [t for t in inputs if isinstance(t, Tensor)]

    def fn(*tensors):
        values = iter(tensors)
        return apply(
            op, tuple(next(values) if isinstance(t, Tensor) else t for t in inputs), params
        )

    out = fn(*differentiable)
    if not any(node.op is op for node in autograd.graph_nodes(out.grad_fn)):
        raise AssertionError(f"the case for {op.name} did not record a {op.name} node")
    passed = gradcheck(fn, differentiable, eps=eps, atol=atol, rtol=rtol, raise_exception=False)
    return passed, _max_jacobian_error(fn, differentiable, eps)


def _max_jacobian_error(fn, inputs: list, eps: float) -> float:
    """Largest |engine - central difference| over every Jacobian entry of every input: NaN if
    any entry is NaN on either side (or inf against a finite value), as gradcheck counts it."""
    out = fn(*inputs)
    errors = [0.0]
    for k in range(out.size):
        seed = np.zeros(out.size)
        seed[k] = 1.0
        grads = autograd.grad(fn(*inputs), inputs, (seed.reshape(out.shape),), allow_unused=True)
        for tensor, grad in zip(inputs, grads):
            engine = np.zeros(tensor.shape) if grad is None else grad.data
            numeric = _numeric_row(fn, inputs, tensor, k, eps)
            _, difference = disagreement(engine, numeric, 0.0, 0.0)
            errors.append(float(np.max(difference, initial=0.0)))  # np.max keeps a NaN
    return float(np.max(errors))


def _numeric_row(fn, inputs: list, tensor: Tensor, k: int, eps: float) -> np.ndarray:
    original = tensor.data.copy()
    row = np.empty(tensor.size)
    for j in range(tensor.size):
        flat = original.ravel().copy()
        flat[j] += eps
        tensor.data = flat.reshape(original.shape)
        plus = fn(*inputs).data.ravel()[k]
        flat[j] -= 2 * eps
        tensor.data = flat.reshape(original.shape)
        minus = fn(*inputs).data.ravel()[k]
        with np.errstate(invalid="ignore"):
            row[j] = (plus - minus) / (2 * eps)
    tensor.data = original
    return row.reshape(original.shape)


def run(args: argparse.Namespace) -> int:
    """Check every primitive on its samples, print the table; 0 if all agree, else 1."""
    failed = []
    print(f"{'op':<22}{'inputs':<26}{'max abs error':>15}  result")
    for op in primitives():
        samples = op.samples()
        if not samples:
            failed.append(op.name)
            print(f"{op.name:<22}{'-':<26}{'-':>15}  NO SAMPLES (add `samples` to its class)")
        for arrays, params in samples:
            passed, error = check_op(op, arrays, params, args.eps, args.atol, args.rtol)
            shapes = " ".join(str(a.shape) for a in arrays if a.dtype == np.float64)
            print(f"{op.name:<22}{shapes:<26}{error:>15.2e}  {'ok' if passed else 'FAIL'}")
            if not passed:
                failed.append(op.name)
    total = len(primitives())
    if failed:
        print(f"{len(failed)} of {total} primitives failed: {', '.join(dict.fromkeys(failed))}")
        return 1
    print(f"all {total} primitives agree with central differences")
    return 0
