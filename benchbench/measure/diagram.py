"""A Mermaid flowchart of a model's top-level blocks, edges following the data, shapes on the edges.

Blocks are the model's children; a ModuleList/ModuleDict (which never runs itself) is opened into its
items. An edge goes from each block whose output a tensor was computed from to the block that takes
it (`sources` of the layer table, traced through plain code between blocks); a block fed only by
tensors made from constants is drawn as fed by the block that ran just before. Consecutive blocks of one type, each feeding the next with equal shapes, are drawn as one
(`layers.0–11 · PostNormBlock ×12`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbench.core import inert
from benchbench.measure.records import LayerRow, Shape

_CONTAINERS = ("ModuleList", "ModuleDict")
INPUT, OUTPUT = "input", "output"


@dataclass
class _Block:
    names: list[str]
    type: str
    input_shapes: list[Shape]
    output_shapes: list[Shape]
    sources: list[list[str]]
    macs: int
    node: str = ""
    members: set[str] = field(default_factory=set)

    @property
    def first(self) -> str:
        return self.names[0]


def _shape_text(shape: Shape) -> str:
    return "×".join(str(d) for d in shape) or "scalar"


def _chosen(rows: list[LayerRow]) -> list[LayerRow]:
    """The model's children in execution order, containers that never run opened into their items."""
    by_parent: dict[str, list[LayerRow]] = {}
    for r in rows:
        if r.depth >= 1:
            by_parent.setdefault(r.name.rsplit(".", 1)[0] if "." in r.name else "", []).append(r)
    chosen: list[LayerRow] = []
    for r in by_parent.get("", []):
        if r.type in _CONTAINERS and r.calls == 0:
            chosen += by_parent.get(r.name, [])
        else:
            chosen.append(r)
    return sorted((r for r in chosen if r.calls > 0), key=lambda r: r.order)


def _blocks(rows: list[LayerRow]) -> list[_Block]:
    blocks: list[_Block] = []
    for r in _chosen(rows):
        prev = blocks[-1] if blocks else None
        if (
            prev is not None
            and prev.type == r.type
            and prev.input_shapes == r.input_shapes
            and prev.output_shapes == r.output_shapes
            and any(_owner(s, [prev]) is prev for srcs in r.sources for s in srcs)
        ):
            prev.names.append(r.name)
            prev.macs += r.macs
        else:
            blocks.append(_Block([r.name], r.type, r.input_shapes, r.output_shapes, r.sources, r.macs))
    for i, b in enumerate(blocks):
        b.node = f"b{i}"
    return blocks


def _owner(source: str, blocks: list[_Block]) -> _Block | None:
    """The block that is, or contains, module `source`."""
    for b in blocks:
        for name in b.names:
            if source == name or source.startswith(name + "."):
                return b
    return None


def _label(b: _Block) -> str:
    from benchbench.core.units import fmt_count

    count = len(b.names)
    name = b.first if count == 1 else f"{b.first}–{b.names[-1].rsplit('.', 1)[-1]}"
    kind = b.type if count == 1 else f"{b.type} ×{count}"
    macs = f"<br/>{fmt_count(b.macs)} MACs" if b.macs else ""
    return inert.mermaid(f"{name}<br/>{kind}{macs}".replace('"', "'"))


def _edges(blocks: list[_Block], root: LayerRow | None) -> list[tuple[str, str, list[Shape]]]:
    """(from node, to node, shapes) with the shapes of one edge gathered together, in order."""
    edges: dict[tuple[str, str], list[Shape]] = {}

    def add(src: str, dst: str, shape: Shape) -> None:
        shapes = edges.setdefault((src, dst), [])
        if shape not in shapes:
            shapes.append(shape)

    def nodes_of(sources: list[str], exclude: _Block | None = None) -> list[str]:
        found = []
        for s in sources:
            owner = None if s == INPUT else _owner(s, blocks)
            node = INPUT if s == INPUT else owner.node if owner is not None and owner is not exclude else None
            if node is not None and node not in found:
                found.append(node)
        return found

    for i, b in enumerate(blocks):
        before = blocks[i - 1].node if i else INPUT
        incoming = [(shape, nodes_of(srcs, b)) for shape, srcs in zip(b.input_shapes, b.sources)]
        if not any(nodes for _, nodes in incoming):  # fed only by tensors made in plain code
            incoming = [(shape, [before]) for shape in b.input_shapes[:1]]
        for shape, nodes in incoming:
            for node in nodes:
                add(node, b.node, shape)
    if root is not None:
        last = blocks[-1].node if blocks else INPUT
        for shape, srcs in zip(root.output_shapes, root.output_sources):
            for node in nodes_of(srcs) or [last]:
                add(node, OUTPUT, shape)
    return [(s, d, shapes) for (s, d), shapes in edges.items()]


def mermaid(rows: list[LayerRow], title: str | None = None) -> str:
    """Mermaid `flowchart TD` text for the layer rows of one model."""
    root = next((r for r in rows if r.depth == 0), None)
    blocks = _blocks(rows)
    lines = [f"---\ntitle: {inert.mermaid(title)}\n---"] if title else []
    lines += ["flowchart TD", f'    {INPUT}(["input"])']
    lines += [f'    {b.node}["{_label(b)}"]' for b in blocks]
    lines.append(f'    {OUTPUT}(["output"])')
    for src, dst, shapes in _edges(blocks, root):
        text = ", ".join(_shape_text(s) for s in shapes[:3]) + (" …" if len(shapes) > 3 else "")
        lines.append(f'    {src} -- "{text}" --> {dst}')
    return "\n".join(lines) + "\n"
