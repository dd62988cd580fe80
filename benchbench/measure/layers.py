"""Layer by layer: qualified name, type, input and output shapes, parameters and MACs of every module.

Shapes are those of the module's first call in one forward pass; MACs are inclusive (a module's own
ops plus its children's), from the dispatch counter of `benchbench.measure.flops`, so a row at depth d equals
the sum of its children plus whatever it computes itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from benchbench.measure.flops import dispatch_count
from benchbench.measure.records import LayerRow, Shape


def _tensors(obj: Any) -> list[torch.Tensor]:
    return [t for t in tree_flatten(obj)[0] if isinstance(t, torch.Tensor)]


def _shapes(obj: Any) -> list[Shape]:
    return [list(t.shape) for t in _tensors(obj)]


def _key(t: torch.Tensor) -> tuple[str, int]:
    """A tensor's identity for data flow: its storage, so that views of an output still count as it."""
    if t.layout != torch.strided:
        return (str(t.device), id(t))
    return (str(t.device), t.untyped_storage().data_ptr())


def _param_count(mod: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in mod.parameters()}.values())


class _Provenance(TorchDispatchMode):
    """Data flow: for every tensor storage, the modules whose outputs it was computed from.

    A module's outputs are marked with its name; an op's outputs inherit the union of its inputs'
    marks. Tensors are held until the pass ends, so that no storage address is reused meanwhile.
    """

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[tuple[str, int], frozenset[str]] = {}
        self.keep: list[torch.Tensor] = []

    def of(self, t: torch.Tensor) -> list[str]:
        return sorted(self.marks.get(_key(t), frozenset()))

    def mark(self, tensors: list[torch.Tensor], name: str, only_new: bool = False) -> None:
        for t in tensors:
            if not (only_new and _key(t) in self.marks):
                self.marks[_key(t)] = frozenset((name,))
                self.keep.append(t)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        marks = frozenset().union(*(self.marks.get(_key(t), frozenset()) for t in _tensors((args, kwargs))))
        if marks:
            for t in _tensors(out):
                key = _key(t)
                self.marks[key] = self.marks.get(key, frozenset()) | marks
                self.keep.append(t)
        return out


def layer_table(model: nn.Module, inputs: tuple, macs: dict[str, int] | None = None) -> list[LayerRow]:
    """One row per module of `model`, in definition order; runs one no-grad forward pass.

    `macs` is a `flops.by_module` tree already counted; without it the pass counts them itself.
    """
    rows = {
        name: LayerRow(name, type(mod).__name__, name.count(".") + 1 if name else 0, params=_param_count(mod))
        for name, mod in model.named_modules()
    }
    counter = [0]
    handles = []
    flow = _Provenance()

    def pre(name: str, args: tuple, kwargs: dict) -> None:
        row = rows[name]
        row.calls += 1
        tensors = _tensors((args, kwargs))
        if name == "":
            flow.mark(tensors, "input", only_new=True)
        if row.order < 0:
            row.order = counter[0]
            counter[0] += 1
            row.input_shapes = [list(t.shape) for t in tensors]
            row.sources = [flow.of(t) for t in tensors]

    def post(name: str, output: Any) -> None:
        row = rows[name]
        tensors = _tensors(output)
        if not row.output_shapes:
            row.output_shapes = [list(t.shape) for t in tensors]
            if name == "":
                row.output_sources = [flow.of(t) for t in tensors]
        flow.mark(tensors, name)

    for name, mod in model.named_modules():
        handles.append(mod.register_forward_pre_hook(lambda m, a, k, n=name: pre(n, a, k), with_kwargs=True))
        handles.append(mod.register_forward_hook(lambda m, a, o, n=name: post(n, o)))
    try:
        with flow:
            if macs is None:
                macs = dispatch_count(model, inputs).by_module()
            else:
                with torch.no_grad():
                    model(*inputs)
    finally:
        for h in handles:
            h.remove()
        flow.keep.clear()
    for name, row in rows.items():
        row.macs = int(macs.get(name, 0))
    return list(rows.values())


def collapse(rows: list[LayerRow], depth: int | None) -> list[LayerRow]:
    """The rows at most `depth` deep (all rows when `depth` is None); MACs stay inclusive."""
    return rows if depth is None else [r for r in rows if r.depth <= depth]
