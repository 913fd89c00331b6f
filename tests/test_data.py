"""minigrad.data: datasets, the loader's epochs and batches, the shipped data, MNIST files."""

import gzip

import numpy as np
import pytest

import minigrad as mg
from minigrad import data
from minigrad.data import DataLoader, Dataset, TensorDataset


def epoch_indices(loader):
    return np.concatenate([batch[1].data for batch in loader])


def indexed_loader(n, **options):
    """A loader over rows (i, i, i) labelled i, so every batch says which examples it holds."""
    X = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    return DataLoader(TensorDataset(X, np.arange(n)), **options)


# ---- DataLoader: epochs ------------------------------------------------------------------------


def test_every_index_once_per_epoch_in_a_new_order():
    mg.manual_seed(0)
    loader = indexed_loader(100, batch_size=7, shuffle=True)
    first, second = epoch_indices(loader), epoch_indices(loader)
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(100))
    assert first.tolist() != list(range(100))
    assert not np.array_equal(first, second)


def test_same_order_after_same_seed():
    loader = indexed_loader(50, batch_size=8, shuffle=True)
    mg.manual_seed(3)
    first = [epoch_indices(loader) for _ in range(2)]
    mg.manual_seed(3)
    again = [epoch_indices(loader) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    mg.manual_seed(4)
    assert not np.array_equal(epoch_indices(loader), first[0])


def test_shuffling_draws_from_the_engine_rng():
    mg.manual_seed(5)
    expected = mg.random.generator().permutation(30)
    mg.manual_seed(5)
    assert epoch_indices(indexed_loader(30, batch_size=4, shuffle=True)).tolist() == (
        expected.tolist()
    )


def test_without_shuffle_the_order_is_the_dataset_order():
    assert epoch_indices(indexed_loader(10, batch_size=3)).tolist() == list(range(10))


@pytest.mark.parametrize(
    "batch_size, drop_last, updates",
    [(50, False, 24), (200, False, 6), (32, False, 38), (32, True, 37), (1200, False, 1)],
)
def test_updates_per_epoch_for_1200_points(batch_size, drop_last, updates):
    # Lecture 004, "Exercise (*Homework*)": ceil(1200 / B) updates, floor with drop_last.
    loader = indexed_loader(1200, batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == updates == sum(1 for _ in loader)


def test_last_partial_batch_and_drop_last():
    assert [len(b[1]) for b in indexed_loader(10, batch_size=4)] == [4, 4, 2]
    assert [len(b[1]) for b in indexed_loader(10, batch_size=4, drop_last=True)] == [4, 4]
    last = list(indexed_loader(1200, batch_size=32))[-1]
    assert last[0].shape == (16, 3) and last[1].tolist() == list(range(1184, 1200))


def test_drop_last_with_shuffle_leaves_out_a_different_remainder():
    mg.manual_seed(0)
    loader = indexed_loader(10, batch_size=4, shuffle=True, drop_last=True)
    seen = [sorted(epoch_indices(loader).tolist()) for _ in range(5)]
    assert all(len(s) == 8 for s in seen) and len({tuple(s) for s in seen}) > 1


def test_an_empty_dataset_gives_no_batches():
    loader = DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=4, shuffle=True)
    assert len(loader) == 0 and list(loader) == []


# ---- DataLoader: what a batch is ---------------------------------------------------------------


def test_batches_are_tensors_with_the_arrays_rows_and_dtypes():
    X, y = data.digits()
    xb, yb = next(iter(DataLoader(TensorDataset(X, y), batch_size=16)))
    assert isinstance(xb, mg.Tensor) and isinstance(yb, mg.Tensor)
    assert xb.shape == (16, 64) and xb.dtype == np.float32
    assert yb.shape == (16,) and yb.dtype == np.int64
    assert np.array_equal(xb.data, X[:16]) and yb.tolist() == y[:16].tolist()
    assert not xb.requires_grad and xb.grad_fn is None


def test_float64_data_stays_float64():
    xb, yb = next(iter(DataLoader(TensorDataset(np.ones((3, 2)), np.ones(3)), batch_size=2)))
    assert xb.dtype == np.float64 and yb.dtype == np.float64


def test_batches_do_not_alias_the_dataset():
    X = np.zeros((4, 2), np.float32)
    (xb,) = next(iter(DataLoader(TensorDataset(X), batch_size=4)))
    xb.data += 1
    assert X.sum() == 0


def test_tensor_dataset_takes_tensors_and_indexes_rows():
    features = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ds = TensorDataset(features, np.array([0, 1]))
    assert len(ds) == 2
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0] and y == 1
    xb, yb = next(iter(DataLoader(ds, batch_size=2)))
    assert xb.tolist() == [[1.0, 2.0], [3.0, 4.0]] and not xb.requires_grad


def test_tensor_dataset_batches_are_gathered_not_read_one_by_one(monkeypatch):
    def one_example(self, index):
        raise AssertionError("TensorDataset batches must be built with one index array")

    monkeypatch.setattr(TensorDataset, "__getitem__", one_example)
    batches = list(indexed_loader(10, batch_size=4, shuffle=True))
    assert [len(b[1]) for b in batches] == [4, 4, 2]


def test_a_subclass_overriding_getitem_is_read_example_by_example():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return 2 * x, y

    xb, yb = next(iter(DataLoader(Doubled(np.arange(3.0)[:, None], np.arange(3)), batch_size=3)))
    assert xb.tolist() == [[0.0], [2.0], [4.0]] and yb.tolist() == [0, 1, 2]


def test_a_plain_dataset_is_stacked_field_by_field():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), np.float32(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert [b[1].tolist() for b in batches] == [[0, 1], [4, 9], [16]]
    assert all(isinstance(t, mg.Tensor) for b in batches for t in b)


def test_a_dataset_of_single_arrays_gives_one_tensor_per_batch():
    class Rows(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full(2, i, dtype=np.float32)

    batch = next(iter(DataLoader(Rows(), batch_size=3)))
    assert isinstance(batch, mg.Tensor) and batch.tolist() == [[0, 0], [1, 1], [2, 2]]


def test_the_base_dataset_names_what_a_subclass_must_define():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define __len__"):
        len(Empty())
    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]


# ---- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "8"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(
        ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"
    ):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=batch_size)


def test_tensor_dataset_names_the_lengths_that_disagree():
    with pytest.raises(
        ValueError, match=r"disagree in length.*lengths 3, 4 for shapes \(3, 2\), \(4,\)"
    ):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="needs at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="array 1 is a scalar"):
        TensorDataset(np.zeros(3), np.float32(1))


# ---- the lectures' data ------------------------------------------------------------------------


def test_secret_number_as_on_the_slide():
    # Lecture 002, slide "Process": {(2, 4), (3, 5), (5, 7), (8, 10)}, theta = 2.
    x, y = data.secret_number()
    assert x.shape == y.shape == (4,) and x.dtype == y.dtype == np.float32
    assert x.tolist() == [2, 3, 5, 8] and y.tolist() == [4, 5, 7, 10]
    assert (y - x).tolist() == [2, 2, 2, 2]


def test_noisy_secret_number_as_on_the_slide():
    # Lecture 002, "Adding noise to the game": {(2, 3), (3, 6), (5, 5), (8, 12)}; "Batch
    # Gradient Descent": the optimal theta is still 2, the mean difference, with loss > 0.
    x, y = data.noisy_secret_number()
    assert x.shape == y.shape == (4,) and x.dtype == y.dtype == np.float32
    assert x.tolist() == [2, 3, 5, 8] and y.tolist() == [3, 6, 5, 12]
    assert (y - x).tolist() == [1, 3, 0, 4] and (y - x).mean() == 2.0
    # Residuals at theta = 2 are 1, -1, 2, -2: mean squared error (1 + 1 + 4 + 4) / 4.
    assert np.mean((x + 2 - y) ** 2) == 2.5


def test_speeding_tickets_as_on_the_slide():
    # Lecture 002, "Supervised Learning Basics": {(30, F), (33, F), (35, F), (37, T), (39, T)}.
    x, y = data.speeding_tickets()
    assert x.shape == y.shape == (5,) and x.dtype == y.dtype == np.float32
    assert x.tolist() == [30, 33, 35, 37, 39] and y.tolist() == [0, 0, 0, 1, 1]


def test_lecture_data_work_as_a_tensor_dataset():
    (xb, yb), *rest = DataLoader(TensorDataset(*data.secret_number()), batch_size=4)
    assert rest == [] and xb.tolist() == [2, 3, 5, 8] and yb.tolist() == [4, 5, 7, 10]


# ---- digits ------------------------------------------------------------------------------------


def test_digits_is_the_real_data():
    X, y = data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # The file starts with one example of each digit in order, as the UCI test file does.
    assert y[:10].tolist() == list(range(10))


def test_digits_images_look_like_their_digit():
    # A 0 is a ring: ink around a hollow centre; a 1 is a stroke down the middle columns.
    X, y = data.digits()
    images = X.reshape(-1, 8, 8)
    zeros, ones = images[y == 0].mean(axis=0), images[y == 1].mean(axis=0)
    assert zeros[3:5, 3:5].mean() < 3 < zeros[3:5, 1:3].mean()
    assert ones[:, 3:5].mean() > 2 * ones[:, [0, 1, 6, 7]].mean()


def test_digits_returns_fresh_arrays():
    X, _ = data.digits()
    X[:] = -1
    assert data.digits()[0].min() == 0


# ---- generators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, args",
    [
        (data.make_moons, (40, 0.05)),
        (data.make_spirals, (90, 3, 0.2)),
        (data.make_regression, (20, 3, 0.1)),
    ],
)
def test_generators_repeat_under_the_same_seed(make, args):
    mg.manual_seed(1)
    first = make(*args)
    mg.manual_seed(1)
    again = make(*args)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(make(*args)[0], first[0])


def test_make_moons_shapes_and_arcs():
    X, y = data.make_moons(41, noise=0.0)
    assert X.shape == (41, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [20, 21]
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-6)
    assert np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)


def test_make_spirals_shapes_and_classes():
    X, y = data.make_spirals(100, classes=4, noise=0.0)
    assert X.shape == (100, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [25, 25, 25, 25]
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.min() == pytest.approx(0.05) and radius.max() == pytest.approx(1)
    assert np.bincount(data.make_spirals(10, classes=3)[1]).tolist() == [4, 3, 3]


def test_make_regression_is_linear_up_to_the_noise():
    X, y = data.make_regression(50, d=3, noise=0.0)
    assert X.shape == (50, 3) and y.shape == (50,) and X.dtype == y.dtype == np.float32
    design = np.hstack([X, np.ones((50, 1), np.float32)])
    fit, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    assert residual[0] < 1e-8
    X, y = data.make_regression(2000, d=2, noise=0.5)
    design = np.hstack([X, np.ones((2000, 1), np.float32)])
    fit = np.linalg.lstsq(design, y, rcond=None)[0]
    assert np.std(y - design @ fit) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: data.make_moons(1), "n must be an integer >= 2, got 1"),
        (lambda: data.make_moons(10, noise=-0.1), "noise must be >= 0"),
        (lambda: data.make_spirals(10, classes=0), "classes must be an integer >= 1, got 0"),
        (lambda: data.make_spirals(2, classes=3), "n must be an integer >= 3, got 2"),
        (lambda: data.make_regression(10, d=0), "d must be an integer >= 1, got 0"),
        (lambda: data.make_regression(2.5), "n must be an integer >= 1, got 2.5"),
    ],
)
def test_generators_reject_bad_sizes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- train_test_split --------------------------------------------------------------------------


def test_train_test_split_is_disjoint_and_seeded():
    X, y = np.arange(100)[:, None] * 10, np.arange(100)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.25, seed=0)
    assert len(X_test) == len(y_test) == 25 and len(X_train) == len(y_train) == 75
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(100))
    assert np.array_equal(X_train[:, 0], 10 * y_train) and np.array_equal(X_test[:, 0], 10 * y_test)
    assert np.array_equal(y_test, data.train_test_split(X, y, 0.25, seed=0)[3])
    assert not np.array_equal(y_test, data.train_test_split(X, y, 0.25, seed=1)[3])


def test_train_test_split_takes_a_generator_or_the_engine_rng():
    X, y = np.arange(20)[:, None], np.arange(20)
    expected = np.random.default_rng(7).permutation(20)[:4]
    assert data.train_test_split(X, y, 0.2, seed=np.random.default_rng(7))[3].tolist() == (
        expected.tolist()
    )
    mg.manual_seed(2)
    first = data.train_test_split(X, y, 0.2)[3]
    mg.manual_seed(2)
    assert np.array_equal(first, data.train_test_split(X, y, 0.2)[3])


def test_train_test_split_keeps_a_row_on_each_side():
    X, y = np.arange(3)[:, None], np.arange(3)
    assert [len(part) for part in data.train_test_split(X, y, 0.01, seed=0)] == [2, 1, 2, 1]
    assert [len(part) for part in data.train_test_split(X, y, 0.99, seed=0)] == [1, 2, 1, 2]


def test_train_test_split_bad_inputs():
    X, y = np.arange(10)[:, None], np.arange(10)
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1.*got 1.5"):
        data.train_test_split(X, y, 1.5)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        data.train_test_split(X, y[:9])
    with pytest.raises(ValueError, match="needs at least 2 rows to split, got 1"):
        data.train_test_split(X[:1], y[:1])


# ---- MNIST IDX files ---------------------------------------------------------------------------


def write_idx(path, array, magic=None, gz=False, extra=b""):
    header = (0x0800 + array.ndim if magic is None else magic).to_bytes(4, "big")
    header += b"".join(n.to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes() + extra
    path.write_bytes(gzip.compress(raw) if gz else raw)


def write_mnist(folder, images, labels, train=True, gz=False):
    prefix, suffix = ("train" if train else "t10k"), (".gz" if gz else "")
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz=gz)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("train", [True, False])
def test_load_mnist_reads_idx_files(tmp_path, gz, train):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    write_mnist(tmp_path, images, np.array([7, 2, 1]), train=train, gz=gz)
    X, y = data.load_mnist(tmp_path, train=train)
    assert X.shape == (3, 784) and X.dtype == np.float32
    assert np.array_equal(np.round(X * 255), images.reshape(3, 784))
    assert X.min() == 0 and X.max() == 1
    assert y.tolist() == [7, 2, 1] and y.dtype == np.int64
    assert data.datasets.load_mnist is data.load_mnist


def test_load_mnist_picks_the_split(tmp_path):
    write_mnist(tmp_path, np.zeros((2, 28, 28)), np.array([1, 1]), train=True)
    write_mnist(tmp_path, np.zeros((1, 28, 28)), np.array([5]), train=False)
    assert data.load_mnist(str(tmp_path))[1].tolist() == [1, 1]
    assert data.load_mnist(tmp_path, train=False)[1].tolist() == [5]


def test_load_mnist_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST folder .*nowhere does not exist"):
        data.load_mnist(tmp_path / "nowhere")
    (tmp_path / "a_file").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="a_file is not a folder"):
        data.load_mnist(tmp_path / "a_file")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte .*not found in"):
        data.load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28)))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte .*not found in"):
        data.load_mnist(tmp_path)


def test_load_mnist_bad_magic_number(tmp_path):
    write_mnist(tmp_path, np.zeros((2, 28, 28)), np.zeros(2))
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28)), magic=0x0801)
    with pytest.raises(ValueError, match="not an IDX file of 3-D.*0x00000801, expected 0x00000803"):
        data.load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match=r"magic number none \(file too short\)"):
        data.load_mnist(tmp_path)


def test_load_mnist_truncated_or_padded(tmp_path):
    write_mnist(tmp_path, np.zeros((2, 28, 28)), np.zeros(2))
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes((0x0801).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(ValueError, match=r"truncated: 10 bytes, expected 13 for shape \(5,\)"):
        data.load_mnist(tmp_path)
    write_idx(path, np.zeros(2), extra=b"\x00\x00\x00")
    with pytest.raises(ValueError, match="has 3 bytes after the data"):
        data.load_mnist(tmp_path)


def test_load_mnist_count_mismatch(tmp_path):
    write_mnist(tmp_path, np.zeros((3, 28, 28)), np.zeros(2))
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        data.load_mnist(tmp_path)


def test_load_mnist_broken_gzip(tmp_path):
    write_mnist(tmp_path, np.zeros((2, 28, 28)), np.zeros(2), gz=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        data.load_mnist(tmp_path)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        data.load_mnist(tmp_path)
