"""minigrad.nn.porting: PyTorch state dicts (as NumPy arrays, built here in PyTorch's layout with
a NumPy forward pass written from PyTorch's y = x W^T + b) load into the same minigrad model,
from a mapping or an .npz file, and go back out; bad keys and shapes are refused whole."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def pytorch_weights(rng) -> dict:
    """A PyTorch state dict of Linear(4, 8) -> Tanh -> Linear(8, 2), in PyTorch's (out, in)."""
    return {
        "0.weight": rng.standard_normal((8, 4)),
        "0.bias": rng.standard_normal(8),
        "2.weight": rng.standard_normal((2, 8)),
        "2.bias": rng.standard_normal(2),
    }


def pytorch_forward(weights: dict, x: np.ndarray) -> np.ndarray:
    hidden = np.tanh(x @ weights["0.weight"].T + weights["0.bias"])
    return hidden @ weights["2.weight"].T + weights["2.bias"]


def model() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 2, dtype=np.float64)
    )


def test_a_pytorch_state_dict_loads_with_linear_weights_transposed():
    weights = pytorch_weights(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((3, 4))
    ported = model()
    assert nn.load_pytorch_state_dict(ported, weights) == ([], [])
    np.testing.assert_allclose(ported(mg.tensor(x)).data, pytorch_forward(weights, x), rtol=1e-13)
    np.testing.assert_array_equal(ported[0].weight.data, weights["0.weight"].T)


def test_an_npz_file_of_the_state_dict_loads_too(tmp_path):
    weights = pytorch_weights(np.random.default_rng(2))
    np.savez(tmp_path / "weights.npz", **weights)
    ported = model()
    nn.load_pytorch_state_dict(ported, tmp_path / "weights.npz")
    x = np.ones((1, 4))
    np.testing.assert_allclose(ported(mg.tensor(x)).data, pytorch_forward(weights, x), rtol=1e-13)


def test_a_square_weight_is_transposed_and_a_bare_linear_has_the_key_weight():
    layer = nn.Linear(2, 2, dtype=np.float64)
    nn.load_pytorch_state_dict(
        layer, {"weight": np.array([[1.0, 2.0], [3.0, 4.0]]), "bias": [0, 0]}
    )
    # PyTorch: y = x W^T, so x = (1, 0) gives W's first column (1, 3)
    assert layer(mg.tensor([1.0, 0.0], dtype=np.float64)).tolist() == [1.0, 3.0]


def test_values_are_cast_to_the_parameter_dtype_and_tensors_are_accepted():
    layer = nn.Linear(3, 1)  # float32
    nn.load_pytorch_state_dict(layer, {"weight": mg.tensor([[1.0, 2.0, 3.0]]), "bias": [0.5]})
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (3, 1)
    assert layer.weight.data.ravel().tolist() == [1.0, 2.0, 3.0]


def test_pytorch_state_dict_goes_back_to_pytorchs_layout():
    mg.manual_seed(0)
    source = model()
    exported = nn.pytorch_state_dict(source)
    assert exported["0.weight"].shape == (8, 4) and exported["2.weight"].shape == (2, 8)
    x = np.random.default_rng(3).standard_normal((2, 4))
    np.testing.assert_allclose(pytorch_forward(exported, x), source(mg.tensor(x)).data, rtol=1e-13)
    copy = model()
    nn.load_pytorch_state_dict(copy, exported)
    np.testing.assert_array_equal(copy(mg.tensor(x)).data, source(mg.tensor(x)).data)


def test_missing_and_unexpected_keys_are_refused_and_nothing_is_loaded():
    weights = pytorch_weights(np.random.default_rng(4))
    del weights["2.bias"]
    weights["2.running_mean"] = np.zeros(2)
    ported = model()
    before = ported[0].weight.data.copy()
    with pytest.raises(
        RuntimeError, match=r"missing keys \['2.bias'\]; unexpected keys \['2.running_mean'\]"
    ):
        nn.load_pytorch_state_dict(ported, weights)
    np.testing.assert_array_equal(ported[0].weight.data, before)
    assert nn.load_pytorch_state_dict(ported, weights, strict=False) == (
        ["2.bias"],
        ["2.running_mean"],
    )


def test_a_weight_in_minigrads_layout_is_refused_naming_pytorchs_shape():
    weights = pytorch_weights(np.random.default_rng(5))
    weights["0.weight"] = weights["0.weight"].T  # (4, 8): minigrad's layout, not PyTorch's
    ported = model()
    before = ported[2].weight.data.copy()
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for '0.weight': the weight of Linear\(4, 8\) has PyTorch's shape "
        r"\(8, 4\) \(out_features, in_features\), the state dict has \(4, 8\)",
    ):
        nn.load_pytorch_state_dict(ported, weights)
    with pytest.raises(RuntimeError, match=r"size mismatch for '0.bias'"):
        nn.load_pytorch_state_dict(
            ported, {**pytorch_weights(np.random.default_rng(5)), "0.bias": np.zeros(3)}
        )
    np.testing.assert_array_equal(ported[2].weight.data, before)


def test_something_else_than_a_mapping_or_a_path_is_refused():
    with pytest.raises(TypeError, match="a mapping of names to arrays, or the path of an .npz"):
        nn.load_pytorch_state_dict(model(), [("0.weight", np.zeros((8, 4)))])
