"""The data sets `minigrad train` can learn, each split into training and held-out test parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import datasets, load_mnist
from ..random import generator
from .common import UsageError

SOURCES = ("digits", "mnist", "moons", "spirals")
TEST_FRACTION = 0.2


@dataclass
class Split:
    """Training and test features (rows) and integer labels."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def classes(self) -> int:
        """How many classes the labels name (the largest label plus one)."""
        return int(max(self.train_y.max(), self.test_y.max())) + 1


_MNIST_NEEDS_DIR = "--data mnist needs --data-dir, the folder holding the MNIST IDX files"


def check_source(name: str, data_dir: str | None) -> None:
    """Raise UsageError for a source that cannot be read, before any work is done."""
    if name != "mnist":
        return
    if data_dir is None:
        raise UsageError(_MNIST_NEEDS_DIR)
    folder = Path(data_dir)
    if not folder.is_dir():
        raise UsageError(f"MNIST folder {data_dir!r} does not exist or is not a folder")


def load(name: str, data_dir: str | None, train_size: int | None) -> Split:
    """Load `name` and split it (MNIST keeps its own train/test files; the others are shuffled
    with the engine RNG and split 80/20). `train_size` keeps only that many training rows."""
    if name == "mnist":
        split = _mnist(data_dir)
    else:
        features, labels = _small(name)
        split = _shuffle_split(features, labels)
    if train_size is not None:
        split.train_x, split.train_y = split.train_x[:train_size], split.train_y[:train_size]
    return split


def _small(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        return datasets.digits()
    if name == "moons":
        return datasets.make_moons(1000, noise=0.15)
    if name == "spirals":
        return datasets.make_spirals(1200, noise=0.2)
    raise UsageError(f"unknown data set {name!r}; expected one of {', '.join(SOURCES)}")


def _shuffle_split(features: np.ndarray, labels: np.ndarray) -> Split:
    order = generator().permutation(len(features))
    features = np.asarray(features, dtype=np.float64)[order].reshape(len(features), -1)
    labels = np.asarray(labels)[order].astype(np.int64)
    test = int(round(TEST_FRACTION * len(features)))
    return Split(features[test:], labels[test:], features[:test], labels[:test])


def _mnist(data_dir: str | None) -> Split:
    if data_dir is None:  # the command line stops in check_source; this is for callers of load()
        raise UsageError(_MNIST_NEEDS_DIR)
    try:
        train_x, train_y = load_mnist(data_dir, train=True)
        test_x, test_y = load_mnist(data_dir, train=False)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(f"cannot read MNIST from {data_dir!r}: {error}") from None
    return Split(train_x.astype(np.float64), train_y, test_x.astype(np.float64), test_y)
