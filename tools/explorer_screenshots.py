"""Take the explorer screenshots that docs/viz.md shows, in headless chromium.

    python tools/explorer_screenshots.py   # docs/explorer-step.png, docs/explorer-collapsed.png

Needs Graphviz, Debian's chromium and chromium-driver, and selenium (the dev extra); the driver's
path is given, so nothing is downloaded.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import minigrad as mg
from minigrad import nn, viz

DOCS = Path(__file__).resolve().parent.parent / "docs"


def browser():
    """Headless chromium through the system chromedriver (its path given: no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1400,800"):
        options.add_argument(argument)
    return webdriver.Chrome(
        service=Service(executable_path="/usr/bin/chromedriver"), options=options
    )


def mlp_page(folder: Path) -> Path:
    """A 3-layer MLP on a batch of 8: the graph docs/viz.md builds."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    batch = mg.randn(8, 4)
    loss = nn.functional.mse_loss(model(batch), mg.zeros(8, 3))
    explorer = viz.explore(loss, names={"batch": batch, "loss": loss}, module=model)
    return explorer.save(folder / "mlp.html")


def main() -> None:
    """Step 2 of the MLP's walk with its last Linear op's panel open, then every module
    collapsed at the last step."""
    driver = browser()
    try:
        with tempfile.TemporaryDirectory() as folder:
            driver.get(mlp_page(Path(folder)).as_uri())
            # step 2, the Mul of the squared error: both its inputs are one tensor
            driver.find_element("id", "step").click()
            linear = [
                node
                for node in driver.find_elements("css selector", "g.node")
                if node.text == "Linear"
            ]
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click'))", linear[-1])
            driver.find_element("css selector", "#details details summary").click()
            driver.save_screenshot(str(DOCS / "explorer-step.png"))
            driver.find_element("id", "collapse-all").click()
            driver.find_element("id", "last").click()
            driver.save_screenshot(str(DOCS / "explorer-collapsed.png"))
    finally:
        driver.quit()
    for name in ("explorer-step.png", "explorer-collapsed.png"):
        print(f"wrote docs/{name}: {(DOCS / name).stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
