"""Readiness verdicts: ready zoo models, parity at unseen batch sizes, failing exports, fallbacks, the run stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchbench.core.results import Job
from benchbench.core.stage import STAGES
from benchbench.deploy.quantize import QUANT_REL_TOL
from benchbench.deploy.readiness import ReadinessConfig, failing_op, hint_for
from benchbench.measure.timing import TimingConfig
from benchbench.runs.jobs import run_job
from benchbench.runs.suite import Suite

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=20, min_time_s=0.01)
MODELS_FILE = str(Path(__file__).with_name("onnx_models.py"))


@pytest.mark.parametrize("model", ["mlp", "bert"])
def test_two_input_zoo_models_are_ready(readiness_of, model):
    r = readiness_of(model)
    assert r.verdict == "ready", (r.error, r.warnings)
    assert r.exporter == "dynamo" and r.opset >= 17
    assert [c["batch_size"] for c in r.parity.cases] == [1, 5]  # never the export batch (2)
    assert r.export_batch_size == 2
    for out in r.parity.outputs:
        assert out.ok and out.max_abs <= 1e-4
    lo, hi = r.ratio_ci95  # the median of the interleaved rounds' ratios, inside its CI
    assert 0 < lo <= r.ratio <= hi and r.ratio_rounds >= 6
    assert r.ort_latency.threads == r.eager_latency.threads == r.threads
    assert r.ort_latency.n == r.eager_latency.n  # the same number of calls each
    for lat in (r.ort_latency, r.eager_latency):
        assert lat.ci95_ms[0] <= lat.p50_ms <= lat.ci95_ms[1] and lat.cv is not None and lat.stop_reason
    assert r.file_bytes > 0 and sum(r.node_counts.values()) > 0
    assert r.providers == ["CPUExecutionProvider"]


def test_sequence_model_is_probed_at_another_length(readiness_of):
    r = readiness_of("bert")
    assert len({c["seq_len"] for c in r.parity.cases}) == 2


def test_int8_variant_is_quantized_and_checked(readiness_of):
    q = readiness_of("mlp").quantized
    assert q.error is None
    assert any("Integer" in op or "Quant" in op for op in q.quantized_ops)
    assert q.file_bytes > 0 and q.ratio > 0
    for value, ci in ((q.ratio, q.ratio_ci95), (q.ratio_vs_fp32_ort, q.ratio_vs_fp32_ort_ci95)):
        assert ci[0] <= value <= ci[1]
    assert q.parity.ok, q.parity
    assert all(o.tol.rel == QUANT_REL_TOL and o.rel_err <= QUANT_REL_TOL for o in q.parity.outputs)


def test_each_int8_variant_states_the_share_it_quantized(readiness_of):
    """The MLP is all Linear layers: dynamic int8 quantizes every matmul; the static variant too, per channel."""
    r = readiness_of("mlp")
    for q in (r.quantized, r.quantized_static):
        assert q.error is None, q.error
        assert q.mac_share == 1.0 and 0.9 < q.weight_share < 1.0  # biases and embeddings stay fp32
        assert q.quantized_weights < q.total_weights and not q.warnings
    assert r.quantized.method == "dynamic" and not r.quantized.per_channel
    assert r.quantized_static.method == "static" and r.quantized_static.per_channel
    assert "Conv" in r.quantized_static.op_types and r.quantized_static.parity.verdict == "ok"


def test_unexportable_model_is_not_ready_with_the_op_named(readiness_of):
    r = readiness_of(f"{MODELS_FILE}:unexportable", quantize=False)
    assert r.verdict == "not-ready"
    assert r.stage_failed == "export"
    assert "dynamo:" in r.error and "torchscript:" in r.error
    assert r.failing_op == "bbtest.mystery"
    assert "no ONNX translation" in r.hint
    assert r.fallback_reason


def test_data_dependent_branch_gets_the_hint_and_the_fallback_is_a_warning(readiness_of):
    strict = readiness_of(f"{MODELS_FILE}:data_dependent", quantize=False, exporter="dynamo")
    assert strict.verdict == "not-ready" and strict.stage_failed == "export"
    assert "data-dependent" in strict.hint
    fallback = readiness_of(f"{MODELS_FILE}:data_dependent", quantize=False)
    assert fallback.verdict == "ready-with-warnings"
    assert fallback.exporter == "torchscript"
    assert "GuardOnDataDependentSymNode" in fallback.fallback_reason
    assert any("TorchScript fallback" in w for w in fallback.warnings)


def test_a_specialised_batch_axis_fails_parity_at_another_batch(readiness_of):
    r = readiness_of(f"{MODELS_FILE}:fixed_batch", quantize=False)
    assert r.verdict == "not-ready" and r.stage_failed == "parity"
    assert r.specialised_axes == ["output_0[0]=2"]
    assert "specialised" in r.hint


@pytest.mark.parametrize(
    "text, op, hint_word",
    [
        (
            "DispatchError: No ONNX function found for <OpOverload(op='aten.foo', overload='default')>",
            "aten.foo",
            "translation",
        ),
        (
            "UnsupportedOperatorError: unrecognized namespace bbtest::mystery",
            "bbtest::mystery",
            "translation",
        ),
        ("Could not guard on data-dependent expression u0 > 1", None, "data-dependent"),
        (
            "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for ConvInteger(10)",
            None,
            "kernel",
        ),
        ("something nobody has seen", None, None),
    ],
)
def test_hints_and_failing_ops(text, op, hint_word):
    assert failing_op(text) == op
    hint = hint_for(text)
    assert (hint is None) if hint_word is None else (hint_word in hint)


def test_export_batch_of_one_is_refused():
    with pytest.raises(ValueError, match="size-1 dim"):
        ReadinessConfig(export_batch_size=1)


def test_the_run_stage_records_a_failure_and_the_suite_goes_on(tmp_path):
    assert "export" in STAGES
    suite = Suite("t", timing=FAST, stages=("export",))
    settings = suite.settings()
    bad = run_job(Job(f"{MODELS_FILE}:unexportable", "user", 1, "float32"), settings, tmp_path)
    good = run_job(Job("mlp", "tiny", 1, "float32"), settings, tmp_path)
    assert bad.export.verdict == "not-ready"
    assert not [e for e in bad.errors if e.stage == "export"]  # recorded in the section, never raised
    assert good.export.verdict == "ready"
    assert (tmp_path / "onnx" / "mlp_tiny.onnx").is_file()
