"""The explorer page in a real browser (the `browser` fixture of conftest.py: Debian's chromium,
driven by selenium through the system chromedriver, nothing downloaded; outside CI a missing
browser skips these tests, saying why, under CI it fails them). Screenshots are kept in
test-artifacts/ (git-ignored). How fast the page loads: tests/test_explorer_speed.py."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd, nn, viz
from minigrad.trace import node_costs
from tests.test_explorer import Recorder
from tests.test_viz import require_dot

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|nan|-?inf")


def open_page(driver, explorer, tmp_path, name="page.html") -> float:
    """Load the saved page from disk; returns the seconds until its script was ready."""
    require_dot()
    path = explorer.save(tmp_path / name)
    start = time.perf_counter()
    driver.get(path.as_uri())
    while driver.execute_script("return document.body.dataset.ready") != "true":
        assert time.perf_counter() - start < 30, "the page's script never finished"
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    return seconds


def numbers(text: str) -> np.ndarray:
    return np.array([float(n) for n in NUMBER.findall(text)])


def by_css(driver, selector):
    return driver.find_elements("css selector", selector)


def title_of(element) -> str:
    return element.find_element("css selector", "title").get_attribute("textContent")


def visible_ops(driver) -> int:
    """How many op nodes the page shows (one script, not a round trip per node)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('g.node')].filter((node) =>"
        " node.querySelector('title').textContent.startsWith('op')"
        " && getComputedStyle(node).display !== 'none').length"
    )


def view_box(driver) -> list[float]:
    text = driver.execute_script(
        "return document.querySelector('#graph svg').getAttribute('viewBox')"
    )
    return [float(n) for n in text.replace(",", " ").split()]


def click(driver, element):
    from selenium.webdriver import ActionChains

    ActionChains(driver).move_to_element(element).click().perform()


@pytest.fixture
def used_twice():
    x = mg.tensor([[1.0, -2.0], [0.5, 0.25]], requires_grad=True)
    w = mg.tensor([[0.5, 1.0], [0.25, -1.0]], requires_grad=True)
    b = mg.tensor([0.1, 0.2], requires_grad=True)
    loss = ((x @ w + b).tanh() ** 2).sum()
    return loss, {"x": x, "w": w, "b": b, "loss": loss}


def test_the_page_holds_one_node_per_op(browser, used_twice, tmp_path):
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    open_page(browser, explorer, tmp_path)
    ops = [node for node in by_css(browser, "g.node") if title_of(node).startswith("op")]
    assert len(ops) == len(autograd.graph_nodes(loss.grad_fn)) == 5
    assert browser.find_element("id", "count").get_attribute("data-ops") == "5"


def test_stepping_shows_the_engines_order_and_gradients(browser, used_twice, tmp_path):
    from selenium.webdriver.common.keys import Keys

    loss, names = used_twice
    recorder = Recorder()
    autograd.add_watcher(recorder)
    try:
        explorer = viz.explore(loss, names=names)
    finally:
        autograd.remove_watcher(recorder)
    op_name = {item: name for name, (kind, item) in explorer.graph.drawn.items() if kind == "op"}
    open_page(browser, explorer, tmp_path)
    body = browser.find_element("css selector", "body")
    for k, (node, grad) in enumerate(recorder.steps):
        (current,) = by_css(browser, "g.node.current")
        assert title_of(current) == op_name[node]
        assert node.op.name in current.text
        assert browser.find_element("id", "step-op").text == node.op.name
        shown = browser.find_element("id", "step-grad").text
        np.testing.assert_allclose(numbers(shown), grad.ravel(), rtol=1e-5)
        assert browser.find_element("id", "step-label").text == f"step {k + 1} of 5"
        body.send_keys(Keys.ARROW_RIGHT)
    assert browser.find_element("id", "slider").get_attribute("value") == "4"  # stays at the end
    body.send_keys(Keys.ARROW_LEFT)
    assert browser.find_element("id", "step-op").text == recorder.steps[3][0].op.name


def test_a_value_used_twice_shows_its_accumulation(browser, tmp_path):
    a = mg.tensor([0.5, -1.5], requires_grad=True)
    h = a.tanh()
    out = (h * h + h).sum()  # h meets three shares: two from Mul, one from Add
    recorder = Recorder()
    autograd.add_watcher(recorder)
    try:
        explorer = viz.explore(out, names={"a": a, "h": h})
    finally:
        autograd.remove_watcher(recorder)
    open_page(browser, explorer, tmp_path)
    mul = [k for k, (node, _) in enumerate(recorder.steps) if node.op.name == "Mul"][0]
    browser.execute_script(
        "const s = document.getElementById('slider'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));",
        mul,
    )
    items = by_css(browser, "#step-sent li")
    assert len(items) == 2
    total = items[1].find_element("css selector", ".total").text
    tanh_grad = [grad for node, grad in recorder.steps if node.op.name == "Tanh"][0]
    np.testing.assert_allclose(numbers(total), tanh_grad, rtol=1e-5)  # what Tanh then receives
    assert "accumulates" in items[1].text and "accumulates" in items[0].text  # Add came first


def test_clicking_a_node_shows_its_values_gradient_and_cost(browser, used_twice, tmp_path):
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    ids = {id(item): name for name, (kind, item) in explorer.graph.drawn.items()}
    open_page(browser, explorer, tmp_path)
    nodes = {title_of(node): node for node in by_css(browser, "g.node")}
    click(browser, nodes[ids[id(names["w"])]])
    details = browser.find_element("id", "details")
    assert details.get_attribute("data-element") == ids[id(names["w"])]
    assert browser.find_element("id", "details-title").text.startswith("w")
    shown = browser.find_element("id", "details-grad").text
    np.testing.assert_allclose(numbers(shown), names["w"].grad.ravel(), rtol=1e-5)
    np.testing.assert_allclose(
        numbers(browser.find_element("id", "details-values").text), names["w"].data.ravel()
    )
    matmul = loss.grad_fn.parents[0].parents[0].parents[0].parents[0]
    click(browser, nodes[ids[id(matmul)].replace("t", "op")])
    forward, backward = node_costs(matmul)
    assert f"forward flops {forward.flops:,}" in details.text
    assert f"backward flops {backward.flops:,}" in details.text


def mlp_explorer():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    batch = mg.randn(16, 8)
    loss = nn.functional.mse_loss(model(batch), mg.zeros(16, 3))
    return viz.explore(loss, names={"batch": batch, "loss": loss}, module=model), model


def test_collapsing_a_module_hides_its_ops_and_the_box_stands_for_them(browser, tmp_path):
    explorer, _ = mlp_explorer()
    open_page(browser, explorer, tmp_path)
    assert visible_ops(browser) == explorer.op_count == 6  # 3 Linear, 2 Tanh, MseLoss
    cluster = by_css(browser, "g.cluster")[0]
    assert title_of(cluster) == "cluster_module0"
    click(browser, cluster.find_element("css selector", "text"))
    assert visible_ops(browser) == 5
    (box,) = [box for box in by_css(browser, "g.module-box") if box.is_displayed()]
    assert "0: Linear (collapsed)" in box.text
    browser.find_element("id", "last").click()  # the last step runs the first Linear
    assert "current" in box.get_attribute("class")
    browser.find_element("id", "collapse-all").click()
    assert visible_ops(browser) == 3  # the three Linear ops behind their boxes
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "explorer-collapsed.png"))
    browser.find_element("id", "expand-all").click()
    assert visible_ops(browser) == 6 and not any(
        b.is_displayed() for b in by_css(browser, "g.module-box")
    )


def test_search_zoom_and_the_neuron_derivation(browser, tmp_path):
    explorer, _ = mlp_explorer()
    open_page(browser, explorer, tmp_path)
    search = browser.find_element("id", "search")
    search.send_keys("weight")
    assert browser.find_element("id", "search-count").text == "3 found"
    assert len(by_css(browser, "g.node.match")) == 3
    view = view_box(browser)
    browser.find_element("id", "zoom-in").click()
    assert view_box(browser)[2] == pytest.approx(view[2] / 1.25, rel=1e-6)
    browser.find_element("id", "fit").click()
    assert view_box(browser) == pytest.approx(view, rel=1e-6)
    linear = [
        n for n in by_css(browser, "g.node") if title_of(n).startswith("op") and "Linear" in n.text
    ]
    click(browser, linear[0])
    summaries = by_css(browser, "#details details summary")
    assert len(summaries) == 3
    summaries[0].click()
    derivation = browser.find_element("css selector", "#details pre.neuron").text
    assert "neuron j = 0 of a layer with d = 8 inputs" in derivation
    assert "agree with the engine's backward" in derivation
    browser.find_element("id", "step").click()
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "explorer.png"))
    assert (ARTIFACTS / "explorer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_notebook_form_runs_inside_its_iframe(browser, used_twice, tmp_path):
    require_dot()
    loss, names = used_twice
    explorer = viz.explore(loss, names=names)
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{explorer._repr_html_()}</body></html>")
    browser.get(host.as_uri())
    browser.switch_to.frame(browser.find_element("css selector", "iframe.minigrad-explorer"))
    try:
        deadline = time.perf_counter() + 10
        while browser.execute_script("return document.body.dataset.ready") != "true":
            assert time.perf_counter() < deadline, "the page's script never ran in the iframe"
            time.sleep(0.01)
        assert browser.find_element("id", "step-op").text == "Sum"
        assert visible_ops(browser) == 5
    finally:
        browser.switch_to.default_content()


def test_a_cnn_collapses_to_one_box_per_layer(browser, tmp_path):
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(8, 10),
    )  # fmt: skip
    images = mg.randn(2, 1, 8, 8)
    loss = nn.functional.cross_entropy(model(images), mg.tensor([1, 2]))
    explorer = viz.explore(loss, names={"images": images}, module=model)
    open_page(browser, explorer, tmp_path)
    assert visible_ops(browser) == explorer.op_count == 12
    browser.find_element("id", "collapse-all").click()
    labels = sorted(box.text for box in by_css(browser, "g.module-box") if box.is_displayed())
    assert labels == ["0: Conv2d (collapsed)", "3: Conv2d (collapsed)", "6: Linear (collapsed)"]
    assert visible_ops(browser) == 12 - 3 - 3 - 1  # Conv2d, Reshape, Add twice; Linear
