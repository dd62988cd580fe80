"""Export: dynamic axes inferred from the inputs, a batch never seen at export, two-input models, fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from benchbench.deploy.export import export_onnx, infer_dynamic_axes, other_seq_len
from benchbench.deploy.ort_check import make_session
from benchbench.models.registry import get_model_spec
from benchbench.sources.target import load_target

MODELS_FILE = str(Path(__file__).with_name("onnx_models.py"))


def _maker(name: str):
    spec = get_model_spec(name)
    return spec, lambda bs, sl: spec.example_inputs("tiny", bs, sl)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("mlp", {"x_num": {0: "batch"}, "x_cat": {0: "batch"}}),
        ("resnet18", {"x": {0: "batch"}}),
        ("bert", {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}),
    ],
)
def test_dynamic_axes_are_inferred_from_the_inputs(name, expected):
    spec, make = _maker(name)
    seq = spec.seq_len["tiny"] if spec.is_sequence else None
    assert infer_dynamic_axes(make, list(spec.input_names), 2, seq) == expected


@pytest.mark.parametrize("seq", [1, 2, 3, 4, 5, 16, 128])
def test_other_seq_len_differs_and_is_not_one(seq):
    other = other_seq_len(seq)
    assert other != seq and other >= 2


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_two_input_export_runs_at_a_batch_and_length_never_seen(tmp_path, exporter):
    spec, make = _maker("bert")
    model = spec.build("tiny").eval()
    names = list(spec.input_names)
    seq = spec.seq_len["tiny"]
    axes = infer_dynamic_axes(make, names, 2, seq)
    info = export_onnx(
        model, make(2, seq), tmp_path / "bert.onnx", input_names=names, dynamic_axes=axes, exporter=exporter
    )
    assert info.exporter == exporter
    assert info.specialised_axes == []
    assert (info.capture_strategy is not None) == (exporter == "dynamo")
    proto = onnx.load(info.path)
    assert [i.name for i in proto.graph.input] == names
    assert all(d.dim_param for i in proto.graph.input for d in i.type.tensor_type.shape.dim[:2])
    session, _ = make_session(info.path, ["CPUExecutionProvider"])
    assert session.get_providers() == ["CPUExecutionProvider"]
    inputs = spec.example_inputs("tiny", 7, other_seq_len(seq), seed=3)  # batch 7 and this length never seen
    got = session.run(None, {n: x.numpy() for n, x in zip(names, inputs, strict=True)})
    with torch.no_grad():
        ref = model(*inputs)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert got[0].shape[0] == 7
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r.numpy(), atol=1e-4, rtol=1e-4)


def test_an_axis_fixed_by_the_code_is_reported_as_specialised(tmp_path):
    """Dim.AUTO lets torch.export fix the batch silently (pytorch#148886): the export reads the file back."""
    target = load_target(f"{MODELS_FILE}:fixed_batch", batch_size=2)
    info = export_onnx(target.model, target.inputs, tmp_path / "fixed.onnx", input_names=["x"], dynamic_axes={"x": {0: "batch"}},
                       output_axes={0: [0]}, exporter="dynamo")  # fmt: skip
    assert info.specialised_axes == ["output_0[0]=2"]  # the input stays symbolic; the output does not


def test_unknown_exporter_is_rejected(tmp_path):
    spec, make = _maker("mlp")
    with pytest.raises(ValueError, match="allowed: auto, dynamo, torchscript"):
        export_onnx(spec.build("tiny"), make(2, None), tmp_path / "m.onnx", input_names=["a", "b"], dynamic_axes={},
                    exporter="tflite")  # fmt: skip


def test_external_data_path_is_checked_and_runs(tmp_path):
    """The > 2 GB path (weights in a side file), exercised on a tiny model by lowering the threshold."""
    spec, make = _maker("mlp")
    model = spec.build("tiny").eval()
    axes = {"x_num": {0: "batch"}, "x_cat": {0: "batch"}}
    info = export_onnx(model, make(2, None), tmp_path / "mlp.onnx", input_names=list(spec.input_names),
                       dynamic_axes=axes, exporter="dynamo", external_data_bytes=0)  # fmt: skip
    assert info.external_data and (tmp_path / "mlp.onnx.data").is_file()
    assert info.file_bytes > (tmp_path / "mlp.onnx").stat().st_size
    session, _ = make_session(info.path, ["CPUExecutionProvider"], optimized_path=tmp_path / "mlp.opt.onnx")
    inputs = make(3, None)
    got = session.run(None, {n: x.numpy() for n, x in zip(spec.input_names, inputs, strict=True)})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(*inputs).numpy(), atol=1e-4, rtol=1e-4)
