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
