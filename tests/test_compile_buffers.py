"""Kept buffers of a compiled step: only private arrays are kept, buffers alive at once never
share memory, each thread has its own, and a step using them equals the eager step."""

import importlib
import threading
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.compile import CompileWarning
from minigrad.compile.buffers import SMALLEST, kept_buffers
from minigrad.compile.program import _names
from minigrad.compile.recorder import Statement
from minigrad.nn import functional as F
from tests.test_compile import OPTIMIZERS, assert_identical, problems, train

buffers_module = importlib.import_module("minigrad.compile.buffers")  # `mg.compile` hides it

LARGE = ((128, 256), np.dtype(np.float32))  # 128 KiB
VECTOR = ((32768,), np.dtype(np.float32))  # 128 KiB, C- and Fortran-ordered at once
SMALL = ((4, 4), np.dtype(np.float32))
TYPES = {name: LARGE for name in ("u", "v", "x", "w", "y", "z", "h", "g", "p", "q")}


def kept(*codes: str, output: str = "None", types=None):
    """The statements `codes` after `kept_buffers`, and its buffers; every name is LARGE."""
    statements = [Statement(code, "", "forward") for code in codes]
    types = types if types is not None else TYPES
    mentions = [read | bound for read, bound in map(_names, codes)]
    rewritten, buffers = kept_buffers(statements, {output}, types, mentions)
    return [s.code for s in rewritten], buffers


def test_a_product_used_only_to_make_new_arrays_is_kept():
    codes, buffers = kept("y = x @ w", "y += v", "z = y.mT @ g", "h = y > 0", "u = y.sum(axis=0)")
    assert codes[0] == "y = np.matmul(x, w, out=buffers['y'])"
    assert codes[1:] == [
        "y += v", "z = np.matmul(y.mT, g, out=buffers['z'])", "h = y > 0", "u = y.sum(axis=0)"
    ]  # fmt: skip
    assert list(buffers.placements) == ["y", "z"]
    assert buffers.here()["y"].shape == (128, 256) and buffers.here()["y"].dtype == np.float32


def test_a_product_written_into_then_used_privately_is_kept():
    codes, _ = kept("y = x @ w", "h = np.maximum(y, 0, out=y)", "z = h.mT @ g", "del y")
    assert codes[0] == "y = np.matmul(x, w, out=buffers['y'])"


@pytest.mark.parametrize(
    "operator, ufunc",
    [("*", "multiply"), ("+", "add"), ("-", "subtract"), ("/", "true_divide"), ("@", "matmul")],
)
def test_every_operator_becomes_its_ufunc(operator, ufunc):
    made = "x = u @ v"  # a kept product: C order on every call, as its buffer is
    codes, _ = kept(made, f"y = x {operator} (w > 0)", "z = y @ g", types=dict(TYPES, w=VECTOR))
    assert codes[1] == f"y = np.{ufunc}(x, w > 0, out=buffers['y'])"


def test_a_product_eager_may_lay_out_otherwise_than_c_is_not_kept():
    """Eager's `a.T * b.T` is in Fortran order, and a reduction over it adds in another order
    than over a C-ordered buffer: only products C-ordered on every call are kept."""
    matrix_operands = kept("y = x * w", "z = y @ g")[0]  # x, w: arrays of any layout
    assert matrix_operands[0] == "y = x * w"
    assert kept("y = x.mT * 2.0", "z = y @ g")[0][0] == "y = x.mT * 2.0"
    stacked = dict(TYPES, y=((2, 64, 256), np.dtype(np.float32)))
    assert kept("y = x @ w", "z = y * 2", types=stacked)[0][0] == "y = x @ w"  # batched: K order
    vectors = kept("y = x * w", "z = y @ g", types=dict(TYPES, x=VECTOR, w=VECTOR, y=VECTOR))[0]
    assert vectors[0] == "y = np.multiply(x, w, out=buffers['y'])"


def transposed_products(values: list, compiled: bool) -> list:
    """Four steps of a loss reducing eager's Fortran-ordered `a.T * b.T`, and the weights."""
    a, b = (mg.Tensor(v.copy(), requires_grad=True) for v in values)
    sgd = optim.SGD([a, b], lr=1e-3)

    def step():
        sgd.zero_grad()
        loss = (((a.T * b.T) * 3.0).sum(axis=1) ** 2).sum()
        loss.backward()
        sgd.step()
        return loss

    run = mg.compile(step) if compiled else step
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # no fallback to eager
        return [run().data.copy() for _ in range(4)] + [a.data, b.data]


def test_a_transposed_product_reduced_later_equals_eager():
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((300, 200)).astype(np.float32) for _ in range(2)]
    for eager, compiled in zip(
        transposed_products(values, False), transposed_products(values, True)
    ):
        assert np.array_equal(eager, compiled)


def test_a_step_selecting_by_a_mask_keeps_no_buffer():
    """How many elements a mask picks is a value no guard sees: shapes may differ next call."""
    w = mg.Tensor(np.linspace(-1, 1, 100_000).astype(np.float32))
    compiled = mg.compile(lambda mask: ((w[mask] * 3.0) * 2.0).sum())
    half = np.linspace(-1, 1, 100_000) > 0
    one = np.zeros(100_000, bool)
    one[7] = True
    for mask in (half, half, one, ~half):
        assert compiled(mask).data == ((w[mask] * 3.0) * 2.0).sum().data
    assert "buffers" not in compiled.code


def two_updates(x, compiled: bool) -> tuple[list, object]:
    """Three calls of a step that updates one layer twice, the results, and the step."""
    mg.manual_seed(0)
    layer = nn.Linear(256, 256)
    sgd = optim.SGD(layer.parameters(), lr=0.01)

    def step(x):
        h = x * 2.0
        sgd.zero_grad()
        (layer(h) ** 2).mean().backward()
        sgd.step()
        sgd.zero_grad()
        second = (layer(h) ** 2).mean()
        second.backward()
        sgd.step()
        return second

    run = mg.compile(step) if compiled else step
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        return [run(x).data.copy() for _ in range(3)] + [layer.weight.data], run


def test_two_updates_of_one_parameter_keep_two_buffers():
    x = mg.Tensor(np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32))
    (eager, _), (compiled, run) = two_updates(x, False), two_updates(x, True)
    for mine, theirs in zip(eager, compiled):
        assert np.array_equal(mine, theirs)
    assert "buffers['weight_step_2']" in run.code


def test_an_update_buffer_takes_no_name_the_program_uses():
    square = ((256, 256), np.dtype(np.float32))
    types = dict(TYPES, g=square, p=square, p_step=square)
    codes, buffers = kept(
        "lr = float(OPT[0].param_groups[0]['lr'])", "p_step = x @ w", "p -= lr * g",
        "z = p_step @ w", types=types,
    )  # fmt: skip
    assert codes[2] == "p -= np.multiply(lr, g, out=buffers['p_step_2'])"
    assert set(buffers.placements) == {"p_step", "p_step_2", "z"}


@pytest.mark.parametrize(
    "escape",
    [
        "T['w']._grad = y",  # handed to a .grad
        "store_grads(((T['w'], y, True),))",  # to an engine step
        "q, _ = Relu.vjp(y, None, None, (True,))",  # to an op's method
        "q = y",  # a second name for it
        "q = y[0]",  # a view of it
        "q = y.copy() if y.base is None else y",  # anything else read of it
        "y = x @ v",  # bound again
        "q = np.maximum.reduce(y)",  # a ufunc's method, not a ufunc call
        "q = np.add(x, v, where=y)",  # a keyword other than out=
        "h = np.add(x, v, y)\nT['w']._grad = h",  # written into as a positional out
        "h = np.exp(x, out=y.T)\nT['w']._grad = h",  # a view of it as out=
        "if x:\n    h = np.maximum(y, 0, out=y)\nT['w']._grad = h",  # inside a compound statement
    ],
)
def test_a_product_seen_outside_the_step_is_not_kept(escape):
    codes, _ = kept("y = x @ w", escape)
    assert codes[0] == "y = x @ w"


def test_a_returned_product_or_its_alias_is_not_kept():
    assert kept("y = x @ w", output="y")[1] is None
    assert kept("y = x @ w", "h = np.maximum(y, 0, out=y)", output="h")[1] is None


def test_small_and_zero_d_products_are_left_to_the_operators():
    assert kept("y = x @ w", types={"y": SMALL})[1] is None
    assert kept("y = x @ w", types={"y": ((), np.dtype(np.float64))})[1] is None
    just_large = ((SMALLEST // 8,), np.dtype(np.float64))
    assert kept("y = x @ w", types={"y": just_large})[1] is not None
    just_small = ((SMALLEST // 8 - 1,), np.dtype(np.float64))
    assert kept("y = x @ w", types={"y": just_small})[1] is None


def test_an_update_product_of_names_is_kept_in_its_dtype():
    types = {"g": ((256, 256), np.dtype(np.float32)), "p": ((256, 256), np.dtype(np.float32))}
    codes, buffers = kept("lr = float(OPT[0].param_groups[0]['lr'])", "p -= lr * g", types=types)
    assert codes[1] == "p -= np.multiply(lr, g, out=buffers['p_step'])"
    assert buffers.placements["p_step"].dtype == np.float32
    # a product of other things than plain names, or of unknown arrays, is left alone
    for update in ["p -= (1 - lr) * g", "p -= lr * m"]:
        assert kept("lr = float(OPT[0].param_groups[0]['lr'])", update, types=types)[1] is None


def test_buffers_alive_at_once_never_share_memory_and_dead_ones_do():
    codes, buffers = kept(
        "y = x @ w",  # 0: alive to 3
        "z = y @ w",  # 1: alive to 2
        "h = z @ w",  # 2: made where z dies, so apart from it
        "u = y @ h",  # 3: y and h die here; u apart from both
        "q = u * 2",  # 4
        "p = q * 2",  # 5: u is dead by now, y too
        "v = p * 2",  # 6
    )
    places = buffers.placements
    size = 128 * 256 * 4
    spans = {name: range(place.offset, place.offset + size) for name, place in places.items()}
    lifetimes = {
        "y": (0, 3), "z": (1, 2), "h": (2, 3), "u": (3, 4), "q": (4, 5), "p": (5, 6), "v": (6, 6),
    }  # fmt: skip
    for a in lifetimes:
        for b in lifetimes:
            both_alive = lifetimes[a][0] <= lifetimes[b][1] and lifetimes[b][0] <= lifetimes[a][1]
            if a < b and both_alive:
                assert not set(spans[a]) & set(spans[b]), (a, b)
    assert buffers.nbytes == 3 * size  # y, z and h alive together, no more at once


def mnist_step(dtype=np.float32):
    """One SGD step of a 784-256-256-10 ReLU network on a batch of 128, and its model."""
    mg.manual_seed(3)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(dtype)  # fmt: skip
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    inputs = mg.Tensor(rng.standard_normal((128, 784)).astype(dtype))
    targets = rng.integers(0, 10, 128)

    def step(x):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), targets)
        loss.backward()
        optimizer.step()
        return loss

    return step, model, inputs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_step_with_kept_buffers_equals_the_eager_step(dtype):
    eager, eager_model, inputs = mnist_step(dtype)
    step, model, _ = mnist_step(dtype)
    compiled = mg.compile(step)
    for _ in range(4):
        assert np.array_equal(eager(inputs).data, compiled(inputs).data)
    assert "out=buffers['linear']" in compiled.code
    assert "out=buffers['p_0_weight_step']" in compiled.code
    for mine, theirs in zip(model.parameters(), eager_model.parameters()):
        assert np.array_equal(mine.data, theirs.data) and mine.grad.dtype == np.dtype(dtype)
        assert np.array_equal(mine.grad, theirs.grad)
        assert mine.grad.base is None  # no .grad is a view of a kept buffer


def test_the_buffers_share_one_block_no_larger_than_the_largest_update():
    step, _, inputs = mnist_step()
    compiled = mg.compile(step)
    compiled(inputs)
    # the forward's and backward's buffers are dead before the first layer's update needs its
    # (784, 256) product, so they all fit in that one's memory
    assert compiled.kept_bytes == 784 * 256 * 4


def test_each_thread_has_its_own_buffers():
    """Two threads running one program at once: shared buffers would mix their results."""
    mg.manual_seed(5)
    first, second = nn.Linear(784, 256), nn.Linear(256, 10)
    forward = mg.compile(lambda x: second(first(x).relu()))
    rng = np.random.default_rng(1)
    batches = [mg.Tensor(rng.standard_normal((128, 784)).astype(np.float32)) for _ in range(2)]
    with mg.no_grad():
        expected = [second(first(x).relu()).data for x in batches]
        forward(batches[0])  # traced here, before the threads start
    assert "out=buffers['linear']" in forward.code
    failures: list = []

    def run(index: int) -> None:
        with mg.no_grad():  # grad mode is each thread's own
            for _ in range(200):
                if not np.array_equal(forward(batches[index]).data, expected[index]):
                    failures.append(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and forward.programs == 1


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("network, dropout", [("lecture_mlp", 0.0), ("lecture_mlp", 0.3)])
def test_every_array_kept_still_equals_eager(monkeypatch, network, dropout, optimizer_name):
    """With no size floor the small networks' private arrays are kept too (the layers'
    products, dropout's masks, the backward's), and each step, under each optimizer, still
    equals eager's."""
    monkeypatch.setattr(buffers_module, "SMALLEST", 1)
    problem = problems.MLP_PROBLEMS[network]()
    eager = train(problem, optimizer_name, False, 12, dropout)
    compiled = train(problem, optimizer_name, True, 12, dropout)
    for eager_part, compiled_part in zip(eager[:3], compiled[:3]):
        assert_identical(eager_part, compiled_part)
    assert "out=buffers[" in compiled[3].code
