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
