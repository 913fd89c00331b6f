"""The `minigrad` command line: help, each subcommand on a tiny budget, and every bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.__main__ import main
from minigrad.cli import artifacts, data_sources
from minigrad.cli import gradcheck as gradcheck_command
from minigrad.cli.model import accuracy, load_run, standardize

HAVE_DOT = shutil.which("dot") is not None
REQUIRE_DOT = os.environ.get("MINIGRAD_REQUIRE_DOT") == "1"
SUBCOMMANDS = ("train", "graph", "trace", "gradcheck")


def picture(folder, stem: str, suffix: str = ".svg"):
    """The rendered picture, or (without `dot`, unless CI requires it) its DOT source."""
    if HAVE_DOT or REQUIRE_DOT:
        return folder / f"{stem}{suffix}"
    return folder / f"{stem}.dot"


# ---- help --------------------------------------------------------------------------------------


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in text


@pytest.mark.parametrize(
    "name, options",
    [
        (
            "train",
            [
                "--out",
                "--data",
                "--data-dir",
                "--hidden",
                "--layers",
                "--width",
                "--activation",
                "--init",
                "--dropout",
                "--optimizer",
                "--lr",
                "--schedule",
                "--batch-size",
                "--epochs",
                "--seed",
            ],
        ),
        ("graph", ["--expr", "--model", "--out"]),
        ("trace", ["--d", "--L", "--N"]),
        ("gradcheck", ["--eps", "--atol", "--rtol"]),
    ],
)
def test_subcommand_help(name, options, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in options:
        assert option in text, f"{name} --help does not mention {option}"


def test_no_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "minigrad", "gradcheck", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "finite differences" in result.stdout


# ---- gradcheck ---------------------------------------------------------------------------------


def test_gradcheck_checks_every_primitive(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    names = [op.name for op in gradcheck_command.primitives()]
    assert {"Add", "MatMul", "Linear", "SoftmaxCrossEntropy", "GetItem", "IndexAdd"} <= set(names)
    for name in names:
        row = re.search(rf"^{name}\s.*\s(\S+)\s+ok$", out, re.MULTILINE)
        assert row, f"no passing row for {name}"
        assert float(row.group(1)) < 1e-6
    assert f"all {len(names)} primitives agree" in out


def test_gradcheck_fails_on_a_wrong_vjp(monkeypatch, capsys):
    monkeypatch.setattr(ops.Sin, "vjp", staticmethod(lambda g, out, inputs, needs: (g,)))
    assert main(["gradcheck"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^Sin\s.*FAIL$", out, re.MULTILINE)
    assert "1 of" in out and "failed: Sin" in out


def test_gradcheck_fails_on_a_primitive_without_a_case(monkeypatch, capsys):
    table = gradcheck_command.cases()
    del table["Cos"]
    monkeypatch.setattr(gradcheck_command, "cases", lambda: table)
    assert main(["gradcheck"]) == 1
    assert re.search(r"^Cos\s.*NO CASE", capsys.readouterr().out, re.MULTILINE)


# ---- train -------------------------------------------------------------------------------------

TINY = ["--epochs", "3", "--train-size", "300", "--hidden", "16", "--lr", "0.01", "--quiet"]
TINY += ["--seed", "3"]


def test_train_writes_a_run_that_reloads_to_the_same_accuracy(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    for name in ("model.npz", "model.json", "history.json", "curves.png"):
        assert (out / name).is_file(), name
    assert picture(out, "graph").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left"

    reported = float(re.search(r"test accuracy (\d\.\d+)", printed).group(1))
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 3 and history["test_accuracy"][-1] == pytest.approx(
        reported, abs=1e-4
    )
    assert reported > 0.5  # three epochs on 300 digits already beat chance (0.1) by far

    model, architecture = load_run(out)
    assert architecture["hidden"] == [16] and architecture["in_features"] == 64
    mg.manual_seed(3)
    split = data_sources.load("digits", None, 300)
    test_x = standardize(split.test_x, architecture["mean"], architecture["std"])
    assert accuracy(model, test_x, split.test_y) == pytest.approx(architecture["test_accuracy"])
    assert architecture["test_accuracy"] == pytest.approx(reported, abs=1e-4)


def test_train_prints_plain_lines_without_tqdm(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    args = ["train", "--out", str(tmp_path / "run"), "--epochs", "2", "--train-size", "200"]
    assert main([*args, "--hidden", "8"]) == 0
    lines = re.findall(r"^epoch +(\d+)/2  loss \d+\.\d+  train acc", capsys.readouterr().out, re.M)
    assert lines == ["1", "2"]


def test_train_without_matplotlib_notes_it_and_still_saves_the_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["train", "--out", str(tmp_path / "run"), *TINY]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert (tmp_path / "run" / "model.npz").is_file()
    assert not (tmp_path / "run" / "curves.png").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--data", "imagenet"], "invalid choice: 'imagenet'"),
        (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["--schedule", "warmup"], "invalid choice: 'warmup'"),
        (["--epochs", "-3"], "expected an integer >= 1, got -3"),
        (["--epochs", "0"], "expected an integer >= 1, got 0"),
        (["--batch-size", "two"], "expected an integer, got 'two'"),
        (["--lr", "-0.1"], "expected a number >= 0, got -0.1"),
        (["--dropout", "1.5"], "expected a number in [0, 1), got 1.5"),
        (["--hidden", "64,x"], "expected an integer, got 'x'"),
        (["--data", "mnist"], "--data mnist needs --data-dir"),
        (
            ["--data", "mnist", "--data-dir", "no/such/folder"],
            "MNIST folder 'no/such/folder' does not exist",
        ),
        (["--hidden", "8", "--layers", "2"], "either --hidden or --layers/--width"),
    ],
)
def test_train_bad_input_exits_2_and_writes_nothing(
    options, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert exit_code(["train", "--out", "run", *options]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("usage:") or err.startswith("minigrad train: error:")
    assert list(tmp_path.iterdir()) == []


def exit_code(argv: list[str]) -> int:
    """What the console script exits with: main's return value, or argparse's SystemExit code."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code


def test_train_into_an_unwritable_place_exits_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["train", "--out", str(blocker / "run"), *TINY]) == 2
    assert "cannot create output folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_train_onto_an_existing_file_exits_2(tmp_path, capsys):
    target = tmp_path / "run"
    target.write_text("a file")
    assert main(["train", "--out", str(target), *TINY]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_train_failing_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def broken(digraph, path):
        raise OSError("disk full")

    monkeypatch.setattr(artifacts, "render_graph", broken)
    with pytest.raises(OSError, match="disk full"):
        main(["train", "--out", str(tmp_path / "run"), *TINY])
    assert list(tmp_path.iterdir()) == []


def test_train_on_moons_with_momentum_and_a_schedule(tmp_path, capsys):
    options = [
        "--data",
        "moons",
        "--optimizer",
        "momentum",
        "--schedule",
        "cosine",
        "--epochs",
        "3",
    ]
    assert (
        main(["train", "--out", str(tmp_path / "run"), "--quiet", "--hidden", "16", *options]) == 0
    )
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["lr"][0] == pytest.approx(0.05)
    assert history["lr"][1] < history["lr"][0]  # cosine annealing lowers it each epoch


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file: magic 0x0000 08 NN (unsigned bytes, NN dimensions), sizes, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def fake_mnist(folder, train: int = 60, test: int = 20):
    """MNIST-shaped IDX files whose images encode their label (a bright row), so it is learnable."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = np.arange(count) % 10
        images = rng.integers(0, 30, size=(count, 28, 28))
        images[np.arange(count), 2 * labels + 3, :] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def test_train_on_mnist_idx_files(tmp_path, capsys):
    folder = fake_mnist(tmp_path / "mnist")
    out = tmp_path / "run"
    options = ["--data", "mnist", "--data-dir", str(folder), "--epochs", "5", "--hidden", "32"]
    assert main(["train", "--out", str(out), "--quiet", "--lr", "0.01", *options]) == 0
    printed = capsys.readouterr().out
    assert "60 training and 20 test examples, 784 features, 10 classes" in printed
    assert float(re.search(r"test accuracy (\d\.\d+)", printed).group(1)) >= 0.9
    assert load_run(out)[1]["in_features"] == 784


def test_train_on_an_incomplete_mnist_folder_exits_2(tmp_path, capsys):
    folder = fake_mnist(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    args = ["train", "--out", str(tmp_path / "run"), "--data", "mnist", "--data-dir", str(folder)]
    assert main(args) == 2
    assert "cannot read MNIST" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist"]


# ---- trace -------------------------------------------------------------------------------------


def test_trace_prints_the_cost_table_and_the_doubling_law(capsys):
    assert main(["trace", "--d", "8", "--L", "2", "--N", "4", "--explain", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^Linear\s+2\s", out, re.MULTILINE)  # two layers, one Linear call each
    # backward matmul flops of one pass: 4 N L d^2 = 4 * 4 * 2 * 64
    assert re.search(r"backward [\d,]+ flops \(2,048 in matmuls\)", out)
    assert "doubling d: backward matmul flops x 4" in out
    assert "doubling L: backward matmul flops x 2" in out
    assert "doubling N: backward matmul flops x 2" in out
    assert "neuron j = 1 of a layer with d = 8 inputs" in out
    assert "agree with the engine" in out


@pytest.mark.parametrize(
    "options, message",
    [
        (["--d", "0"], "expected an integer >= 1, got 0"),
        (["--N", "-5"], "expected an integer >= 1, got -5"),
        (["--activation", "gelu"], "invalid choice: 'gelu'"),
        (["--d", "4", "--explain", "4"], "--explain 4: the layer has neurons 0 to 3"),
    ],
)
def test_trace_bad_input_exits_2(options, message, capsys):
    assert exit_code(["trace", *options]) == 2
    assert message in capsys.readouterr().err


# ---- graph -------------------------------------------------------------------------------------


def test_graph_of_the_default_expression(tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert main(["graph", "--out", str(out)]) == 0
    written = picture(tmp_path, "g")
    assert written.is_file()
    assert "Tanh" in written.read_text() or "tanh" in written.read_text()
    assert "graph of" in capsys.readouterr().out


def test_graph_of_a_model_as_dot_source(tmp_path):
    out = tmp_path / "m.dot"
    assert main(["graph", "--model", "4,3,2", "--out", str(out)]) == 0
    source = out.read_text()
    assert source.startswith("digraph") or "digraph" in source.splitlines()[0]
    assert "Linear" in source


@pytest.mark.parametrize(
    "options, message",
    [
        (["--expr", "x @ x"], "cannot evaluate --expr"),
        (["--expr", "open('f')"], "cannot evaluate --expr"),
        (["--expr", "3 + 4"], "expected a minigrad Tensor"),
        (["--out", "g.jpeg"], "unknown picture format"),
        (["--model", "4"], "at least two sizes"),
    ],
)
def test_graph_bad_input_exits_2(options, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", *options]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_without_dot_the_graph_is_written_as_dot_source(tmp_path, monkeypatch, capsys):
    import graphviz

    from minigrad import viz

    def missing(self, *args, **kwargs):
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(viz.Graph, "pipe", missing)
    assert main(["train", "--out", str(tmp_path / "run"), *TINY]) == 0
    assert "`dot` program is not installed" in capsys.readouterr().out
    source = (tmp_path / "run" / "graph.dot").read_text()
    assert "Linear" in source and not (tmp_path / "run" / "graph.svg").exists()
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 0
    assert (tmp_path / "g.dot").is_file() and "dot -Tsvg g.dot" in capsys.readouterr().out
