"""`minigrad train`: an MLP on the embedded digits (or MNIST, moons, spirals), end to end.

The loop is the one of lecture 002_aa120863d57339f7.txt, slide 'Mini-batch Gradient Descent':
for each epoch, shuffle, cut into minibatches, and for each batch run the model, the loss, the
gradients and the update. The run folder receives the model (`model.npz` + `model.json`), the
per-epoch numbers (`history.json`), their plot (`curves.png`) and the graph of one training step
(`graph.svg`), all at once at the end: a failed run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset

from . import artifacts, data_sources
from .common import (
    OutputFolder,
    UsageError,
    check_writable,
    int_list,
    non_negative_float,
    positive_int,
    probability,
)
from .model import (
    ACTIVATIONS,
    ARCHITECTURE_FORMAT,
    INITS,
    accuracy,
    build_mlp,
    feature_scaling,
    standardize,
    write_architecture,
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


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an MLP classifier (default: the embedded 8x8 digits) and save the run",
        description="Train a multilayer perceptron with minibatch gradient descent, show a "
        "progress bar with loss and accuracy, print the held-out test accuracy, and write "
        "model.npz, model.json, history.json, curves.png and graph.svg into --out.",
    )
    add = parser.add_argument
    add("--out", default="runs/train", help="run folder to write (default: runs/train)")
    add("--data", choices=data_sources.SOURCES, default="digits", help="data set (default digits)")
    add("--data-dir", help="folder with the MNIST IDX files (needed by --data mnist)")
    add("--train-size", type=positive_int, help="use only the first N training examples")
    add("--hidden", type=int_list, help="hidden widths, comma-separated (default 128,64)")
    add("--layers", type=positive_int, help="number of hidden layers (default 2 with --width)")
    add("--width", type=positive_int, help="width of each hidden layer (default 64 with --layers)")
    add("--activation", choices=tuple(ACTIVATIONS), default="relu", help="default relu")
    add(
        "--init",
        choices=INITS,
        default="default",
        help="weight init (default: the layer's Kaiming)",
    )
    add("--dropout", type=probability, default=0.0, help="dropout rate p in [0, 1) (default 0)")
    add("--optimizer", choices=tuple(OPTIMIZERS), default="adam", help="default adam")
    add("--lr", type=non_negative_float, help="learning rate (default depends on --optimizer)")
    add("--schedule", choices=SCHEDULES, default="cosine", help="lr schedule per epoch (cosine)")
    add("--batch-size", type=positive_int, default=32, help="minibatch size (default 32)")
    add("--epochs", type=positive_int, default=40, help="passes over the data (default 40)")
    add("--seed", type=int, default=0, help="seed of the engine RNG: split, init, shuffling")
    add("--quiet", action="store_true", help="no progress bar or per-epoch lines")
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

    def __init__(self, epochs: int, quiet: bool):
        self.epochs, self.quiet, self.bar = epochs, quiet, None
        if not quiet:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=epochs, unit="epoch", desc="training", file=sys.stderr)
            except ImportError:
                self.bar = None

    def update(self, epoch: int, loss: float, train_acc: float, test_acc: float) -> None:
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
        if self.bar is not None:
            self.bar.close()


def train_epoch(model, loader, optimizer) -> tuple[float, float]:
    """One pass over `loader`: (mean training loss, training accuracy during the pass)."""
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for batch_x, batch_y in loader:
        logits = model(batch_x)
        loss = nn.functional.cross_entropy(logits, batch_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        labels = np.asarray(getattr(batch_y, "data", batch_y))
        total_loss += loss.item() * len(labels)  # .item(): a float, so no graph is kept alive
        correct += int((logits.numpy().argmax(axis=1) == labels).sum())
        seen += len(labels)
    return total_loss / seen, correct / seen


def step_graph(model, features: np.ndarray, labels: np.ndarray):
    """The computation graph of one training step on four examples, after its backward pass."""
    from minigrad import viz

    model.train()
    loss = nn.functional.cross_entropy(model(mg.tensor(features[:4])), labels[:4])
    loss.backward(retain_graph=True)
    digraph = viz.draw_graph(loss, show_data=False, module=model)
    model.zero_grad()
    return digraph


def run(args: argparse.Namespace) -> int:
    hidden = hidden_widths(args)
    data_sources.check_source(args.data, args.data_dir)
    check_writable(args.out)

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
    model = build_mlp(architecture)
    default_lr, make_optimizer = OPTIMIZERS[args.optimizer]
    lr = default_lr if args.lr is None else args.lr
    optimizer = make_optimizer(model.parameters(), lr)
    schedule = make_schedule(args.schedule, optimizer, args.epochs)
    loader = DataLoader(
        TensorDataset(mg.tensor(train_x), mg.tensor(split.train_y)),
        batch_size=args.batch_size,
        shuffle=True,
    )
    print(
        f"data {args.data}: {len(train_x)} training and {len(test_x)} test examples, "
        f"{train_x.shape[1]} features, {split.classes} classes"
    )
    print(f"model {model_summary(architecture)}; optimizer {args.optimizer} lr {lr:g}")

    history = {"loss": [], "train_accuracy": [], "test_accuracy": [], "lr": []}
    progress = Progress(args.epochs, args.quiet)
    started = time.perf_counter()
    try:
        for epoch in range(1, args.epochs + 1):
            history["lr"].append(optimizer.param_groups[0]["lr"])
            loss, train_acc = train_epoch(model, loader, optimizer)
            test_acc = accuracy(model, test_x, split.test_y)
            history["loss"].append(loss)
            history["train_accuracy"].append(train_acc)
            history["test_accuracy"].append(test_acc)
            progress.update(epoch, loss, train_acc, test_acc)
            if schedule is not None:
                schedule.step()
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    test_accuracy = history["test_accuracy"][-1]
    architecture["test_accuracy"] = test_accuracy
    history["seconds"] = seconds

    files, notes = write_run(args.out, model, architecture, history, train_x, split.train_y)
    print(f"test accuracy {test_accuracy:.4f} ({len(test_x)} held-out examples)")
    print(f"trained {args.epochs} epochs in {seconds:.1f} s")
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {args.out}/: {' '.join(files)}")
    return 0


def model_summary(architecture: dict) -> str:
    sizes = [architecture["in_features"], *architecture["hidden"], architecture["out_features"]]
    text = "-".join(str(n) for n in sizes) + f" {architecture['activation']}"
    return text + (f" dropout {architecture['dropout']}" if architecture["dropout"] else "")


def write_run(out: str, model, architecture: dict, history: dict, train_x, train_y) -> tuple:
    """Write every file of the run into a staging folder, then move them into `out` together.

    Returns (names of the files written, notes about pictures that could not be drawn)."""
    notes = []
    with OutputFolder(out) as folder:
        mg.save(model.state_dict(), folder.path("model.npz"))
        write_architecture(folder.path("model.json"), architecture)
        folder.path("history.json").write_text(json.dumps(history, indent=2) + "\n")
        note = artifacts.plot_curves(history, folder.path("curves.png"))
        if note:
            notes.append(note)
        digraph = step_graph(model, train_x, train_y)
        _, note = artifacts.render_graph(digraph, folder.path("graph.svg"))
        if note:
            notes.append(note)
        files = sorted(path.name for path in folder.staging.iterdir())
        folder.commit()
    return files, notes
