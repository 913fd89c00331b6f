"""minigrad.nn: modules, Linear, activations, dropout, init statistics, losses, save/load."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import init


def f64(values, grad=True):
    return mg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.drop = nn.Dropout(0.5)
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1, bias=False)])

    def forward(self, x):
        h = self.drop(self.encoder(x).relu())
        return [head(h) for head in self.heads]


def test_registration_and_dotted_names():
    model = nn.Sequential(Block(), nn.Tanh())
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "0.encoder.weight",
        "0.encoder.bias",
        "0.heads.0.weight",
        "0.heads.0.bias",
        "0.heads.1.weight",
    ]
    assert [type(m).__name__ for m in model.children()] == ["Block", "Tanh"]
    assert len(list(model.modules())) == 8  # Sequential, Block, encoder, drop, heads, 2 heads, Tanh
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 4
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert "(encoder): Linear(in_features=3, out_features=4, bias=True)" in repr(model)


def test_reassigning_an_attribute_replaces_its_registration():
    block = Block()
    block.encoder = nn.Identity()
    assert not any(name.startswith("encoder") for name, _ in block.named_parameters())
    block.encoder = 3
    assert "encoder" not in dict(block.named_children())


def test_train_and_eval_reach_nested_dropout():
    model = nn.Sequential(Block())
    model.eval()
    assert all(not m.training for m in model.modules())
    x = mg.ones(2, 3)
    assert np.array_equal(model(x)[0].data, model(x)[0].data)  # no dropout in eval
    model.train()
    assert model[0].drop.training


def test_zero_grad_sets_none():
    layer = nn.Linear(2, 2)
    layer(mg.ones(1, 2)).sum().backward()
    assert layer.weight.grad is not None
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_sequential_indexing_and_iteration():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[1], nn.ReLU)
    assert isinstance(model[:2], nn.Sequential) and len(model[:2]) == 2
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear]


def test_linear_forward_and_gradients_by_hand():
    layer = nn.Linear(2, 3, dtype=np.float64)
    layer.weight.data[...] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    layer.bias.data[...] = [0.5, -0.5, 1.0]
    x = f64([[1.0, -1.0]])
    y = layer(x)
    assert y.tolist() == [[-2.5, -3.5, -2.0]]  # x^T W + b, W of shape (in, out)
    y.sum().backward()
    assert layer.weight.grad.tolist() == [[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]
    assert layer.bias.grad.tolist() == [1.0, 1.0, 1.0]
    assert x.grad.tolist() == [[6.0, 15.0]]


def test_linear_gradcheck_with_batch_dimensions():
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = f64(np.random.default_rng(0).standard_normal((2, 4, 3)))
    assert mg.gradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, layer.weight, layer.bias))
    assert layer(x).shape == (2, 4, 2)


def test_linear_wrong_trailing_dimension_names_both_sizes():
    with pytest.raises(ValueError, match=r"input has 5 features.*weight expects 3"):
        nn.Linear(3, 2)(mg.ones(4, 5))


def test_parameters_work_in_every_op():
    p = nn.Parameter(np.array([1.0, 2.0], np.float32))
    x = mg.Tensor([3.0, 4.0])
    ((p * x).sum() + (x @ p) + p.tanh().sum() + (2.0 * p).sum()).backward()
    expected = 2 * np.array([3.0, 4.0]) + (1 - np.tanh([1.0, 2.0]) ** 2) + 2.0
    assert np.allclose(p.grad, expected)


@pytest.mark.parametrize(
    "scheme, std",
    [
        (lambda w: init.kaiming_normal_(w, nonlinearity="relu"), math.sqrt(2 / 1000)),
        (lambda w: init.kaiming_normal_(w, nonlinearity="linear"), 1 / math.sqrt(1000)),
        (lambda w: init.kaiming_normal_(w, nonlinearity="tanh"), 5 / 3 / math.sqrt(1000)),
        (
            lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
            math.sqrt(2 / 500),
        ),
        (lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), math.sqrt(2 / 1000)),
        (lambda w: init.kaiming_uniform_(w, a=0.2), math.sqrt(2 / (1 + 0.04)) / math.sqrt(1000)),
        (lambda w: init.xavier_normal_(w), math.sqrt(2 / 1500)),
        (lambda w: init.xavier_uniform_(w, gain=2.0), 2 * math.sqrt(2 / 1500)),
        (lambda w: init.lecun_normal_(w), 1 / math.sqrt(1000)),
        (lambda w: init.normal_(w, 0.0, 0.3), 0.3),
        (lambda w: init.uniform_(w, -1.0, 1.0), 1 / math.sqrt(3)),
    ],
)
def test_init_statistics(scheme, std):
    mg.manual_seed(0)
    weight = nn.Parameter(np.empty((1000, 500), np.float32))
    scheme(weight)
    assert weight.dtype == np.float32
    assert abs(weight.data.mean()) < 0.02 * std + 1e-4
    assert abs(weight.data.std() / std - 1) < 0.02


def test_constant_inits_and_gains():
    w = nn.Parameter(np.empty((2, 3), np.float32))
    assert init.zeros_(w).data.sum() == 0
    assert init.ones_(w).data.sum() == 6
    assert np.all(init.constant_(w, 0.5).data == 0.5)
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'swish'.*relu"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="unknown mode 'fan_avg'"):
        init.kaiming_normal_(w, mode="fan_avg")


def test_scaled_init_keeps_output_variance_independent_of_width():
    """Lecture 001, scaled initialization: Var[x^T w] = |x|^2 Var[w] = 1 for std 1/sqrt(d)."""
    mg.manual_seed(1)
    for d in (10, 100, 1000):
        w = nn.Parameter(np.empty((d, 2000), np.float64))
        init.lecun_normal_(w)
        x = mg.random.generator().standard_normal((200, d))
        assert abs((x @ w.data).var() - 1) < 0.1


def test_dropout_training_statistics():
    mg.manual_seed(0)
    x = mg.ones(200, 500)
    out = nn.Dropout(0.3)(x).data
    zeroed = (out == 0).mean()
    assert abs(zeroed - 0.3) < 0.01
    assert np.allclose(out[out != 0], 1 / 0.7)
    assert abs(out.mean() - 1) < 0.01  # inverted dropout keeps the mean


def test_dropout_eval_is_identity_and_the_two_rules_agree_in_expectation():
    x = mg.Tensor(np.full((400, 500), 2.0, np.float32))
    inverted, scaled = nn.Dropout(0.4), nn.Dropout(0.4, rule="scale_at_eval")
    assert inverted.eval()(x) is x
    assert np.allclose(scaled.eval()(x).data, 2.0 * 0.6)
    mg.manual_seed(0)
    train_scaled = scaled.train()(x).data.mean()
    assert abs(train_scaled - 2.0 * 0.6) < 0.01  # = its eval output, 1.2
    assert abs(inverted.train()(x).data.mean() - 2.0) < 0.02  # = its eval output, 2.0


def test_dropout_gradient_flows_only_through_kept_units():
    mg.manual_seed(2)
    x = mg.ones(50, 40, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    kept = out.data != 0
    assert np.allclose(x.grad[kept], 2.0) and np.all(x.grad[~kept] == 0)


def test_dropout_p_out_of_range():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=rf"must be in \[0, 1\), got p={p}"):
            nn.Dropout(p)


def loss_cases():
    p = np.array([[0.2, 0.9], [0.6, 0.5]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    z = np.array([[1.0, -2.0], [0.5, 3.0]])
    bce_logits = np.log1p(np.exp(z)) - z * y
    mse = (p - y) ** 2
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]])
    labels = np.array([1, 2])
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    ce = -log_probs[[0, 1], labels]
    return [
        (nn.MSELoss, p, y, mse),
        (nn.BCELoss, p, y, bce),
        (nn.BCEWithLogitsLoss, z, y, bce_logits),
        (nn.CrossEntropyLoss, logits, labels, ce),
        (nn.NLLLoss, log_probs, labels, ce),
    ]


@pytest.mark.parametrize("case", loss_cases(), ids=lambda c: c[0].__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_by_hand_and_gradcheck(case, reduction):
    module, input_values, target, per_element = case
    expected = {"mean": per_element.mean(), "sum": per_element.sum(), "none": per_element}[
        reduction
    ]
    loss_fn = module(reduction=reduction)
    assert np.allclose(loss_fn(f64(input_values), target).data, expected)
    assert mg.gradcheck(lambda x: loss_fn(x, target), (f64(input_values),))


@pytest.mark.parametrize("scale", [100.0, 1e5])
def test_losses_are_stable_at_extreme_logits(scale):
    logits = f64(np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]]) * scale)
    loss = nn.CrossEntropyLoss()(logits, np.array([0, 2]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad).all()
    probabilities = np.exp(logits.data - logits.data.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected = (probabilities - np.eye(3)[[0, 2]]) / 2
    assert np.allclose(logits.grad, expected)
    z = f64(np.array([1.0, -1.0]) * scale)
    bce = nn.BCEWithLogitsLoss()(z, np.array([0.0, 0.0]))
    bce.backward()
    assert np.isclose(bce.item(), scale / 2) and np.allclose(z.grad, [0.5, 0.0])


def test_loss_bad_inputs():
    with pytest.raises(ValueError, match=r"input shape \(3,\) and target shape \(4,\)"):
        nn.MSELoss()(mg.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        nn.CrossEntropyLoss()(mg.ones(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")


def test_state_dict_round_trip_through_a_file(tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x = mg.randn(3, 4)
    mg.save(model.state_dict(), tmp_path / "model.npz")
    mg.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    assert not np.array_equal(model(x).data, other(x).data)
    other.load_state_dict(mg.load(tmp_path / "model.npz"))
    assert np.array_equal(model(x).data, other(x).data)


def test_strict_loading_names_keys_and_shapes():
    model = nn.Sequential(nn.Linear(2, 3))
    state = model.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['extra'\]"):
        model.load_state_dict({"0.weight": state["0.weight"], "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(3, 2\).*shape \(2, 3\)"):
        model.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": state["0.bias"]})
    model.load_state_dict({"0.weight": np.ones((2, 3))}, strict=False)
    assert np.all(model[0].weight.data == 1)


def test_loading_a_corrupt_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not an archive")
    with pytest.raises(ValueError, match="is not a minigrad state dict"):
        mg.load(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        mg.load(tmp_path / "missing.npz")


def test_clip_grad_norm():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert nn.utils.clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(5.0)
    assert np.allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], atol=1e-6)
    assert nn.utils.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, abs=1e-5)


def train_two_hidden_units(first_layer: nn.Linear, steps: int = 50):
    model = nn.Sequential(first_layer, nn.Tanh(), nn.Linear(2, 1, dtype=np.float64))
    nn.init.constant_(model[2].weight, 0.5)
    x = f64(np.random.default_rng(0).standard_normal((16, 3)), grad=False)
    y = f64(np.random.default_rng(1).standard_normal((16, 1)), grad=False)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    return first_layer.weight.data


def test_symmetry_breaking():
    """Lecture 001, "Symmetry breaking": hidden units that start equal get equal gradients and
    stay equal forever; random initialization makes them differ."""
    equal = nn.Linear(3, 2, dtype=np.float64)
    nn.init.constant_(equal.weight, 0.3)
    nn.init.zeros_(equal.bias)
    weights = train_two_hidden_units(equal)
    assert np.array_equal(weights[:, 0], weights[:, 1])
    assert not np.allclose(weights, 0.3)  # they did train
    mg.manual_seed(0)
    weights = train_two_hidden_units(nn.Linear(3, 2, dtype=np.float64))
    assert not np.allclose(weights[:, 0], weights[:, 1])
