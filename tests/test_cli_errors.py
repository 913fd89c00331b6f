"""The command line never shows a traceback: bad numbers, sizes that would exhaust memory, a
closed pipe, Ctrl-C and a diverging run each end with one line on stderr and a non-zero status;
and what a run writes is valid, complete and only its own."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.__main__ import main
from minigrad.cli import artifacts, data_sources
from minigrad.cli import trace as trace_command
from minigrad.cli.train import step_graph

ROOT = Path(mg.__file__).resolve().parent.parent
TINY = ["--epochs", "3", "--train-size", "300", "--hidden", "16", "--lr", "0.01", "--quiet"]


def minigrad(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """`python -m minigrad ARGS` in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "minigrad", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        **kwargs,
    )


def assert_one_line(err: str, starts: str) -> None:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith(starts), err


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# ---- bad numbers and sizes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["train", "--seed", "-1"], "argument --seed: expected an integer >= 0, got -1"),
        (["train", "--lr", "inf"], "argument --lr: expected a finite number >= 0, got inf"),
        (["train", "--lr", "nan"], "argument --lr: expected a number >= 0, got nan"),
        (["train", "--lr", "-0.5"], "argument --lr: expected a number >= 0, got -0.5"),
        (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
        (["train", "--epochs", "-4"], "argument --epochs: expected an integer >= 1, got -4"),
        (["train", "--batch-size", "0"], "argument --batch-size: expected an integer >= 1, got 0"),
        (["graph", "--seed", "-2"], "argument --seed: expected an integer >= 0, got -2"),
        (["trace", "--d", "100000"], "--d 100000 --L 3 --N 128 needs about 5,382.7 GiB"),
        (["trace", "--N", "10000000"], "more than the 2 GiB limit; choose smaller sizes"),
    ],
)
def test_bad_numbers_exit_2_with_one_line_and_write_nothing(options, message, tmp_path):
    result = minigrad(*options, cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line(result.stderr, f"minigrad {options[0]}: error: ")
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_trace_size_limit_lets_the_documented_sizes_through():
    trace_command.check_sizes(64, 3, 128)  # the defaults
    trace_command.check_sizes(512, 3, 128)
    with pytest.raises(trace_command.UsageError, match="2 GiB limit"):
        trace_command.check_sizes(2048, 3, 128)


def test_running_out_of_memory_is_one_line_and_status_1(monkeypatch, capsys):
    def exhausted(*args):
        raise MemoryError

    monkeypatch.setattr(trace_command, "traced_step", exhausted)
    assert main(["trace", "--d", "8"]) == 1
    assert capsys.readouterr().err == "minigrad trace: error: out of memory; try smaller sizes\n"


def test_a_seed_below_zero_is_a_clear_error_in_the_api_too():
    with pytest.raises(ValueError, match="manual_seed expects an int >= 0, got -1"):
        mg.manual_seed(-1)


# ---- pipes and Ctrl-C --------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["trace", "--d", "8", "--L", "2", "--N", "4"], ["--help"]])
def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(command):
    process = subprocess.Popen(
        [sys.executable, "-m", "minigrad", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    process.stdout.close()  # as `| head -0` would, before the command writes its first line
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) in (141, 0) and "Traceback" not in err, err
    if command != ["--help"]:  # argparse prints --help itself, where a closed pipe is quiet too
        assert process.returncode == 141 and err == ""


def test_a_pipe_into_head_shows_no_error():
    # Enough lines that `head -1` exits while the command is still writing.
    script = f"{sys.executable} -m minigrad trace --d 4 --L 1 --N 2 --explain 0 | head -1"
    result = subprocess.run(
        ["bash", "-c", script + '; echo "status ${PIPESTATUS[0]}" >&2'],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert (
        result.stdout.startswith("one forward and backward pass") and result.stdout.count("\n") == 1
    )
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] in ("status 0", "status 141")


def default_sigint() -> None:
    """In the child, before it starts Python: SIGINT back to its default. A job a shell starts
    in the background inherits SIGINT ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_trace_is_one_line_and_status_130():
    process = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "trace", "--d", "256", "--L", "8", "--N", "64"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout.readline().startswith("one forward and backward pass")  # it runs
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err == "minigrad trace: interrupted\n"


# The console script's module, run with SIGINT raised from inside `import minigrad` (as NumPy
# loads), so the interrupt lands in the import every time rather than when a timer happens to.
INTERRUPTED_IMPORT = """
import builtins, os, signal, sys
import minigrad_console
real_import = builtins.__import__
def interrupting_import(name, *args, **kwargs):
    if name == "numpy":
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting_import
sys.argv = ["minigrad", "trace"]
sys.exit(minigrad_console.main())
"""


def test_ctrl_c_during_import_minigrad_is_one_line_and_status_130():
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_IMPORT],
        capture_output=True,
        text=True,
        preexec_fn=default_sigint,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr == "minigrad: interrupted\n" and result.stdout == ""


def test_the_console_script_is_the_entry_that_catches_an_interrupted_import():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(ROOT / "pyproject.toml", "rb") as handle:
        metadata = tomllib.load(handle)
    assert metadata["project"]["scripts"] == {"minigrad": "minigrad_console:main"}
    assert "minigrad_console" in metadata["tool"]["setuptools"]["py-modules"]


# ---- a diverging run ---------------------------------------------------------------------------

DIVERGING = ["--optimizer", "sgd", "--lr", "1e6", "--schedule", "none", "--epochs", "3"]
DIVERGING += ["--train-size", "300", "--hidden", "16", "--quiet"]


def test_a_diverging_run_says_so_exits_1_and_writes_valid_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *DIVERGING]) == 1
    err = capsys.readouterr().err
    assert_one_line(err, "minigrad train: error: the training loss became nan in epoch 1: ")
    assert "the run diverged (try a smaller --lr than 1e+06)" in err
    history = strict_json((out / "history.json").read_text())
    assert history["loss"] == [None] and history["test_accuracy"] == [None]
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "history.json"]  # no model


def test_a_finished_run_writes_strict_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    history = strict_json((out / "history.json").read_text())
    assert len(history["test_loss"]) == 3 and all(loss > 0 for loss in history["test_loss"])
    strict_json((out / "model.json").read_text())


# ---- the run folder: only this run's files, with the usual permissions -------------------------


def test_a_rerun_leaves_no_file_of_the_earlier_run(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    assert (out / "curves.png").is_file()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # this time there is no plot
    assert main(["train", "--out", str(out), *TINY, "--seed", "4"]) == 0
    monkeypatch.undo()
    names = sorted(p.name for p in out.iterdir())
    assert "curves.png" not in names and {"model.npz", "checkpoint.npz"} <= set(names)
    assert mg.load(out / "checkpoint.npz")["options"]["seed"] == 4  # this run's, resumable
    # A run that diverges before its first checkpoint leaves neither model nor checkpoint of the
    # finished run it replaces.
    assert main(["train", "--out", str(out), *DIVERGING]) == 1
    assert sorted(p.name for p in out.iterdir()) == ["curves.png", "history.json"]


def test_every_file_gets_the_usual_permissions(tmp_path, capsys):
    umask = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert main(["train", "--out", str(out), *TINY]) == 0
        assert main(["graph", "--out", str(tmp_path / "g.dot")]) == 0
    finally:
        os.umask(umask)
    written = [*out.iterdir(), tmp_path / "g.dot"]
    assert len(written) >= 6
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


# ---- the pictures ------------------------------------------------------------------------------


def drawn_figures(monkeypatch) -> list:
    """The matplotlib figures that plot_curves closes, kept for inspection."""
    import matplotlib.pyplot as plt

    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", lambda figure: (figures.append(figure), close(figure)))
    return figures


def test_the_loss_curve_shows_held_out_loss_and_goes_logarithmic_over_decades(
    tmp_path, monkeypatch
):
    pytest.importorskip("matplotlib")
    figures = drawn_figures(monkeypatch)
    history = {
        "loss": [2.0, 0.2, 0.02, 0.002],
        "test_loss": [2.1, 0.3, None, 0.05],
        "train_accuracy": [0.2, 0.8, 0.95, 0.99],
        "test_accuracy": [0.2, 0.7, 0.9, 0.93],
    }
    assert artifacts.plot_curves(history, tmp_path / "decades.png") is None
    flat = {**history, "loss": [0.5, 0.4, 0.3, 0.2], "test_loss": [0.6, 0.5, 0.4, 0.35]}
    assert artifacts.plot_curves(flat, tmp_path / "flat.png") is None
    (decades_loss, decades_accuracy), (flat_loss, _) = (f.axes for f in figures)
    assert decades_loss.get_yscale() == "log" and flat_loss.get_yscale() == "linear"
    for axes in (decades_loss, decades_accuracy):
        assert [line.get_label() for line in axes.get_lines()] == ["train", "held-out"]
    held_out = decades_loss.get_lines()[1].get_ydata()
    assert np.isnan(held_out[2]) and held_out[3] == 0.05  # null in the history: a gap
    assert (tmp_path / "decades.png").read_bytes().startswith(b"\x89PNG")


def test_the_step_graph_names_input_target_and_loss_and_its_batch_size():
    mg.manual_seed(0)
    split = data_sources.load("digits", None, 100)
    model = mg.nn.Sequential(mg.nn.Linear(64, 8), mg.nn.ReLU(), mg.nn.Linear(8, 10))
    source = step_graph(model, split.train_x.astype(np.float32), split.train_y, 32).source
    for name in ("input", "target", "loss", "0.weight", "2.bias"):
        assert f'label="{name}\\n' in source, name
    assert "drawn for a batch of 4 examples (training used batches of 32)" in source


# ---- the trace table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        [],
        ["--d", "8", "--L", "2", "--N", "4", "--explain", "1"],
        ["--d", "300", "--L", "2", "--N", "2000", "--explain", "299"],
        ["--d", "3", "--L", "1", "--N", "1", "--activation", "relu", "--explain", "0"],
    ],
)
def test_trace_output_fits_100_columns_and_cites_lecture_slides(sizes, capsys):
    assert main(["trace", *sizes]) == 0
    out = capsys.readouterr().out
    too_wide = [line for line in out.splitlines() if len(line) > 100]
    assert too_wide == []
    assert "Lecture 001 'Initialization', slides 'Cost per layer'" in out
    assert ".txt" not in out
    if "--explain" in sizes:
        assert "(Lecture 001 'Initialization', slides 'Computing a single neuron')" in out


def test_the_help_lists_the_exit_statuses():
    text = minigrad("--help").stdout
    for status in ("0 done", "1 failed", "2 bad input", "130 interrupted", "141 the reader"):
        assert status in text, status


def test_the_help_points_python_users_to_the_pytorch_page_and_load_run():
    text = " ".join(minigrad("--help").stdout.split())
    assert "follows PyTorch's (every difference is listed in docs/pytorch.md)" in text
    assert "mg.load_run(DIR)" in text
    assert (Path(__file__).resolve().parent.parent / "docs" / "pytorch.md").exists()
