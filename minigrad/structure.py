"""A count of the changes that a compiled step's guards look for, moved on where they are made.

`mg.compile` replays a program only while what it was recorded with still holds: each module's
parameters and submodules in their places, each module's train/eval mode, each tensor's shape
and dtype. Reading all of that on every call was a twentieth of a small step (benchmark case 2,
callgrind). Instead, every place that can change one of them calls `changed()`:
`Module.__setattr__`, `__delattr__` and `train()`, and `Tensor.data` given an array of another
shape or dtype. A program reads them all again only when `changes` has moved since it last did
(`compile/guards.py`).

Not seen, as eager's version counters do not see them either: changes made to an array itself,
behind its Tensor (`t.data.shape = ...`, `t.data.resize(...)`). Assign `t.data` instead.
"""

changes = 0


def changed() -> None:
    """Note that a module's parameters, submodules or mode, or a tensor's shape or dtype, may
    have changed."""
    global changes
    changes += 1
