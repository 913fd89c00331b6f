"""minigrad.nn: modules, containers, Linear, activations, dropout, init, losses, save/load."""

import copy
import math
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn import init


def f64(values, grad=True):
    return mg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=grad)


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z)))  # 1 / (1 + e^-z) without overflow


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.drop = nn.Dropout(0.5)
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1, bias=False)])

    def forward(self, x):
        h = self.drop(self.encoder(x).relu())
        return [head(h) for head in self.heads]


# ---- Module --------------------------------------------------------------------------------------


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
    assert [name for name, _ in model.named_modules()] == [
        "",
        "0",
        "0.encoder",
        "0.drop",
        "0.heads",
        "0.heads.0",
        "0.heads.1",
        "1",
    ]
    assert len(list(model.modules())) == 8
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 4
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())
    assert model[0].encoder.weight is dict(model.named_parameters())["0.encoder.weight"]


def test_repr_is_a_tree():
    model = nn.Sequential(Block(), nn.Softmax(dim=1))
    assert repr(model) == "\n".join(
        [
            "Sequential(",
            "  (0): Block(",
            "    (encoder): Linear(in_features=3, out_features=4, bias=True)",
            "    (drop): Dropout(p=0.5, rule='inverted')",
            "    (heads): ModuleList(",
            "      (0): Linear(in_features=4, out_features=2, bias=True)",
            "      (1): Linear(in_features=4, out_features=1, bias=False)",
            "    )",
            "  )",
            "  (1): Softmax(axis=1)",
            ")",
        ]
    )


def test_summary_and_parameter_count():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[2].bias = nn.Parameter(np.zeros(2, np.float32), requires_grad=False)
    lines = model.summary().splitlines()
    assert lines[0].split() == ["parameter", "shape", "count"]
    assert lines[2].split() == ["0.weight", "(3,", "4)", "12"]
    assert lines[-1] == "Sequential: 26 parameters (24 trainable)"
    assert model.num_parameters() == 26 and model.num_parameters(trainable_only=True) == 24


def test_reassigning_and_deleting_attributes_updates_registration():
    block = Block()
    block.encoder = nn.Identity()
    assert not any(name.startswith("encoder") for name, _ in block.named_parameters())
    block.encoder = 3
    assert "encoder" not in dict(block.named_children()) and block.encoder == 3
    del block.heads
    assert list(dict(block.named_children())) == ["drop"]
    assert list(block.parameters()) == []


def test_shared_parameters_are_listed_once_and_deepcopy_makes_independent_weights():
    first = nn.Linear(2, 2)
    model = nn.Sequential(first, nn.Tanh(), first)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    clone = copy.deepcopy(model)
    assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
    assert clone[0].weight is clone[2].weight and clone[0].weight is not first.weight
    clone[0].weight.data[...] = 0
    assert np.any(first.weight.data != 0)


def test_module_needs_super_init_and_forward():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"Forgetful.__init__ must call super\(\).__init__"):
        Forgetful()
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(mg.ones(1))
    with pytest.raises(TypeError, match="add_module.'x'. needs a Module, got int"):
        nn.Module().add_module("x", 3)


def test_apply_visits_children_before_parents():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["ReLU", "Sequential", "Linear", "Sequential"]
    model.apply(lambda m: init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert np.all(model[0].weight.data == 0)


def test_train_and_eval_reach_nested_dropout():
    model = nn.Sequential(Block())
    assert model.training and model[0].drop.training
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    x = mg.ones(2, 3)
    assert np.array_equal(model(x)[0].data, model(x)[0].data)  # no dropout in eval
    model.train()
    assert all(m.training for m in model.modules())
    model[0].train(False)
    assert model.training and not model[0].heads[1].training
    with pytest.raises(TypeError, match="train.. takes a bool mode, got 'eval'"):
        model.train("eval")


def test_zero_grad_sets_none():
    layer = nn.Linear(2, 2)
    layer(mg.ones(1, 2)).sum().backward()
    assert layer.weight.grad is not None
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_parameter():
    p = nn.Parameter([1.0, 2.0])
    assert p.requires_grad and p.dtype == np.float32 and p.is_leaf
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    frozen = nn.Parameter(np.zeros(2), requires_grad=False)
    assert not frozen.requires_grad and frozen.dtype == np.float64
    assert type(p * 2.0) is mg.Tensor  # results of ops are plain tensors


def test_parameters_record_gradients_in_every_op():
    """Parameter subclasses Tensor; the core's fast paths check `type(x) is Tensor`, so every
    kind of op must also take the subclass path and record the same gradients."""
    rng = np.random.default_rng(0)
    values = {name: rng.standard_normal(shape) for name, shape in [("p", (3,)), ("x", (3,))]}
    values.update(W=rng.standard_normal((3, 2)), b=rng.standard_normal(2))
    values.update(M=rng.standard_normal((3, 3)))

    def run(kind):
        p, W, b = (kind(values[k]) for k in "pWb")
        x, M = mg.Tensor(values["x"]), mg.Tensor(values["M"])
        total = (
            (p * x).sum()
            + (x * p).sum()
            + (x @ p)
            + (p @ M).sum()
            + p.tanh().sum()
            + (2.0 * p).sum()
            + F.linear(x.reshape(1, 3), W, b).sum()
        )
        total.backward()
        return total, p, W, b

    total, p, W, b = run(nn.Parameter)
    assert all(type(t) is nn.Parameter for t in (p, W, b)) and type(total) is mg.Tensor
    x, M = values["x"], values["M"]
    expected_p = 2 * x + x + M.sum(axis=1) + (1 - np.tanh(values["p"]) ** 2) + 2.0
    np.testing.assert_allclose(p.grad, expected_p, rtol=1e-12)
    np.testing.assert_allclose(W.grad, np.outer(x, np.ones(2)), rtol=1e-12)
    np.testing.assert_allclose(b.grad, np.ones(2))
    plain_total, plain_p, plain_W, plain_b = run(lambda v: mg.Tensor(v, requires_grad=True))
    assert plain_total.item() == total.item()
    for plain, parameter in ((plain_p, p), (plain_W, W), (plain_b, b)):
        np.testing.assert_array_equal(plain.grad, parameter.grad)


# ---- containers and simple layers ----------------------------------------------------------------


def test_sequential_indexing_and_iteration():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[1], nn.ReLU) and model[-1] is model[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert [name for name, _ in head.named_parameters()] == ["2.weight", "2.bias"]
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear]
    x = mg.randn(4, 2)
    np.testing.assert_array_equal(model(x).data, model[2](model[1](model[0](x))).data)
    with pytest.raises(IndexError, match="index 3 is out of range for a Sequential of length 3"):
        model[3]
    with pytest.raises(TypeError, match="Sequential takes Modules, got ufunc at position 1"):
        nn.Sequential(nn.ReLU(), np.tanh)


def test_sequential_from_an_ordered_dict():
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert [name for name, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias"]
    assert model[0] is model.hidden


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 3)).extend([nn.ReLU()])
    assert len(layers) == 3 and isinstance(layers[-1], nn.ReLU)
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    assert [name for name, _ in layers.named_parameters()] == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
    ]
    with pytest.raises(TypeError, match="ModuleList holds Modules, got int"):
        layers.append(3)
    with pytest.raises(IndexError, match="index -4 is out of range for a ModuleList of length 3"):
        layers[-4]


def test_identity_and_flatten():
    x = mg.Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert nn.Identity()(x) is x
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 12) and flat.data[1, 0] == 12.0
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    flat.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3, 4)))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# ---- activations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module, formula",
    [
        (nn.ReLU(), lambda z: np.maximum(z, 0)),
        (nn.LeakyReLU(), lambda z: np.where(z > 0, z, 0.01 * z)),
        (nn.LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z)),
        (nn.Sigmoid(), sigmoid),
        (nn.Tanh(), np.tanh),
        (nn.Softplus(), lambda z: np.log1p(np.exp(z))),
        (nn.Softmax(dim=1), lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)),
        (nn.Softmax(axis=0), lambda z: np.exp(z) / np.exp(z).sum(axis=0, keepdims=True)),
        (nn.LogSoftmax(), lambda z: z - np.log(np.exp(z).sum(axis=-1, keepdims=True))),
    ],
    ids=lambda v: repr(v) if isinstance(v, nn.Module) else "",
)
def test_activation_modules(module, formula):
    z = np.array([[-2.0, -0.5, 0.3], [1.5, 0.0, -1.0]])
    np.testing.assert_allclose(module(f64(z)).data, formula(z), rtol=1e-12)
    assert mg.gradcheck(module, (f64(z + 0.05),))  # away from ReLU's kink at 0


def test_softmax_axis_and_dim():
    assert nn.Softmax().axis == -1 and nn.LogSoftmax(dim=0).axis == 0
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    x = f64([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_array_equal(F.softmax(x, dim=0).data, x.softmax(0).data)
    np.testing.assert_array_equal(F.log_softmax(x, 1).data, x.log_softmax(1).data)
    with pytest.raises(ValueError, match="got axis=0 and dim=1; give one of them"):
        nn.Softmax(0, dim=1)


# ---- Linear --------------------------------------------------------------------------------------


def test_linear_forward_and_gradients_by_hand():
    layer = nn.Linear(2, 3, dtype=np.float64)
    layer.weight.data[...] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    layer.bias.data[...] = [0.5, -0.5, 1.0]
    x = f64([[1.0, -1.0]])
    y = layer(x)
    assert y.tolist() == [[-2.5, -3.5, -2.0]]  # x^T W + b = [1-4, 2-5, 3-6] + b
    (y * f64([1.0, 2.0, 3.0], grad=False)).sum().backward()
    assert layer.weight.grad.tolist() == [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]  # x g^T
    assert layer.bias.grad.tolist() == [1.0, 2.0, 3.0]
    assert x.grad.tolist() == [[14.0, 32.0]]  # W g = [1+4+9, 4+10+18]


def test_linear_gradcheck_with_batch_dimensions():
    mg.manual_seed(0)
    layer = nn.Linear(3, 2, dtype=np.float64)
    x = f64(np.random.default_rng(0).standard_normal((2, 4, 3)))
    assert layer(x).shape == (2, 4, 2)
    assert mg.gradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, layer.weight, layer.bias))
    no_bias = nn.Linear(3, 2, bias=False, dtype=np.float64)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert mg.gradcheck(lambda x: no_bias(x).sin(), (x,))


def test_linear_default_init_and_dtype():
    mg.manual_seed(3)
    layer = nn.Linear(1000, 1000)
    assert layer.weight.shape == (1000, 1000) and layer.weight.dtype == np.float32
    assert abs(layer.weight.data.std() / math.sqrt(2 / 1000) - 1) < 0.01  # Kaiming, ReLU gain
    assert np.all(layer.bias.data == 0)
    assert nn.Linear(2, 3, dtype="float64").weight.dtype == np.float64


def test_linear_bad_input():
    with pytest.raises(ValueError, match=r"input has 5 features.*weight expects 3"):
        nn.Linear(3, 2)(mg.ones(4, 5))
    with pytest.raises(ValueError, match="in_features must be a non-negative integer, got 2.5"):
        nn.Linear(2.5, 2)
    with pytest.raises(ValueError, match="out_features must be a non-negative integer, got -1"):
        nn.Linear(2, -1)


# ---- init ----------------------------------------------------------------------------------------

SQRT3 = math.sqrt(3)
GAIN_CASES = [
    ("linear", None, 1.0),
    ("identity", None, 1.0),
    ("sigmoid", None, 1.0),
    ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ("selu", None, 0.75),
]


def statistics_match(weight, std, bound=None):
    """Mean within 5 standard errors of 0, std within 1% of the formula (10^6 draws give a
    relative standard error of 0.07%), and a uniform's draws inside its bounds."""
    data = weight.data.astype(np.float64)
    assert weight.dtype == np.float32
    assert abs(data.mean()) < 5 * std / math.sqrt(data.size)
    assert abs(data.std() / std - 1) < 0.01
    if bound is not None:
        assert np.abs(data).max() <= bound and np.abs(data).max() > 0.99 * bound


@pytest.mark.parametrize("nonlinearity, slope, gain", GAIN_CASES)
def test_kaiming_statistics_for_every_gain(nonlinearity, slope, gain):
    mg.manual_seed(0)
    weight = nn.Parameter(np.empty((1000, 1000), np.float32))
    a = 0.0 if slope is None else slope
    init.kaiming_normal_(weight, a=a, nonlinearity=nonlinearity)
    statistics_match(weight, gain / math.sqrt(1000))
    init.kaiming_uniform_(weight, a=a, nonlinearity=nonlinearity)
    statistics_match(weight, gain / math.sqrt(1000), bound=gain * SQRT3 / math.sqrt(1000))


@pytest.mark.parametrize(
    "scheme, std, bound",
    [
        (lambda w: init.kaiming_normal_(w), math.sqrt(2 / 1000), None),  # leaky_relu, a=0
        (lambda w: init.xavier_normal_(w), math.sqrt(2 / 2000), None),
        (lambda w: init.xavier_normal_(w, gain=5 / 3), 5 / 3 * math.sqrt(2 / 2000), None),
        (lambda w: init.xavier_uniform_(w), math.sqrt(2 / 2000), math.sqrt(6 / 2000)),
        (
            lambda w: init.xavier_uniform_(w, gain=2.0),
            2 * math.sqrt(2 / 2000),
            2 * math.sqrt(6 / 2000),
        ),
        (lambda w: init.lecun_normal_(w), 1 / math.sqrt(1000), None),
        (lambda w: init.normal_(w, 0.0, 0.3), 0.3, None),
        (lambda w: init.uniform_(w, -1.0, 1.0), 1 / SQRT3, 1.0),
    ],
)
def test_init_statistics(scheme, std, bound):
    mg.manual_seed(0)
    weight = nn.Parameter(np.empty((1000, 1000), np.float32))
    assert scheme(weight) is weight
    statistics_match(weight, std, bound)


def test_fan_in_is_the_first_axis():
    """The weight is (in, out): a (2000, 500) weight has fan_in 2000, fan_out 500."""
    mg.manual_seed(1)
    weight = nn.Parameter(np.empty((2000, 500), np.float32))
    assert init.fans(weight) == (2000, 500)
    init.kaiming_normal_(weight, nonlinearity="relu")
    assert abs(weight.data.std() / math.sqrt(2 / 2000) - 1) < 0.01
    init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")
    assert abs(weight.data.std() / math.sqrt(2 / 500) - 1) < 0.01
    init.xavier_normal_(weight)
    assert abs(weight.data.std() / math.sqrt(2 / 2500) - 1) < 0.01
    assert init.fans(nn.Parameter(np.empty((3, 4, 5)))) == (15, 20)


def test_init_is_in_place_seeded_and_keeps_dtype():
    weight = nn.Parameter(np.empty((4, 3), np.float64))
    buffer = weight.data
    mg.manual_seed(7)
    init.kaiming_normal_(weight)
    first = weight.data.copy()
    mg.manual_seed(7)
    init.kaiming_normal_(weight)
    assert weight.data is buffer and weight.dtype == np.float64
    np.testing.assert_array_equal(weight.data, first)
    assert weight.is_leaf and weight.requires_grad
    assert init.kaiming_uniform_(nn.Parameter(np.empty((0, 3)))).shape == (0, 3)


def test_constant_inits_and_gains():
    w = nn.Parameter(np.empty((2, 3), np.float32))
    assert np.all(init.zeros_(w).data == 0)
    assert np.all(init.ones_(w).data == 1)
    assert np.all(init.constant_(w, 0.5).data == 0.5)
    for nonlinearity, slope, gain in GAIN_CASES:
        assert init.calculate_gain(nonlinearity, slope) == gain
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))


def test_init_bad_input():
    w = nn.Parameter(np.empty((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'swish'; expected one of .*relu"):
        init.kaiming_normal_(w, nonlinearity="swish")
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="unknown mode 'fan_avg'; expected one of fan_in, fan_out"):
        init.kaiming_normal_(w, mode="fan_avg")
    with pytest.raises(TypeError, match="needs a floating-point tensor, got dtype int64"):
        init.normal_(mg.Tensor(np.zeros(3, np.int64)))
    with pytest.raises(ValueError, match="at least one dimension"):
        init.xavier_normal_(nn.Parameter(1.0))
    with pytest.raises(ValueError, match="normal_ needs std >= 0, got -1"):
        init.normal_(w, 0.0, -1)
    with pytest.raises(ValueError, match="uniform_ needs a <= b, got a=1, b=0"):
        init.uniform_(w, 1, 0)


def test_scaled_init_keeps_output_variance_independent_of_width():
    """Lecture 001, "Scaled initialization": Var[sum_i x_i w_i] = sum_i x_i^2 Var[w_i]; with
    std 1 it grows like d, with std 1/sqrt(d) it stays at the mean x_i^2 (1 here)."""
    mg.manual_seed(1)
    for d in (10, 100, 1000):
        x = mg.random.generator().standard_normal((200, d))
        w = nn.Parameter(np.empty((d, 2000), np.float64))
        init.normal_(w)
        assert abs((x @ w.data).var() / d - 1) < 0.1
        init.kaiming_normal_(w, nonlinearity="linear")
        assert abs((x @ w.data).var() - 1) < 0.1


# ---- Dropout -------------------------------------------------------------------------------------


def test_dropout_training_statistics():
    mg.manual_seed(0)
    p, n = 0.3, 200 * 500
    out = nn.Dropout(p)(mg.ones(200, 500)).data
    assert abs((out == 0).mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    # each output is 0 or 1/(1-p): mean 1, variance p/(1-p)
    assert abs(out.mean() - 1) < 4 * math.sqrt(p / (1 - p) / n)


def test_dropout_mask_comes_from_the_engine_rng():
    x = mg.ones(10, 10)
    mg.manual_seed(5)
    first = nn.Dropout(0.5)(x).data
    mg.manual_seed(5)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, first)
    mg.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=True).data, first)


def test_dropout_eval_and_the_two_rules_agree_in_expectation():
    """Lecture 001, "Dropout at evaluation time": E[DO_r(x)] = (1 - r) x. The inverted rule
    scales by 1/(1-r) in training (mean x, eval = x); the other rule leaves training alone
    (mean (1-r) x) and multiplies by 1-r at eval. Either way eval = E[train]."""
    p, n = 0.4, 400 * 500
    x = mg.Tensor(np.full((400, 500), 2.0, np.float32))
    inverted, at_eval = nn.Dropout(p), nn.Dropout(p, rule="scale_at_eval")
    assert inverted.eval()(x) is x
    np.testing.assert_allclose(at_eval.eval()(x).data, 2.0 * 0.6, rtol=1e-6)
    mg.manual_seed(0)
    trained = at_eval.train()(x).data
    assert set(np.unique(trained)) == {0.0, 2.0}  # no scaling in training
    assert abs(trained.mean() - 1.2) < 4 * 2.0 * math.sqrt(p * (1 - p) / n)
    trained = inverted.train()(x).data
    assert abs(trained.mean() - 2.0) < 4 * 2.0 * math.sqrt(p / (1 - p) / n)
    assert nn.Dropout(0.0)(x) is x


def test_dropout_gradient_flows_only_through_kept_units():
    mg.manual_seed(2)
    x = mg.ones(50, 40, requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    kept = out.data != 0
    assert 0.4 < kept.mean() < 0.6
    assert np.all(x.grad[kept] == 2.0) and np.all(x.grad[~kept] == 0)
    x.grad = None
    mg.manual_seed(2)
    out = nn.Dropout(0.5, rule="scale_at_eval")(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, kept.astype(np.float32))  # same mask, unscaled


def test_dropout_bad_input():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=rf"must be in \[0, 1\), got p={p}"):
            nn.Dropout(p)
    with pytest.raises(ValueError, match="unknown dropout rule 'scaled'; expected one of"):
        nn.Dropout(0.5, rule="scaled")


# ---- losses --------------------------------------------------------------------------------------


def loss_cases():
    p = np.array([[0.2, 0.9], [0.6, 0.5]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    z = np.array([[1.0, -2.0], [0.5, 3.0]])
    bce_logits = -(y * np.log(sigmoid(z)) + (1 - y) * np.log(1 - sigmoid(z)))
    mse = (p - y) ** 2
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]])
    labels = np.array([1, 2])
    log_probs = np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    ce = -log_probs[[0, 1], labels]
    return [
        (nn.MSELoss, p, y, mse),
        (nn.BCELoss, p, y, bce),
        (nn.BCEWithLogitsLoss, z, y, bce_logits),
        (nn.CrossEntropyLoss, logits, labels, ce),
        (nn.NLLLoss, log_probs, labels, ce),
    ]


def test_loss_hand_values():
    """Spot values by hand: BCE of p = 0.2 for y = 0 is -ln 0.8; MSE of 0.9 vs 1 is 0.01."""
    cases = {case[0]: case for case in loss_cases()}
    assert cases[nn.BCELoss][3][0, 0] == pytest.approx(0.22314355131, rel=1e-10)
    assert cases[nn.MSELoss][3][0, 1] == pytest.approx(0.01)
    assert cases[nn.CrossEntropyLoss][3][0] == pytest.approx(0.46436879, rel=1e-7)


@pytest.mark.parametrize("case", loss_cases(), ids=lambda c: c[0].__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_by_hand_and_gradcheck(case, reduction):
    module, input_values, target, per_element = case
    expected = {"mean": per_element.mean(), "sum": per_element.sum(), "none": per_element}
    loss_fn = module(reduction=reduction)
    assert repr(loss_fn) == f"{module.__name__}(reduction='{reduction}')"
    np.testing.assert_allclose(loss_fn(f64(input_values), target).data, expected[reduction])
    as_tensor = mg.Tensor(target)
    np.testing.assert_allclose(loss_fn(f64(input_values), as_tensor).data, expected[reduction])
    assert mg.gradcheck(lambda x: loss_fn(x, target), (f64(input_values),))


@pytest.mark.parametrize("scale", [100.0, 1e5])
def test_losses_are_stable_at_extreme_logits(scale):
    raw = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]])
    labels = np.array([0, 2])
    probabilities = np.exp(raw * scale - (raw * scale).max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected_grad = (probabilities - np.eye(3)[labels]) / 2
    # row 0's true class has the largest logit (loss 0); row 1's is `scale` below the top one
    expected_loss = scale / 2
    for loss_of in (
        lambda z: nn.CrossEntropyLoss()(z, labels),
        lambda z: nn.NLLLoss()(nn.LogSoftmax(dim=1)(z), labels),
    ):
        logits = f64(raw * scale)
        loss = loss_of(logits)
        loss.backward()
        assert loss.item() == pytest.approx(expected_loss, rel=1e-9)
        np.testing.assert_allclose(logits.grad, expected_grad, atol=1e-12)
    z = f64(np.array([1.0, -1.0]) * scale)
    bce = nn.BCEWithLogitsLoss()(z, np.array([0.0, 0.0]))
    bce.backward()
    assert bce.item() == pytest.approx(scale / 2) and np.allclose(z.grad, [0.5, 0.0])
    z = f64(np.array([1.0, -1.0]) * scale)
    bce = nn.BCEWithLogitsLoss(reduction="sum")(z, np.array([1.0, 0.0]))
    bce.backward()
    assert bce.item() == pytest.approx(2 * np.log1p(np.exp(-scale)), rel=1e-9)  # 0 for 1e5
    np.testing.assert_allclose(z.grad, sigmoid(z.data) - [1.0, 0.0], rtol=1e-9)


def test_bce_on_saturated_probabilities_is_clamped():
    """A probability of exactly 0 for a positive label costs -max(ln 0, -100) = 100."""
    p = f64([0.0, 1.0])
    loss = nn.BCELoss(reduction="none")(p, np.array([1.0, 1.0]))
    np.testing.assert_allclose(loss.data, [100.0, 0.0])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad))


def test_loss_bad_inputs():
    with pytest.raises(ValueError, match=r"input shape \(3,\) and target shape \(4,\)"):
        nn.MSELoss()(mg.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"input shape \(2, 1\) and target shape \(2,\)"):
        nn.BCELoss()(mg.ones(2, 1) * 0.5, np.ones(2))
    with pytest.raises(ValueError, match=r"input shape \(2,\) and target shape \(1, 2\)"):
        nn.BCEWithLogitsLoss()(mg.ones(2), np.ones((1, 2)))
    with pytest.raises(TypeError, match="target must hold integer class indices, got dtype float"):
        nn.CrossEntropyLoss()(mg.ones(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices"):
        nn.NLLLoss()(mg.ones(2, 3), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"input \(2, 3\) and target \(3,\)"):
        nn.CrossEntropyLoss()(mg.ones(2, 3), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match="target holds class 3 but input has 3 classes"):
        nn.CrossEntropyLoss()(mg.ones(2, 3), np.array([0, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")


# ---- state dicts, save and load ------------------------------------------------------------------


class ToFloat64(nn.Module):
    """Casts its input to float64: a float32 layer feeding a float64 one needs it, as in PyTorch."""

    def forward(self, x):
        return x.double()


def mixed_precision_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), ToFloat64(), nn.Linear(8, 2, dtype=np.float64))


def test_state_dict_round_trip_through_a_file(tmp_path):
    mg.manual_seed(0)
    model = mixed_precision_model()
    x = mg.randn(3, 4)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert state["0.weight"] is not model[0].weight.data  # a copy, not a view
    mg.save(state, tmp_path / "model.npz")
    mg.manual_seed(1)
    other = mixed_precision_model()
    assert not np.array_equal(model(x).data, other(x).data)
    loaded = mg.load(tmp_path / "model.npz")
    assert list(loaded) == list(state) and loaded["3.bias"].dtype == np.float64
    assert loaded["0.weight"].dtype == np.float32
    assert other.load_state_dict(loaded) == ([], [])
    np.testing.assert_array_equal(model(x).data, other(x).data)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_refuses_an_input_of_another_dtype_in_pytorchs_words(bias):
    layer = nn.Linear(3, 2, bias=bias)  # float32
    message = (
        r"mat1 and mat2 must have the same dtype, but got Double and Float \(input and weight "
        r"are float64 and float32\)"
    )
    with pytest.raises(TypeError, match=message):
        layer(mg.zeros(4, 3, dtype=np.float64))
    with pytest.raises(TypeError, match=message):
        F.linear(mg.zeros(3, dtype=np.float64), layer.weight, layer.bias)
    with pytest.raises(TypeError, match="but got Long and Float"):
        layer(mg.tensor([[1, 2, 3]]))


def test_linear_refuses_a_bias_of_another_dtype():
    weight, bias = mg.zeros(3, 2), mg.zeros(2, dtype=np.float64)
    with pytest.raises(TypeError, match="but got Float and Double .weight and bias"):
        F.linear(mg.zeros(1, 3), weight, bias)


def test_module_to_casts_its_parameters_in_place_for_the_optimizer():
    model = nn.Sequential(nn.Linear(3, 2))
    weight = model[0].weight
    sgd = mg.optim.SGD(model.parameters(), lr=0.1)
    model(mg.ones(1, 3)).sum().backward()
    assert model.double() is model and model[0].weight is weight
    assert weight.dtype == weight.grad.dtype == np.float64 and model[0].bias.dtype == np.float64
    before = weight.data.copy()
    sgd.step()
    np.testing.assert_allclose(weight.data, before - 0.1)  # d sum / dW = x = 1 everywhere
    out = model(mg.ones(1, 3, dtype=np.float64))
    assert out.dtype == np.float64 and model.float()[0].weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point; got dtype int64"):
        model.to(np.int64)


def test_load_state_dict_accepts_tensors_and_casts_to_the_parameter_dtype():
    layer = nn.Linear(2, 1)
    layer.load_state_dict({"weight": mg.Tensor([[1.5], [2.5]]), "bias": np.array([0.25])})
    assert layer.weight.dtype == np.float32 and layer.weight.data.ravel().tolist() == [1.5, 2.5]
    assert layer.bias.data.tolist() == [0.25]


def test_strict_loading_names_keys_and_shapes():
    model = nn.Sequential(nn.Linear(2, 3))
    state = model.state_dict()
    before = model[0].weight.data.copy()
    with pytest.raises(
        RuntimeError, match=r"missing keys \['0.bias'\]; unexpected keys \['extra'\]"
    ):
        model.load_state_dict({"0.weight": np.zeros((2, 3)), "extra": np.zeros(1)})
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for '0.weight': the state dict has shape \(3, 2\), the parameter "
        r"has shape \(2, 3\)",
    ):
        model.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": state["0.bias"]})
    np.testing.assert_array_equal(model[0].weight.data, before)  # nothing half-loaded
    result = model.load_state_dict({"0.weight": np.ones((2, 3)), "extra": 0}, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    assert np.all(model[0].weight.data == 1)
    with pytest.raises(RuntimeError, match="size mismatch for '0.bias'"):
        model.load_state_dict({"0.bias": np.zeros(4)}, strict=False)


def test_an_empty_state_dict_round_trips(tmp_path):
    mg.save({}, tmp_path / "empty.npz")
    assert mg.load(tmp_path / "empty.npz") == {}
    assert nn.Sequential(nn.ReLU()).load_state_dict(mg.load(tmp_path / "empty.npz")) == ([], [])


def test_save_bad_input(tmp_path):
    with pytest.raises(TypeError, match="save module.state_dict()"):
        mg.save(nn.Linear(1, 1), tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"entry \['w'\]\['nested'\] is not a numeric array"):
        mg.save({"w": {"nested": np.array([{}], dtype=object)}}, tmp_path / "m.npz")


def test_loading_a_corrupt_or_foreign_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not an archive")
    with pytest.raises(
        ValueError, match=r"bad.npz is not a minigrad state dict .*not a zip archive .*b'this i"
    ):
        mg.load(bad)
    truncated = tmp_path / "truncated.npz"
    mg.save({"w": np.ones(100)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(ValueError, match=r"truncated.npz is not a minigrad state dict"):
        mg.load(truncated)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single.npy is not a .*it holds a single .npy array"):
        mg.load(single)
    foreign = tmp_path / "foreign.npz"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="foreign.npz .*entry 'notes.txt' is not a numeric"):
        mg.load(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, w=np.array([{"code": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz is not a minigrad state dict"):
        mg.load(pickled)
    with pytest.raises(FileNotFoundError, match="no such file"):
        mg.load(tmp_path / "missing.npz")


# ---- clip_grad_norm_ -----------------------------------------------------------------------------


def test_clip_grad_norm():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    unused = nn.Parameter(np.zeros(3))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    assert nn.utils.clip_grad_norm_([a, b, unused], max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], rtol=1e-6)
    assert unused.grad is None
    assert nn.utils.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), [0.6, 0.0, 0.8], rtol=1e-6)
    b.grad = np.array([-4.0])
    assert nn.utils.clip_grad_norm_([a, b], 2.0, norm_type=math.inf) == 4.0
    np.testing.assert_allclose(b.grad, [-2.0], rtol=1e-6)
    assert nn.utils.clip_grad_norm_(unused, 1.0) == 0.0
    with pytest.raises(ValueError, match="max_norm must be >= 0, got -1"):
        nn.utils.clip_grad_norm_([a], -1)


# ---- the lecture's symmetry-breaking network -----------------------------------------------------

GRID = np.linspace(-4, 4, 41).reshape(-1, 1)
TARGET = 2 * sigmoid(3 * GRID) - 2 * sigmoid(0.5 * GRID)


def lecture_network(constant: float | None) -> nn.Sequential:
    """f(x) = sigma(x^T W_1)^T w_0 with one input and two hidden units, no biases."""
    model = nn.Sequential(
        nn.Linear(1, 2, bias=False, dtype=np.float64),
        nn.Sigmoid(),
        nn.Linear(2, 1, bias=False, dtype=np.float64),
    )
    if constant is not None:
        for parameter in model.parameters():
            init.constant_(parameter, constant)
    return model


def gradient_descent(model: nn.Sequential, steps: int = 400, lr: float = 1.0) -> float:
    x, y = mg.Tensor(GRID), mg.Tensor(TARGET)
    for _ in range(steps):
        model.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        for parameter in model.parameters():
            parameter.data -= lr * parameter.grad
    return loss.item()


def test_symmetric_units_get_the_lectures_equal_gradients():
    """Lecture 001, "Symmetry-breaking": with w_11 = w_12 = a, d f / d w_01 = sigma(x_1 a) =
    d f / d w_02, so the MSE gradients of the two output weights are equal too."""
    model = lecture_network(0.5)
    nn.MSELoss()(model(mg.Tensor(GRID)), mg.Tensor(TARGET)).backward()
    f = 2 * 0.5 * sigmoid(0.5 * GRID)
    expected = np.mean(2 * (f - TARGET) * sigmoid(0.5 * GRID))
    np.testing.assert_allclose(model[2].weight.grad.ravel(), [expected, expected], rtol=1e-12)


def test_symmetry_breaking():
    """Started equal, the two units stay identical through training and fit the target (two
    different sigmoids) poorly; started at random they become different and fit it."""
    symmetric = lecture_network(0.5)
    symmetric_loss = gradient_descent(symmetric)
    hidden = symmetric[0].weight.data.ravel()
    assert hidden[0] == hidden[1] and hidden[0] != 0.5  # trained, yet still equal
    output = symmetric[2].weight.data.ravel()
    assert output[0] == output[1]
    mg.manual_seed(1)
    random = lecture_network(None)
    random_loss = gradient_descent(random)
    hidden = np.sort(random[0].weight.data.ravel())
    np.testing.assert_allclose(hidden, [0.5, 3.0], atol=0.1)  # the target's two sigmoids
    assert random_loss < symmetric_loss / 1000
