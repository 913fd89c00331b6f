"""minigrad.data: datasets, the loader's epochs and batches, the shipped data, MNIST files."""

import gzip

import numpy as np
import pytest

import minigrad as mg
from minigrad import data
from minigrad.data import DataLoader, TensorDataset


def epoch_indices(loader):
    return np.concatenate([batch[1].data for batch in loader])


def indexed_loader(n, **options):
    X = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return DataLoader(TensorDataset(X, np.arange(n)), **options)


def test_every_index_once_per_epoch_in_a_new_order():
    loader = indexed_loader(100, batch_size=7, shuffle=True)
    first, second = epoch_indices(loader), epoch_indices(loader)
    assert sorted(first) == sorted(second) == list(range(100))
    assert not np.array_equal(first, second)


def test_same_order_after_same_seed():
    loader = indexed_loader(50, batch_size=8, shuffle=True)
    mg.manual_seed(3)
    first = [epoch_indices(loader) for _ in range(2)]
    mg.manual_seed(3)
    again = [epoch_indices(loader) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_without_shuffle_the_order_is_the_dataset_order():
    assert epoch_indices(indexed_loader(10, batch_size=3)).tolist() == list(range(10))


@pytest.mark.parametrize(
    "batch_size, drop_last, updates",
    [(50, False, 24), (200, False, 6), (32, False, 38), (32, True, 37)],
)
def test_updates_per_epoch(batch_size, drop_last, updates):
    loader = indexed_loader(1200, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == updates == sum(1 for _ in loader)


def test_last_partial_batch_and_drop_last():
    sizes = [len(b[1]) for b in indexed_loader(10, batch_size=4)]
    assert sizes == [4, 4, 2]
    assert [len(b[1]) for b in indexed_loader(10, batch_size=4, drop_last=True)] == [4, 4]


def test_batches_are_tensors_with_the_arrays_dtypes():
    X, y = data.digits()
    xb, yb = next(iter(DataLoader(TensorDataset(X, y), batch_size=16)))
    assert isinstance(xb, mg.Tensor) and xb.shape == (16, 64) and xb.dtype == np.float32
    assert yb.shape == (16,) and yb.dtype == np.int64
    assert not xb.requires_grad


def test_tensor_dataset_takes_tensors_and_indexes_rows():
    ds = TensorDataset(mg.Tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 1]))
    assert len(ds) == 2
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0] and y == 1


def test_a_plain_dataset_is_stacked_example_by_example():
    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), np.float32(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[1].tolist() for b in batches] == [[0, 1], [4, 9], [16]]


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
    with pytest.raises(ValueError, match=r"same first dimension.*\(3, 2\), \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_lecture_data_as_printed():
    X, y = data.secret_number()
    assert X[:, 0].tolist() == [2, 3, 5, 8] and y.tolist() == [4, 5, 7, 10]
    X, y = data.noisy_secret_number()
    assert X[:, 0].tolist() == [2, 3, 5, 8] and y.tolist() == [3, 6, 5, 12]
    assert np.mean(y - X[:, 0]) == 2.0  # the slide's optimum: the mean difference
    X, y = data.speeding_tickets()
    assert X[:, 0].tolist() == [30, 33, 35, 37, 39] and y.tolist() == [0, 0, 0, 1, 1]


def test_digits_is_the_real_data():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_generators_shapes_and_seeding():
    mg.manual_seed(1)
    moons = data.make_moons(40, noise=0.05)
    mg.manual_seed(1)
    assert np.array_equal(moons[0], data.make_moons(40, noise=0.05)[0])
    assert moons[0].shape == (40, 2) and sorted(set(moons[1].tolist())) == [0, 1]
    X, y = data.make_spirals(90, classes=3)
    assert X.shape == (90, 2) and np.bincount(y).tolist() == [30, 30, 30]
    X, y = data.make_regression(20, d=3)
    assert X.shape == (20, 3) and y.shape == (20,)


def test_train_test_split_is_disjoint_and_seeded():
    X, y = np.arange(100)[:, None], np.arange(100)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.25, seed=0)
    assert len(X_test) == 25 and len(X_train) == 75
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(100))
    assert np.array_equal(y_test, data.train_test_split(X, y, 0.25, seed=0)[3])
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        data.train_test_split(X, y, 1.5)


def write_idx(path, array, magic=None, gz=False):
    header = (magic or 0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(n.to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_reads_idx_files(tmp_path, gz):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", np.array([7, 2, 1]), gz=gz)
    X, y = data.load_mnist(tmp_path, train=False)
    assert X.shape == (3, 784) and X.dtype == np.float32
    assert np.allclose(X[1] * 255, images[1].ravel())
    assert y.tolist() == [7, 2, 1] and y.dtype == np.int64


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28)), magic=1234)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2))
    with pytest.raises(ValueError, match="not an IDX file"):
        data.load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        data.load_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        (0x0801).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\x01\x02"
    )
    with pytest.raises(ValueError, match="truncated"):
        data.load_mnist(tmp_path)
