"""BatchNorm1d/2d, LayerNorm, Embedding and Dropout2d layers, and Module buffers: running
statistics against a NumPy replay of PyTorch's rule, train/eval switching, initialization, and
buffers in state dicts and files but out of parameters and optimizers."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import ShapeError, nn, optim


def replay_running_statistics(batches, momentum):
    """PyTorch's update, written out: biased variance would normalize, unbiased goes in."""
    mean, var = np.zeros(batches[0].shape[1]), np.ones(batches[0].shape[1])
    for count, x in enumerate(batches, start=1):
        per_channel = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
        rate = 1 / count if momentum is None else momentum  # None: the average of all batches
        mean = (1 - rate) * mean + rate * per_channel.mean(axis=1)
        var = (1 - rate) * var + rate * per_channel.var(axis=1, ddof=1)
    return mean, var


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm2d_running_statistics_follow_pytorchs_rule(momentum, dtype):
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, size=(4, 3, 2, 5)) for _ in range(3)]
    layer = nn.BatchNorm2d(3, momentum=momentum, dtype=dtype)
    for x in batches:
        layer(mg.tensor(x, dtype=dtype))
    mean, var = replay_running_statistics(batches, momentum)
    assert layer.running_mean.dtype == dtype and int(layer.num_batches_tracked.item()) == 3
    np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.data, var, rtol=1e-5)
    layer.eval()
    x = batches[0]
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(layer(mg.tensor(x, dtype=dtype)).data, expected, rtol=1e-4)
    np.testing.assert_allclose(layer.running_mean.data, mean, rtol=1e-5)  # eval leaves them


def test_batchnorm1d_takes_features_or_sequences_and_train_normalizes_the_batch():
    layer = nn.BatchNorm1d(2, dtype=np.float64)
    for shape in [(6, 2), (3, 2, 4)]:
        y = layer(mg.tensor(np.random.default_rng(1).normal(size=shape))).data
        axes = (0,) if len(shape) == 2 else (0, 2)
        np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)
        np.testing.assert_allclose(y.var(axis=axes), 1, rtol=1e-4)
    with pytest.raises(ShapeError, match=r"\(N, C\) or \(N, C, L\)"):
        layer(mg.zeros(2, 2, 1, 1))
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)"):
        nn.BatchNorm2d(2)(mg.zeros(2, 2))


def test_batchnorm_without_running_statistics_uses_the_batch_in_both_modes():
    layer = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    assert list(layer.state_dict()) == [] and list(layer.parameters()) == []
    y = layer(mg.tensor([[1.0, 10.0], [3.0, 30.0]])).data
    np.testing.assert_allclose(y, [[-1, -1], [1, 1]], rtol=1e-4)


def test_batchnorm_starts_as_the_plain_normalization():
    layer = nn.BatchNorm2d(4)
    assert layer.weight.data.tolist() == [1.0] * 4 and layer.bias.data.tolist() == [0.0] * 4
    assert layer.running_mean.data.tolist() == [0.0] * 4
    assert layer.running_var.data.tolist() == [1.0] * 4


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"num_features": 0}, ValueError, "at least 1"),
        ({"num_features": 2.0}, TypeError, "an int"),
        ({"num_features": 2, "momentum": 1.5}, ValueError, "momentum"),
        ({"num_features": 2, "eps": 0.0}, ValueError, "eps"),
    ],
)
def test_batchnorm_argument_errors(options, error, message):
    with pytest.raises(error, match=message):
        nn.BatchNorm2d(**options)


def test_a_compiled_batch_norm_step_runs_eagerly_rather_than_freezing_its_statistics():
    from minigrad.compile import CompileWarning

    def make():
        mg.manual_seed(0)
        model = nn.BatchNorm1d(2)
        optimizer = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            loss = model(x).square().sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return model, step

    batches = [mg.tensor(np.random.default_rng(k).standard_normal((8, 2))) for k in range(3)]
    eager_model, eager_step = make()
    for batch in batches:
        eager_step(batch)
    model, step = make()
    compiled = mg.compile(step)
    with pytest.warns(CompileWarning, match="runs eagerly"):
        compiled(batches[0])
    for batch in batches[1:]:
        compiled(batch)
    assert model.num_batches_tracked.item() == 3
    np.testing.assert_array_equal(model.running_mean.data, eager_model.running_mean.data)
    np.testing.assert_array_equal(model.running_var.data, eager_model.running_var.data)


def test_buffers_are_in_the_state_dict_but_not_among_the_parameters():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 1))
    names = ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert [name for name, _ in model.named_buffers()] == names
    assert len(list(model.buffers())) == 3
    assert not set(names) & {name for name, _ in model.named_parameters()}
    assert list(model.state_dict())[-3:] == names
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    assert all(p is not b for group in optimizer.param_groups for p in group["params"]
               for b in model.buffers())  # fmt: skip


def test_an_optimizer_step_leaves_the_running_statistics_alone():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    model(mg.randn(8, 3)).square().sum().backward()
    before = model[1].running_mean.data.copy()
    optimizer.step()
    np.testing.assert_array_equal(model[1].running_mean.data, before)
    assert model[1].weight.data.tolist() != [1.0, 1.0]  # while the parameters did move


def test_buffers_round_trip_through_a_file(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    for _ in range(2):
        model(mg.randn(4, 1, 5, 5))
    mg.save(model.state_dict(), tmp_path / "model.npz")
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    assert other.load_state_dict(mg.load(tmp_path / "model.npz")) == ([], [])
    for (name, mine), (_, theirs) in zip(model.named_buffers(), other.named_buffers()):
        assert theirs.dtype == mine.dtype, name
        np.testing.assert_array_equal(theirs.data, mine.data)
    assert int(other[1].num_batches_tracked.item()) == 2
    x = mg.randn(2, 1, 5, 5)
    np.testing.assert_array_equal(model.eval()(x).data, other.eval()(x).data)


def test_strict_loading_misses_a_buffer():
    state = nn.BatchNorm1d(2).state_dict()
    del state["running_var"]
    with pytest.raises(RuntimeError, match="missing keys \\['running_var'\\]"):
        nn.BatchNorm1d(2).load_state_dict(state)


def test_register_buffer_rules():
    module = nn.Module()
    module.register_buffer("count", mg.tensor(0))
    module.count = mg.tensor(5)  # a new value for a buffer stays a buffer
    assert dict(module.named_buffers())["count"].item() == 5
    with pytest.raises(TypeError, match="not a Parameter"):
        module.register_buffer("w", nn.Parameter(np.zeros(2)))
    with pytest.raises(ValueError, match="must not require grad"):
        module.register_buffer("w", mg.zeros(2, requires_grad=True))
    with pytest.raises(KeyError, match="identifier"):
        module.register_buffer("a.b", mg.zeros(2))
    with pytest.raises(TypeError, match="a Parameter to the buffer"):
        module.count = nn.Parameter(np.zeros(1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layernorm_layer(dtype):
    layer = nn.LayerNorm((2, 3), dtype=dtype)
    assert layer.weight.shape == (2, 3) and layer.weight.dtype == dtype
    x = np.arange(12, dtype=dtype).reshape(2, 2, 3) ** 2
    y = layer(mg.tensor(x)).data
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5)
    assert layer.eval()(mg.tensor(x)).data.tolist() == y.tolist()  # no mode difference
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)


def test_embedding_layer_init_is_standard_normal_and_gradients_add_up():
    mg.manual_seed(0)
    layer = nn.Embedding(500, 40)
    assert abs(layer.weight.data.mean()) < 0.02 and abs(layer.weight.data.std() - 1) < 0.02
    out = layer(np.array([[4, 4, 7]]))
    assert out.shape == (1, 3, 40)
    out.sum().backward()
    assert (
        layer.weight.grad[4].tolist() == [2.0] * 40 and layer.weight.grad[7].tolist() == [1.0] * 40
    )
    assert layer.weight.grad.sum() == 3 * 40
    with pytest.raises(ValueError, match="embedding_dim"):
        nn.Embedding(3, 0)


def test_embedding_layer_padding_row_starts_at_zeros_and_stays_there():
    layer = nn.Embedding(6, 3, padding_idx=-1)
    assert layer.padding_idx == 5 and repr(layer) == "Embedding(6, 3, padding_idx=5)"
    assert layer.weight.data[5].tolist() == [0.0, 0.0, 0.0]
    optimizer = optim.SGD(layer.parameters(), lr=1.0)
    layer(np.array([5, 1, 5])).square().sum().backward()
    optimizer.step()
    assert layer.weight.data[5].tolist() == [0.0, 0.0, 0.0]
    assert layer.weight.grad[5].tolist() == [0.0, 0.0, 0.0]


def test_dropout2d_layer_switches_with_train_and_eval():
    mg.manual_seed(0)
    layer = nn.Dropout2d(0.5)
    x = mg.ones(4, 8, 2, 2)
    assert (layer(x).data == 0).any()
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout2d(1.0)
