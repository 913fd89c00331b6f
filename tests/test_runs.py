"""`mg.load_run`: a run folder that `minigrad train` wrote, read back through the public API."""

from __future__ import annotations

import json

import numpy as np
import pytest

import minigrad as mg
from minigrad.__main__ import main
from minigrad.cli import data_sources

TINY = ["--epochs", "3", "--train-size", "300", "--hidden", "16", "--lr", "0.01", "--quiet"]
TINY += ["--seed", "3"]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    return out


def test_load_run_gives_the_model_its_architecture_and_history(run_folder):
    run = mg.load_run(run_folder)
    assert isinstance(run, mg.Run) and run.folder == run_folder
    assert isinstance(run.model, mg.nn.Sequential) and not run.model.training
    assert run.architecture["hidden"] == [16] and run.architecture["in_features"] == 64
    assert isinstance(run.architecture["mean"], np.ndarray)
    assert run.history == json.loads((run_folder / "history.json").read_text())
    assert len(run.history["loss"]) == len(run.history["test_loss"]) == 3


def test_a_loaded_run_classifies_raw_features_as_at_the_end_of_training(run_folder):
    run = mg.load_run(run_folder)
    mg.manual_seed(3)
    split = data_sources.load("digits", None, 300)  # the run's own held-out examples
    accuracy = float(np.mean(run.predict(split.test_x) == split.test_y))
    assert accuracy == pytest.approx(run.architecture["test_accuracy"])
    assert accuracy == pytest.approx(run.history["test_accuracy"][-1])
    assert accuracy > 0.5


def test_load_run_says_what_is_missing_or_wrong(run_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="is not the folder of a finished `minigrad train`"):
        mg.load_run(tmp_path)
    with pytest.raises(ValueError, match=r"expected raw features of shape \(N, 64\), got"):
        mg.load_run(run_folder).predict(np.zeros((2, 63)))
