"""`DataLoader`: minibatches of a dataset, reshuffled every epoch from the engine RNG.

One pass over the data is an epoch; with n examples and batch size B it makes ceil(n / B)
parameter updates (floor(n / B) with `drop_last`), which is `len(loader)` — lecture 004,
"Minibatches and epochs": 1200 points at B = 50 give 24 updates per epoch.
"""

from __future__ import annotations

import math

import numpy as np

from ..random import generator
from ..tensor import wrap
from .dataset import Dataset, TensorDataset


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`, as tuples of Tensors.

    With `shuffle=True` every epoch (every `iter(loader)`) draws a fresh permutation from the
    engine RNG, so `mg.manual_seed(n)` fixes the whole sequence of batches. A `TensorDataset` is
    batched by indexing its arrays once per batch; other datasets are stacked example by example.
    """

    def __init__(
        self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False
    ):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = generator().permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start : start + self.batch_size]
            yield tuple(wrap(array, None) for array in self._collate(indices))

    def _collate(self, indices: np.ndarray) -> tuple:
        if isinstance(self.dataset, TensorDataset):
            return tuple(array[indices] for array in self.dataset.arrays)
        examples = [self.dataset[int(i)] for i in indices]
        if not isinstance(examples[0], tuple):
            return (np.stack([np.asarray(e) for e in examples]),)
        return tuple(
            np.stack([np.asarray(e[k]) for e in examples]) for k in range(len(examples[0]))
        )
