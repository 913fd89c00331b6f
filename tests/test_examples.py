"""Every example runs with --small, writes its figure, and prints the lecture's numbers."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
REPORT_LINE = re.compile(r"^(?P<name>[^#\n].*?) = (?P<values>[-+0-9.eE infa]+)$", re.MULTILINE)


def run_example(name: str, out: Path, monkeypatch, capsys) -> dict[str, np.ndarray]:
    """Run examples/NAME.py --small --out OUT in this process; its `name = values` lines, parsed."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / f"{name}.py"), "--small", "--out", str(out)])
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    printed = capsys.readouterr().out
    numbers = {
        match["name"]: np.array([float(v) for v in match["values"].split()])
        for match in REPORT_LINE.finditer(printed)
    }
    numbers["_stdout"] = printed
    return numbers


@pytest.fixture
def example(tmp_path, monkeypatch, capsys):
    def run(name: str) -> dict:
        numbers = run_example(name, tmp_path, monkeypatch, capsys)
        figures = sorted(
            p.relative_to(tmp_path).as_posix()
            for p in tmp_path.rglob("*")
            if p.suffix in (".png", ".svg", ".dot")
        )
        assert figures, f"{name} wrote no figure"
        numbers["_figures"] = figures
        return numbers

    return run


def test_every_example_is_covered_here():
    tested = {name[len("test_") :] for name in globals() if name.startswith("test_")}
    missing = [script for script in SCRIPTS if script not in tested]
    assert not missing, f"examples without a test: {missing}"


def test_an_example_runs_alone_as_a_script(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "parabola_exercise.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "x_t = 4 2 1 0.5 0.25 0.125" in result.stdout
    assert (tmp_path / "parabola_exercise.png").is_file()


def test_examples_print_numbers_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    numbers = run_example("secret_number", tmp_path, monkeypatch, capsys)
    assert "matplotlib is not installed" in numbers["_stdout"]
    assert list(numbers["theta lr=0.75"][:4]) == [5, 0.5, 2.75, 1.625]
    assert list(tmp_path.iterdir()) == []


# ---- lecture 002 ---------------------------------------------------------------------------------


def test_secret_number(example):
    n = example("secret_number")
    assert list(n["data x"]) == [2, 3, 5, 8] and list(n["data y"]) == [4, 5, 7, 10]
    assert list(n["theta lr=1"]) == [5, -1, 5, -1, 5, -1, 5]  # 'Gradient Descent (first try)'
    assert list(n["slope lr=1"][:2]) == [6, -6]
    # 'Gradient Descent (second try)': 0.5, 2.75, 1.625 (the slide misprints 2.25 and 1.875)
    assert list(n["theta lr=0.75"][:5]) == [5, 0.5, 2.75, 1.625, 2.1875]
    assert list(n["slope lr=0.75"][:3]) == [6, -3, 1.5]
    assert np.all(np.diff(n["loss lr=0.75"]) < 0)
    assert "theta_2 = 0.5 + 2.25 = 2.75" in n["_stdout"]


def test_noisy_secret_number(example):
    n = example("noisy_secret_number")
    assert list(n["differences y - x"]) == [1, 3, 0, 4]
    assert list(n["theta lr=0.25"][:4]) == [5, 3.5, 2.75, 2.375]  # the distance to 2 halves
    assert n["theta final"][0] == pytest.approx(2, abs=0.02)
    assert n["loss final"][0] == pytest.approx(2.5, abs=1e-3)  # optimal loss > 0
    assert list(n["per-point loss at theta=2"]) == [1, 1, 4, 4]


# ---- lecture 004 ---------------------------------------------------------------------------------


def test_parabola_exercise(example):
    n = example("parabola_exercise")
    assert list(n["x_t"]) == [4, 2, 1, 0.5, 0.25, 0.125]
    assert list(n["f(x_t)"]) == pytest.approx([18, 6, 3, 2.25, 2.0625, 2.015625])
    assert list(n["df/dx(x_t)"]) == [8, 4, 2, 1, 0.5, 0.25]


def test_learning_rates(example):
    n = example("learning_rates")
    slow, good = n["x_t eta=0.05"], n["x_t eta=0.45"]
    assert slow[1] == pytest.approx(3.6) and np.all(np.diff(slow) < 0) and slow[-1] > 1
    assert good[1] == pytest.approx(0.4) and abs(good[-1]) < 1e-6
    assert n["x_t eta=0.9"][1] == pytest.approx(-3.2)  # overshoots, still converges
    large = n["x_t eta=1.05"]
    assert large[1] == pytest.approx(-4.4) and np.all(np.diff(np.abs(large)) > 0)
    assert n["f final eta=1.05"][0] > 18


# ---- lecture 001 ---------------------------------------------------------------------------------


def test_dropout(example):
    n = example("dropout")
    exact = n["x^T w"][0]
    assert n["(1-r) x^T w"][0] == pytest.approx(0.5 * exact)
    assert n["eval rule (1-r) x, linear"][0] == pytest.approx(0.5 * exact, rel=1e-5)
    assert n["eval rule identity, linear"][0] == pytest.approx(exact, rel=1e-5)
    plain_se, inverted_se = n["standard error, no scaling"][0], n["standard error, inverted"][0]
    assert abs(n["mean DO_r(x)^T w, no scaling"][0] - 0.5 * exact) < 4 * plain_se
    assert abs(n["mean DO_r(x)^T w, inverted"][0] - exact) < 4 * inverted_se


def test_cnn_digits(example):
    n = example("cnn_digits")
    assert n["parameters"][0] == 16 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 128 * 10 + 10
    assert n["buffers"][0] == 2 * 16 + 2 * 32 + 2  # running mean and var, and two batch counts
    accuracies = n["test accuracy by epoch"]
    assert len(accuracies) == 3 and accuracies[-1] > 0.85  # 3 epochs on 600 images; chance 0.1
    assert n["max |train - eval logits|"][0] > 0  # the two modes normalize differently
    assert n["same prediction in both modes"][0] > 0.8
    assert n["_figures"] == ["cnn_digits.png"]


def test_backward_cost(example):
    n = example("backward_cost")
    assert list(n["neuron backward flops dz dw dx"]) == [3, 8, 8]  # O(1), then d and d
    assert n["neuron matches the engine"][0] == 1
    assert n["lecture network d=8 L=6 N=100: N L d^2"][0] == 38400
    assert n["lecture network: backward flops, matmul part"][1] == 4 * 38400
    assert n["backward matmul flops / (N L d^2)"][0] == 4
    assert n["x when d doubles"][0] == 4
    assert n["x when L doubles"][0] == 2 and n["x when N doubles"][0] == 2
    assert n["full-batch step / SGD step"][0] == 32  # N of the largest batch (--small: 32)
    assert n["AlexNet one step L N d^2"][0] == 1.6e15
    assert "backward_cost.png" in n["_figures"]


def test_backward_frames(example):
    n = example("backward_frames")
    ops = int(n["ops in the graph"][0])
    assert ops == 6  # matmul, sigmoid, matmul, sub, pow, sum
    assert n["frames written"][0] == ops
    assert len([f for f in n["_figures"] if f.startswith("frames/frame_")]) == ops
    assert n["max |frames' backward - mg.grad|"][0] == 0
    # dLoss/dw0 = 2 (prediction - 1) sigma(x^T W1): by hand from x = [1, -2]
    hidden = 1 / (1 + np.exp(-np.array([1 * 0.5 - 2 * 0.2, 1 * -0.3 - 2 * 0.8])))
    prediction = hidden @ np.array([1.0, -1.0])
    assert n["loss"][0] == pytest.approx((prediction - 1) ** 2, rel=1e-6)
    assert list(n["dLoss/dw0"]) == pytest.approx(2 * (prediction - 1) * hidden, rel=1e-5)


# ---- lecture 003 ---------------------------------------------------------------------------------


def test_logistic_regression(example):
    n = example("logistic_regression")
    assert list(n["speeds"]) == [30, 33, 35, 37, 39] and list(n["tickets"]) == [0, 0, 0, 1, 1]
    engine, slide = n["d/da sum y_i ln sigma: engine, slide formula"]
    assert engine == pytest.approx(slide, rel=1e-6)  # 'Recap: Logistic regression'
    first, last = n["loss first last"]
    assert last < first / 10  # separable data: the loss keeps falling
    assert 35 < n["decision boundary speed"][0] < 37
    assert np.all(np.diff(n["P(ticket)"]) > 0)
    assert n["accuracy"][0] == 1


def test_lr_schedules(example):
    n = example("lr_schedules")
    for name in ("linear", "inverse time", "exponential"):
        assert n[f"max |scheduler - formula|, {name}"][0] < 1e-12
    assert list(n["lr linear"][:3]) == pytest.approx([0.2, 0.191, 0.182])  # 0.2 -> 0.02 in 20
    assert list(n["lr inverse time"][:3]) == pytest.approx([0.2, 0.2 / 1.1, 0.2 / 1.2])
    assert list(n["lr exponential"][:2]) == pytest.approx([0.2, 0.2 * np.exp(-0.1)], rel=1e-6)
    assert list(n["slide recursion alpha_t/(1+rho t)"][:4]) == pytest.approx(
        [0.2, 0.2, 0.2 / 1.1, 0.2 / 1.1 / 1.2]
    )
    constant = n["SGD last-epoch spread of theta, constant"][0]
    for name in ("linear", "inverse time", "exponential"):
        assert n[f"SGD last-epoch spread of theta, {name}"][0] < constant / 1.5
        assert n[f"SGD final theta, {name}"][0] == pytest.approx(2, abs=0.3)


def test_line_search(example):
    n = example("line_search")
    exact, found = n["first step: exact alpha*, line search's alpha"]
    assert exact == pytest.approx(306 / 2331) and found == pytest.approx(exact, rel=1e-4)
    assert np.all(np.abs(n["cos between consecutive gradients, exact search"]) < 1e-4)
    assert n["steps to f < 1e-6, fixed alpha=0.05"][0] == -1  # not within 60 steps
    for name in ("backtracking", "exact (golden)", "fixed alpha=0.18"):
        assert 0 < n[f"steps to f < 1e-6, {name}"][0] <= 45
    assert n["f after 10 steps, exact (golden)"][0] < n["f after 10 steps, fixed alpha=0.05"][0]


def test_momentum(example):
    n = example("momentum")
    assert list(n["alpha lambda"]) == pytest.approx([1 / 9, 4 / 9])
    assert n["max |lecture form - optim.SGD|"][0] < 1e-12
    assert n["max |lecture form - unrolled sum|"][0] < 1e-12
    plain, heavy = (
        n["steps to |x| < 1e-3, gradient descent"][0],
        n["steps to |x| < 1e-3, momentum"][0],
    )
    assert 0 < heavy < plain / 3
    assert n["step length / (alpha |grad|) on a slope, lambda=0.9"][0] == pytest.approx(
        10, rel=1e-6
    )


# ---- lecture 004 optimizers; lecture 001 minibatches, init, symmetry --------------------------


def test_optimizers(example):
    n = example("optimizers")
    names = ("SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam")
    escapes = {name: n[f"saddle steps to |y|>1, {name}"][0] for name in names}
    assert all(steps > 0 for steps in escapes.values())
    assert escapes["SGD"] == max(escapes.values())  # plain GD lingers longest by the saddle
    for name in names:
        assert n[f"saddle final f, {name}"][0] == pytest.approx(-1, abs=1e-3)  # at (0, +-sqrt 2)
    for name in ("momentum", "Nesterov"):
        assert n[f"rosenbrock final f, {name}"][0] < 0.01
    assert n["rosenbrock final f, momentum"][0] < n["rosenbrock final f, SGD"][0]


def test_batch_vs_stochastic(example):
    n = example("batch_vs_stochastic")
    assert list(n["homework step x - 0.5 grad"]) == [3.5, 2]
    assert list(n["homework full gradient"]) == pytest.approx([3.8, 2.2])
    assert list(n["homework minibatch {2,4,5} gradient"]) == pytest.approx([10 / 3, 2])
    assert list(n["updates per epoch, n=1200, B=50 200 32"]) == [24, 6, 38]
    assert n["updates per epoch, B=32 drop_last"][0] == 37
    assert n["updates per epoch, batch"][0] == 1
    assert n["updates per epoch, minibatch B=16"][0] == 13  # 200 examples: 12 full + 1 of 8
    assert n["updates per epoch, stochastic B=1"][0] == 200
    first_epoch = {k: n[f"full loss after each epoch, {k}"][0] for k in ("batch", "stochastic B=1")}
    assert first_epoch["stochastic B=1"] < first_epoch["batch"] / 10  # 'GD vs SGD'


def test_minibatch_variance(example):
    n = example("minibatch_variance")
    assert n["minibatch gradient by backward - mean of its rows"][0] < 1e-9
    sizes, variances = n["B"], n["total variance of the minibatch gradient"]
    per_example = n["per-example variance (the B = 1 law's constant)"][0]
    assert list(sizes) == [1, 2, 4, 8, 16, 32, 64]
    assert np.all(np.abs(n["B * variance"] / per_example - 1) < 0.3)  # the 1/B law
    standard_errors = np.sqrt(variances / n["draws per B"][0])
    assert np.all(n["|mean of estimates - full gradient|"] < 5 * standard_errors)  # unbiased


def test_scaled_init(example):
    n = example("scaled_init")
    d = n["d"]
    assert np.all(np.abs(n["Var[x^T W]/mean(x^2), N(0,1)"] / d - 1) < 0.25)  # grows like d
    assert np.all(np.abs(n["Var[x^T W]/mean(x^2), lecture Kaiming N(0,1/sqrt d)"] - 1) < 0.25)
    xavier = n["Var[x^T W]/mean(x^2), Xavier N(0,sqrt(2/(d+e)))"]
    assert np.all(np.abs(xavier / n["Xavier prediction 2d/(d+e)"] - 1) < 0.25)


def test_symmetry_breaking(example):
    n = example("symmetry_breaking")
    same = n["initial gradients w_01 w_02, constant"]
    assert same[0] == same[1]  # 'Symmetry-breaking': identical derivatives
    hidden, output = (
        n["hidden weights w_11 w_12, constant"],
        n["output weights w_01 w_02, constant"],
    )
    assert hidden[0] == hidden[1] and output[0] == output[1]  # still identical after training
    random_hidden = n["hidden weights w_11 w_12, random"]
    assert abs(random_hidden[0] - random_hidden[1]) > 1
    assert n["final loss, random"][0] < n["final loss, constant"][0] / 10
