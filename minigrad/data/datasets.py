"""Small real data shipped with the package, and generators for toy problems. No downloads.

- The lectures' own examples, exactly as the slides print them: `secret_number`,
  `noisy_secret_number`, `speeding_tickets`.
- `digits`: the 8x8 handwritten digits, 1797 images in 10 classes, from the UCI Machine
  Learning Repository's "Optical Recognition of Handwritten Digits" data set by E. Alpaydin and
  C. Kaynak (1998, https://doi.org/10.24432/C50P49; the test part of it, as distributed with
  scikit-learn), licensed under Creative Commons Attribution 4.0 (CC BY 4.0). It lies in
  `digits.npz` beside this file (45 KB: `images` (1797, 64) and `labels` (1797,), uint8).
- `make_moons`, `make_spirals`, `make_regression`: synthetic data drawn from the engine RNG.
- `load_mnist` (in `mnist.py`, also reachable from here) reads MNIST from IDX files a user
  already has.

The lectures' examples have one scalar input per example, so their x is 1-D, shape (n,), to be
used as in the slides (f(x) = x + theta, sigma(a x + b)); every other X is 2-D, one row per
example. Regression and binary targets are float32, class labels int64.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..random import generator
from .mnist import load_mnist

__all__ = [
    "secret_number",
    "noisy_secret_number",
    "speeding_tickets",
    "digits",
    "train_test_split",
    "make_moons",
    "make_spirals",
    "make_regression",
    "load_mnist",
]


def _pairs(points: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([p[0] for p in points], dtype=np.float32)
    y = np.array([p[1] for p in points], dtype=np.float32)
    return x, y


def secret_number() -> tuple[np.ndarray, np.ndarray]:
    """The secret-number game's data {(2, 4), (3, 5), (5, 7), (8, 10)}: y = x + theta, theta = 2.

    Lecture 002_aa120863d57339f7.txt, slide "Process". Returns x and y, each of
    shape (4,), float32.
    """
    return _pairs([(2, 4), (3, 5), (5, 7), (8, 10)])


def noisy_secret_number() -> tuple[np.ndarray, np.ndarray]:
    """The noisy game's data {(2, 3), (3, 6), (5, 5), (8, 12)}: no theta fits exactly.

    Lecture 002_aa120863d57339f7.txt, slide "Adding noise to the game". The differences y - x are
    1, 3, 0, 4, so the squared-error optimum is their mean, theta = 2, with loss 2.5 left over.
    Returns x and y, each of shape (4,), float32.
    """
    return _pairs([(2, 3), (3, 6), (5, 5), (8, 12)])


def speeding_tickets() -> tuple[np.ndarray, np.ndarray]:
    """Speed -> whether you get a ticket: {(30, F), (33, F), (35, F), (37, T), (39, T)}.

    Lecture 002_aa120863d57339f7.txt, slide "Supervised Learning Basics". Binary labels like
    these are what the logistic regression sigma(a x + b) of lecture 003_3976390fb7f3ce43.txt
    (slide "Recap: Logistic regression") models. Returns speeds x and labels y as 0.0 (False) /
    1.0 (True), each of shape (5,), float32.
    """
    return _pairs([(30, 0), (33, 0), (35, 0), (37, 1), (39, 1)])


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: 1797 images of the digits 0..9 from 13 writers.

    Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits"
    (E. Alpaydin, C. Kaynak, 1998; https://doi.org/10.24432/C50P49), licence CC BY 4.0; this is
    its test part, as distributed with scikit-learn. Each 32x32 bitmap was cut into 4x4 blocks
    and each block replaced by its count of set pixels, hence values 0..16.

    Returns:
        X of shape (1797, 64), float32 pixel counts 0..16 (row-major 8x8), and y of shape
        (1797,), int64 labels 0..9.
    """
    with resources.files(__package__).joinpath("digits.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as archive:
            return archive["images"].astype(np.float32), archive["labels"].astype(np.int64)


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 0.2,
    seed: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle the rows and hold out round(n * test_fraction) of them for testing.

    Returns (X_train, X_test, y_train, y_test). The permutation comes from
    `np.random.default_rng(seed)` for an int seed (so a seeded split does not depend on what ran
    before it), from `seed` itself when it is a numpy Generator, else from the engine RNG.

    Args:
        X, y: features and targets with the same number of rows n >= 2.
        test_fraction: share of the rows held out, strictly between 0 and 1; both parts keep at
            least one row.
        seed: an int, a numpy Generator, or None for the engine RNG.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    if len(X) < 2:
        raise ValueError(f"train_test_split needs at least 2 rows to split, got {len(X)}")
    rng = seed if isinstance(seed, np.random.Generator) else None
    if rng is None:
        rng = generator() if seed is None else np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = min(max(1, round(len(X) * test_fraction)), len(X) - 1)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def _check_size(name: str, value: int, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")


def _check_noise(noise: float) -> None:
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0 (a standard deviation), got {noise!r}")


def make_moons(n: int = 200, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles with Gaussian noise, drawn from the engine RNG.

    Class 0 is the upper arc (cos t, sin t), class 1 the lower arc (1 - cos t, 1/2 - sin t),
    t in [0, pi]; class 0 gets n // 2 points, class 1 the rest.

    Args:
        n: number of points, >= 2.
        noise: standard deviation of the Gaussian noise added to each coordinate.

    Returns:
        X of shape (n, 2), float32, and y of shape (n,), int64 in {0, 1}.
    """
    _check_size("n", n, 2)
    _check_noise(noise)
    upper = n // 2
    angles = np.concatenate([np.linspace(0, np.pi, upper), np.linspace(0, np.pi, n - upper)])
    is_upper = np.arange(n) < upper
    x = np.where(is_upper, np.cos(angles), 1 - np.cos(angles))
    y_coord = np.where(is_upper, np.sin(angles), 0.5 - np.sin(angles))
    X = np.stack([x, y_coord], axis=1) + noise * generator().standard_normal((n, 2))
    return X.astype(np.float32), (~is_upper).astype(np.int64)


def make_spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """`classes` interleaved spiral arms, drawn from the engine RNG.

    Point i belongs to arm k = i mod classes, at radius r growing from 0.05 to 1 along the arm
    and angle 2 pi k / classes + 4 r + noise * N(0, 1); its coordinates are (r sin, r cos).

    Args:
        n: number of points, >= classes; arms get n // classes or n // classes + 1 points.
        classes: number of arms (and labels), >= 1.
        noise: standard deviation of the Gaussian noise on each point's angle, in radians.

    Returns:
        X of shape (n, 2), float32, and y of shape (n,), int64 in 0..classes-1.
    """
    _check_size("classes", classes, 1)
    _check_size("n", n, classes)
    _check_noise(noise)
    labels = np.arange(n) % classes
    radius = np.sort(np.tile(np.linspace(0.05, 1, -(-n // classes)), classes)[:n])
    angle = labels * 2 * np.pi / classes + 4 * radius + noise * generator().standard_normal(n)
    X = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return X.astype(np.float32), labels.astype(np.int64)


def make_regression(n: int = 100, d: int = 1, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A noisy linear target y = X w + b + noise * N(0, 1), drawn from the engine RNG.

    X, the weights w (d,) and the bias b are standard normal draws, in that order.

    Args:
        n: number of examples, >= 1.
        d: number of features, >= 1.
        noise: standard deviation of the Gaussian noise added to each target.

    Returns:
        X of shape (n, d), float32, and y of shape (n,), float32.
    """
    _check_size("n", n, 1)
    _check_size("d", d, 1)
    _check_noise(noise)
    rng = generator()
    X = rng.standard_normal((n, d))
    weights, bias = rng.standard_normal(d), rng.standard_normal()
    y = X @ weights + bias + noise * rng.standard_normal(n)
    return X.astype(np.float32), y.astype(np.float32)
