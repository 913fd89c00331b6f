"""Pictures a command writes: training curves (matplotlib, optional) and graphs (Graphviz)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

GRAPH_FORMATS = ("svg", "png", "pdf", "dot")


def plot_curves(history: dict, path: Path) -> str | None:
    """Loss and accuracy per epoch as a PNG at `path`; returns a note instead when matplotlib is
    not installed (the numbers are in history.json either way)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            "matplotlib is not installed: no curve plot (pip install matplotlib); "
            "the numbers are in history.json"
        )
    epochs = range(1, len(history["loss"]) + 1)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, history["loss"], marker="o", ms=3)
    loss_axes.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    accuracy_axes.plot(epochs, history["train_accuracy"], marker="o", ms=3, label="train")
    accuracy_axes.plot(epochs, history["test_accuracy"], marker="s", ms=3, label="test")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    accuracy_axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


def render_graph(digraph, path: Path) -> tuple[Path, str | None]:
    """Render a graphviz.Digraph to `path` (format from its suffix). Without the `dot` program,
    write the DOT source next to it instead; returns (file written, note or None)."""
    import graphviz

    fmt = path.suffix.lstrip(".").lower()
    if fmt == "dot":
        write_atomically(path, digraph.source.encode())
        return path, None
    try:
        picture = digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        source = path.with_suffix(".dot")
        write_atomically(source, digraph.source.encode())
        return source, (
            f"the Graphviz `dot` program is not installed, so {path.name} was not drawn; wrote the "
            f"DOT source to {source.name} (render it with `dot -T{fmt} {source.name}`)"
        )
    write_atomically(path, picture)
    return path, None


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to a temporary file beside `path`, then rename it into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
