"""Datasets, minibatch loading, and the small data sets minigrad ships."""

from . import datasets
from .dataset import Dataset, TensorDataset
from .datasets import (
    digits,
    make_moons,
    make_regression,
    make_spirals,
    noisy_secret_number,
    secret_number,
    speeding_tickets,
    train_test_split,
)
from .loader import DataLoader
from .mnist import load_mnist
from .sampler import DistributedSampler
