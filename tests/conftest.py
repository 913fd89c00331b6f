"""Shared test setup: a seeded engine RNG per test, the default dtype restored after each test,
a hypothesis profile sized so the core suite runs in seconds, a headless browser for the
explorer page's tests, and the environment of MPI jobs bound to the loopback interface
(which skips, or fails under CI, without MPI)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import minigrad as mg
from minigrad.distributed import INSTALL, LAUNCHER_VARIABLES

# Drawn inputs are tiny, but each example runs a full finite-difference gradcheck: no deadline,
# and few enough examples that the whole core suite stays well under a minute on two cores.
settings.register_profile(
    "minigrad",
    deadline=None,
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "minigrad"))


@pytest.fixture
def seeded():
    """The engine RNG seeded with 0, so random factories give the same values every run."""
    return mg.manual_seed(0)


@pytest.fixture(autouse=True)
def _restore_default_dtype():
    """A test that changes the default dtype cannot leak it into the next one."""
    before = mg.get_default_dtype()
    yield
    mg.set_default_dtype(before)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A test that leaves grad mode off fails, and the next test starts with it on anyway."""
    yield
    left_on = mg.is_grad_enabled()
    mg.set_grad_enabled(True)
    assert left_on, "this test left grad mode off"


# ---- MPI jobs (tests/test_distributed.py, tests/test_benchmarks.py) ------------------------------


def mpi_missing() -> str | None:
    """Why MPI jobs cannot run here, or None."""
    if importlib.util.find_spec("mpi4py") is None:
        return f"mpi4py is not installed ({INSTALL})"
    if not (Path(sys.executable).parent / "mpiexec").is_file():
        return f"no mpiexec beside {sys.executable} (the mpich wheel installs it)"
    return None


@pytest.fixture(scope="session")
def loopback(tmp_path_factory) -> dict[str, str]:
    """The environment of a job that stays on this machine's loopback interface: hydra starts
    the workers with fork (no ssh) on the host 127.0.0.1 and talks to them over `lo`, and the
    netmods MPICH's wheel is built with (UCX, libfabric) use `lo` only."""
    why = mpi_missing()
    if why is not None:
        if os.environ.get("MINIGRAD_SKIP_MPI"):
            pytest.skip(f"{why}; {os.environ['MINIGRAD_SKIP_MPI']}")
        if not os.environ.get("CI"):
            pytest.skip(f"{why}; under CI this test fails instead")
        pytest.fail(f"MPI tests cannot run under CI: {why}")
    hosts = tmp_path_factory.mktemp("mpi") / "hosts"
    hosts.write_text("127.0.0.1\n")
    environment = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    environment.update(
        HYDRA_LAUNCHER="fork",
        HYDRA_HOST_FILE=str(hosts),
        HYDRA_IFACE="lo",
        UCX_NET_DEVICES="lo",
        FI_TCP_IFACE="lo",
        OMP_NUM_THREADS="1",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    return environment


CHROMEDRIVER = "/usr/bin/chromedriver"


def _browser_missing(reason: str):
    """Skip, saying why, outside CI (env CI unset); under CI the browser must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"under CI the browser tests must run, but {reason}")
    print(f"skipping: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Debian chromium driven by selenium through the system chromedriver, whose
    path is given, so selenium-manager has nothing to look up or download."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _browser_missing("selenium is not installed (pip install selenium, or the dev extra)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not os.access(CHROMEDRIVER, os.X_OK):
        _browser_missing(
            "chromium and chromium-driver are not installed (apt install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--hide-scrollbars"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
