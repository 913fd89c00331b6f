"""A count of the changes that a compiled step's guards look for, moved on where they are made.

`mg.compile` replays a program only while what it was recorded with still holds: each module's
parameters and submodules in their places, each module's train/eval mode, each tensor's shape
and dtype. Reading all of that on every call was a twentieth of a small step (benchmark case 2,
callgrind). Instead, every place of the Module and Tensor API that changes one of them calls
`changed()`: `Module.__setattr__`, `__delattr__`, `register_buffer` and `train()`, and
`Tensor.data` given an array of another shape or dtype. A program reads them all again only when
`changes` has moved since it last did (`compile/guards.py`). Each place calls it after its
change, so a guard reading in another thread meanwhile sees the count move after what it read,
and reads again on its next call.

Not seen, as they go around the Module and Tensor API (and eager's version counters do not see a
write through `t.data[...]` either): changes made to an array itself, behind its Tensor
(`t.data.shape = ...`, `t.data.resize(...)`), and attributes written past `Module.__setattr__`
(`object.__setattr__(module, ...)`, `module.__dict__[name] = ...`). Assign `t.data`, and the
module's attribute, instead.
"""

changes = 0


def changed() -> None:
    """Note that a module's parameters, submodules or mode, or a tensor's shape or dtype, may
    have changed. (`+=` on a module global is not atomic across threads; two changes counted as
    one still move the count, which is all a guard asks.)"""
    global changes
    changes += 1
