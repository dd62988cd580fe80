"""`benchbench profile`: the layer table, the diagram in the JSON, sweeps, memory keys, stages that fail."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from benchbench.cli import main
from benchbench.measure import profile as profile_mod
from benchbench.measure.profile import profile, profile_target
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import Target

FAST = TimingConfig(warmup=1, min_repeats=2, min_time_s=0)


def test_layers_are_printed_to_a_depth(capsys):
    assert main(["profile", "resnet18", "--layers", "--depth", "1"]) == 0
    out = capsys.readouterr().out
    assert "layer1" in out and "Sequential" in out and "BasicBlock" not in out
    assert main(["profile", "resnet18", "--layers", "--no-memory"]) == 0
    assert "BasicBlock" in capsys.readouterr().out


def test_json_holds_memory_layers_diagram_and_a_sweep(tmp_path, capsys):
    path = tmp_path / "p.json"
    rc = main(["profile", "bert", "--batch-size", "1,2", "--seq-len", "8,16", "--threads", "1",
               "--diagram", "--json", str(path)])  # fmt: skip
    assert rc == 0
    assert "flowchart TD" in capsys.readouterr().out
    d = json.loads(path.read_text())
    assert d["batch_size"] == 1 and d["seq_len"] == 8
    assert d["diagram"].startswith("---\ntitle: bert (tiny)")
    assert {"name", "type", "depth", "input_shapes", "output_shapes", "params", "macs"} <= set(d["layers"][0])
    assert [(s["batch_size"], s["seq_len"], s["mode"]) for s in d["sweeps"]] == [
        (1, 8, "eval"), (1, 16, "eval"), (2, 8, "eval"), (2, 16, "eval")
    ]  # fmt: skip
    for key in ("param_bytes", "grad_bytes", "optimizer_bytes", "activation_bytes_train",
                "peak_bytes_inference", "peak_bytes_train_step"):  # fmt: skip
        assert d["memory"][key] > 0
    assert d["flops"]["uncounted_ops"] == {} and d["flops"]["elementwise_flops"] > 0


@pytest.mark.parametrize("argv,message", [
    (["profile", "mlp", "--batch-size", "1,zero"], "--batch-size must be positive integers"),
    (["profile", "mlp", "--seq-len", "16"], "has no sequence length"),
    (["profile", "mlp", "--mode", "train"], "invalid choice"),
    (["profile", "mlp", "--layers", "--depth", "-1"], "argument --depth: '-1' must be an integer >= 0"),
])  # fmt: skip
def test_bad_input_exits_2(argv, message, capsys):
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors exit directly
        rc = exc.code
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_failing_stage_is_recorded_and_the_rest_goes_on(monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("layer hooks exploded")

    monkeypatch.setattr(profile_mod, "layer_table", broken)
    r = profile("mlp", timing=FAST)
    assert [e.stage for e in r.errors] == ["layers"]
    assert r.layers is None and r.diagram is None
    assert r.memory.peak_bytes_inference > 0 and r.latency.n >= 2 and r.flops.macs > 0


class _ArgMax(nn.Module):
    def forward(self, x):
        return x.argmax()  # no differentiable output: a train step cannot run


def test_a_failing_memory_measurement_is_an_error_of_its_own():
    net = nn.Sequential(nn.Linear(4, 3), nn.Flatten(0))
    target = Target("argmax", "user", "user", nn.Sequential(net, _ArgMax()), (torch.randn(2, 4),), 2)
    r = profile_target(target, timing=FAST)
    assert [e.stage for e in r.errors] == ["memory.peak_bytes_train_step"]
    assert r.memory.peak_bytes_inference > 0 and r.latency is not None
