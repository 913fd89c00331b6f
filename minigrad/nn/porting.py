"""Moving weights between PyTorch and minigrad: state dicts as NumPy arrays, Linear transposed.

The two libraries name a model's parameters alike (`0.weight`, `encoder.bias`), so one model
built the same way in both has the same state-dict keys. One layout differs: PyTorch stores an
`nn.Linear` weight as (out_features, in_features), y = x W^T + b, while minigrad keeps the
lectures' (in_features, out_features), y = x W + b (lecture 001, "Computing a single neuron").
These two functions transpose exactly those weights on the way in and out. Saved from PyTorch:

    arrays = {name: value.detach().cpu().numpy() for name, value in model.state_dict().items()}
    np.savez("weights.npz", **arrays)

and read here with `load_pytorch_state_dict(same_model_in_minigrad, "weights.npz")`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ..tensor import Tensor
from .layers import Linear
from .module import IncompatibleKeys, Module


def load_pytorch_state_dict(
    module: Module, state_dict: Mapping | str | os.PathLike, strict: bool = True
) -> IncompatibleKeys:
    """Load a PyTorch state dict (a mapping of names to arrays, or the path of an `.npz` of
    them) into `module`, transposing each Linear weight from PyTorch's (out, in) to (in, out).

    Everything `Module.load_state_dict` checks is checked (missing and unexpected keys under
    `strict`, every shape), and a Linear weight must have PyTorch's shape (out_features,
    in_features): a RuntimeError names every key that does not fit, and nothing is loaded
    unless everything does. Values are cast to each parameter's dtype. Returns the missing and
    unexpected keys, as `load_state_dict` does.
    """
    arrays = _read(state_dict)
    weights = _linear_weights(module)
    problems = [
        f"size mismatch for {name!r}: the weight of {_describe(weights[name])} has PyTorch's "
        f"shape {_pytorch_shape(weights[name])} (out_features, in_features), the state dict "
        f"has {array.shape}"
        for name, array in arrays.items()
        if name in weights and array.shape != _pytorch_shape(weights[name])
    ]
    if problems:
        raise RuntimeError(
            f"error loading the PyTorch state dict into {type(module).__name__}: "
            + "; ".join(problems)
        )
    converted = {name: array.T if name in weights else array for name, array in arrays.items()}
    return module.load_state_dict(converted, strict)


def pytorch_state_dict(module: Module) -> OrderedDict:
    """`module.state_dict()` in PyTorch's layout: each Linear weight transposed to (out, in),
    ready for `torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in ...items()})`."""
    weights = _linear_weights(module)
    return OrderedDict(
        (name, np.ascontiguousarray(value.T) if name in weights else value)
        for name, value in module.state_dict().items()
    )


def _read(state_dict: Mapping | str | os.PathLike) -> dict:
    """The state dict's values as ndarrays (from Tensors, NumPy arrays, or an `.npz` file)."""
    if isinstance(state_dict, (str, os.PathLike)):
        with np.load(state_dict, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            "a PyTorch state dict is a mapping of names to arrays, or the path of an .npz file; "
            f"got {type(state_dict).__name__}"
        )
    return {
        name: np.asarray(value.data if isinstance(value, Tensor) else value)
        for name, value in state_dict.items()
    }


def _linear_weights(module: Module) -> dict:
    """The state-dict key of every Linear layer's weight, with its layer."""
    return {
        (f"{prefix}.weight" if prefix else "weight"): layer
        for prefix, layer in module.named_modules()
        if isinstance(layer, Linear)
    }


def _pytorch_shape(layer: Linear) -> tuple:
    return (layer.out_features, layer.in_features)


def _describe(layer: Linear) -> str:
    return f"Linear({layer.in_features}, {layer.out_features})"
