"""Graph batches: inputs sized by a node and an edge count (PyG's `x`, `edge_index`, ...) instead of a batch axis.

A graph batch is recognised from the example inputs: an integer tensor of shape (2, E) whose values index the rows
of a floating tensor of shape (N, F) (node features). Every other input is classed by its sizes: node-level when
its first axis is N (features, a `batch` vector), edge-level when its first axis is E (edge weights, edge
attributes); anything else is kept as given. `GraphLayout.make(nodes, edges)` draws a new random graph at other
counts (features from a normal distribution, edges uniform over the nodes, node-level integer vectors as one
graph of zeros), so an export can be given dynamic node and edge axes and be checked at node counts it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class GraphLayout:
    """Which input is what in a graph batch, and the counts of the example graph."""

    nodes: int
    edges: int
    edge_index: int  # position of the (2, E) integer tensor
    node_level: list[int] = field(default_factory=list)  # positions whose axis 0 is the node axis
    edge_level: list[int] = field(default_factory=list)  # positions whose axis 0 is the edge axis
    inputs: tuple = ()

    def dynamic_axes(self, names: list[str]) -> dict[str, dict[int, str]]:
        """{name: {axis: "nodes" or "edges"}} for each sized input."""
        axes: dict[str, dict[int, str]] = {names[self.edge_index]: {1: "edges"}}
        axes.update({names[i]: {0: "nodes"} for i in self.node_level})
        axes.update({names[i]: {0: "edges"} for i in self.edge_level})
        return axes

    def make(self, nodes: int, edges: int, seed: int = 0) -> tuple:
        """Inputs of a random graph with `nodes` nodes and `edges` edges, shaped and typed like the example's."""
        gen = torch.Generator().manual_seed(seed)
        out = list(self.inputs)
        ei = self.inputs[self.edge_index]
        out[self.edge_index] = torch.randint(0, nodes, (2, edges), generator=gen, dtype=ei.dtype).to(
            ei.device
        )
        for i, count in [(i, nodes) for i in self.node_level] + [(i, edges) for i in self.edge_level]:
            x = self.inputs[i]
            shape = (count, *x.shape[1:])
            if x.is_floating_point():
                out[i] = torch.randn(shape, generator=gen, dtype=torch.float32).to(x.dtype).to(x.device)
            else:  # e.g. a node -> graph `batch` vector: one graph
                out[i] = torch.zeros(shape, dtype=x.dtype, device=x.device)
        return tuple(out)

    @property
    def unit(self) -> str:
        return f"graph ({self.nodes} nodes, {self.edges} edges)"


def graph_layout(inputs: tuple) -> GraphLayout | None:
    """The layout of a graph batch among `inputs`, or None when they are not one (see the module doc)."""
    tensors = [(i, x) for i, x in enumerate(inputs) if isinstance(x, torch.Tensor)]
    features = [(i, x) for i, x in tensors if x.is_floating_point() and x.dim() == 2]
    for e, ei in tensors:
        if (
            ei.is_floating_point()
            or ei.is_complex()
            or ei.dtype == torch.bool
            or ei.dim() != 2
            or ei.shape[0] != 2
        ):
            continue
        if ei.numel() == 0 or int(ei.min()) < 0:
            continue
        top = int(ei.max())
        # more than 2 rows: a (2, F) tensor beside a (2, C) integer one is a batch of 2, not a graph
        feat = next(((i, x) for i, x in features if x.shape[0] > max(top, 2)), None)
        if feat is None:
            continue
        nodes, edges = int(feat[1].shape[0]), int(ei.shape[1])
        if nodes == edges:  # the classes would be ambiguous
            return None
        node_level = [i for i, x in tensors if i != e and x.dim() >= 1 and x.shape[0] == nodes]
        edge_level = [i for i, x in tensors if i != e and x.dim() >= 1 and x.shape[0] == edges]
        return GraphLayout(nodes, edges, e, node_level, edge_level, tuple(inputs))
    return None


def probe_counts(layout: GraphLayout) -> list[tuple[int, int]]:
    """Two (nodes, edges) pairs other than the example's: about half and one and a half times its size."""
    n, e = layout.nodes, layout.edges
    small = (max(3, n // 2 + 1), max(2, e // 2 + 1))
    large = (n + max(2, n // 2), e + max(3, e // 2))
    return [c for c in (small, large) if c != (n, e)]
