"""Pictures a command writes: training curves (matplotlib, optional), graphs (Graphviz) and
the backward-pass explorer page."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..serialization import atomic_write

GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


def plot_curves(history: dict, path: Path) -> str | None:
    """Training and held-out loss, and training and held-out accuracy, per epoch as a PNG at
    `path`; the loss axis is logarithmic when the losses span more than a factor of 10. Returns a
    note instead when matplotlib is not installed (the numbers are in history.json either way)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            "matplotlib is not installed: no curve plot (pip install matplotlib); "
            "the numbers are in history.json"
        )
    epochs = np.arange(1, len(history["loss"]) + 1)
    curves = {key: _values(history.get(key), len(epochs)) for key in CURVES}
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, curves["loss"], marker="o", ms=3, label="train")
    loss_axes.plot(epochs, curves["test_loss"], marker="s", ms=3, label="held-out")
    loss_axes.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="loss")
    if spans_decades(np.concatenate([curves["loss"], curves["test_loss"]])):
        loss_axes.set_yscale("log")
    accuracy_axes.plot(epochs, curves["train_accuracy"], marker="o", ms=3, label="train")
    accuracy_axes.plot(epochs, curves["test_accuracy"], marker="s", ms=3, label="held-out")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.legend()
    figure.tight_layout()
    with atomic_write(path) as stream:
        figure.savefig(stream, format="png", dpi=110)
    plt.close(figure)
    return None


CURVES = ("loss", "test_loss", "train_accuracy", "test_accuracy")


def _values(numbers: list | None, count: int) -> np.ndarray:
    """Floats to plot, nan where the history holds null (or nothing, in older runs)."""
    if numbers is None:
        return np.full(count, np.nan)
    return np.array([np.nan if n is None else n for n in numbers], dtype=float)


def spans_decades(values: np.ndarray) -> bool:
    """True when the positive finite values differ by more than a factor of 10 (then a log
    scale shows all of them; a linear one flattens the later epochs into the axis)."""
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 1 and values.max() > 10 * values.min()


def render_graph(digraph, path: Path) -> tuple[Path, str | None]:
    """Render a graphviz.Digraph to `path` (format from its suffix). Without the `dot` program,
    write the DOT source next to it instead; returns (file written, note or None)."""
    import graphviz

    fmt = path.suffix.lstrip(".").lower()
    target, note = path, None
    if fmt == "dot":
        content = digraph.source.encode()
    else:
        try:
            content = digraph.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            target, content = path.with_suffix(".dot"), digraph.source.encode()
            note = (
                f"the Graphviz `dot` program is not installed, so {path.name} was not drawn; "
                f"wrote the DOT source to {target.name} (render it with `dot -T{fmt} "
                f"{target.name}`)"
            )
    with atomic_write(target) as stream:
        stream.write(content)
    return target, note


def write_explorer(explorer, path: Path) -> str | None:
    """Write a `viz.Explorer` page to `path`. Without the `dot` program, which lays the graph
    out, write nothing and return a note saying so; else None."""
    import graphviz

    try:
        page = explorer.html()
    except graphviz.ExecutableNotFound:
        return (
            f"the Graphviz `dot` program is not installed, so {path.name} (the backward-pass "
            "explorer) was not written; install Graphviz to get it"
        )
    with atomic_write(path) as stream:
        stream.write(page.encode("utf-8"))
    return None


def backward_page(model, features: np.ndarray, labels: np.ndarray, path: Path) -> str | None:
    """The explorer page of one training step (cross-entropy of `model` on these examples and
    its backward) at `path`; the model's `.grad` are cleared afterwards. Returns a note when
    the page could not be drawn (see `write_explorer`), else None."""
    import minigrad as mg
    from minigrad import nn, viz

    model.train()
    inputs, target = mg.tensor(features), mg.tensor(labels)
    loss = nn.functional.cross_entropy(model(inputs), target)
    names = {"input": inputs, "target": target, "loss": loss}
    title = f"one training step on {len(inputs)} examples: the backward pass"
    explorer = viz.explore(loss, names=names, module=model, title=title)
    model.zero_grad()
    return write_explorer(explorer, path)
