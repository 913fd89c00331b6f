"""`save` and `load`: state dicts to and from `.npz` files (arrays only, never pickled code)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .tensor import Tensor


def save(obj: Mapping, path: str | os.PathLike) -> None:
    """Write a state dict (name -> Tensor or ndarray) to `path` as an uncompressed `.npz`.

    Only numeric and boolean arrays are accepted, so `load` never has to unpickle anything. The
    file is written at `path` as given (NumPy's habit of appending `.npz` is not followed).
    """
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save() takes a state dict (a dict of name -> array), got {type(obj).__name__}; "
            "for a module, save module.state_dict()"
        )
    arrays = {str(name): _saveable(name, value) for name, value in obj.items()}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _saveable(name, value) -> np.ndarray:
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"save(): entry {name!r} is not a numeric array (got {type(value).__name__} of dtype "
            f"{array.dtype}); a state dict holds Tensors or numeric ndarrays only"
        )
    return array


def load(path: str | os.PathLike) -> dict:
    """Read a state dict written by `save`: a dict of name -> ndarray, in the saved order.

    Nothing is unpickled (`allow_pickle=False`); a file that is not an `.npz` of numeric arrays
    raises ValueError naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        _check_zip(path)
        with np.load(path, allow_pickle=False) as archive:
            return {name: _loaded(name, archive[name]) for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path} is not a minigrad state dict (.npz of arrays): {error}") from None


# A zip archive starts with a local file header, or, when empty, with the end-of-directory record.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _check_zip(path: Path) -> None:
    """Refuse anything but a zip archive before NumPy sees it (it would try a .npy or a pickle)."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise ValueError("it holds a single .npy array, not a zip archive of named arrays")
    if not magic.startswith(ZIP_MAGIC):
        raise ValueError(f"it is not a zip archive (it starts with {magic!r})")


def _loaded(name: str, value) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise ValueError(f"its entry {name!r} is not a numeric .npy array")
    return value
