"""Embedding: a lookup table of learned vectors, one row per token (PyTorch's arguments)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..dtypes import get_default_dtype
from ..functional import _padding_row
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """out = weight[indices]: row i of weight (num_embeddings, embedding_dim) for token i, of
    shape indices.shape + (embedding_dim,): `functional.embedding`. A row picked several times
    in a batch receives the sum of its gradients.

    Initialization, PyTorch's: weight ~ N(0, 1). In the lectures' variance argument (lecture
    001, slides "Scaled initialization") a unit sums d inputs times weights, so Var[w] = 1/d keeps
    its output's variance independent of d. An embedding sums nothing: its output is one weight,
    as if d = 1 with a one-hot input, so Var[w] = 1 is the slides' rule, and the vectors it
    feeds on have unit variance per coordinate, as a normalized input would.

    Args:
        num_embeddings: the vocabulary size, so indices lie in 0..num_embeddings - 1.
        embedding_dim: the length of each vector.
        padding_idx: a row (negative counts from the end) that starts at zeros and gets no
            gradient, as PyTorch's: the vector of a padding token. None for none.
        dtype: of the weight; the default dtype if None.
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None
    ):
        super().__init__()
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Embedding: {name} must be a positive int, got {value!r}")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = (
            None if padding_idx is None else _padding_row(padding_idx, num_embeddings, "Embedding")
        )
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight again from N(0, 1) (see the class), the padding row at zeros."""
        init.normal_(self.weight, 0.0, 1.0)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
