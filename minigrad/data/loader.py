"""`DataLoader`: minibatches of a dataset, reshuffled every epoch from the engine RNG.

An epoch is one pass in which the minibatches cover the whole training set (lecture
003_3976390fb7f3ce43.txt, slide "Stochastic gradient descent"; lecture 004_a7d0a04e340c1d1f.txt,
slide "Stochastic Gradient Descent"). With n examples and batch size B it makes ceil(n / B)
parameter updates, floor(n / B) with `drop_last`; that is `len(loader)`. Lecture 004, slide
"Exercise (*Homework*)": n = 1200 gives 24 updates at B = 50, 6 at B = 200 and 38 at B = 32
(the last batch holds 16 points; 37 updates if it is dropped).

With a `sampler` (a `DistributedSampler` in data-parallel training) the loader batches the
indices the sampler yields each epoch instead, and makes ceil(len(sampler) / B) updates (floor
with `drop_last`) even when the sampler yields fewer indices than its length: the batches that
run short are shorter, or empty. That keeps every worker of a job at the same number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from ..random import generator
from ..tensor import Tensor, wrap
from .dataset import Dataset, TensorDataset


class DataLoader:
    """Iterate over `dataset` in minibatches of Tensors.

    Every `iter(loader)` is one epoch. With `shuffle=True` each epoch draws a fresh permutation
    from the engine RNG, so every example appears exactly once per epoch (sampling without
    replacement) and `mg.manual_seed(n)` fixes the whole sequence of batches.

    A batch is a tuple of Tensors, one per field of the examples (`(xb, yb)` for
    `TensorDataset(X, y)`); a dataset whose examples are single arrays gives one Tensor per batch.
    A `TensorDataset` is batched by indexing each array once with the batch's index array; other
    datasets are read example by example and stacked.

    Args:
        dataset: a `Dataset` (anything with `__len__` and `__getitem__`).
        batch_size: examples per batch, B >= 1.
        shuffle: draw a new order every epoch instead of the dataset's order.
        drop_last: skip the last batch when it holds fewer than B examples.
        sampler: an iterable of example indices with a length, drawn anew each epoch, in place
            of `shuffle` (as PyTorch's `sampler=`, with which `shuffle=True` is an error).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        sampler: Sampler | None = None,
    ):
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: give either shuffle=True or a sampler, not both (the sampler "
                "decides the order)"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...] | Tensor]:
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        elif self.shuffle:
            order = generator().permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self._batch(order[start : start + self.batch_size])

    def _batch(self, indices: np.ndarray) -> tuple[Tensor, ...] | Tensor:
        if len(indices) == 0 and not _indexes_rows(self.dataset):
            return self._empty_batch()
        if _indexes_rows(self.dataset):
            arrays = self.dataset.arrays  # type: ignore[attr-defined]  # a TensorDataset
            return tuple(wrap(array[indices], None) for array in arrays)
        examples = [self.dataset[int(i)] for i in indices]
        if not isinstance(examples[0], (tuple, list)):
            return wrap(_stack(examples), None)
        return tuple(wrap(_stack([e[k] for e in examples]), None) for k in range(len(examples[0])))

    def _empty_batch(self) -> tuple[Tensor, ...] | Tensor:
        """A batch of no examples, shaped like the dataset's first example with 0 in front."""
        example = self.dataset[0]
        if not isinstance(example, (tuple, list)):
            return wrap(_stack([example])[:0], None)
        return tuple(wrap(_stack([field])[:0], None) for field in example)


class Sampler(Protocol):
    """What `DataLoader(sampler=...)` takes: example indices per epoch, and their number."""

    def __iter__(self) -> Iterator[int]: ...

    def __len__(self) -> int: ...


def _indexes_rows(dataset: Dataset) -> bool:
    """Whether `dataset[indices]` is just the rows of its arrays (no overridden `__getitem__`)."""
    return (
        isinstance(dataset, TensorDataset)
        and type(dataset).__getitem__ is TensorDataset.__getitem__
    )


def _stack(values: list) -> np.ndarray:
    return np.stack([v.data if isinstance(v, Tensor) else np.asarray(v) for v in values])
