"""Read MNIST from the standard IDX files a user already has (plain or gzipped).

IDX: a big-endian header — magic number 0x0000 08 NN (unsigned bytes, NN dimensions), then one
4-byte size per dimension — followed by the raw bytes.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"MNIST file {stem} (or {stem}.gz) not found in {folder}")


def read_idx(path: Path, dimensions: int) -> np.ndarray:
    """The array stored in one IDX file of unsigned bytes with `dimensions` dimensions."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    magic = 0x0800 + dimensions
    header = 4 + 4 * dimensions
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise ValueError(
            f"{path} is not an IDX file of {dimensions}-D unsigned bytes (expected magic number "
            f"{magic:#010x})"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{path} is truncated or padded: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist(folder, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training (or, with `train=False`, test) split from `folder`.

    Returns X of shape (n, 784), float32 in [0, 1], and y of shape (n,), int64.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} does not exist")
    images_name, labels_name = FILES[train]
    images = read_idx(_find(folder, images_name), 3)
    labels = read_idx(_find(folder, labels_name), 1)
    if len(images) != len(labels):
        raise ValueError(f"MNIST in {folder}: {len(images)} images but {len(labels)} labels")
    return images.reshape(len(images), -1).astype(np.float32) / 255, labels.astype(np.int64)
