"""The backward-cost tracer, the per-neuron derivation, and the N L d^2 law.

`Tracer` records every op's shapes, flops and bytes (forward and backward); `explain_neuron`
prints one neuron's backward pass with its numbers; `complexity` measures MLP backward flops
beside N L d^2 (lecture 001_7c5c639b47bbde7b.txt, slides 'Computing a single neuron',
'Cost per layer', 'Computational complexity'). Flop conventions: `minigrad/trace/costs.py` and
docs/trace.md.
"""

from .complexity import ComplexityReport, complexity
from .costs import Cost, backward_cost, cost_table, forward_cost
from .neuron import NeuronExplanation, explain_neuron
from .tracer import OpRecord, Tracer, node_costs

__all__ = [
    "ComplexityReport",
    "Cost",
    "NeuronExplanation",
    "OpRecord",
    "Tracer",
    "backward_cost",
    "cost_table",
    "complexity",
    "explain_neuron",
    "forward_cost",
    "node_costs",
]
