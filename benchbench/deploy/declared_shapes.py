"""What an exported graph declares about its shapes against what it computes, and why an axis was fixed.

- `stale_output_axes`: an output axis the file declares fixed (say `output_0[1]=32`) while ONNX Runtime returns
  other sizes for it at other input shapes is stale metadata, not a fixed graph. torch's exporter writes the
  output types from its traced shapes, and some shape functions fix an axis the ONNX ops compute (torch's
  `aten.lstm` fake implementation steps through the sequence, so nn.LSTM's output length is declared at the
  example's length while the ONNX LSTM node runs at any length). `declare_symbolic` rewrites such axes as
  symbols, after ORT has shown them to vary.
- `unrolled_loop`: whether the traced graph grows with the sequence length, the mark of a Python loop over the
  sequence that export unrolled at the example's length (the real cause when an axis is truly fixed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from benchbench.deploy.ort_check import ort_feed

_ENTRY = re.compile(r"^(?P<name>.+)\[(?P<axis>\d+)\]=(?P<size>\d+)$")


@dataclass(frozen=True)
class StaleAxis:
    """An output axis declared `declared` in the file that ORT computed as `seen` for the inputs in `case`."""

    output: str
    axis: int
    declared: int
    seen: int
    case: dict[str, Any]

    @property
    def entry(self) -> str:
        return f"{self.output}[{self.axis}]={self.declared}"


def stale_output_axes(
    session: Any, input_names: list[str], specialised: list[str], cases: list[tuple[dict[str, Any], tuple]]
) -> list[StaleAxis]:
    """The declared-fixed output axes among `specialised` ("name[axis]=size") that ORT returns at other sizes."""
    outputs = [o.name for o in session.get_outputs()]
    wanted = {}
    for entry in specialised:
        m = _ENTRY.match(entry)
        if m and m["name"] in outputs:
            wanted[(m["name"], int(m["axis"]))] = int(m["size"])
    found: dict[tuple[str, int], StaleAxis] = {}
    if not wanted:
        return []
    for label, inputs in cases:
        got = session.run(None, ort_feed(session, input_names, inputs))
        for (name, axis), declared in wanted.items():
            shape = got[outputs.index(name)].shape
            if axis < len(shape) and shape[axis] != declared and (name, axis) not in found:
                found[name, axis] = StaleAxis(name, axis, declared, int(shape[axis]), label)
    return list(found.values())


def declare_symbolic(path: str | Path, stale: list[StaleAxis]) -> None:
    """Rewrite each stale output axis of the file at `path` as a symbol, and check the file again."""
    proto = onnx.load(str(path), load_external_data=False)  # the weights stay where they are
    by_name = {o.name: o for o in proto.graph.output}
    for s in stale:
        dim = by_name[s.output].type.tensor_type.shape.dim[s.axis]
        dim.ClearField("dim_value")
        dim.dim_param = f"{s.output}_dim{s.axis}"
    onnx.save(proto, str(path))
    onnx.checker.check_model(str(path), full_check=True)


def _graph_size(model: nn.Module, inputs: tuple) -> int:
    with torch.no_grad():
        program = torch.export.export(model, inputs, strict=False)
    return sum(1 for n in program.graph.nodes if n.op == "call_function")


def unrolled_loop(
    model: nn.Module, make: Any, batch_size: int, lengths: tuple[int, int]
) -> tuple[int, int] | None:
    """(ops at the first length, ops at the second) when the traced graph grows with the sequence length."""
    a, b = (_graph_size(model, make(batch_size, n)) for n in lengths)
    return (a, b) if a != b else None
