"""mg.compile: a compiled step equals the eager step bit for bit (losses, parameters, optimizer
state, over many steps), its guards retrace when they must, and what it cannot replay raises or
runs eagerly with a warning."""

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.compile import CACHE_SIZE, CompileWarning, TraceError
from minigrad.nn import functional as F
from minigrad.optim import lr_scheduler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import problems  # noqa: E402
from benchmarks.minigrad_steps import module_layers  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=0.05),
    "sgd-momentum-decay": lambda params: optim.SGD(
        params, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True
    ),
    "adam": lambda params: optim.Adam(params, lr=1e-3, weight_decay=1e-4),
    "adamw-amsgrad": lambda params: optim.AdamW(params, lr=1e-3, amsgrad=True),
}


def benchmark_network(problem, dropout: float = 0.0):
    """The benchmark network of `problem` as modules (benchmarks/minigrad_steps.py builds it),
    with its inputs and loss; dropout after each hidden activation if asked."""
    targets = problem.targets if problem.loss == "cross_entropy" else mg.Tensor(problem.targets)
    loss = F.mse_loss if problem.loss == "mse" else F.cross_entropy
    return module_layers(problem, dropout), mg.Tensor(problem.inputs), targets, loss


def train(problem, optimizer_name: str, compiled: bool, steps: int, dropout: float = 0.0):
    """Losses and final parameters and optimizer state of `steps` steps, eager or compiled."""
    mg.manual_seed(7)
    model, inputs, targets, loss_function = benchmark_network(problem, dropout)
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())

    def step(x):
        optimizer.zero_grad()
        loss = loss_function(model(x), targets)
        loss.backward()
        optimizer.step()
        return loss

    run = mg.compile(step) if compiled else step
    losses = [run(inputs).data.copy() for _ in range(steps)]
    state = [v for s in optimizer.state.values() for v in s.values()]
    return losses, [p.data.copy() for p in model.parameters()], state, run


def assert_identical(first, second) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert np.array_equal(a, b), (a, b)


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("network, steps", [("lecture_mlp", 40), ("mnist_mlp", 6), ("wide_mlp", 2)])
def test_compiled_steps_equal_eager_bit_for_bit(network, steps, optimizer_name):
    problem = problems.MLP_PROBLEMS[network]()
    eager = train(problem, optimizer_name, False, steps)
    compiled = train(problem, optimizer_name, True, steps)
    for eager_part, compiled_part in zip(eager[:3], compiled[:3]):
        assert_identical(eager_part, compiled_part)
    code = compiled[3].code
    if optimizer_name.startswith("sgd"):  # SGD's rule written out, its options read at run time
        assert "lr = float(OPT[0].param_groups[0]['lr'])" in code and "-= lr * " in code
        # with momentum, the first step (which makes the buffers) is a call, then a new program
        assert compiled[3].programs == (2 if "momentum" in optimizer_name else 1)
    else:  # Adam's rule takes a square root of a number read at run time: called as a whole
        assert "OPT[0].step()" in code and compiled[3].programs == 1


def test_dropout_masks_are_fresh_each_call_and_follow_the_seed():
    problem = problems.lecture_mlp()
    eager = train(problem, "sgd-momentum-decay", False, 30, dropout=0.3)
    compiled = train(problem, "sgd-momentum-decay", True, 30, dropout=0.3)
    assert_identical(eager[0], compiled[0])
    assert_identical(eager[1], compiled[1])
    assert "rng().random" in compiled[3].code
    assert len({float(loss) for loss in compiled[0]}) > 20  # masks differ from call to call


def test_the_default_train_model_steps_identically():
    from minigrad.cli.model import build_mlp

    architecture = {
        "in_features": 64, "hidden": [32, 32], "out_features": 10, "activation": "relu",
        "init": "kaiming", "dropout": 0.1,
    }  # fmt: skip
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.normal(size=(50, 64)).astype(np.float32))
    y = mg.tensor(rng.integers(0, 10, 50))

    def trained(compiled: bool):
        mg.manual_seed(3)
        model = build_mlp(architecture)
        optimizer = optim.Adam(model.parameters(), lr=1e-2)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        run = mg.compile(step) if compiled else step
        losses = [run(x, y).data.copy() for _ in range(25)]
        return losses, [p.data.copy() for p in model.parameters()]

    results = [trained(False), trained(True)]
    assert_identical(results[0][0], results[1][0])
    assert_identical(results[0][1], results[1][1])


def test_a_scheduler_changes_the_learning_rate_between_calls():
    def trained(compiled: bool):
        mg.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
        schedule = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
        x, y = mg.ones(8, 4), mg.zeros(8, 1)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            return loss

        run = mg.compile(step) if compiled else step
        losses = []
        for _ in range(8):
            losses.append(run(x, y).data.copy())
            schedule.step()
        return losses, [p.data.copy() for p in model.parameters()]

    runs = [trained(False), trained(True)]
    assert_identical(runs[0][0], runs[1][0])
    assert_identical(runs[0][1], runs[1][1])


def training_step(model, optimizer):
    """One eager SGD-style step of `model` on cross-entropy: step(x, y) -> loss."""

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def small_step(model=None, optimizer=None):
    model = model or nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = optimizer or optim.SGD(model.parameters(), lr=0.1)
    return model, optimizer, mg.compile(training_step(model, optimizer))


def batch(n: int = 5, dtype=np.float32):
    rng = np.random.default_rng(n)
    return mg.tensor(rng.normal(size=(n, 3)).astype(dtype)), mg.tensor(rng.integers(0, 2, n))


def test_the_code_names_ops_parameters_and_shapes():
    _, _, step = small_step()
    step(*batch())
    code = step.code
    assert code.startswith("def step(*args):")
    for text in (
        "linear = x @ p_0_weight",  # the ops' own NumPy code, written out
        "linear += p_0_bias",
        "relu = np.maximum(linear, 0, out=linear)",  # into the buffer only it still needs
        "g_linear = g_relu * (relu > 0)",  # Relu's VJP, as the hand derivation
        "SoftmaxCrossEntropy.vjp(",  # an op whose code keeps state: its own method
        "# Relu backward",
        "0.weight",
        "(5, 3) float32",
        "p_0_weight -= lr * g",  # SGD's rule
        "T['0.weight']._version += 1",  # its in-place write counted, as `.data = ` does
        "T['0.weight']._grad = None",  # zero_grad(), written out
        "T['0.weight']._grad = g_p_0_weight if g_p_0_weight.base is None else",  # no sum to add to
    ):
        assert text in code, text


def test_a_convolution_and_a_max_pool_hand_what_they_kept_to_the_backward():
    """conv2d keeps its im2col matrix and max_pool2d its arg-max taps for their VJPs (residuals):
    the program names them where the forward makes them and passes them to the VJP, and its
    steps equal the eager steps bit for bit."""

    def run(compiled: bool):
        mg.manual_seed(3)
        model = nn.Sequential(
            nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)
        )
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        rng = np.random.default_rng(0)
        x = mg.tensor(rng.normal(size=(4, 1, 6, 6)).astype(np.float32))
        y = mg.tensor(rng.integers(0, 3, 4))
        step = training_step(model, optimizer)
        fn = mg.compile(step) if compiled else step
        losses = [fn(x, y).data.copy() for _ in range(4)]
        return losses + [p.data.copy() for p in model.parameters()], fn

    eager, _ = run(False)
    compiled, step = run(True)
    assert_identical(eager, compiled)
    for text in (
        "conv2d, conv2d_columns = Conv2d.forward_saving(x, p_0_weight,",
        "max_pool2d, max_pool2d_taps = MaxPool2d.forward_saving(",
        "MaxPool2d.vjp(g_max_pool2d, max_pool2d_taps,",
        "Conv2d.vjp(g_conv2d, conv2d_columns,",
    ):
        assert text in step.code, text


def test_code_before_any_call_is_an_error():
    _, _, step = small_step()
    with pytest.raises(RuntimeError, match="call the compiled function once"):
        _ = step.code


def test_a_new_shape_or_dtype_retraces_and_the_cache_is_bounded():
    _, _, step = small_step()
    step(*batch(5))
    step(*batch(5))
    assert step.programs == 1
    step(*batch(6))
    assert step.programs == 2
    for n in range(7, 7 + CACHE_SIZE + 2):
        step(*batch(n))
    assert step.programs == CACHE_SIZE
    squashed = mg.compile(lambda x: x.tanh().sum())
    for dtype in (np.float32, np.float64, np.float32):
        total = squashed(mg.ones(2, 2, dtype=dtype))
        assert total.dtype == dtype
    assert squashed.programs == 2


def test_grad_mode_and_train_eval_mode_retrace():
    model, _, step = small_step(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)))
    step(*batch())
    model.eval()
    step(*batch())
    assert step.programs == 2
    assert "rng()" not in step.code  # evaluation mode: no mask drawn
    model.train()
    step(*batch())
    assert step.programs == 2 and "rng()" in step.code


def test_a_replaced_parameter_retraces():
    model, optimizer, step = small_step()
    step(*batch())
    model[0].weight = nn.Parameter(np.ones((3, 4), np.float32))
    optimizer.param_groups[0]["params"][0] = model[0].weight
    step(*batch())
    assert step.programs == 2
    assert np.all(model[0].weight.data != 1)  # the new parameter itself was trained


def test_a_captured_tensor_given_another_dtype_retraces():
    model, _, step = small_step()
    x, y = batch()
    captured = mg.compile(lambda: F.cross_entropy(model(x), y))
    captured()
    for tensor in (x, *model.parameters()):  # the same tensors, now float64: no argument shows it
        tensor.data = tensor.data.astype(np.float64)
    assert captured().dtype == np.float64 and captured.programs == 2
    for tensor in (x, *model.parameters()):
        tensor.data = tensor.data.astype(np.float32)
    step(*batch())
    assert step.programs == 1


def test_gradients_cleared_outside_the_step_do_not_retrace():
    """Whether a gradient is None when the update branches on it is the program's own doing
    (its backward stored it), not a guard on the gradient before the call."""
    model, optimizer, step = small_step()
    mg.manual_seed(0)
    eager_model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    eager_model.load_state_dict(model.state_dict())
    eager_optimizer = optim.SGD(eager_model.parameters(), lr=0.1)
    for _ in range(3):
        step(*batch())
        eager_optimizer.zero_grad()
        F.cross_entropy(eager_model(batch()[0]), batch()[1]).backward()
        eager_optimizer.step()
        for parameter in (*model.parameters(), *eager_model.parameters()):
            parameter.grad = None
    assert step.programs == 1
    for compiled, eager in zip(model.parameters(), eager_model.parameters()):
        assert_identical(compiled.data, eager.data)


def two_leaves():
    rng = np.random.default_rng(3)
    a = mg.Tensor(rng.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    b = mg.Tensor(rng.normal(size=(2, 3)).astype(np.float32), requires_grad=True)
    return a, b, optim.SGD([a, b], lr=0.1)


@pytest.mark.parametrize("backwards", [1, 2])
def test_gradients_given_to_cleared_leaves_own_their_buffers(backwards):
    """After zero_grad() the program assigns each gradient instead of adding it. One array
    handed to two leaves (the VJP of a + b) and views (of a sum's broadcast gradient) are
    copied, as backward does; a second backward in the step adds into what the first stored."""

    def run(compiled: bool):
        a, b, optimizer = two_leaves()

        def step():
            optimizer.zero_grad()
            (a + b).sum().backward()
            if backwards == 2:
                (a.reshape(6) * 2.0).sum().backward()
            return None

        stepper = mg.compile(step) if compiled else step
        for _ in range(3):
            stepper()
            assert a.grad is not b.grad and a.grad.base is None and b.grad.base is None
            assert a.grad.flags.writeable and b.grad.flags.writeable
            grads = [a.grad.copy(), b.grad.copy()]
            optimizer.step()
        return grads, [a.data.copy(), b.data.copy()], stepper

    eager_grads, eager_data, _ = run(False)
    compiled_grads, compiled_data, compiled = run(True)
    assert_identical(eager_grads, compiled_grads)
    assert_identical(eager_data, compiled_data)
    assert "T['a']._grad = None" in compiled.code or "._grad = None" in compiled.code
    assert ("store_grads(" in compiled.code) == (backwards == 2)


def test_two_backward_passes_in_one_step_replay_as_eager():
    """The second backward adds into the gradients the first stored, in place: the trace checks
    it against their values from before, not against the arrays it has since changed."""

    def run(compiled: bool):
        a, b, optimizer = two_leaves()

        def step():
            optimizer.zero_grad()
            (a + b).sum().backward()
            (a.reshape(6) * 2.0).sum().backward()
            optimizer.step()

        stepper = mg.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            for _ in range(3):
                stepper()
        return [a.grad.copy(), b.grad.copy(), a.data.copy(), b.data.copy()], stepper

    eager, _ = run(False)
    compiled, stepper = run(True)
    assert_identical(eager, compiled)
    assert stepper.programs == 1


def test_one_array_for_a_cleared_and_an_uncleared_leaf_is_copied_once():
    """The parameter's gradient is assigned (zero_grad cleared it), the other leaf's is added by
    store_grads: the two must not share the array the walk handed to both."""
    w = nn.Parameter(np.arange(3, dtype=np.float32))
    c = mg.Tensor(np.ones(3, np.float32), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)

    def step():
        optimizer.zero_grad()
        y = w + c
        (y * y).sum().backward()
        optimizer.step()

    compiled = mg.compile(step)
    for _ in range(3):
        c.grad = None
        compiled()
        assert not np.shares_memory(w.grad, c.grad)
    expected = w.grad.copy()
    c.grad += 1
    assert_identical([w.grad], [expected])


def test_a_step_without_zero_grad_adds_into_the_gradients():
    """Traced while a gradient is already there, which backward adds into in place."""
    a, b, optimizer = two_leaves()
    (a * b).sum().backward()
    step = mg.compile(lambda: (a * b).sum().backward())
    expected = b.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for calls in range(2, 5):
            step()
            assert_identical([a.grad], [calls * expected])
    assert step.programs == 1
    assert "store_grads(" in step.code and "._grad = " not in step.code


@pytest.mark.parametrize(
    "read, what",
    [
        (lambda loss: loss.item(), "tensor.item()"),
        (lambda loss: float(loss), "float(tensor)"),
        (lambda loss: bool(loss), "bool(tensor)"),
        (lambda loss: loss.numpy(), "tensor.numpy()"),
        (lambda loss: loss.tolist(), "tensor.tolist()"),
        (lambda loss: np.asarray(loss.detach()), "np.asarray(tensor)"),
        (lambda loss: loss.data > 0, "tensor.data"),
        (lambda loss: nn.utils.clip_grad_norm_([loss], 1.0), "tensor.grad"),
    ],
)
def test_reading_a_value_inside_raises_naming_the_line(read, what):
    model = nn.Linear(3, 1)

    def step(x):
        loss = model(x).sum()
        read(loss)
        return loss

    with pytest.raises(TraceError) as error:
        mg.compile(step)(mg.ones(2, 3))
    message = str(error.value)
    # The innermost line of the user's: here the lambda that reads the value.
    assert what in message and "test_compile.py:" in message and "lambda loss" in message
    assert "outside" in message
    assert mg.Tensor(1.0).item() == 1.0  # the methods are back once the trace ends


def test_an_array_made_outside_the_ops_raises():
    model = nn.Linear(3, 1)

    def step(x):
        return (model(x) * mg.tensor(np.full((2, 1), 2.0, np.float32))).sum()

    with pytest.raises(TraceError, match="cannot trace back"):
        mg.compile(step)(mg.ones(2, 3))


def test_under_a_watcher_it_runs_eagerly_and_warns_once():
    _, _, step = small_step()
    with mg.detect_anomaly():
        with pytest.warns(CompileWarning, match="eagerly"):
            step(*batch())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            step(*batch())
    assert step.programs == 0


def test_a_manual_update_through_data_is_a_value_read():
    w = mg.randn(3, 1, requires_grad=True)

    def step(x):
        w.grad = None
        loss = (x @ w).tanh().sum()
        loss.backward()
        with mg.no_grad():
            w.data -= 0.1 * w.grad  # NumPy on the values: use an optimizer in a compiled step
        return loss

    with pytest.raises(TraceError, match="tensor.data"):
        mg.compile(step)(mg.ones(4, 3))


def test_a_buffer_changed_outside_the_ops_keeps_the_step_eager():
    """A module that updates a buffer with NumPy (as library code may, unseen by the value-read
    check) must not be replayed without the update: the replay differs, so it stays eager."""

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 2)
            self.register_buffer("calls", mg.zeros(1))

        def forward(self, x):
            np.add(self.calls._data, 1, out=self.calls._data)  # not an op, not a .data read
            return self.layer(x)

    model = Counting()
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        loss = model(x).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    compiled = mg.compile(step)
    with pytest.warns(CompileWarning, match="replay differed"):
        compiled(mg.ones(4, 3))
    compiled(mg.ones(4, 3))
    assert model.calls.data.tolist() == [2.0]


def test_a_hook_runs_eagerly_with_a_warning():
    model = nn.Linear(3, 1)
    seen = []

    def step(x):
        out = model(x)
        out.register_hook(lambda g: seen.append(g.copy()))
        out.sum().backward()
        return out

    compiled = mg.compile(step)
    with pytest.warns(CompileWarning, match="hook"):
        compiled(mg.ones(2, 3))
    compiled(mg.ones(2, 3))
    assert len(seen) == 2


def test_returned_tensors_and_none():
    w = mg.ones(3, 1, requires_grad=True)

    def forward(x):
        y = x @ w
        return y, None, [y.sum()]

    compiled = mg.compile(forward)
    for _ in range(2):
        y, nothing, (total,) = compiled(mg.ones(2, 3))
        assert nothing is None and y.shape == (2, 1) and float(total.data) == 6.0


def test_not_a_function_and_keyword_arguments_are_refused():
    with pytest.raises(TypeError, match="takes a function"):
        mg.compile(3)
    with pytest.raises(TypeError, match="positional"):
        mg.compile(lambda x: x)(x=mg.ones(1))


CONDITION = mg.tensor(np.arange(12).reshape(3, 4) % 3 == 0)
INDEX = mg.tensor(np.array([0, 2, 2, 5]))  # a repeated index: the scatter-back accumulates


def many_ops(a, b):
    """A loss touching most of the op table: each op's forward and VJP, lowered or called."""
    parts = [
        (a * a + 1).sqrt().log().exp().abs().sum(),
        (a.sigmoid() * b.softplus()).mean(axis=0).sum(),
        (a**2 + b**3.0 - a / (b.abs() + 1)).sum(),
        a.max(axis=1).sum() + b.min() + a.logsumexp(axis=0).sum(),
        a.softmax(axis=-1)[:, 0].sum() + b.log_softmax(axis=0).sum(),
        (a.reshape(4, 3).transpose() @ b.reshape(4, 3)).sum(),
        mg.where(CONDITION, a, b).leaky_relu(0.1).clip(-0.5, 0.5).sum(),
        mg.concatenate([a, b], axis=0)[INDEX].sum(),
        mg.maximum(a, b).sin().sum() + mg.minimum(a, b).cos().sum() + (-a).relu().sum(),
        a.var(axis=1).sum() + b.to(np.float64).tanh().sum(),
        F.binary_cross_entropy(a.sigmoid(), b.sigmoid().detach()),
    ]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def test_every_kind_of_op_replays_exactly():
    rng = np.random.default_rng(5)
    start = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(2)]
    runs = []
    for compiled in (False, True):
        a, b = (mg.Tensor(s.copy(), requires_grad=True) for s in start)
        optimizer = optim.SGD([a, b], lr=0.01)

        def step(a_, b_, a=a, b=b, optimizer=optimizer, held=(CONDITION, INDEX)):
            optimizer.zero_grad()
            loss = many_ops(a, b)
            loss.backward()
            optimizer.step()
            return loss

        run = mg.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            losses = [run(0, 0).data.copy() for _ in range(4)]
        runs.append((losses, a.data.copy(), b.data.copy()))
        if compiled:
            assert run.programs == 1
    assert_identical(runs[0][0], runs[1][0])
    assert np.array_equal(runs[0][1], runs[1][1]) and np.array_equal(runs[0][2], runs[1][2])


@pytest.mark.parametrize("options", [[], ["--dropout", "0.2", "--optimizer", "sgd"]])
def test_minigrad_train_compiled_gives_eager_weights(tmp_path, capsys, options):
    from minigrad.__main__ import main

    common = ["train", "--epochs", "2", "--quiet", "--train-size", "300", *options]
    assert main([*common, "--out", str(tmp_path / "eager"), "--no-compile"]) == 0
    assert main([*common, "--out", str(tmp_path / "compiled"), "--show-code"]) == 0
    printed = capsys.readouterr().out
    assert "def step(*args):" in printed and "g_linear = g_relu * (relu > 0)" in printed
    eager, compiled = (np.load(tmp_path / run / "model.npz") for run in ("eager", "compiled"))
    assert eager.files == compiled.files
    for name in eager.files:
        assert np.array_equal(eager[name], compiled[name]), name
    histories = [
        json.loads((tmp_path / run / "history.json").read_text()) for run in ("eager", "compiled")
    ]
    histories[0].pop("seconds"), histories[1].pop("seconds")  # the only difference: speed
    assert histories[0] == histories[1]


def test_arguments_named_like_the_codes_helpers_still_work():
    w = mg.ones(3, 1, requires_grad=True)

    def np(T, OPT):  # noqa: N803 - names the generated code uses itself
        return (T @ w + OPT).sum()

    compiled = mg.compile(np)
    for _ in range(2):
        assert float(compiled(mg.ones(2, 3), mg.ones(2, 1)).data) == 8.0
    assert "def step(*args):" in compiled.code


def test_indexing_by_an_arguments_values_reads_them_at_run_time():
    w = mg.Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)

    def step(rows):
        optimizer.zero_grad()
        loss = (w[rows] ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss

    compiled = mg.compile(step)
    picks = [np.array([0, 1]), np.array([3, 3]), np.array([2, 0])]
    for rows in picks:
        expected = float((w.data[rows] ** 2).sum())
        assert float(compiled(mg.tensor(rows)).data) == expected
    assert compiled.programs == 1


def test_a_decorated_evaluation_without_grad_finds_the_model_it_reads():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    @mg.no_grad()
    def evaluate(x):
        return model(x).softmax(axis=-1)

    compiled = mg.compile(evaluate)
    x = mg.randn(5, 3)
    for _ in range(2):
        assert np.array_equal(compiled(x).data, evaluate(x).data)
    model[0].weight.data += 1  # parameters are read at run time
    assert np.array_equal(compiled(x).data, evaluate(x).data)
    assert compiled.programs == 1


def test_options_the_update_branches_on_retrace_when_they_change():
    def trained(compiled: bool):
        mg.manual_seed(2)
        model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = mg.randn(6, 4), mg.randn(6, 1)

        def step(x, y):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            return loss

        run = mg.compile(step) if compiled else step
        losses = []
        for options in ({}, {}, {"weight_decay": 0.01}, {"nesterov": True}, {"momentum": 0.0}):
            optimizer.param_groups[0].update(options)
            losses += [run(x, y).data.copy() for _ in range(3)]
        return losses, [p.data.copy() for p in model.parameters()], run

    eager, compiled = trained(False), trained(True)
    assert_identical(eager[0], compiled[0])
    assert_identical(eager[1], compiled[1])
    assert compiled[2].programs == 5  # the buffers made; weight decay; Nesterov; no momentum
    assert "momentum_buffer" not in compiled[2].code


@pytest.mark.parametrize("change", ["schedule", "mode", "create_graph"])
def test_python_the_replay_would_skip_runs_eagerly_with_a_warning(change):
    def trained(compiled: bool):
        mg.manual_seed(4)
        model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.2), nn.Linear(3, 1))
        optimizer = optim.SGD(model.parameters(), lr=0.5)
        schedule = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)

        def step(x):
            optimizer.zero_grad()
            if change == "mode":
                model.train()
            loss = model(x).sum()
            loss.backward(create_graph=change == "create_graph")
            optimizer.step()
            if change == "schedule":
                schedule.step()
            return loss

        run = mg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = []
            for _ in range(4):
                losses.append(run(mg.ones(2, 3)).data.copy())
                model.eval()
        if compiled:
            assert any(issubclass(w.category, CompileWarning) for w in caught)
        return losses, [p.data.copy() for p in model.parameters()]

    eager, compiled = trained(False), trained(True)
    assert_identical(eager[0], compiled[0])
    assert_identical(eager[1], compiled[1])


def test_a_parameter_group_added_later_is_updated_too():
    def trained(compiled: bool):
        mg.manual_seed(5)
        first, second = nn.Linear(3, 3), nn.Linear(3, 1)
        optimizer = optim.SGD(first.parameters(), lr=0.1)

        def step(x):
            optimizer.zero_grad()
            loss = second(first(x).tanh()).sum()
            loss.backward()
            optimizer.step()
            return loss

        run = mg.compile(step) if compiled else step
        losses = [run(mg.ones(2, 3)).data.copy() for _ in range(2)]
        optimizer.add_param_group({"params": second.parameters(), "lr": 0.05})
        losses += [run(mg.ones(2, 3)).data.copy() for _ in range(2)]
        return losses, [p.data.copy() for p in (*first.parameters(), *second.parameters())]

    eager, compiled = trained(False), trained(True)
    assert_identical(eager[0], compiled[0])
    assert_identical(eager[1], compiled[1])


def test_a_numpy_call_writes_into_an_input_only_the_program_holds():
    from minigrad.compile.program import in_place
    from minigrad.compile.recorder import Statement

    def rewritten(*codes: str, output: str = "None") -> list:
        *before, last = codes
        statements = [Statement(code, "", "forward") for code in before]
        statements.append(Statement(last, "", "forward", reusable="z"))
        return [s.code for s in in_place(statements, output)][len(before)]

    made = ("z = x @ w", "z += b")
    assert rewritten(*made, "h = np.maximum(z, 0)") == "h = np.maximum(z, 0, out=z)"
    assert rewritten(*made, "h = np.tanh(z)") == "h = np.tanh(z, out=z)"
    # read afterwards, returned, or not a ufunc call: left alone
    late = [Statement(c, "", "forward") for c in made]
    late += [Statement("h = np.tanh(z)", "", "forward", "z"), Statement("q = z * 2", "", "forward")]
    assert in_place(late, "None")[2].code == "h = np.tanh(z)"
    assert rewritten(*made, "h = np.tanh(z)", output="wrap(z)") == "h = np.tanh(z)"
    assert rewritten(*made, "h = Relu.forward(z)") == "h = Relu.forward(z)"
    # a buffer someone else may see: a tensor's array, a view or alias of another, one shared
    for binding in ("z = T['x'].data", "z = y.reshape((2, 3))", "z = y", "z = args[0]"):
        assert rewritten(binding, "h = np.tanh(z)") == "h = np.tanh(z)", binding
    assert rewritten(*made, "v = z.mT", "h = np.tanh(z)") == "h = np.tanh(z)"
