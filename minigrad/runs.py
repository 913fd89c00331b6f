"""`load_run`: read back the run folder that `minigrad train --out DIR` wrote."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .nn import Module


@dataclass(frozen=True)
class Run:
    """A finished training run, read back from its folder.

    Attributes:
        folder: the run folder.
        model: the trained network (an `nn.Sequential` MLP) in eval mode.
        architecture: the contents of `model.json`: `in_features`, `hidden`, `out_features`,
            `activation`, `init`, `dropout`, `data`, `test_accuracy`, and `mean` and `std`
            (ndarrays) that standardise raw features the way training did.
        history: the contents of `history.json`, per epoch: `loss`, `test_loss`,
            `train_accuracy`, `test_accuracy` and `lr` (and `seconds` in all); None when the
            folder has no `history.json`.
    """

    folder: Path
    model: Module
    architecture: dict
    history: dict | None

    def standardize(self, features) -> np.ndarray:
        """Raw features (N, in_features) scaled as in training: (x - mean) / std."""
        from .cli.model import standardize

        features = np.asarray(features)
        expected = self.architecture["in_features"]
        if features.ndim != 2 or features.shape[1] != expected:
            raise ValueError(
                f"expected raw features of shape (N, {expected}), got shape {features.shape}"
            )
        return standardize(features, self.architecture["mean"], self.architecture["std"])

    def predict(self, features) -> np.ndarray:
        """The predicted class of each row of raw features (N, in_features), as int labels."""
        from .cli.model import predict

        return predict(self.model, self.standardize(features))


def load_run(folder: str | os.PathLike) -> Run:
    """Read back a run folder written by `minigrad train --out FOLDER`.

    Rebuilds the network from `model.json` and loads `model.npz` into it, in eval mode, so
    `run.predict(raw_features)` classifies new inputs exactly as at the end of training. Raises
    FileNotFoundError when the folder has no `model.json` or `model.npz` (a run that was stopped
    before it finished keeps only `checkpoint.npz`: finish it with `minigrad train --out FOLDER
    --resume`), and ValueError when `model.npz` is not the file `model.json` was written with
    (the folder mixes files of two runs).

    Example:
        run = mg.load_run("runs/demo")
        labels = run.predict(raw_features)   # raw_features: (N, 64) pixel values 0..16
    """
    from .cli.model import load_run as load_model

    folder = Path(folder)
    for name in ("model.json", "model.npz"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} does not exist: {str(folder)!r} is not the folder of a finished "
                "`minigrad train` run"
            )
    model, architecture = load_model(folder)
    history_path = folder / "history.json"
    history = None
    if history_path.is_file():
        history = json.loads(history_path.read_text(encoding="utf-8"))
    return Run(folder, model, architecture, history)
