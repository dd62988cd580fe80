"""Layer table rows, depth collapsing, the rich rendering and the Mermaid diagram."""

from __future__ import annotations

import pytest
import torch
from rich.console import Console
from torch import nn

from benchbench.cli.profile import layer_table as render_layer_table
from benchbench.core.files import to_jsonable
from benchbench.measure.diagram import mermaid
from benchbench.measure.flops import count_flops
from benchbench.measure.layers import collapse, layer_table
from benchbench.sources.target import load_target


@pytest.fixture(scope="module")
def resnet_rows():
    t = load_target("resnet18", "tiny", 2)
    return t, layer_table(t.model.eval(), t.inputs)


def test_rows_have_shapes_params_and_inclusive_macs(resnet_rows):
    t, rows = resnet_rows
    by = {r.name: r for r in rows}
    root = by[""]
    assert root.depth == 0 and root.type == type(t.model).__name__
    assert root.input_shapes == [list(t.inputs[0].shape)]
    assert root.params == sum(p.numel() for p in t.model.parameters())
    assert root.macs == count_flops(t.model, t.inputs, check=False).macs
    conv1 = by["conv1"]
    assert conv1.type == "Conv2d" and conv1.depth == 1
    assert conv1.output_shapes[0][:2] == [2, t.model.conv1.out_channels]
    assert conv1.macs == conv1.output_shapes[0][1] * conv1.output_shapes[0][2] * conv1.output_shapes[0][
        3
    ] * 2 * (t.model.conv1.in_channels * 7 * 7)
    top = [r for r in rows if r.depth == 1]
    assert sum(r.params for r in top) == root.params
    assert sum(r.macs for r in top) == root.macs  # the model runs no MACs of its own
    section = to_jsonable(rows)
    assert set(section[0]) >= {"name", "type", "depth", "input_shapes", "output_shapes", "params", "macs"}


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_collapse_and_render(resnet_rows, depth):
    _, rows = resnet_rows
    kept = collapse(rows, depth)
    assert kept and max(r.depth for r in kept) == depth
    console = Console(width=200, record=True)
    console.print(render_layer_table(rows, depth=depth))
    text = console.export_text()
    assert ("layer1" in text) == (depth >= 1)
    assert ("BasicBlock" in text) == (depth >= 2)


def test_shared_module_called_twice():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    rows = {r.name: r for r in layer_table(net, (torch.randn(3, 4),))}
    assert rows["0"].calls == 2 and rows["0"].macs == 2 * 3 * 4 * 4  # named once, both calls counted


def test_mermaid_groups_repeated_blocks_and_labels_edges_with_shapes():
    t = load_target("bert", "tiny", 2)
    rows = layer_table(t.model.eval(), t.inputs)
    chart = mermaid(rows, title="bert")
    cfg = t.spec.config("tiny")
    assert "flowchart TD" in chart
    assert f"PostNormBlock ×{cfg.layers}" in chart
    T = t.seq_len
    assert f'b0 -- "2×{T}×{cfg.hidden}" --> b1' in chart  # embeddings → the encoder layers
    assert f'input -- "2×{T}" --> b1' in chart  # the attention mask, made from an input by plain code
    assert f'b1 -- "2×{T}×{cfg.hidden}" --> output' in chart and f'b2 -- "2×{cfg.hidden}" --> output' in chart


class TwoTower(nn.Module):
    """Two encoders side by side, fused: the chart must not chain them."""

    def __init__(self) -> None:
        super().__init__()
        self.image, self.text, self.fuse = nn.Linear(8, 4), nn.Linear(6, 4), nn.Linear(8, 2)

    def forward(self, a, b):
        return self.fuse(torch.cat([self.image(a), self.text(b)], -1))


def test_mermaid_follows_the_data_not_the_call_order():
    rows = layer_table(TwoTower(), (torch.randn(3, 8), torch.randn(3, 6)))
    by = {r.name: r for r in rows}
    assert by["fuse"].sources == [["image", "text"]]
    chart = mermaid(rows)
    edges = {line.strip() for line in chart.splitlines() if "-->" in line}
    assert edges == {
        'input -- "3×8" --> b0',
        'input -- "3×6" --> b1',
        'b0 -- "3×8" --> b2',
        'b1 -- "3×8" --> b2',
        'b2 -- "3×2" --> output',
    }


def test_the_layer_table_sees_mambas_scan_as_one_op(monkeypatch):
    """The scan is one op (benchbench::chunked_scan) to the table's data-flow mode: the flow goes through it (u and
    z reach out_proj), and none of its thousands of steps runs under the mode, nor is kept alive by it."""
    from benchbench.measure import layers

    seen = set()

    class Recording(layers._Provenance):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(str(func.overloadpacket))
            return super().__torch_dispatch__(func, types, args, kwargs)

    monkeypatch.setattr(layers, "_Provenance", Recording)
    t = load_target("mamba", "tiny", 1)
    rows = {r.name: r for r in layer_table(t.model.eval(), t.inputs)}
    into_out_proj = rows["layers.0.mixer.out_proj"].sources[0]
    assert {"layers.0.mixer.in_proj", "layers.0.mixer.act"} <= set(into_out_proj)
    assert {"benchbench.chunked_scan", "aten.silu"} <= seen and "aten.addcmul" not in seen, sorted(seen)
