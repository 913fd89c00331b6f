"""`save` and `load`: state dicts to and from `.npz` files, never pickled; `atomic_write`.

A state dict here is any tree of dicts (str or int keys), lists and tuples whose leaves are
numeric or boolean ndarrays, Tensors, NumPy scalars and the Python scalars int, float, bool, None
and str: a model's `state_dict()`, an optimizer's, a scheduler's, the RNG state and an epoch count
can all go into one file. The file is an uncompressed zip: the arrays are `0.npy`, `1.npy`, ... in
the order they appear, and `manifest.json` describes the tree, its keys and its scalars. Naming
entries by position (not by key) means no key can collide with another or with a file name.

Every file minigrad writes goes through `atomic_write`: a crash or a full disk while saving leaves
the previous file as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from .tensor import Tensor

FORMAT = "minigrad-state/1"
MANIFEST = "manifest.json"  # never written by np.savez, whose entry names all end in .npy
ARRAY_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex
DEFLATE_MAX_RATIO = 1032  # the most a deflate stream can expand: a bound for compressed entries


# ---- atomic writes -------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a binary stream whose content replaces `path` only once it is completely on disk.

    The stream is a temporary file in the same folder; on success it is flushed, fsynced and
    renamed over `path` (`os.replace`, atomic), and the folder is fsynced where the platform allows.
    If the body raises (a full disk, Ctrl-C), the temporary file is removed and `path` is left as
    it was. The new file gets the usual permissions (0o666 less the umask).
    """
    path = Path(path)
    temporary, handle = _create_temporary(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def _create_temporary(path: Path) -> tuple[Path, int]:
    """A new hidden file beside `path`, created exclusively (so never someone else's)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return temporary, os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue


def fsync_directory(folder: str | os.PathLike) -> None:
    """Make the renames inside `folder` durable; a no-op where folders cannot be opened or
    fsynced (Windows, some network file systems)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


# ---- save ----------------------------------------------------------------------------------------


def save(obj: Mapping, path: str | os.PathLike) -> None:
    """Write a state dict to `path`, atomically (a failed save leaves the old file as it was).

    The state dict is a tree of dicts (str or int keys), lists and tuples whose leaves are
    numeric or boolean ndarrays, Tensors, NumPy scalars, or int, float, bool, None and str: a
    model's, an optimizer's and a scheduler's state dicts, the RNG state and an epoch fit in one
    file, and `load` gives every one of them back exactly. Only numeric and boolean arrays are
    stored, so `load` never has to unpickle anything. Bad input (an object array, a set, a key
    that is neither str nor int) is a TypeError naming the entry, raised before anything is
    written. The file is written at `path` as given (NumPy's habit of appending `.npz` is not
    followed).
    """
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save() takes a state dict (a dict of name -> array), got {type(obj).__name__}; "
            "for a module, save module.state_dict()"
        )
    arrays: list[np.ndarray] = []
    tree = _encode(obj, "", arrays, set())
    manifest = json.dumps({"format": FORMAT, "tree": tree}, allow_nan=False).encode("ascii")
    with atomic_write(path) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, manifest)
        for index, array in enumerate(arrays):
            with archive.open(f"{index}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)


def _encode(value, where: str, arrays: list, active: set):
    """The manifest node of `value`; its arrays are appended to `arrays`. `where` names the entry
    in errors (`['optimizer']['state'][0]`); `active` holds the containers being encoded."""
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in active:
            raise ValueError(f"save(): entry {where} contains itself")
        active.add(id(value))
        try:
            return _encode_container(value, where, arrays, active)
        finally:
            active.discard(id(value))
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        array = value.data if isinstance(value, Tensor) else np.asarray(value)
        _check_array(array, where, value)
        arrays.append(array)
        return {"scalar" if isinstance(value, np.generic) else "array": len(arrays) - 1}
    return _encode_scalar(value, where)


def _encode_container(value, where: str, arrays: list, active: set) -> dict:
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save(): entry {where or 'at the top'} has a key {key!r} of type "
                    f"{type(key).__name__}; keys must be str (or int, as in an optimizer's state)"
                )
            items.append([key, _encode(item, f"{where}[{key!r}]", arrays, active)])
        return {"dict": items}
    kind = "tuple" if isinstance(value, tuple) else "list"
    return {kind: [_encode(item, f"{where}[{i}]", arrays, active) for i, item in enumerate(value)]}


def _encode_scalar(value, where: str) -> dict:
    if value is None:
        return {"none": None}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": int(value)}
    if isinstance(value, float):
        return {"float": float(value).hex()}  # exact, and NaN and infinities stay valid JSON
    if isinstance(value, str):
        return {"str": str(value)}
    raise TypeError(
        f"save(): entry {where} is a {type(value).__name__}; a state dict holds dicts, lists, "
        "tuples, numeric arrays, Tensors, and int, float, bool, None or str"
    )


def _check_array(array: np.ndarray, where: str, value) -> None:
    if array.dtype.kind not in ARRAY_KINDS or array.dtype.fields is not None:
        raise TypeError(
            f"save(): entry {where} is not a numeric array (got {type(value).__name__} of dtype "
            f"{array.dtype}); only bool, integer, float and complex arrays are saved"
        )


# ---- load ----------------------------------------------------------------------------------------


def load(path: str | os.PathLike) -> dict:
    """Read a file written by `save`: the same tree, with arrays and Tensors as ndarrays.

    Keys, their order, dtypes and shapes (0-d included) come back as saved; NumPy scalars come
    back as NumPy scalars of their dtype. A flat `.npz` of arrays written by `np.savez` (or an
    older minigrad) loads as a dict of name -> ndarray. Nothing is unpickled; a file that is not
    such an archive, is truncated, or declares arrays larger than the bytes it holds raises
    ValueError naming the path.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        _check_zip(path)
        with zipfile.ZipFile(path) as archive:
            return _Reader(archive, path.stat().st_size).read()
    except (
        ValueError,
        OSError,
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        RecursionError,
    ) as error:
        raise ValueError(f"{path} is not a minigrad state dict (.npz of arrays): {error}") from None


# A zip archive starts with a local file header, or, when empty, with the end-of-directory record.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _check_zip(path: Path) -> None:
    """Refuse anything but a zip archive before reading it as one."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise ValueError("it holds a single .npy array, not a zip archive of named arrays")
    if not magic.startswith(ZIP_MAGIC):
        raise ValueError(f"it is not a zip archive (it starts with {magic!r})")


class _Reader:
    """Reads one open archive: by its manifest when it has one, else as np.savez's flat layout."""

    def __init__(self, archive: zipfile.ZipFile, archive_size: int):
        self.archive, self.archive_size = archive, archive_size
        names = [info.filename for info in archive.infolist()]
        if len(set(names)) != len(names):
            raise ValueError("it has two entries of the same name")
        self.used: set[int] = set()

    def read(self) -> dict:
        names = self.archive.namelist()
        if MANIFEST not in names:
            return {self._flat_name(name): self._array(name) for name in names}
        manifest = json.loads(self._entry_bytes(MANIFEST).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"its manifest is not of format {FORMAT!r}")
        tree = self._decode(manifest.get("tree"))
        if not isinstance(tree, dict):
            raise ValueError("its manifest does not describe a dict")
        expected = {MANIFEST, *(f"{index}.npy" for index in self.used)}
        if set(names) != expected:
            raise ValueError(
                f"its entries {sorted(set(names) ^ expected)} do not match its manifest"
            )
        return tree

    @staticmethod
    def _flat_name(name: str) -> str:
        if not name.endswith(".npy"):
            raise ValueError(f"its entry {name!r} is not a numeric .npy array")
        return name[: -len(".npy")]

    def _decode(self, node):
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"its manifest holds a malformed node {str(node)[:60]!r}")
        ((tag, value),) = node.items()
        decoder = getattr(self, f"_decode_{tag}", None)
        if decoder is None:
            raise ValueError(f"its manifest holds an unknown node {tag!r}")
        return decoder(value)

    def _decode_dict(self, items) -> dict:
        _expect(isinstance(items, list), "dict", items)
        result: dict = {}
        for item in items:
            _expect(isinstance(item, list) and len(item) == 2, "dict item", item)
            key = item[0]
            _expect(isinstance(key, (str, int)) and not isinstance(key, bool), "key", key)
            _expect(key not in result, "repeated key", key)
            result[key] = self._decode(item[1])
        return result

    def _decode_list(self, items) -> list:
        _expect(isinstance(items, list), "list", items)
        return [self._decode(item) for item in items]

    def _decode_tuple(self, items) -> tuple:
        return tuple(self._decode_list(items))

    def _decode_int(self, value) -> int:
        _expect(isinstance(value, int) and not isinstance(value, bool), "int", value)
        return value

    def _decode_float(self, value) -> float:
        _expect(isinstance(value, str), "float", value)
        return float.fromhex(value)

    def _decode_bool(self, value) -> bool:
        _expect(isinstance(value, bool), "bool", value)
        return value

    def _decode_none(self, value) -> None:
        _expect(value is None, "none", value)

    def _decode_str(self, value) -> str:
        _expect(isinstance(value, str), "str", value)
        return value

    def _decode_array(self, index) -> np.ndarray:
        _expect(isinstance(index, int) and not isinstance(index, bool), "array", index)
        _expect(index not in self.used, "array used twice", index)
        self.used.add(index)
        return self._array(f"{index}.npy")

    def _decode_scalar(self, index) -> np.generic:
        array = self._decode_array(index)
        _expect(array.ndim == 0, "scalar of shape", array.shape)
        return cast(np.generic, array[()])

    def _entry_bytes(self, name: str) -> bytes:
        info = self._checked_info(name)
        return self.archive.read(info)

    def _checked_info(self, name: str) -> zipfile.ZipInfo:
        """The entry's record, once its declared sizes fit in the bytes the file really holds."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise ValueError(
                f"its manifest names an entry {name!r} that it does not hold"
            ) from None
        if info.compress_type == zipfile.ZIP_STORED:
            consistent = info.file_size == info.compress_size
        else:
            consistent = info.file_size <= DEFLATE_MAX_RATIO * info.compress_size + 1024
        if not consistent or info.header_offset + info.compress_size > self.archive_size:
            raise ValueError(
                f"its entry {name!r} claims {info.file_size} bytes, more than the file holds"
            )
        return info

    def _array(self, name: str) -> np.ndarray:
        """Read one .npy entry without ever allocating more than the entry's real size."""
        info = self._checked_info(name)
        with self.archive.open(info) as entry:
            shape, fortran, dtype = _read_header(entry, name)
            count = math.prod(shape)
            declared, held = count * dtype.itemsize, info.file_size - entry.tell()
            if declared != held:
                raise ValueError(
                    f"its entry {name!r} declares {shape} of {dtype} ({declared} bytes) but holds "
                    f"{held} bytes"
                )
            flat = np.empty(count, dtype=dtype)
            _read_into(entry, flat.view(np.uint8), name)
        return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _read_header(entry, name: str) -> tuple[tuple, bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(entry)
    except ValueError:
        raise ValueError(f"its entry {name!r} is not a numeric .npy array") from None
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in readers:
        raise ValueError(f"its entry {name!r} is a .npy of version {version}, not 1.0 or 2.0")
    shape, fortran, dtype = readers[version](entry)
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"its entry {name!r} is not a numeric .npy array (dtype {dtype})")
    if any(n < 0 for n in shape):
        raise ValueError(f"its entry {name!r} declares a negative shape {shape}")
    return shape, fortran, dtype


def _read_into(entry, buffer: np.ndarray, name: str) -> None:
    """Fill `buffer` from `entry`, which must end exactly there (so its checksum is verified)."""
    view, filled = buffer.data, 0  # `buffer` is flat uint8: one byte per item
    while filled < len(view):
        got = entry.readinto(view[filled:])
        if not got:
            raise ValueError(f"its entry {name!r} is truncated")
        filled += got
    if entry.read(1):
        raise ValueError(f"its entry {name!r} has bytes after its array")


def _expect(condition: bool, what: str, value) -> None:
    if not condition:
        raise ValueError(f"its manifest holds a malformed {what} {str(value)[:60]!r}")
