"""The one engine random number generator.

Factories (`randn`, `rand`), `nn.init`, dropout masks and `DataLoader` shuffling all draw from the
generator returned by `generator()`, so `manual_seed(n)` makes a whole run reproducible.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the engine RNG (as `torch.manual_seed`) and return it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"manual_seed expects an int >= 0, got {seed}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The engine RNG every random draw in minigrad goes through."""
    return _generator


def get_state() -> dict:
    """A copy of the engine RNG's state (plain ints and strings), to checkpoint with `mg.save`."""
    return copy.deepcopy(dict(_generator.bit_generator.state))


def set_state(state: Mapping) -> None:
    """Put the engine RNG back in a state from `get_state()`, so the draws that follow repeat.

    The generator is changed in place, so code holding it (`generator()`) sees the new state.
    """
    try:
        _generator.bit_generator.state = dict(state)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a state of the engine RNG: {error}") from None
