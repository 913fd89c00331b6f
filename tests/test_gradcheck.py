"""mg.gradcheck, mg.gradgradcheck, mg.gradcheck_graph, and the property-test kit in
minigrad.testing that is built on them."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad.testing import arrays, axes_and_keepdims, broadcastable_shapes, check_op, shapes


def f64(values, requires_grad=True):
    return mg.tensor(values, dtype=np.float64, requires_grad=requires_grad)


class Square(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x


class BadSquare(mg.Function):
    """x^2 whose backward forgets the factor 2 on the second element only."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        factor = np.full(x.shape, 2.0)
        factor.flat[1] = 1.0
        return grad * factor * x


# ---- gradcheck ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "full", "fast"])
def test_gradcheck_passes_on_correct_functions(mode):
    x = f64([[0.3, -0.2, 0.9], [1.1, 0.5, -0.7]])
    w = f64([[0.4, -1.0], [0.2, 0.3], [-0.5, 0.8]])
    assert mg.gradcheck(lambda a, b: (a @ b).tanh().sum(axis=0), (x, w), mode=mode) is True
    assert mg.gradcheck(lambda a: a.softmax(axis=0), (x,), mode=mode) is True


def test_gradcheck_checks_only_inputs_that_require_grad_and_multiple_outputs():
    x = f64([0.5, 1.5])
    constant = f64([2.0, 3.0], requires_grad=False)
    assert mg.gradcheck(lambda a, c: (a * c, a.exp()), (x, constant))


def test_gradcheck_failure_names_input_element_values_and_difference():
    x = f64([0.5, -1.0, 2.0])
    with pytest.raises(mg.GradcheckError) as error:
        mg.gradcheck(lambda c, a: BadSquare.apply(a).sum() * c, (f64(1.5, False), x), mode="full")
    message = str(error.value)
    # d/dx_1 of 1.5 x^2 is 1.5 * 2 * (-1) = -3; the bad backward gives 1.5 * 1 * (-1) = -1.5.
    match = re.search(
        r"input 1 \(shape \(3,\)\) at element \(1,\), output element 0: engine gradient "
        r"(\S+), finite difference (\S+), difference (\S+)",
        message,
    )
    assert match, message
    engine, numeric, difference = (float(v) for v in match.groups())
    assert engine == pytest.approx(-1.5)
    assert numeric == pytest.approx(-3.0, rel=1e-6)
    assert difference == pytest.approx(1.5, rel=1e-3)
    assert "1 of 3 Jacobian entries disagree" in message


def test_gradcheck_fast_mode_failure_names_the_input():
    x = f64(np.linspace(-1, 1, 6).reshape(2, 3))
    with pytest.raises(
        mg.GradcheckError, match=r"fast mode.*input 0 \(shape \(2, 3\)\).*mode='full'"
    ):
        mg.gradcheck(lambda a: BadSquare.apply(a), (x,), mode="fast")


def test_gradcheck_without_raising_returns_false():
    x = f64([0.5, -1.0])
    assert mg.gradcheck(BadSquare.apply, (x,), raise_exception=False) is False
    assert mg.gradcheck(Square.apply, (x,), raise_exception=False) is True


def test_gradcheck_refuses_float32_inputs():
    with pytest.raises(TypeError, match="gradcheck needs float64 inputs, but input 0 is float32"):
        mg.gradcheck(lambda a: a * 2, (mg.tensor([1.0], requires_grad=True),))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradcheck(lambda a: a * 2, (f64([1.0], requires_grad=False),))


def test_gradcheck_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be 'auto', 'full' or 'fast', got 'exact'"):
        mg.gradcheck(lambda a: a * 2, (f64([1.0]),), mode="exact")


def test_gradcheck_leaves_inputs_and_grads_alone():
    x = f64([0.5, -1.0])
    before = x.data.copy()
    mg.gradcheck(lambda a: (a**3).sum(), (x,))
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


# ---- non-finite values and the tolerance arguments ----------------------------------------------


class NaNBackward(mg.Function):
    """x^2 whose backward answers NaN: a gradient that can never be right."""

    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return grad * np.nan


class InfiniteStep(mg.Function):
    """+inf where x > 0, else 0: at x = 0 the central difference is inf / (2 eps) = +inf. Its
    backward answers `slope` times the upstream gradient."""

    slope = np.inf

    @staticmethod
    def forward(ctx, x):
        return np.where(x > 0, np.inf, 0.0)

    @staticmethod
    def backward(ctx, grad):
        return grad * InfiniteStep.slope


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_fails_where_the_finite_difference_is_nan(mode):
    """log(-1) is NaN, so its finite difference is NaN: no engine value can agree with it."""
    x = f64([-1.0, 2.0])
    with np.errstate(invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match="finite difference nan.*non-finite"):
            mg.gradcheck(lambda t: t.log(), (x,), mode=mode)
        assert mg.gradcheck(lambda t: t.log(), (x,), mode=mode, raise_exception=False) is False


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_fails_where_the_engine_gradient_is_nan(mode):
    x = f64([0.5, -1.5])
    with pytest.raises(mg.GradcheckError, match=r"engine (gradient|u\^T J v =) nan"):
        mg.gradcheck(NaNBackward.apply, (x,), mode=mode)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_fails_on_an_infinity_against_a_finite_value(mode, monkeypatch):
    x = f64([0.5, -1.5])
    monkeypatch.setattr(Square, "backward", staticmethod(lambda ctx, grad: grad * np.inf))
    with np.errstate(invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match="inf"):
            mg.gradcheck(Square.apply, (x,), mode=mode)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradcheck_accepts_the_same_infinity_on_both_sides_only(mode, monkeypatch):
    x = f64([0.0])
    assert mg.gradcheck(InfiniteStep.apply, (x,), mode=mode)
    monkeypatch.setattr(InfiniteStep, "slope", -np.inf)
    # In fast mode the projections carry random signs, so only the disagreement is certain.
    with pytest.raises(mg.GradcheckError, match="-inf.*non-finite value never agrees"):
        mg.gradcheck(InfiniteStep.apply, (x,), mode=mode)


@pytest.mark.parametrize(
    "engine, numeric, bad",
    [
        (1.0, 1.0 + 1e-9, False),
        (1.0, 1.1, True),
        (np.nan, 1.0, True),
        (1.0, np.nan, True),
        (np.nan, np.nan, True),
        (np.inf, np.inf, False),
        (-np.inf, -np.inf, False),
        (np.inf, -np.inf, True),
        (np.inf, 1e308, True),
        (1e308, np.inf, True),
    ],
)
def test_disagreement_elementwise(engine, numeric, bad):
    from minigrad.gradcheck import disagreement

    found, difference = disagreement(np.array([engine]), np.array([numeric]), 1e-5, 1e-3)
    assert found.tolist() == [bad]
    if np.isfinite(engine) and np.isfinite(numeric):
        assert difference[0] == pytest.approx(abs(engine - numeric))


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_gradgradcheck_fails_where_second_derivatives_are_nan(mode):
    """sqrt'(x) = 1 / (2 sqrt x) is NaN at x = -1, in the engine and in the finite difference."""
    x = f64([-1.0, 4.0])
    with np.errstate(invalid="ignore"):
        with pytest.raises(mg.GradcheckError, match="nan"):
            mg.gradgradcheck(lambda t: t.sqrt(), (x,), mode=mode)
        assert mg.gradgradcheck(lambda t: t.sqrt(), (x,), mode=mode, raise_exception=False) is False


def test_gradcheck_reports_a_nan_entry_before_a_larger_finite_error():
    class WrongAndNaN(Square):
        """x^2 whose backward is wrong on element 1 (factor 1, not 2) and NaN on element 2."""

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * np.array([2.0, 1.0, np.nan]) * x

    with pytest.raises(mg.GradcheckError) as error:
        mg.gradcheck(WrongAndNaN.apply, (f64([0.5, -3.0, 1.0]),), mode="full")
    message = str(error.value)
    assert "at element (2,), output element 0: engine gradient nan" in message
    # the wrong entry (1, 1) and the NaN column 2 (0 * NaN is NaN off the diagonal too)
    assert "4 of 9 Jacobian entries disagree" in message


def test_gradcheck_graph_fails_a_node_whose_finite_difference_is_nan():
    """sqrt at 0: the VJP is g / (2 sqrt 0) = inf and the central difference takes sqrt(-eps) =
    NaN. The nodes after it see the finite value 0 and pass."""
    x = f64([0.0, 4.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        report = mg.gradcheck_graph((x.sqrt() * 3.0).sum())
    assert not report.ok
    assert [node.op.name for node in report.bad_nodes] == ["Sqrt"]
    assert np.isnan(report.failures[0].numeric)


def test_gradcheck_graph_fails_a_node_whose_vjp_is_nan():
    x = f64([0.5, 2.0])
    report = mg.gradcheck_graph(NaNBackward.apply(x).sum())
    assert [node.op.name for node in report.bad_nodes] == ["NaNBackward"]


BAD_ARGUMENTS = [
    ("eps", 0, "eps must be a finite number > 0, got 0"),
    ("eps", 0.0, "eps must be a finite number > 0, got 0.0"),
    ("eps", -1e-6, "eps must be a finite number > 0, got -1e-06"),
    ("eps", np.nan, "eps must be a finite number > 0, got nan"),
    ("eps", np.inf, "eps must be a finite number > 0, got inf"),
    ("eps", "1e-6", "eps must be a finite number > 0, got '1e-6'"),
    ("eps", True, "eps must be a finite number > 0, got True"),
    ("atol", -1e-5, "atol must be a finite number >= 0, got -1e-05"),
    ("atol", np.nan, "atol must be a finite number >= 0, got nan"),
    ("atol", np.inf, "atol must be a finite number >= 0, got inf"),
    ("rtol", np.nan, "rtol must be a finite number >= 0, got nan"),
    ("rtol", -np.inf, "rtol must be a finite number >= 0, got -inf"),
    ("rtol", None, "rtol must be a finite number >= 0, got None"),
]
CHECKERS = {
    "gradcheck": lambda **kw: mg.gradcheck(lambda t: t * t, (f64([1.0]),), **kw),
    "gradcheck_fast": lambda **kw: mg.gradcheck(lambda t: t * t, (f64([1.0]),), mode="fast", **kw),
    "gradgradcheck": lambda **kw: mg.gradgradcheck(lambda t: t * t, (f64([1.0]),), **kw),
    "gradcheck_graph": lambda **kw: mg.gradcheck_graph((f64([1.0]) * 2.0).sum(), **kw),
    "check_op": lambda **kw: check_op(lambda t: t * t, f64([1.0, -0.5]), **kw),
}


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("name, value, message", BAD_ARGUMENTS)
def test_bad_tolerances_are_refused_where_they_enter(checker, name, value, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        CHECKERS[checker](**{name: value})


@pytest.mark.parametrize("checker", CHECKERS)
def test_zero_tolerances_and_numpy_numbers_are_accepted(checker):
    CHECKERS[checker](eps=np.float64(1e-6), atol=0, rtol=np.float32(1e-3))


@pytest.mark.parametrize("projections", [0, -1, 1.5, True])
def test_fast_mode_needs_at_least_one_projection(projections):
    with pytest.raises(ValueError, match=f"projections must be an int >= 1, got {projections}"):
        mg.gradcheck(lambda t: t * t, (f64([1.0]),), mode="fast", projections=projections)


def test_a_wrong_backward_at_eps_zero_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="eps must be a finite number > 0, got 0"):
        mg.gradcheck(BadSquare.apply, (f64([0.5, -1.0]),), eps=0, raise_exception=False)


@pytest.mark.parametrize(
    "option, text, message",
    [
        ("--eps", "0", "argument --eps: eps must be a finite number > 0, got 0.0"),
        ("--eps", "-1e-6", "argument --eps: eps must be a finite number > 0, got -1e-06"),
        ("--eps", "inf", "argument --eps: eps must be a finite number > 0, got inf"),
        ("--eps", "tiny", "argument --eps: eps must be a number, got 'tiny'"),
        ("--rtol", "nan", "argument --rtol: rtol must be a finite number >= 0, got nan"),
        ("--atol", "-1", "argument --atol: atol must be a finite number >= 0, got -1.0"),
        ("--atol", "nan", "argument --atol: atol must be a finite number >= 0, got nan"),
    ],
)
def test_gradcheck_command_refuses_bad_tolerances(option, text, message, capsys):
    from minigrad.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["gradcheck", f"{option}={text}"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"minigrad gradcheck: error: {message} (see `minigrad gradcheck --help`)"
    ]


def test_gradcheck_command_fails_an_op_whose_vjp_is_nan(monkeypatch, capsys):
    from minigrad import ops
    from minigrad.__main__ import main

    monkeypatch.setattr(ops.Sin, "vjp", staticmethod(lambda g, out, inputs, needs: (g * np.nan,)))
    assert main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^Sin\s.*\snan\s+FAIL$", out, re.MULTILINE), out
    assert "failed: Sin" in out


# ---- gradgradcheck -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, shapes_in",
    [
        (lambda a: a.tanh(), [(2, 3)]),
        (lambda a: a.softmax(axis=1), [(2, 3)]),
        (lambda a: a.log_softmax(axis=0), [(3, 2)]),
        (lambda a: a.logsumexp(axis=1), [(2, 3)]),
        (lambda a, b: (a @ b).tanh() @ b.T, [(2, 3), (3, 2)]),
        (lambda a, b: F.linear(a, b).sigmoid(), [(2, 3), (3, 2)]),
        (lambda a: F.cross_entropy(a, np.array([0, 2])), [(2, 3)]),
    ],
    ids=["tanh", "softmax", "log_softmax", "logsumexp", "matmul_chain", "linear", "ce"],
)
def test_gradgradcheck_passes_on_twice_differentiable_chains(fn, shapes_in, seeded):
    inputs = [mg.randn(*s, dtype=np.float64, requires_grad=True) for s in shapes_in]
    assert mg.gradgradcheck(fn, inputs)


def test_custom_function_is_differentiable_once_only():
    """A custom Function's backward runs on ndarrays and is not recorded, so its gradient is a
    constant to the tape: first derivatives are right, second derivatives through it come out 0
    and gradgradcheck says so."""
    x = f64([0.5, -1.0, 2.0])
    assert mg.gradcheck(Square.apply, (x,))
    (first,) = mg.grad(Square.apply(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(first.data, 2 * x.data)
    assert not first.requires_grad
    with pytest.raises(mg.GradcheckError, match=r"engine gradient 0, finite difference 2"):
        mg.gradgradcheck(Square.apply, (x,), grad_outputs=np.ones(3))


# ---- gradcheck_graph ---------------------------------------------------------------------------


def mlp_loss(x, layers, labels, bad=None):
    h = x
    for i, (w, b) in enumerate(layers):
        h = F.linear(h, w, b)
        if i < len(layers) - 1:
            h = h.tanh() if bad is None or i != 1 else bad.apply(h)
    return F.cross_entropy(h, labels)


def make_mlp():
    sizes = [4, 5, 5, 3]
    return [
        (
            mg.randn(d, e, dtype=np.float64, requires_grad=True),
            mg.randn(e, dtype=np.float64, requires_grad=True),
        )
        for d, e in zip(sizes[:-1], sizes[1:])
    ]


def test_gradcheck_graph_of_a_three_layer_mlp_is_ok(seeded):
    x = mg.randn(6, 4, dtype=np.float64)
    loss = mlp_loss(x, make_mlp(), np.array([0, 1, 2, 0, 1, 2]))
    report = mg.gradcheck_graph(loss)
    assert report.ok and not report.failures and report.bad_nodes == set()
    assert report.checked == 3 + 2 + 1  # Linear x3, Tanh x2, SoftmaxCrossEntropy
    assert str(report) == "all 6 nodes agree with finite differences"


def test_gradcheck_graph_names_the_wrong_node(seeded):
    x = mg.randn(6, 4, dtype=np.float64)
    loss = mlp_loss(x, make_mlp(), np.array([0, 1, 2, 0, 1, 2]), bad=BadSquare)
    report = mg.gradcheck_graph(loss)
    assert not report.ok
    (bad,) = report.bad_nodes
    assert bad.op.name == "BadSquare"
    assert [f.input_index for f in report.failures] == [0]
    assert "BadSquareBackward" in str(report) and "1 of 6 node checks disagree" in str(report)
    with pytest.raises(mg.GradcheckError, match="BadSquareBackward"):
        mg.gradcheck_graph(loss, raise_exception=True)


def test_gradcheck_graph_works_on_a_float32_graph(seeded):
    """Node checks replay in float64, so a float32 model can be checked as it is."""
    x = mg.randn(3, 4)
    w = mg.randn(4, 2, requires_grad=True)
    assert mg.gradcheck_graph(((x @ w).sigmoid() * 2).mean()).ok


def test_gradcheck_graph_after_backward_asks_for_retain_graph():
    x = f64([1.0, 2.0])
    loss = (x.exp()).sum()
    loss.backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        mg.gradcheck_graph(loss)


def test_gradcheck_graph_needs_a_tensor():
    with pytest.raises(TypeError, match="needs a Tensor, got ndarray"):
        mg.gradcheck_graph(np.ones(2))


# ---- minigrad.testing: strategies --------------------------------------------------------------


@given(drawn=broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast_together(drawn):
    assert len(drawn) == 3
    np.broadcast_shapes(*drawn)
    assert all(len(s) <= 3 and all(1 <= n <= 4 for n in s) for s in drawn)


@given(drawn=shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(drawn):
    assert len(drawn) in (1, 2) and all(n in (2, 3) for n in drawn)


@given(array=arrays((3, 2), min_value=-1.0, max_value=1.0, away_from=(0.0, 0.5), margin=0.1))
def test_arrays_stay_in_bounds_and_away_from_singularities(array):
    assert array.shape == (3, 2) and array.dtype == np.float64
    assert np.all((array >= -1) & (array <= 1))
    assert np.all(np.abs(array) >= 0.1) and np.all(np.abs(array - 0.5) >= 0.1)


@given(array=arrays(shapes(max_side=3), dtype=np.float32, min_gap=0.1))
def test_arrays_with_min_gap_have_no_close_pairs(array):
    assert array.dtype == np.float32
    values = np.sort(array.ravel().astype(np.float64))
    assert np.all(np.diff(values) >= 0.1 - 1e-6)


def test_arrays_min_gap_that_cannot_fit_raises():
    @given(arrays((10,), min_value=0.0, max_value=1.0, min_gap=0.5))
    def draw(_):
        pass

    with pytest.raises(ValueError, match="10 distinct values at least 0.5 apart do not fit"):
        draw()


@given(data=st.data())
def test_axes_and_keepdims_are_valid_for_numpy(data):
    shape = data.draw(shapes())
    axis, keepdims = data.draw(axes_and_keepdims(len(shape)))
    assert isinstance(keepdims, bool)
    np.sum(np.zeros(shape), axis=axis, keepdims=keepdims)
    if shape:
        single, _ = data.draw(axes_and_keepdims(len(shape), single_axis=True))
        assert isinstance(single, int) and -len(shape) <= single < len(shape)


# ---- minigrad.testing: check_op ----------------------------------------------------------------


def test_check_op_passes_a_correct_custom_function_on_drawn_and_given_inputs():
    check_op(Square, (3, 2), reference=lambda x: x * x)
    check_op(Square, f64([[0.5, -1.0]]))
    check_op(lambda a, b: a * b, shapes=broadcastable_shapes(2), reference=np.multiply)
    check_op(lambda x: x.log(), (2, 2), min_value=0.1, reference=np.log, second_order=True)


def test_check_op_catches_a_wrong_backward():
    with pytest.raises(mg.GradcheckError, match="input 0"):
        check_op(BadSquare, (3,), max_examples=5)


def test_check_op_catches_a_wrong_reference():
    with pytest.raises(AssertionError, match="forward differs from the reference"):
        check_op(Square, (2,), reference=lambda x: x * x * 2, max_examples=5)


def test_check_op_accepts_a_backward_in_the_broadcast_shape():
    class KeepsBroadcastShape(mg.Function):
        """a * b whose backward returns gradients in the broadcast shape: the engine reduces
        them to each input's shape, which check_op verifies in float64 and float32."""

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a

    check_op(KeepsBroadcastShape, (3, 1), (4,))


def test_check_op_catches_a_second_derivative_that_is_missing():
    with pytest.raises(mg.GradcheckError):
        check_op(Square, (2,), second_order=True, max_examples=3)


def test_check_op_needs_one_way_of_giving_inputs():
    with pytest.raises(TypeError, match="either positionally or as shapes="):
        check_op(Square, (2,), shapes=broadcastable_shapes(1))


def test_main_package_never_imports_hypothesis():
    code = "import sys, minigrad; assert 'hypothesis' not in sys.modules, 'hypothesis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_testing_without_hypothesis_says_what_to_install():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import minigrad.testing\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "minigrad.testing needs hypothesis" in result.stdout
    assert "pip install 'minigrad-tape[dev]'" in result.stdout
