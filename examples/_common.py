"""What every example shares: its command line, its output folder, optional matplotlib, and one
way of printing numbers (`name = v1 v2 ...`) that people can read and tests can parse."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

_plot_note_shown = False


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """`--out DIR` (where figures go) and `--small` (a quicker run, same lecture numbers)."""
    script = Path(sys.argv[0]).stem
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("examples_out") / script,
        help="folder for the figures (created if missing; default: examples_out/<script name>)",
    )
    parser.add_argument(
        "--small", action="store_true", help="fewer steps and samples, for a quick check"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (after one note) when not installed."""
    global _plot_note_shown
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if not _plot_note_shown:
            print("note: matplotlib is not installed, so no figures are drawn; the numbers follow")
            _plot_note_shown = True
        return None
    return plt


def save(figure, out: Path, name: str) -> Path:
    """Write `figure` to out/name and close it."""
    path = out / name
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
    print(f"wrote {path}")
    return path


def report(name: str, *values) -> None:
    """Print `name = v1 v2 ...`, numbers to 7 significant digits (float32 precision)."""
    flat = []
    for value in values:
        flat.extend(np.ravel(np.asarray(value, dtype=float)).tolist())
    print(f"{name} = " + " ".join(f"{v:.7g}" for v in flat))


def note(text: str) -> None:
    """A line of explanation (not parsed)."""
    print(f"# {text}")


def contour(axes, f, xlim: tuple, ylim: tuple, levels: int = 30) -> None:
    """Level curves of f(x, y) (vectorised over NumPy arrays) on `axes`."""
    xs = np.linspace(*xlim, 200)
    ys = np.linspace(*ylim, 200)
    grid_x, grid_y = np.meshgrid(xs, ys)
    axes.contour(grid_x, grid_y, f(grid_x, grid_y), levels=levels, cmap="Greys", linewidths=0.6)
    axes.set_xlim(*xlim)
    axes.set_ylim(*ylim)
