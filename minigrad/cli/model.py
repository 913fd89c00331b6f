"""The models that `minigrad train` builds, saves and rebuilds: the MLP (the default) and, with
`--model cnn`, a small convolutional network for square one-channel images.

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
import math
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.serialization import atomic_write

from .common import UsageError

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "softplus": nn.Softplus,
}

INITS = ("default", "kaiming", "xavier", "lecun", "normal")
ARCHITECTURE_FORMAT = "minigrad-mlp/2"
MODELS = ("mlp", "cnn")
CNN_FORMAT = "minigrad-cnn/1"
CNN_CHANNELS = [16, 32]
CNN_EPOCHS = 15  # --epochs' default with --model cnn: 99% on the digits well inside 60 s
MLP_ONLY_OPTIONS = ("hidden", "layers", "width", "activation", "init")


def build_model(architecture: dict) -> nn.Sequential:
    """The network `architecture` describes: `build_cnn` for a CNN, else `build_mlp`."""
    if architecture.get("model") == "cnn":
        return build_cnn(architecture)
    return build_mlp(architecture)


def cnn_architecture(in_features: int, given) -> dict:
    """What a CNN on rows of `in_features` pixels adds to the run's architecture: the side of
    its square images and the channels of its two convolutions. UsageError for images that are
    not square, or for the MLP's options among those `given`."""
    side = math.isqrt(in_features)
    if side * side != in_features or side < 4:
        raise UsageError(
            f"--model cnn reads square one-channel images (digits 8x8, MNIST 28x28), but the "
            f"data has {in_features} features, not a square of at least 4 x 4"
        )
    mlp_only = sorted(set(MLP_ONLY_OPTIONS) & set(given))
    if mlp_only:
        names = ", ".join(f"--{name}" for name in mlp_only)
        raise UsageError(f"{names} describe the MLP; --model cnn has its own layers")
    return {"format": CNN_FORMAT, "model": "cnn", "image_size": side, "channels": CNN_CHANNELS}


def build_cnn(architecture: dict) -> nn.Sequential:
    """Two blocks of 3x3 convolution (padding 1) -> BatchNorm2d -> ReLU -> 2x2 max pooling,
    then (Dropout and) a Linear head: (N, side^2) rows become (N, 1, side, side) images, then
    (N, C1, side/2, side/2), (N, C2, side/4, side/4), and C2 (side/4)^2 features for the head.

    The convolutions have no bias: the batch norm after each subtracts the channel's mean, which
    would cancel it, and adds its own learned shift instead.
    """
    side, (first, second) = architecture["image_size"], architecture["channels"]
    layers: list = [nn.Unflatten(1, (1, side, side))]
    for fan_in, fan_out in ((1, first), (first, second)):
        layers += [nn.Conv2d(fan_in, fan_out, 3, padding=1, bias=False), nn.BatchNorm2d(fan_out)]
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
    layers.append(nn.Flatten())
    if architecture["dropout"] > 0:
        layers.append(nn.Dropout(architecture["dropout"]))
    layers.append(nn.Linear(second * (side // 4) ** 2, architecture["out_features"]))
    return nn.Sequential(*layers)


def compilable(model: nn.Module) -> bool:
    """Whether `mg.compile` can replay the model's training step: not when it keeps buffers, as
    batch norm does, whose running statistics each step updates in place outside the recorded
    ops (the compiled step cannot trace them), so the CNN trains eagerly."""
    return next(iter(model.buffers()), None) is None


def describe(architecture: dict) -> str:
    """One line naming the model's layers: `64-128-64-10 relu` or `cnn 8x8 conv16-conv32-10`."""
    if architecture.get("model") == "cnn":
        side, (first, second) = architecture["image_size"], architecture["channels"]
        text = f"cnn {side}x{side} conv{first}-conv{second}-{architecture['out_features']}"
    else:
        sizes = [architecture["in_features"], *architecture["hidden"], architecture["out_features"]]
        text = "-".join(str(n) for n in sizes) + f" {architecture['activation']}"
    return text + (f" dropout {architecture['dropout']}" if architecture["dropout"] else "")


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
    if architecture.get("format") not in (ARCHITECTURE_FORMAT, CNN_FORMAT):
        raise ValueError(
            f"{folder / 'model.json'} is not a minigrad model description "
            f"(format {architecture.get('format')!r}, expected {ARCHITECTURE_FORMAT!r} or "
            f"{CNN_FORMAT!r})"
        )
    weights = folder / "model.npz"
    if _sha256(weights) != architecture.get("weights_sha256"):
        raise ValueError(
            f"{weights} is not the model.npz that {folder / 'model.json'} describes: the folder "
            "mixes files of two runs (a run stopped while writing them, or a file copied in); "
            "train again, or finish the run with `minigrad train --out FOLDER --resume`"
        )
    model = build_model(architecture)
    model.load_state_dict(mg.load(weights))
    model.eval()
    architecture["mean"] = np.asarray(architecture["mean"])
    architecture["std"] = np.asarray(architecture["std"])
    return model, architecture
