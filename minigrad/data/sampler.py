"""`DistributedSampler`: each worker's disjoint shard of every epoch, for data-parallel training.

Every worker draws the same permutation of the n examples for an epoch (from the sampler's seed
and the epoch's number, not from the engine RNG) and keeps the positions k, k + W, k + 2W, ... of
it, W being the number of workers and k its rank. A `DataLoader` with batch size b cuts that
shard into consecutive batches; the i-th batches of all the workers together are then positions
i b W to (i + 1) b W - 1 of the permutation: exactly the i-th batch of a single process with
batch size B = b W over the same permutation. So every example is seen once per epoch, and W
workers that average their gradients (`distributed.allreduce_gradients`) take the steps of that
single process.

Every worker must also take the same number of steps, or one would wait forever for the others in
the allreduce. `len(sampler)` is therefore ceil(n / W) on every worker, the length of the longest
shard; a worker whose shard is one example shorter gets a last batch one example shorter, or
empty. Nothing is repeated or dropped, so the mean over the global batch stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Protocol

import numpy as np


class Sized(Protocol):
    def __len__(self) -> int: ...


class DistributedSampler:
    """This worker's indices of each epoch: every `world_size`-th of one seeded permutation.

    Args:
        dataset: the dataset (anything with a length) to sample from.
        world_size: W, the number of workers (default: `distributed.world_size()`).
        rank: this worker's number in 0..W-1 (default: `distributed.rank()`).
        shuffle: draw a new permutation each epoch; else the dataset's order.
        seed: the permutation of epoch e is `numpy.random.default_rng([seed, e])`'s, the same on
            every worker.

    Each `iter(sampler)` is one epoch and moves on to the next, so the order changes every epoch
    without a call to `set_epoch` (PyTorch needs one); `set_epoch(e)` starts from epoch e, as a
    resumed run does. Use it as `DataLoader(dataset, batch_size=b, sampler=sampler)`.
    """

    def __init__(
        self,
        dataset: Sized,
        world_size: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
    ):
        if world_size is None or rank is None:
            from .. import distributed

            world_size = distributed.world_size() if world_size is None else world_size
            rank = distributed.rank() if rank is None else rank
        _check_count("world_size", world_size, 1)
        _check_count("rank", rank, 0)
        if rank >= world_size:
            raise ValueError(
                f"DistributedSampler: rank must be below world_size {world_size}, got {rank}"
            )
        _check_count("seed", seed, 0)
        self.dataset = dataset
        self.world_size = int(world_size)
        self.rank = int(rank)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next `iter(sampler)` epoch `epoch`: its permutation, and counting on from it."""
        _check_count("epoch", epoch, 0)
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """ceil(n / W): the longest shard's length, the same on every worker."""
        return math.ceil(len(self.dataset) / self.world_size)

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of all n examples for `epoch`, the same on every worker."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __iter__(self) -> Iterator[int]:
        shard = self.order(self.epoch)[self.rank :: self.world_size]
        self.epoch += 1
        return iter(shard.tolist())


def _check_count(name: str, value, lowest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"DistributedSampler: {name} must be an int, got {type(value).__name__}")
    if value < lowest:
        raise ValueError(f"DistributedSampler: {name} must be >= {lowest}, got {value}")
