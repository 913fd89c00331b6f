"""Draw the pictures of docs/nn.md: the digits CNN of `minigrad train --model cnn`, one training
step's graph with each layer collapsed into its box.

    python tools/nn_pictures.py     # writes docs/cnn-graph.svg (needs Graphviz's `dot`)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import minigrad as mg
    from minigrad import nn, viz
    from minigrad.cli.model import build_cnn

    mg.manual_seed(0)
    model = build_cnn({"image_size": 8, "channels": [8, 16], "dropout": 0.0, "out_features": 10})
    images = mg.randn(4, 64)
    loss = nn.functional.cross_entropy(model(images), mg.tensor([0, 1, 2, 3]))
    loss.backward()
    names = {"images": images, "loss": loss}
    graph = viz.draw_graph(
        loss, show_data=False, rankdir="TB", module=model, names=names, collapse_modules=True
    )
    (ROOT / "docs" / "cnn-graph.svg").write_bytes(graph.pipe(format="svg"))


if __name__ == "__main__":
    main()
