"""`structure.changes` moves on at every change a compiled step's guards look for, and not at
the changes a training step makes on every call (which would make each call check in full)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim, structure


def moved(change) -> bool:
    before = structure.changes
    change()
    return structure.changes != before


@pytest.fixture
def model():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_a_replaced_parameter_or_submodule_moves_it(model):
    assert moved(lambda: setattr(model[0], "weight", nn.Parameter(np.ones((3, 4), np.float32))))
    assert moved(lambda: setattr(model, "extra", nn.Linear(2, 2)))
    assert moved(lambda: delattr(model, "extra"))


def test_the_mode_moves_it(model):
    assert moved(model.eval) and moved(model.train)
    assert moved(lambda: setattr(model[1], "training", False))


def test_data_of_another_shape_or_dtype_moves_it():
    t = mg.Tensor(np.zeros((2, 3), np.float32))
    assert moved(lambda: setattr(t, "data", np.zeros((3, 2), np.float32)))
    assert moved(lambda: setattr(t, "data", t.data.astype(np.float64)))


def test_a_training_step_does_not_move_it(model):
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = mg.randn(5, 3), mg.tensor([0, 1, 0, 1, 1])
    t = mg.Tensor(np.zeros((2, 3), np.float32))

    def step():
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        t.data = np.ones((2, 3), np.float32)  # a new batch of the same shape and dtype

    step()
    assert not moved(step)


def test_a_parameter_made_a_buffer_moves_it(model):
    assert moved(lambda: model[0].register_buffer("bias", mg.zeros(4)))


def test_it_moves_after_the_change_it_tells_of(model, monkeypatch):
    """A guard that reads in another thread between the two must not take the old state for
    the new count."""
    seen = []
    monkeypatch.setattr(structure, "changed", lambda: seen.append(vars(model[0]).get("weight")))
    new = nn.Parameter(np.ones((3, 4), np.float32))
    model[0].weight = new
    del model[0].weight
    model[0].register_buffer("weight", mg.zeros(3))
    t = mg.Tensor(np.zeros(2, np.float32))
    t.data = np.zeros(3, np.float32)
    assert seen[0] is new and seen[1] is None and isinstance(seen[2], mg.Tensor)
    assert len(seen) == 4 and t.shape == (3,)
