"""An optimizer's step written out as NumPy lines, from its own update rule.

An optimizer that declares `update_rule` and `rule_options` (see `optim/optimizer.py`; SGD does)
has its rule run once more per parameter on stand-ins: the parameter's and gradient's arrays as
`Symbol`s, each option as a `Scalar` read from `param_groups` at run time (so a scheduler's new
learning rate is obeyed), the parameter's state as a `StateView` that reads and writes the
optimizer's state dict. What the rule branches on (momentum or none, a buffer made yet or not)
becomes a guard of the program. A rule the stand-ins cannot write out leaves the step a call of
`optimizer.step()`, just as exact.
"""

from __future__ import annotations

import ast

import numpy as np

from ..optim.optimizer import Optimizer
from .symbolic import Expr, Lowering, Scalar, Symbol, Unlowerable


class StateView:
    """One parameter's optimizer state as the rule sees it: `get` reads an entry (whether it is
    there is a guard), assignment writes one, both in the optimizer's state dict at run time."""

    def __init__(self, lowering: Lowering, real: dict, text: str, reads: list, context):
        self.lowering, self.real, self.text, self.reads = lowering, real, text, reads
        self.context = context  # the recorder and the guards

    def get(self, key: str, default=None):
        """The state entry `key` as a symbol read at run time, or `default` when it is absent
        (which the guards then require of every later call)."""
        recorder, guards = self.context
        present = key in self.real
        guards.append((f"({key!r} in {self.text.replace('setdefault', 'get')})", present))
        if not present:
            return default
        value = self.real[key]
        if not isinstance(value, np.ndarray):
            raise Unlowerable("a state entry that is not an array")
        name = recorder.fresh_name(key)
        self.reads.append(f"{name} = {self.text}[{key!r}]")
        return self.lowering.symbol(value, name)

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(value, Symbol):
            raise Unlowerable("a state entry made outside the stand-ins")
        expr = self.lowering.expr(value)
        self.lowering.effect(
            Expr(f"{self.text}[{key!r}] = {expr.text}", names=expr.names), frozenset()
        )

    def __getitem__(self, key: str):
        raise Unlowerable("a state entry read without get")


def lower_step(recorder, optimizer, index: int) -> tuple[list | None, list]:
    """The lines of `optimizer.step()` (the optimizer `OPT[index]`), or None if its rule cannot
    be written out, and the guards, (expression, value) pairs, of what the rule branched on
    before it could or could not: a step left a call while no momentum buffer exists yet is
    recorded again once one does, and then written out."""
    kind = type(optimizer)
    guards: list = []
    if getattr(kind, "update_rule", None) is None or getattr(kind, "rule_options", None) is None:
        return None, guards
    lines: list = []
    guards += _groups_guards(recorder, optimizer, index)
    try:
        for group_index, group in enumerate(optimizer.param_groups):
            lines += _lower_group(recorder, optimizer, index, group_index, group, guards)
    except Unlowerable:
        return None, guards
    lines.append(f"OPT[{index}].step_count += 1")
    return lines, guards


def lower_zero_grad(recorder, optimizer, index: int) -> tuple[list | None, list]:
    """The lines of `optimizer.zero_grad(set_to_none=True)`, `T[name]._grad = None` for each
    parameter (what `Optimizer.zero_grad` does through the `.grad` setter), and their guards; None
    for an optimizer whose `zero_grad` is its own. About 1% of benchmark case 2's compiled step
    went to the call and its loops (callgrind)."""
    if type(optimizer).zero_grad is not Optimizer.zero_grad:
        return None, []
    lines = [
        f"T[{recorder.tensor_name(param)!r}]._grad = None"
        for group in optimizer.param_groups
        for param in group["params"]
    ]
    return lines, _groups_guards(recorder, optimizer, index)


def _groups_guards(recorder, optimizer, index: int) -> list:
    """Guards that `OPT[index]` has the groups and parameters it was recorded with: a group added
    or a parameter swapped since would be missed by lines that name each parameter."""
    groups = optimizer.param_groups
    guards = [(f"len(OPT[{index}].param_groups) == {len(groups)}", True)]
    held = recorder.namespace.setdefault("IDS", [])
    for group_index, group in enumerate(groups):
        # The ids of the parameters as recorded, computed once (`T` holds the tensors, so their
        # ids stay theirs): `IDS[k]`, compared with the group's list as it is now.
        ids = [id(recorder.namespace["T"][recorder.tensor_name(p)]) for p in group["params"]]
        if ids not in held:
            held.append(ids)
        listed = f"list(map(id, OPT[{index}].param_groups[{group_index}]['params']))"
        guards.append((f"{listed} == IDS[{held.index(ids)}]", True))
    return guards


def _lower_group(recorder, optimizer, index: int, group_index: int, group: dict, guards: list):
    text = f"OPT[{index}].param_groups[{group_index}]"
    options: list = []
    reads = []
    for name in type(optimizer).rule_options:
        value = group[name]
        if isinstance(value, bool):
            guards.append((f"bool({text}[{name!r}])", value))
            options.append(value)
            continue
        variable = recorder.fresh_name(name)
        source = f"float({text}[{name!r}])"
        reads.append(f"{variable} = {source}")
        options.append(Scalar(float(value), variable, guards, source))
    keeps_state = type(optimizer).rule_keeps_state(*options)
    lines = []
    for param in group["params"]:
        tensor_name = recorder.tensor_name(param)
        if id(param) not in recorder.grads_set:  # else the program sets it before this point
            guards.append((f"(T[{tensor_name!r}].grad is None)", param.grad is None))
        if param.grad is not None:
            state_text = f"OPT[{index}].state.setdefault(T[{tensor_name!r}], {{}})"
            real = optimizer.state.get(param, {}) if keeps_state else None
            lines += _lower_parameter(
                recorder, optimizer, param, tensor_name, options, real, state_text, guards
            )
    used = "\n".join(lines)
    return [read for read in reads if read.split(" = ")[0] in used] + lines


def _lower_parameter(recorder, optimizer, param, tensor_name, options, real, state_text, guards):
    lowering = Lowering(recorder.lowered_constant)
    data_name = recorder.array(param.data)
    grad_name = recorder.fresh_name("g")
    recorder.note_type(grad_name, param.grad)
    reads = [f"{grad_name} = T[{tensor_name!r}].grad"]
    data = lowering.symbol(param.data, data_name)
    grad = lowering.symbol(param.grad, grad_name)
    state = (
        None if real is None else StateView(lowering, real, state_text, reads, (recorder, guards))
    )
    try:
        with np.errstate(all="ignore"):
            type(optimizer).update_rule(data, grad, state, *options)
    except Unlowerable:
        raise
    except Exception as error:  # the rule met a stand-in it cannot handle
        raise Unlowerable(str(error)) from None
    lines = reads + lowering.assignments([])
    return lines + [_data_written(param, tensor_name, data_name, lines)]


def _data_written(param, tensor_name: str, data_name: str, lines: list) -> str:
    """The line telling the parameter its buffer changed, as the rule's `param.data = data`
    does: for a leaf that is no view and keeps its buffer, the setter's own version count,
    written inline (about 1.5% of benchmark case 2's compiled step, callgrind); else the setter."""
    rebound = any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == data_name for t in node.targets)
        for node in ast.walk(ast.parse("\n".join(lines)))
    )
    if rebound or param._base is not None or param.grad_fn is not None:
        return f"T[{tensor_name!r}].data = {data_name}"
    return f"T[{tensor_name!r}]._version += 1  # the in-place change counted, as .data = does"
