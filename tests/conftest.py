"""Shared test setup: a seeded engine RNG per test, the default dtype restored after each test,
a hypothesis profile sized so the core suite runs in seconds, and a headless browser for the
explorer page's tests."""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

import minigrad as mg

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
