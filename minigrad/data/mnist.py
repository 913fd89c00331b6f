"""Read MNIST from the standard IDX files a user already has (plain or gzipped); no download.

IDX: a big-endian header, the magic number 0x000008NN (0x08: unsigned bytes; NN: the number of
dimensions), then one 4-byte size per dimension, followed by the raw bytes. MNIST is the example
of lecture 003_3976390fb7f3ce43.txt, slide "Mini-batches": n = 60,000 training images, so a
minibatch of m = 10 makes a gradient step 6,000 times cheaper.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(folder: Path, stem: str) -> Path:
    # Some mirrors name the files "train-images.idx3-ubyte"; accept that spelling too.
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"MNIST file {stem} (or {stem}.gz) not found in {folder}")


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable gzip file: {error}") from None


def read_idx(path: Path, dimensions: int) -> np.ndarray:
    """The uint8 array stored in one IDX file of unsigned bytes with `dimensions` dimensions.

    Raises ValueError when the magic number is not 0x000008NN with NN = `dimensions`, or when
    the file holds fewer or more bytes than its header announces.
    """
    raw = _read_bytes(path)
    magic = 0x0800 + dimensions
    header = 4 + 4 * dimensions
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if len(raw) < header or found != magic:
        shown = "none (file too short)" if found is None else f"{found:#010x}"
        raise ValueError(
            f"{path} is not an IDX file of {dimensions}-D unsigned bytes: magic number {shown}, "
            f"expected {magic:#010x}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = header + int(np.prod(shape))
    if len(raw) < expected:
        raise ValueError(
            f"{path} is truncated: {len(raw)} bytes, expected {expected} for shape {shape}"
        )
    if len(raw) > expected:
        raise ValueError(
            f"{path} has {len(raw) - expected} bytes after the data its header announces "
            f"(shape {shape})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(folder: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training split (60,000 images) or, with `train=False`, its test split (10,000).

    Reads train-images-idx3-ubyte and train-labels-idx1-ubyte (t10k-... for the test split),
    each plain or gzipped (`.gz`).

    Args:
        folder: the folder holding the four IDX files.
        train: the training split if True, the test split if False.

    Returns:
        X of shape (n, 784), float32 pixels scaled to [0, 1] (row-major 28x28), and y of shape
        (n,), int64 labels 0..9.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"MNIST folder {folder} {what}")
    images_name, labels_name = FILES[bool(train)]
    images = read_idx(_find(folder, images_name), 3)
    labels = read_idx(_find(folder, labels_name), 1)
    if len(images) != len(labels):
        raise ValueError(f"MNIST in {folder}: {len(images)} images but {len(labels)} labels")
    return images.reshape(len(images), -1).astype(np.float32) / 255, labels.astype(np.int64)
