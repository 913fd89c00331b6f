"""`minigrad train`: an MLP on the embedded digits (or MNIST, moons, spirals), end to end.

The loop is the one of lecture 002_aa120863d57339f7.txt, slide 'Mini-batch Gradient Descent':
for each epoch, shuffle, cut into minibatches, and for each batch run the model, the loss, the
gradients and the update.

After every epoch the run folder receives `checkpoint.npz` (model, optimizer, schedule, engine RNG
state, epoch, history and the run's options), replaced atomically, so `--resume` continues a run
that was killed or interrupted and ends with exactly the weights of an uninterrupted run. At the
end the folder receives the model (`model.npz` + `model.json`, which records the digest of its
`model.npz`), the per-epoch numbers (`history.json`), their plot (`curves.png`), the graph of
one training step (`graph.svg`) and the page that walks its backward pass (`backward.html`),
written into a staging folder first. Ctrl-C and a failed write
stop with one line on stderr and keep the last checkpoint.

`--workers N` trains data-parallel on N MPI processes (`workers.py`). Every run draws its batches
from a `DistributedSampler` (a world of one when alone), so a run takes the same steps on any
number of workers, and `--resume` may continue it on another number.
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import distributed, nn, optim
from minigrad.data import DataLoader, DistributedSampler, TensorDataset

from minigrad.serialization import atomic_write

from . import artifacts, data_sources, train_step, workers
from .common import (
    OutputFolder,
    StoreGiven,
    UsageError,
    check_writable,
    int_list,
    learning_rate,
    positive_int,
    probability,
    seed,
)
from .model import (
    ACTIVATIONS,
    ARCHITECTURE_FORMAT,
    CNN_EPOCHS,
    INITS,
    MODELS,
    build_model,
    cnn_architecture,
    compilable,
    describe,
    evaluate,
    feature_scaling,
    standardize,
    write_model,
)

OPTIMIZERS = {
    # name: (default learning rate, factory)
    "sgd": (0.1, lambda params, lr: optim.SGD(params, lr=lr)),
    "momentum": (0.05, lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9)),
    "nesterov": (0.05, lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)),
    "adam": (2e-3, lambda params, lr: optim.Adam(params, lr=lr)),
    "rmsprop": (1e-3, lambda params, lr: optim.RMSprop(params, lr=lr)),
    "adagrad": (0.05, lambda params, lr: optim.Adagrad(params, lr=lr)),
}

SCHEDULES = ("none", "step", "exponential", "cosine", "linear", "inverse_time")

CHECKPOINT = "checkpoint.npz"
CHECKPOINT_FORMAT = "minigrad-train-checkpoint/1"
CHECKPOINT_KEYS = frozenset(
    {"format", "run", "options", "architecture", "epoch", "seconds", "history"}
    | {"model", "optimizer", "schedule", "rng"}
)
INTERRUPTED = 130  # the shell's status for a program stopped by SIGINT (128 + 2)
# What a checkpoint records of the command line, and what --resume takes from it: every option
# declared with option() in add_parser.
TRAINING_OPTIONS = (
    "data",
    "data_dir",
    "train_size",
    "model",
    "hidden",
    "layers",
    "width",
    "activation",
    "init",
    "dropout",
    "optimizer",
    "lr",
    "schedule",
    "batch_size",
    "epochs",
    "seed",
)


def add_parser(subparsers) -> None:
    """Add the `train` command and its options to the command line."""
    parser = subparsers.add_parser(
        "train",
        help="train an MLP classifier (default: the embedded 8x8 digits) and save the run",
        description="Train a multilayer perceptron with minibatch gradient descent, show a "
        "progress bar with loss and accuracy, print the held-out test accuracy, and write "
        "model.npz, model.json, history.json, curves.png, graph.svg and backward.html (a page "
        "that walks one training step's backward pass) into --out. After every "
        "epoch --out gets checkpoint.npz, from which --resume continues a killed or interrupted "
        "run (Ctrl-C stops with exit status 130 and keeps it). A rerun into the same --out "
        "replaces all of these files. A run whose loss stops being finite has diverged: it "
        "stops with exit status 1 and writes history.json and curves.png, no model.",
    )
    add = parser.add_argument
    add("--out", default="runs/train", help="run folder to write (default: runs/train)")
    add(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint.npz, with the options it was "
        "started with (options given again must agree); it ends with the weights an "
        "uninterrupted run would have",
    )
    add("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    train_step.add_options(add)
    workers.add_option(parser)

    def option(*names, **settings):
        """A training option: stored in the checkpoint, and taken from it by --resume."""
        add(*names, action=StoreGiven, **settings)

    option("--data", choices=data_sources.SOURCES, default="digits", help="data set (digits)")
    option("--data-dir", help="folder with the MNIST IDX files (needed by --data mnist)")
    option("--train-size", type=positive_int, help="use only the first N training examples")
    option("--model", choices=MODELS, default="mlp", help="mlp (default), or cnn: 2 conv layers")
    option("--hidden", type=int_list, help="hidden widths, comma-separated (default 128,64)")
    option("--layers", type=positive_int, help="number of hidden layers (default 2 with --width)")
    option(
        "--width", type=positive_int, help="width of each hidden layer (default 64 with --layers)"
    )
    option("--activation", choices=tuple(ACTIVATIONS), default="relu", help="default relu")
    option(
        "--init",
        choices=INITS,
        default="default",
        help="weight init (default: the layer's Kaiming)",
    )
    option("--dropout", type=probability, default=0.0, help="dropout rate p in [0, 1) (default 0)")
    option("--optimizer", choices=tuple(OPTIMIZERS), default="adam", help="default adam")
    option("--lr", type=learning_rate, help="learning rate (default depends on --optimizer)")
    option("--schedule", choices=SCHEDULES, default="cosine", help="lr schedule per epoch (cosine)")
    option("--batch-size", type=positive_int, default=32, help="minibatch size (default 32)")
    option(
        "--epochs",
        type=positive_int,
        default=40,
        help=f"passes over the data (default 40; {CNN_EPOCHS} with --model cnn)",
    )
    option("--seed", type=seed, default=0, help="seed of the engine RNG: split, init, shuffling")
    parser.set_defaults(given=frozenset())
    parser.set_defaults(run=run)


def hidden_widths(args: argparse.Namespace) -> list[int]:
    """--hidden 128,64 (the default), or --layers L --width d (L = 2 and d = 64 when only one is
    given)."""
    if args.hidden is not None and (args.layers is not None or args.width is not None):
        raise UsageError("give either --hidden or --layers/--width, not both")
    if args.hidden is not None:
        return args.hidden
    if args.layers is None and args.width is None:
        return [128, 64]
    return [args.width or 64] * (args.layers if args.layers is not None else 2)


def make_schedule(name: str, optimizer, epochs: int):
    """The learning-rate schedule stepped once per epoch, or None."""
    schedulers = optim.lr_scheduler
    if name == "step":
        return schedulers.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.3)
    if name == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=0.9)
    if name == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "linear":
        return schedulers.LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=epochs)
    if name == "inverse_time":
        return schedulers.InverseTimeLR(optimizer, rho=0.1)
    return None


class Progress:
    """A tqdm bar over epochs when tqdm is installed, else one plain line per epoch."""

    def __init__(self, epochs: int, quiet: bool, done: int = 0):
        self.epochs, self.quiet, self.bar = epochs, quiet, None
        if not quiet:
            try:
                from tqdm import tqdm

                self.bar = tqdm(
                    total=epochs, initial=done, unit="epoch", desc="training", file=sys.stderr
                )
            except ImportError:
                self.bar = None

    def update(self, epoch: int, loss: float, train_acc: float, test_acc: float) -> None:
        """Show one finished epoch: its loss and accuracies."""
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{train_acc:.3f}", test=f"{test_acc:.3f}")
            self.bar.update(1)
        else:
            print(
                f"epoch {epoch:3d}/{self.epochs}  loss {loss:.4f}  train acc {train_acc:.3f}  "
                f"test acc {test_acc:.3f}",
                flush=True,
            )

    def close(self) -> None:
        """End the progress display (the bar, or nothing when quiet)."""
        if self.bar is not None:
            self.bar.close()


def train_epoch(model, loader, optimizer, step=None) -> tuple[float, float]:
    """One pass over `loader`: (mean training loss, training accuracy during the pass), over
    the batches of every worker. `step(x, y) -> (loss, logits)` is the training step
    (`train_step`; eager if None). A worker whose shard of a batch is empty (the last batch of an
    epoch whose size the workers do not divide) gets (None, None) from it and still takes part in
    the gradients' average."""
    model.train()
    step = step or train_step.training_step(model, optimizer, compiled=False)
    total_loss, correct, seen = 0.0, 0, 0
    for batch_x, batch_y in loader:
        labels = np.asarray(getattr(batch_y, "data", batch_y))
        loss, logits = step(batch_x, batch_y)
        if len(labels):
            total_loss += loss.item() * len(labels)  # .item(): a float, so no graph is kept alive
            correct += int((logits.numpy().argmax(axis=1) == labels).sum())
        seen += len(labels)
    total_loss, correct, seen = workers.epoch_totals(total_loss, correct, seen)
    return total_loss / seen, correct / seen


GRAPH_BATCH = 4  # examples in the drawn training step: enough to show the batch dimension


def step_graph(model, features: np.ndarray, labels: np.ndarray, batch_size: int):
    """The computation graph of one training step on GRAPH_BATCH examples, after its backward
    pass, with its input, target and loss named and the batch sizes in its title."""
    from minigrad import viz

    model.train()
    inputs = mg.tensor(features[:GRAPH_BATCH])
    target = mg.tensor(labels[:GRAPH_BATCH])
    loss = nn.functional.cross_entropy(model(inputs), target)
    loss.backward(retain_graph=True)
    names = {"input": inputs, "target": target, "loss": loss}
    digraph = viz.draw_graph(loss, show_data=False, module=model, names=names)
    digraph.attr(
        label=f"one training step, drawn for a batch of {len(inputs)} examples "
        f"(training used batches of {batch_size})",
        labelloc="t",
    )
    model.zero_grad()
    return digraph


class RunFailed(Exception):
    """A write that failed during a run: reported in one line on stderr, exit status 1."""


class Diverged(Exception):
    """The training loss stopped being a finite number: the run stops, exit status 1."""

    def __init__(self, epoch: int, loss: float, lr: float):
        super().__init__(
            f"the training loss became {loss} in epoch {epoch}: the run diverged (try a smaller "
            f"--lr than {lr:g}); wrote its history up to there, and no model"
        )
        self.epoch = epoch


HISTORY_KEYS = ("loss", "test_loss", "train_accuracy", "test_accuracy", "lr")
# Every file a finished run writes into its folder (graph.dot instead of graph.svg without `dot`).
# A run replaces them all: one it did not write this time is removed, so the folder never mixes
# files of two runs. checkpoint.npz is not among them: it is written after every epoch.
RUN_FILES = (
    "model.npz", "model.json", "history.json", "curves.png", "graph.svg", "graph.dot",
    "backward.html",
)  # fmt: skip


@dataclass
class Training:
    """A run in progress: what its epochs change, and what a checkpoint saves and restores."""

    args: argparse.Namespace
    architecture: dict
    model: nn.Module
    optimizer: optim.Optimizer
    schedule: optim.lr_scheduler.LRScheduler | None
    loader: DataLoader
    split: data_sources.Split  # the raw features and the labels
    train_x: np.ndarray  # the standardised features
    test_x: np.ndarray
    epoch: int = 0  # epochs done
    seconds: float = 0.0  # time spent training, over every session of the run
    history: dict = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    # Names the run in its checkpoints (not drawn from the engine RNG, so it changes no number).
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def checkpoint_path(self) -> Path:
        """Where this run keeps its checkpoint: in its run folder."""
        return Path(self.args.out) / CHECKPOINT

    def state_dict(self) -> dict:
        """The checkpoint: everything needed to go on exactly where this epoch ended."""
        return {
            "format": CHECKPOINT_FORMAT,
            "run": self.run_id,
            "options": {name: getattr(self.args, name) for name in TRAINING_OPTIONS},
            "architecture": self.architecture,
            "epoch": self.epoch,
            "seconds": self.seconds,
            "history": self.history,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "rng": mg.random.get_state(),
        }

    def load_state_dict(self, checkpoint: dict) -> None:
        """Continue from `checkpoint`, refusing one whose data or model differ from this run's."""
        if checkpoint["architecture"] != self.architecture:
            raise UsageError(
                f"--resume: {self.checkpoint_path} was trained on other data or another model "
                "than this command builds (the data files changed?)"
            )
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        if self.schedule is not None:
            self.schedule.load_state_dict(checkpoint["schedule"])
        mg.random.set_state(checkpoint["rng"])
        self.history = checkpoint["history"]
        # A checkpoint written before held-out losses were recorded has none for its epochs.
        self.history.setdefault("test_loss", [None] * len(self.history["loss"]))
        self.epoch = checkpoint["epoch"]
        self.seconds = checkpoint["seconds"]
        self.run_id = checkpoint["run"]

    def save_checkpoint(self) -> None:
        """Replace the run folder's checkpoint with this epoch's (atomically); rank 0 alone
        writes it."""
        if not distributed.is_main():
            return
        path = self.checkpoint_path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            mg.save(self.state_dict(), path)
        except OSError as error:
            raise RunFailed(f"cannot write {path}: {reason(error)}") from error

    def kept(self) -> str:
        """What is left to continue from, for the one-line message of a stopped run."""
        epoch = self.checkpointed_epoch()
        if epoch is None:
            return "no checkpoint was written"
        return (
            f"the checkpoint of epoch {epoch} of {self.args.epochs} is kept in "
            f"{self.checkpoint_path}; continue with `minigrad train --out {self.args.out} --resume`"
        )

    def checkpointed_epoch(self) -> int | None:
        """The epoch of the checkpoint on disk if this run wrote it, else None. Read back from the
        file, since a stop may come at any point of a write, even after its rename."""
        try:
            checkpoint = mg.load(self.checkpoint_path)
        except (OSError, ValueError):
            return None
        return checkpoint["epoch"] if checkpoint.get("run") == self.run_id else None


def reason(error: OSError) -> str:
    """An OS error in a few words (its strerror), for a one-line message."""
    return error.strerror or str(error)


def run(args: argparse.Namespace) -> int:
    """Train as the options say, alone or launching the workers; the exit status."""
    if workers.launch_needed(args):
        return workers.launch(args)
    workers.join(args)
    return workers.as_one_worker(run_training, args)


def run_training(args: argparse.Namespace) -> int:
    """Train in this process (one worker of the world); write the run if it is the main one."""
    checkpoint = read_checkpoint(args) if args.resume else None
    hidden = hidden_widths(args)
    data_sources.check_source(args.data, args.data_dir)
    if distributed.is_main():  # the one worker that writes the run folder
        check_writable(args.out)
    try:
        training = start(args, hidden)
    except KeyboardInterrupt:
        print("minigrad train: interrupted before training began", file=sys.stderr)
        return INTERRUPTED
    if checkpoint is not None:
        training.load_state_dict(checkpoint)
        print(f"resuming {args.out} after epoch {training.epoch} of {args.epochs}")
    distributed.broadcast_state(training.model)
    try:
        train(training)
        if not distributed.is_main():
            return 0
        files, notes = write_run(training)
    except KeyboardInterrupt:
        print(f"minigrad train: interrupted; {training.kept()}", file=sys.stderr)
        return INTERRUPTED
    except Diverged as error:
        return report_divergence(training, error)
    except RunFailed as error:
        print(f"minigrad train: error: {error}; {training.kept()}", file=sys.stderr)
        return 1
    report(training, files, notes)
    return 0


def report_divergence(training: Training, error: Diverged) -> int:
    """Write what the diverged run has (its history and curves, no model) and say so."""
    if not distributed.is_main():
        return 0  # rank 0 writes, reports and ends the job with status 1; an abort here could
        # end it before rank 0 has written
    try:
        files, _ = write_run(training, with_model=False)
    except RunFailed as failure:
        print(f"minigrad train: error: {error}; {failure}", file=sys.stderr)
        return 1
    written = f"{' '.join(files)} in {training.args.out}"
    print(f"minigrad train: error: {error} ({written})", file=sys.stderr)
    return 1


def report(training: Training, files: list[str], notes: list[str]) -> None:
    """The closing lines of a finished run."""
    args = training.args
    test_accuracy = training.history["test_accuracy"][-1]
    print(f"test accuracy {test_accuracy:.4f} ({len(training.test_x)} held-out examples)")
    print(f"trained {args.epochs} epochs in {training.seconds:.1f} s")
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {args.out}/: {' '.join(files)}")


def read_checkpoint(args: argparse.Namespace) -> dict:
    """The checkpoint `--resume` continues from; its options replace the command line's."""
    path = Path(args.out) / CHECKPOINT
    if not path.is_file():
        raise UsageError(
            f"--resume: there is no {path} to continue from (a run writes it after each epoch); "
            "leave out --resume to start a new run"
        )
    try:
        checkpoint = mg.load(path)
    except ValueError as error:
        raise UsageError(f"--resume: {error}") from None
    missing = CHECKPOINT_KEYS - set(checkpoint)
    if checkpoint.get("format") != CHECKPOINT_FORMAT or missing:
        raise UsageError(
            f"--resume: {path} is not a checkpoint of `minigrad train` (format "
            f"{checkpoint.get('format')!r}, missing {sorted(missing)})"
        )
    adopt_options(args, checkpoint["options"])
    return checkpoint


def adopt_options(args: argparse.Namespace, saved: dict) -> None:
    """Set the training options to the run's own; one typed again must have the same value."""
    saved = {"model": "mlp", **saved}  # a checkpoint from before --model was an MLP's
    missing = set(TRAINING_OPTIONS) - set(saved)
    if missing:
        raise UsageError(f"--resume: the checkpoint does not record {sorted(missing)}")
    changed = [name for name in sorted(args.given) if getattr(args, name) != saved[name]]
    if changed:
        raise UsageError(
            "--resume continues the run with the options it was started with; this command "
            "changes "
            + ", ".join(
                f"--{name.replace('_', '-')} (from {saved[name]!r} to {getattr(args, name)!r})"
                for name in changed
            )
        )
    for name in TRAINING_OPTIONS:
        setattr(args, name, saved[name])


def start(args: argparse.Namespace, hidden: list[int]) -> Training:
    """Seed the engine RNG, load and split the data, and build the model, optimizer, schedule
    and loader: the state at epoch 0, which a checkpoint then overwrites."""
    mg.manual_seed(args.seed)
    split = data_sources.load(args.data, args.data_dir, args.train_size)
    mean, std = feature_scaling(split.train_x)
    train_x, test_x = standardize(split.train_x, mean, std), standardize(split.test_x, mean, std)
    architecture = {
        "format": ARCHITECTURE_FORMAT,
        "in_features": int(train_x.shape[1]),
        "hidden": hidden,
        "out_features": split.classes,
        "activation": args.activation,
        "init": args.init,
        "dropout": args.dropout,
        "data": args.data,
        "mean": mean.tolist(),
        "std": std.tolist(),
    }
    if args.model == "cnn":
        architecture.update(cnn_architecture(int(train_x.shape[1]), args.given))
        if "epochs" not in args.given and not args.resume:  # a resumed run keeps its own
            args.epochs = CNN_EPOCHS
    model = build_model(architecture)
    default_lr, make_optimizer = OPTIMIZERS[args.optimizer]
    lr = default_lr if args.lr is None else args.lr
    optimizer = make_optimizer(model.parameters(), lr)
    dataset = TensorDataset(mg.tensor(train_x), mg.tensor(split.train_y))
    sampler = DistributedSampler(dataset, seed=args.seed)
    loader = DataLoader(
        dataset, batch_size=workers.local_batch_size(args.batch_size), sampler=sampler
    )
    print(
        f"data {args.data}: {len(train_x)} training and {len(test_x)} test examples, "
        f"{train_x.shape[1]} features, {split.classes} classes"
    )
    print(f"model {describe(architecture)}; optimizer {args.optimizer} lr {lr:g}")
    schedule = make_schedule(args.schedule, optimizer, args.epochs)
    return Training(args, architecture, model, optimizer, schedule, loader, split, train_x, test_x)


def train(training: Training) -> None:
    """The remaining epochs, each followed by its checkpoint; Diverged when the loss stops being
    finite."""
    args = training.args
    progress = Progress(args.epochs, args.quiet, done=training.epoch)
    # A diverging run overflows: it is told apart by its loss below, in one line, not by NumPy's
    # warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        train_epochs(training, progress)


def train_epochs(training: Training, progress: Progress) -> None:
    """Run the remaining epochs, checkpointing after each; stop with Diverged on a NaN loss."""
    args, history = training.args, training.history
    compiled = not args.no_compile and compilable(training.model)
    step = train_step.training_step(training.model, training.optimizer, compiled, args.show_code)
    try:
        for epoch in range(training.epoch + 1, args.epochs + 1):
            started = time.perf_counter()
            workers.start_epoch(training.loader, args.seed, epoch - 1)
            lr = training.optimizer.param_groups[0]["lr"]
            loss, train_acc = train_epoch(training.model, training.loader, training.optimizer, step)
            if not math.isfinite(loss):
                record(history, lr, None, None, train_acc, None)
                raise Diverged(epoch, loss, lr)
            test_loss, test_acc = evaluate(training.model, training.test_x, training.split.test_y)
            record(history, lr, loss, finite_or_none(test_loss), train_acc, test_acc)
            if training.schedule is not None:
                training.schedule.step()
            training.epoch = epoch
            training.seconds += time.perf_counter() - started
            training.save_checkpoint()
            progress.update(epoch, loss, train_acc, test_acc)
    finally:
        progress.close()


def record(history: dict, lr, loss, test_loss, train_accuracy, test_accuracy) -> None:
    """Append one epoch's numbers to the history."""
    for key, value in zip(HISTORY_KEYS, (loss, test_loss, train_accuracy, test_accuracy, lr)):
        history[key].append(value)


def finite_or_none(value: float) -> float | None:
    """The number, or None (JSON null) for inf and nan, which JSON cannot hold."""
    return value if math.isfinite(value) else None


def stale_checkpoint(training: Training) -> tuple[str, ...]:
    """(CHECKPOINT,) when the checkpoint in the run folder is another run's (this run stopped
    before its first one), so that finishing this run removes it; else ()."""
    return () if training.checkpointed_epoch() is not None else (CHECKPOINT,)


def write_run(training: Training, with_model: bool = True) -> tuple[list[str], list[str]]:
    """Write the run's files into a staging folder, then rename them into the run folder, where
    they replace every file of RUN_FILES (one this run did not write is removed).

    A diverged run (`with_model=False`) writes only its history and curves. Returns (names of
    the files written, notes about pictures that could not be drawn)."""
    out, split = training.args.out, training.split
    history = {**training.history, "seconds": training.seconds}
    notes = []
    try:
        with OutputFolder(out) as folder:
            if with_model:
                accuracy = training.history["test_accuracy"][-1]
                described = {**training.architecture, "test_accuracy": accuracy}
                write_model(folder.staging, training.model, described)
            with atomic_write(folder.path("history.json")) as stream:
                text = json.dumps(history, indent=2, allow_nan=False)
                stream.write((text + "\n").encode("utf-8"))
            notes.append(artifacts.plot_curves(history, folder.path("curves.png")))
            if with_model:
                digraph = step_graph(
                    training.model, training.train_x, split.train_y, training.args.batch_size
                )
                notes.append(artifacts.render_graph(digraph, folder.path("graph.svg"))[1])
                examples = training.train_x[:GRAPH_BATCH], split.train_y[:GRAPH_BATCH]
                page = folder.path("backward.html")
                notes.append(artifacts.backward_page(training.model, *examples, page))
            files = sorted(path.name for path in folder.staging.iterdir())
            folder.commit(replaces=RUN_FILES + stale_checkpoint(training))
    except OSError as error:
        raise RunFailed(f"cannot write the run into {out}: {reason(error)}") from error
    return files, [note for note in notes if note]
