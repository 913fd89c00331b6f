"""The distribution: `python -m build` makes an sdist and a wheel that hold the licence, the
README, the embedded data and the explorer page's script and style, and the wheel installs into
a fresh environment where `import minigrad` and the `minigrad` console script work."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMOKE = """
import minigrad as mg
from minigrad.data import digits
x = mg.tensor([[1.0, 2.0]], requires_grad=True)
(x * x).sum().backward()
assert x.grad.tolist() == [[2.0, 4.0]], x.grad
images, labels = digits()
assert images.shape == (1797, 64) and labels.shape == (1797,)
assert callable(mg.load_run)
from minigrad.explorer import _asset
assert "function drawStep" in _asset("explorer.js") and "g.node.current" in _asset("explorer.css")
print(mg.__file__)
"""


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built the way a release is (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    result = run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    assert "deprecated" not in result.stdout + result.stderr, "the build warns of a deprecation"
    return out


def only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def test_the_metadata_declares_the_mit_licence_and_its_file():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "Copyright (c) the minigrad authors" in (ROOT / "LICENSE").read_text()


@pytest.mark.slow
def test_the_sdist_holds_the_licence_readme_and_data(dist):
    with tarfile.open(only(dist, "minigrad_tape-*.tar.gz")) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "README.md", "pyproject.toml", "minigrad/data/digits.npz"} <= names


@pytest.mark.slow
def test_the_wheel_holds_the_data_and_the_licence_expression(dist):
    with zipfile.ZipFile(only(dist, "minigrad_tape-*.whl")) as archive:
        names = set(archive.namelist())
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "minigrad/data/digits.npz" in names
    assert "minigrad/py.typed" in names  # type checkers read the package's annotations
    for asset in ("explorer.js", "explorer.css", "explorer.html"):  # the explorer page's parts
        assert f"minigrad/explorer_assets/{asset}" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "License-Expression: MIT" in text and "Author: The minigrad authors" in text


@pytest.mark.slow
def test_the_wheel_installs_and_runs_in_a_fresh_environment(dist, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python, script = venv / "bin" / "python", venv / "bin" / "minigrad"
    run([str(python), "-m", "pip", "install", "--quiet", str(only(dist, "*.whl"))])
    imported = run([str(python), "-c", SMOKE], cwd=tmp_path).stdout.strip()
    assert Path(imported).is_relative_to(venv), f"imported {imported}, not the installed wheel"
    help_text = run([str(script), "--help"], cwd=tmp_path).stdout
    for command in ("train", "graph", "trace", "gradcheck"):
        assert command in help_text
