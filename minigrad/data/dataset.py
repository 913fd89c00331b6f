"""Datasets: anything with a length and an indexable example, and `TensorDataset` over arrays."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class Dataset:
    """A sized collection of examples: subclasses define `__len__` and `__getitem__`.

    `dataset[i]` is one example, usually a tuple such as `(x_i, y_i)`; `DataLoader` stacks the
    examples of a batch field by field.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")  # abstract

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")  # abstract


class TensorDataset(Dataset):
    """Examples are rows of the given arrays: `dataset[i] == (X[i], y[i], ...)`.

    Args:
        *tensors: ndarrays or Tensors (their data is used, so a TensorDataset holds no graph),
            all with the same first dimension, the number of examples.
    """

    def __init__(self, *tensors: np.ndarray | Tensor):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        scalars = [i for i, a in enumerate(self.arrays) if a.ndim == 0]
        if scalars:
            raise ValueError(
                f"TensorDataset: array {scalars[0]} is a scalar; every array needs a first "
                f"dimension, the number of examples"
            )
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"TensorDataset: the arrays disagree in length (first dimension): lengths "
                f"{', '.join(map(str, lengths))} for shapes "
                f"{', '.join(str(a.shape) for a in self.arrays)}"
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)
