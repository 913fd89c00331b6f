"""Small real data shipped with the package, and generators for toy problems. No downloads.

- The lectures' own examples, exactly as the slides print them: `secret_number`,
  `noisy_secret_number`, `speeding_tickets`.
- `digits`: the 8x8 handwritten digits, 1797 images in 10 classes, from the UCI "Optical
  Recognition of Handwritten Digits" data set by E. Alpaydin and C. Kaynak (the test part of it,
  as distributed with scikit-learn), licensed CC BY 4.0. It lies in `digits.npz` beside this file
  (45 KB, pixels as uint8 counts 0..16).
- `make_moons`, `make_spirals`, `make_regression`: synthetic data drawn from the engine RNG.
- `load_mnist` (in `mnist.py`) reads MNIST from IDX files a user already has.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..random import generator


def _pairs(points: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[p[0]] for p in points], dtype=np.float32)
    y = np.array([p[1] for p in points], dtype=np.float32)
    return x, y


def secret_number() -> tuple[np.ndarray, np.ndarray]:
    """The secret-number game's data {(2, 4), (3, 5), (5, 7), (8, 10)}: y = x + theta, theta = 2.

    Lecture 002_aa120863d57339f7.txt, slide "Process". Returns X of shape (4, 1) and y of
    shape (4,), float32.
    """
    return _pairs([(2, 4), (3, 5), (5, 7), (8, 10)])


def noisy_secret_number() -> tuple[np.ndarray, np.ndarray]:
    """The noisy game's data {(2, 3), (3, 6), (5, 5), (8, 12)}: no theta fits exactly.

    Lecture 002_aa120863d57339f7.txt, slide "Adding noise to the game". The differences y - x are
    1, 3, 0, 4, so the squared-error optimum is their mean, theta = 2, with loss 2.5 left over.
    Returns X of shape (4, 1) and y of shape (4,), float32.
    """
    return _pairs([(2, 3), (3, 6), (5, 5), (8, 12)])


def speeding_tickets() -> tuple[np.ndarray, np.ndarray]:
    """Speed -> whether you get a ticket: {(30, F), (33, F), (35, F), (37, T), (39, T)}.

    Lecture 002_aa120863d57339f7.txt, slide "Supervised Learning Basics"; the logistic
    regression of lecture 003 ("Recap: Logistic regression") fits sigma(a x + b) to it. Returns
    speeds X of shape (5, 1) and labels y of shape (5,) as 0.0/1.0, float32.
    """
    return _pairs([(30, 0), (33, 0), (35, 0), (37, 1), (39, 1)])


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: X (1797, 64) float32 pixel counts 0..16, y (1797,) int64.

    UCI "Optical Recognition of Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998), CC BY 4.0:
    32x32 bitmaps from 13 writers, each 4x4 block reduced to its count of set pixels.
    """
    with resources.files(__package__).joinpath("digits.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as archive:
            return archive["images"].astype(np.float32), archive["labels"].astype(np.int64)


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into (X_train, X_test, y_train, y_test).

    The permutation comes from `np.random.default_rng(seed)` when a seed is given, else from the
    engine RNG, so a seeded split does not depend on what ran before it.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    rng = generator() if seed is None else np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = max(1, round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def make_moons(n: int = 200, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, n points in all: X (n, 2) float32, y (n,) int64 in {0, 1}."""
    rng = generator()
    upper = n // 2
    angles = np.concatenate([np.linspace(0, np.pi, upper), np.linspace(0, np.pi, n - upper)])
    x = np.where(np.arange(n) < upper, np.cos(angles), 1 - np.cos(angles))
    y_coord = np.where(np.arange(n) < upper, np.sin(angles), 0.5 - np.sin(angles))
    X = np.stack([x, y_coord], axis=1) + noise * rng.standard_normal((n, 2))
    labels = (np.arange(n) >= upper).astype(np.int64)
    return X.astype(np.float32), labels


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` interleaved spiral arms of about n / classes points each: X (n, 2), y (n,)."""
    rng = generator()
    labels = np.arange(n) % classes
    radius = np.tile(np.linspace(0.05, 1, -(-n // classes)), classes)[:n]
    radius = np.sort(radius)
    angle = labels * 2 * np.pi / classes + 4 * radius + noise * rng.standard_normal(n)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X.astype(np.float32), labels.astype(np.int64)


def make_regression(n: int = 100, d: int = 1, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """y = X w + b + noise for random w, b: X (n, d) float32, y (n,) float32."""
    rng = generator()
    X = rng.standard_normal((n, d))
    weights, bias = rng.standard_normal(d), rng.standard_normal()
    y = X @ weights + bias + noise * rng.standard_normal(n)
    return X.astype(np.float32), y.astype(np.float32)
