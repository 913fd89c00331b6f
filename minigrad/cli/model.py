"""The MLP that `minigrad train` builds, saves and rebuilds.

A run folder holds `model.npz` (the state dict, written by `mg.save`) and `model.json` (the
architecture, the feature standardisation, and the SHA-256 of the `model.npz` it describes), which
is all `load_run` needs to rebuild the network and classify new inputs exactly as at the end of
training. The digest makes the two files one unit: `load_run` refuses a `model.npz` that is not the
one its `model.json` was written with (a run interrupted between its two files, or a file copied
in from another run) instead of combining them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.serialization import atomic_write

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
}

INITS = ("default", "kaiming", "xavier", "lecun", "normal")
ARCHITECTURE_FORMAT = "minigrad-mlp/2"


def build_mlp(architecture: dict) -> nn.Sequential:
    """Linear -> activation (-> Dropout) for each hidden width, then a Linear to the classes."""
    sizes = [architecture["in_features"], *architecture["hidden"], architecture["out_features"]]
    activation = ACTIVATIONS[architecture["activation"]]
    layers: list = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        initialize(linear, architecture["init"], architecture["activation"])
        layers.append(linear)
        if index < len(sizes) - 2:
            layers.append(activation())
            if architecture["dropout"] > 0:
                layers.append(nn.Dropout(architecture["dropout"]))
    return nn.Sequential(*layers)


def initialize(linear: nn.Linear, scheme: str, activation: str) -> None:
    """Re-initialise a layer's weight; 'default' keeps the layer's own (Kaiming) initialization.

    'kaiming' uses the gain of the activation (sqrt 2 for ReLU), 'lecun' is the lectures' "Kaiming"
    N(0, 1/sqrt(d)) (lecture 001_7c5c639b47bbde7b.txt, slide 'Scaled initialization'), 'xavier' is
    N(0, sqrt(2/(d+e))), and 'normal' is the unscaled N(0, 1) the same slide warns about.
    """
    weight = linear.weight
    if scheme == "kaiming":
        nonlinearity = activation if activation in ("relu", "leaky_relu", "tanh") else "linear"
        nn.init.kaiming_normal_(weight, nonlinearity=nonlinearity)
    elif scheme == "xavier":
        nn.init.xavier_normal_(weight)
    elif scheme == "lecun":
        nn.init.lecun_normal_(weight)
    elif scheme == "normal":
        nn.init.normal_(weight, 0.0, 1.0)
    if scheme != "default" and linear.bias is not None:
        nn.init.zeros_(linear.bias)


def standardize(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x - mean) / std per feature, in the engine's default dtype."""
    return ((features - mean) / std).astype(mg.get_default_dtype())


def feature_scaling(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of the training features; constant features get std 1."""
    mean = features.mean(axis=0)
    std = features.std(axis=0)
    return mean, np.where(std > 1e-8, std, 1.0)


def predict(model: nn.Module, features: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class predictions (argmax of the logits), in eval mode and without recording."""
    model.eval()
    predictions = []
    with mg.no_grad():
        for start in range(0, len(features), batch_size):
            logits = model(mg.tensor(features[start : start + batch_size]))
            predictions.append(logits.numpy().argmax(axis=1))
    return np.concatenate(predictions) if predictions else np.zeros(0, dtype=int)


def accuracy(model: nn.Module, features: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of `features` whose predicted class is their label."""
    return float(np.mean(predict(model, features) == labels))


def evaluate(
    model: nn.Module, features: np.ndarray, labels: np.ndarray, batch_size: int = 1024
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on held-out examples, in eval mode and without recording."""
    model.eval()
    total, correct = 0.0, 0
    with mg.no_grad():
        for start in range(0, len(features), batch_size):
            batch = slice(start, start + batch_size)
            logits = model(mg.tensor(features[batch]))
            loss = nn.functional.cross_entropy(logits, labels[batch])
            total += loss.item() * len(labels[batch])
            correct += int((logits.numpy().argmax(axis=1) == labels[batch]).sum())
    return total / max(len(labels), 1), correct / max(len(labels), 1)


def write_model(folder: Path, model: nn.Module, architecture: dict) -> None:
    """Write `model.npz` (the state dict) and then `model.json` (the architecture and the
    digest of that `model.npz`) into `folder`, each atomically."""
    weights = folder / "model.npz"
    mg.save(model.state_dict(), weights)
    described = {**architecture, "weights_sha256": _sha256(weights)}
    with atomic_write(folder / "model.json") as stream:
        stream.write((json.dumps(described, indent=2, allow_nan=False) + "\n").encode("utf-8"))


def _sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_run(folder: str | Path) -> tuple[nn.Sequential, dict]:
    """Rebuild a trained model from a run folder: (model in eval mode, architecture dict).

    The architecture's `mean` and `std` standardise raw features the way training did:
    `predict(model, standardize(x, mean, std))`. A `model.npz` that is not the one `model.json`
    was written with raises ValueError: the folder mixes two runs.
    """
    folder = Path(folder)
    architecture = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    if architecture.get("format") != ARCHITECTURE_FORMAT:
        raise ValueError(
            f"{folder / 'model.json'} is not a minigrad MLP description "
            f"(format {architecture.get('format')!r}, expected {ARCHITECTURE_FORMAT!r})"
        )
    weights = folder / "model.npz"
    if _sha256(weights) != architecture.get("weights_sha256"):
        raise ValueError(
            f"{weights} is not the model.npz that {folder / 'model.json'} describes: the folder "
            "mixes files of two runs (a run stopped while writing them, or a file copied in); "
            "train again, or finish the run with `minigrad train --out FOLDER --resume`"
        )
    model = build_mlp(architecture)
    model.load_state_dict(mg.load(weights))
    model.eval()
    architecture["mean"] = np.asarray(architecture["mean"])
    architecture["std"] = np.asarray(architecture["std"])
    return model, architecture
