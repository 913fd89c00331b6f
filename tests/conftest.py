"""Shared test setup: a seeded engine RNG per test, the default dtype restored after each test,
and a hypothesis profile sized so the core suite runs in seconds."""

from __future__ import annotations

import os

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
