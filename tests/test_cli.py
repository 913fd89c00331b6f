"""The `minigrad` command line: help, each subcommand on a tiny budget, and every bad input."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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
                "--resume",
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


def test_gradcheck_fails_on_a_primitive_without_samples(monkeypatch, capsys):
    monkeypatch.setattr(ops.Cos, "samples", classmethod(lambda cls: []))
    assert main(["gradcheck"]) == 1
    assert re.search(r"^Cos\s.*NO SAMPLES", capsys.readouterr().out, re.MULTILINE)


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
    if HAVE_DOT or REQUIRE_DOT:
        data = explorer_data(out / "backward.html")
        assert [step["op"] for step in data["steps"]][0] == "SoftmaxCrossEntropy"
        assert sorted(module["label"] for module in data["modules"].values()) == [
            "0: Linear", "2: Linear"
        ]  # fmt: skip
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
        (["--model", "resnet"], "invalid choice: 'resnet'"),
        (["--model", "cnn", "--hidden", "16"], "--hidden describe the MLP"),
        (["--model", "cnn", "--data", "moons"], "the data has 2 features, not a square"),
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


def test_train_failing_while_writing_the_run_keeps_only_its_checkpoint(
    tmp_path, monkeypatch, capsys
):
    def broken(digraph, path):
        raise OSError("disk full")

    out = tmp_path / "run"
    monkeypatch.setattr(artifacts, "render_graph", broken)
    assert main(["train", "--out", str(out), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minigrad train: error: cannot write the run")
    assert "disk full; the checkpoint of epoch 3 of 3 is kept" in err
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in out.iterdir()] == ["checkpoint.npz"]  # no staging folder, no model
    monkeypatch.undo()
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    assert load_run(out)[1]["hidden"] == [16]


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


def test_train_a_cnn_writes_a_run_that_reloads_to_the_same_accuracy(tmp_path, capsys):
    out = tmp_path / "run"
    options = ["--model", "cnn", "--epochs", "2", "--batch-size", "16", "--train-size", "300"]
    options += ["--seed", "3"]
    assert main(["train", "--out", str(out), "--quiet", *options]) == 0
    printed = capsys.readouterr().out
    assert "model cnn 8x8 conv16-conv32-10" in printed
    reported = float(re.search(r"test accuracy (\d\.\d+)", printed).group(1))
    assert reported > 0.3  # two epochs on 300 digits beat chance (0.1) by far (0.60 here)
    model, architecture = load_run(out)
    assert architecture["model"] == "cnn" and architecture["image_size"] == 8
    counts = [b.item() for n, b in model.named_buffers() if n.endswith("num_batches_tracked")]
    assert counts == [2 * 19, 2 * 19]  # every step of 19 batches moved the running statistics
    mg.manual_seed(3)
    split = data_sources.load("digits", None, 300)
    test_x = standardize(split.test_x, architecture["mean"], architecture["std"])
    assert accuracy(model, test_x, split.test_y) == pytest.approx(reported, abs=1e-4)


def test_train_a_cnn_on_mnist_idx_files(tmp_path, capsys):
    folder = fake_mnist(tmp_path / "mnist")
    out = tmp_path / "run"
    options = ["--data", "mnist", "--data-dir", str(folder), "--model", "cnn", "--epochs", "6"]
    options += ["--batch-size", "10"]
    assert main(["train", "--out", str(out), "--quiet", *options]) == 0
    printed = capsys.readouterr().out
    assert "model cnn 28x28 conv16-conv32-10" in printed
    assert float(re.search(r"test accuracy (\d\.\d+)", printed).group(1)) >= 0.9
    assert load_run(out)[1]["image_size"] == 28


def test_train_on_an_incomplete_mnist_folder_exits_2(tmp_path, capsys):
    folder = fake_mnist(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    args = ["train", "--out", str(tmp_path / "run"), "--data", "mnist", "--data-dir", str(folder)]
    assert main(args) == 2
    assert "cannot read MNIST" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist"]


# ---- checkpoints, resume, and run folders that never mix two runs ------------------------------

# Adam (per-parameter state), a cosine schedule (scheduler state) and dropout (the engine RNG)
EPOCHS = 30  # enough that a signal sent after the first checkpoint lands before the last,
# even on a loaded machine
RESUMABLE = ["--epochs", str(EPOCHS), "--hidden", "16", "--batch-size", "8", "--dropout", "0.2"]
RESUMABLE += ["--optimizer", "adam", "--schedule", "cosine", "--seed", "5", "--quiet"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The run folder of RESUMABLE trained in one go."""
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    assert main(["train", "--out", str(out), *RESUMABLE]) == 0
    return out


def assert_same_run(out, reference) -> None:
    """Bitwise the same weights, and the same per-epoch numbers."""
    weights, expected = mg.load(out / "model.npz"), mg.load(reference / "model.npz")
    assert list(weights) == list(expected)
    for name in expected:
        assert weights[name].dtype == expected[name].dtype
        assert np.array_equal(weights[name], expected[name]), name
    history = json.loads((out / "history.json").read_text())
    history.pop("seconds")
    reference_history = json.loads((reference / "history.json").read_text())
    reference_history.pop("seconds")
    assert history == reference_history


def default_sigint() -> None:
    """In the child, before it starts Python: SIGINT back to its default. A job a shell starts
    in the background inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_training(out, options) -> subprocess.Popen:
    """`minigrad train` in a process of its own, returned once its first checkpoint exists."""
    root = Path(mg.__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "train", "--out", str(out), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.npz").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no checkpoint appeared: {process.communicate()}")
        time.sleep(0.002)
    return process


def interrupted_epoch(out) -> int:
    """The epoch of the checkpoint a stopped run left; it must be before the last one."""
    epoch = mg.load(out / "checkpoint.npz")["epoch"]
    assert 1 <= epoch < EPOCHS, f"the run was stopped after epoch {epoch}, not during training"
    assert not (out / "model.npz").exists()
    return epoch


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted):
    out = tmp_path / "run"
    process = start_training(out, RESUMABLE)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    epoch = interrupted_epoch(out)
    assert main(["train", "--out", str(out), "--resume"]) == 0
    assert_same_run(out, uninterrupted)
    assert mg.load(out / "checkpoint.npz")["epoch"] == EPOCHS > epoch


def test_ctrl_c_stops_with_one_line_exit_130_and_keeps_the_checkpoint(tmp_path, uninterrupted):
    out = tmp_path / "run"
    process = start_training(out, RESUMABLE)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    epoch = interrupted_epoch(out)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(
        f"minigrad train: interrupted; the checkpoint of epoch {epoch} of {EPOCHS}"
    )
    assert f"minigrad train --out {out} --resume" in err
    assert main(["train", "--out", str(out), "--resume", "--quiet"]) == 0
    assert_same_run(out, uninterrupted)


def test_a_full_disk_while_checkpointing_keeps_the_last_good_checkpoint(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    write_array = np.lib.format.write_array

    def full_after_the_first_checkpoint(stream, array, *args, **kwargs):
        if (out / "checkpoint.npz").exists():
            stream.write(b"\0" * 64)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_array(stream, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", full_after_the_first_checkpoint)
    assert main(["train", "--out", str(out), *TINY]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"minigrad train: error: cannot write {out / 'checkpoint.npz'}: ")
    assert "No space left on device; the checkpoint of epoch 1 of 3 is kept" in err
    monkeypatch.undo()
    assert [p.name for p in out.iterdir()] == ["checkpoint.npz"]  # no temporary file left
    assert mg.load(out / "checkpoint.npz")["epoch"] == 1
    assert main(["train", "--out", str(out), "--resume"]) == 0


def test_resume_without_a_checkpoint_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--resume", *TINY]) == 2
    err = capsys.readouterr().err
    assert f"minigrad train: error: --resume: there is no {out / 'checkpoint.npz'}" in err
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "checkpoint.npz").write_bytes(b"not a checkpoint")
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "checkpoint.npz is not a minigrad state dict" in capsys.readouterr().err
    mg.save({"format": "minigrad-train-checkpoint/1", "epoch": 1}, out / "checkpoint.npz")
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "is not a checkpoint of `minigrad train`" in capsys.readouterr().err


def test_ctrl_c_before_training_began_writes_nothing(tmp_path, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_sources, "load", interrupted)
    assert main(["train", "--out", str(tmp_path / "run"), *TINY]) == 130
    assert capsys.readouterr().err == "minigrad train: interrupted before training began\n"
    assert list(tmp_path.iterdir()) == []


def test_resume_takes_the_runs_options_and_refuses_changed_ones(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    before = mg.load(out / "model.npz")
    changed = ["train", "--out", str(out), "--resume", "--epochs", "4", "--hidden", "16"]
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "this command changes --epochs (from 3 to 4)" in err and "--hidden" not in err
    assert main(["train", "--out", str(out), "--resume", *TINY]) == 0  # the same options agree
    after = mg.load(out / "model.npz")
    assert all(np.array_equal(before[name], after[name]) for name in before)


def test_resume_reads_a_checkpoint_written_before_model_was_an_option(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    checkpoint = mg.load(out / "checkpoint.npz")
    del checkpoint["options"]["model"]
    mg.save(checkpoint, out / "checkpoint.npz")
    assert main(["train", "--out", str(out), "--resume", *TINY]) == 0
    assert load_run(out)[1]["format"] == "minigrad-mlp/2"


def test_a_run_folder_never_loads_the_model_files_of_two_runs(tmp_path, monkeypatch, capsys):
    from minigrad.cli import common

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    first_weights, first_description = (
        (out / "model.npz").read_bytes(),
        (out / "model.json").read_text(),
    )
    real_replace = os.replace

    def killed_before_the_weights(source, target):
        if Path(target) == out / "model.npz":
            raise KeyboardInterrupt  # the second run is stopped between its files' renames
        real_replace(source, target)

    monkeypatch.setattr(common.os, "replace", killed_before_the_weights)
    seed_4 = [*TINY[:-1], "4"]
    assert main(["train", "--out", str(out), *seed_4]) == 130
    monkeypatch.undo()
    assert (out / "model.npz").read_bytes() == first_weights  # the first run's weights
    assert (out / "model.json").read_text() != first_description  # the second run's description
    with pytest.raises(ValueError, match="mixes files of two runs"):
        load_run(out)
    assert main(["train", "--out", str(out), "--resume"]) == 0  # finishes the second run
    model, _ = load_run(out)
    mg.save(mg.nn.Linear(64, 16).state_dict(), out / "model.npz")  # a file copied in
    with pytest.raises(ValueError, match="is not the model.npz that .*model.json describes"):
        load_run(out)


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


def explorer_data(page: Path) -> dict:
    match = re.search(r'id="explorer-data">(.*?)</script>', page.read_text(encoding="utf-8"))
    return json.loads(match.group(1))


def test_graph_html_writes_the_explorer_page_alone(tmp_path, monkeypatch, capsys):
    if not (HAVE_DOT or REQUIRE_DOT):
        pytest.skip("the explorer page needs the Graphviz `dot` program")
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--model", "4,3,2", "--html", "out/page.html"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["page.html"]
    assert not (tmp_path / "graph.svg").exists()  # no picture unless --out asks for one
    data = explorer_data(tmp_path / "out" / "page.html")
    assert data["ops"] == 4 and [step["op"] for step in data["steps"]][:2] == ["MseLoss", "Linear"]
    assert "wrote out/page.html" in capsys.readouterr().out
    assert main(["graph", "--html", "e.html", "--out", "e.svg", "--no-backward"]) == 0
    assert explorer_data(tmp_path / "e.html")["steps"] == [] and (tmp_path / "e.svg").is_file()


def test_graph_html_and_picture_show_one_backward(tmp_path, monkeypatch):
    if not (HAVE_DOT or REQUIRE_DOT):
        pytest.skip("the explorer page needs the Graphviz `dot` program")
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "--html", "a.html", "--out", "a.dot"]) == 0
    assert main(["graph", "--out", "b.dot"]) == 0
    assert (tmp_path / "a.dot").read_text() == (tmp_path / "b.dot").read_text()


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
        (["--html", "page.txt"], "must end in .html"),
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
    printed = capsys.readouterr().out
    assert "`dot` program is not installed" in printed
    assert "backward.html (the backward-pass explorer) was not written" in printed
    source = (tmp_path / "run" / "graph.dot").read_text()
    assert "Linear" in source and not (tmp_path / "run" / "graph.svg").exists()
    assert not (tmp_path / "run" / "backward.html").exists()
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 0
    assert (tmp_path / "g.dot").is_file() and "dot -Tsvg g.dot" in capsys.readouterr().out
