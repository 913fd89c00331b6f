"""Datasets: anything with a length and an indexable example, and `TensorDataset` over arrays."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Dataset:
    """A sized collection of examples: subclasses define `__len__` and `__getitem__`."""

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Examples are rows of the given arrays: `dataset[i] == (X[i], y[i], ...)`.

    Takes ndarrays or Tensors (their data is used; a TensorDataset holds no graph). Every array
    must have the same first dimension, the number of examples.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(
                f"TensorDataset: every array needs the same first dimension (the number of "
                f"examples); got shapes {shapes}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)
