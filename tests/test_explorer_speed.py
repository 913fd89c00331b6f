"""Speed and size guards of the explorer page, not of what it shows (tests/test_explorer*.py):
a 2,000-op graph is ready in under 2 s in headless chromium, and the page `minigrad train`
writes for the demo's model is under 2 MB. docs/viz.md gives the figures measured."""

from __future__ import annotations

import minigrad as mg
from minigrad import viz
from minigrad.cli import artifacts
from minigrad.cli.model import build_mlp
from minigrad.cli.train import GRAPH_BATCH
from minigrad.data import digits
from tests.test_explorer_browser import open_page, visible_ops
from tests.test_viz import require_dot


def test_a_2000_op_graph_loads_in_under_two_seconds(browser, tmp_path):
    """2,001 ops (500 residual tanh layers and a sum): about 5 MB of page."""
    mg.manual_seed(0)
    h = mg.randn(2, 3)
    for _ in range(500):
        h = (h @ mg.randn(3, 3, requires_grad=True) * 0.5).tanh() + h
    explorer = viz.explore(h.sum())
    assert explorer.op_count == 2001
    seconds = open_page(browser, explorer, tmp_path, "big.html")
    in_page = int(browser.find_element("css selector", "body").get_attribute("data-ready-ms"))
    size = (tmp_path / "big.html").stat().st_size
    print(
        f"2,001-op page of {size / 1e6:.1f} MB: {seconds:.2f} s to load, {in_page} ms in the page"
    )
    assert seconds < 2.0
    assert visible_ops(browser) == 2001


def test_the_demo_page_is_under_2_mb(tmp_path):
    """The demo's model (`make demo`: 64-128-64-10, relu) on the examples train draws."""
    require_dot()
    architecture = {
        "in_features": 64, "hidden": [128, 64], "out_features": 10, "activation": "relu",
        "init": "kaiming", "dropout": 0.0,
    }  # fmt: skip
    images, labels = digits()
    path = tmp_path / "backward.html"
    batch = images[:GRAPH_BATCH], labels[:GRAPH_BATCH]
    assert artifacts.backward_page(build_mlp(architecture), *batch, path) is None
    size = path.stat().st_size
    print(f"the demo's page: {size / 1e3:.0f} kB")
    assert size < 2_000_000
