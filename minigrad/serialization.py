"""`save` and `load`: state dicts to and from `.npz` files (arrays only, never pickled code)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .tensor import Tensor


def save(obj, path) -> None:
    """Write a state dict (name -> Tensor or ndarray) to `path` as an uncompressed `.npz`."""
    if not isinstance(obj, dict):
        raise TypeError(
            f"save() takes a state dict (a dict of name -> array), got {type(obj).__name__}; "
            "for a module, save module.state_dict()"
        )
    arrays = {
        str(name): value.data if isinstance(value, Tensor) else np.asarray(value)
        for name, value in obj.items()
    }
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load(path) -> dict:
    """Read a state dict written by `save`: a dict of name -> ndarray, in the saved order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path} is not a minigrad state dict (.npz of arrays): {error}") from None
