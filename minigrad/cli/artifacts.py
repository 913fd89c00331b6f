"""Pictures a command writes: training curves (matplotlib, optional) and graphs (Graphviz)."""

from __future__ import annotations

from pathlib import Path

from ..serialization import atomic_write

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
    with atomic_write(path) as stream:
        figure.savefig(stream, format="png", dpi=110)
    plt.close(figure)
    return None


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
