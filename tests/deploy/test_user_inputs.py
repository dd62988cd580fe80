"""Export with the inputs people have: a graph batch (node and edge counts, no batch axis), an optional None input,
and a sequence axis the factory does not vary."""

from __future__ import annotations

from pathlib import Path

import pytest

MODELS = str(Path(__file__).with_name("user_models.py"))


def test_a_plain_torch_gcn_exports_ready_with_node_and_edge_axes_and_parity_at_two_node_counts(readiness_of):
    r = readiness_of(f"{MODELS}:gcn")
    assert r.verdict == "ready", (r.error, r.warnings)
    assert r.dynamic_axes == {"input_0": {"0": "nodes"}, "input_1": {"1": "edges"}}
    assert r.specialised_axes == [] and r.graph == {"nodes": 300, "edges": 1200}
    cases = r.parity.cases
    assert [c["nodes"] for c in cases] == [151, 450] and [c["edges"] for c in cases] == [601, 1800]
    (out,) = r.parity.outputs
    assert out.verdict == "ok" and out.rel_err <= out.tol.rel and out.ref_rms > 1e-3
    assert r.latency_unit == "graph (300 nodes, 1200 edges)" and r.latency_batch_size == 1
    assert r.export_batch_size is None


def test_gcn_parity_at_each_node_count_is_the_one_check(readiness_of):
    """Both node counts are judged (the merged record keeps the worst); each meets fp32's relative bound."""
    import numpy as np

    from benchbench.core.parity import check_outputs
    from benchbench.deploy.graph_inputs import graph_layout, probe_counts
    from benchbench.deploy.ort_check import make_session
    from benchbench.sources.target import load_target

    r = readiness_of(f"{MODELS}:gcn")
    target = load_target(f"{MODELS}:gcn", "tiny", 1)
    layout = graph_layout(target.inputs)
    session, _ = make_session(r.file, ["CPUExecutionProvider"])
    for i, (nodes, edges) in enumerate(probe_counts(layout)):
        x, ei = layout.make(nodes, edges, seed=i)
        got = session.run(None, {"input_0": x.numpy(), "input_1": ei.numpy()})[0]
        p = check_outputs([np.asarray(got)], [target.model(x, ei).detach()])
        assert got.shape == (nodes, 7) and p.verdict == "ok", (nodes, p.reason)


def test_an_optional_none_input_is_kept_in_place_and_not_reported_dropped(readiness_of):
    r = readiness_of(f"{MODELS}:optional_mask", quantize=False)
    assert r.verdict == "ready", (r.error, r.warnings)
    assert r.none_inputs == ["input_1"] and r.dropped_inputs == []
    assert set(r.dynamic_axes) == {"input_0", "input_2"}
    assert r.parity.verdict == "ok" and any("None" in n for n in r.notes)


def test_a_sequence_axis_the_factory_does_not_vary_is_fixed_with_a_warning(readiness_of):
    r = readiness_of(f"{MODELS}:tiny_lm", quantize=False)
    assert r.verdict == "ready-with-warnings"
    (warning,) = [w for w in r.warnings if "input_0[1]=16" in w]
    assert "--seq-len" in warning


@pytest.mark.parametrize("model", ["mlp", f"{MODELS}:optional_mask"])
def test_no_axis_warning_where_every_varied_axis_is_dynamic(readiness_of, model):
    r = readiness_of(model, quantize=False)
    assert not any("runs at other sizes" in w for w in r.warnings)


def test_outputs_of_about_1e_17_are_inconclusive_then_judged_with_weights_reinitialised(readiness_of):
    """Never a vacuous ok: the first check gives no verdict, the re-initialised export gets a real one."""
    r = readiness_of(f"{MODELS}:vanishing")
    assert r.verdict == "ready", (r.error, r.warnings)
    p = r.parity
    assert len(p.inconclusive_before) == 1 and "below the float32 floor" in p.inconclusive_before[0]
    assert "re-initialised" in p.remedy and "vanishing" in p.remedy and ".reinit.onnx" in p.remedy
    (out,) = p.outputs
    assert out.verdict == "ok" and out.ref_rms > 1e-3 and out.rel_err <= out.tol.rel
    assert any("inconclusive" in n and "verdict ok" in n for n in r.notes)
    for q in (r.quantized, r.quantized_static):  # the int8 checks are remedied the same way
        assert q.parity.inconclusive_before and q.parity.verdict == "ok", q.parity.reason


def test_a_batch_of_two_is_not_taken_for_a_graph():
    import torch

    from benchbench.deploy.graph_inputs import graph_layout

    assert (
        graph_layout((torch.randn(2, 5), torch.randint(0, 2, (2, 3)))) is None
    )  # tabular: floats and categories
    layout = graph_layout((torch.randn(4, 5), torch.tensor([[0, 1, 2], [1, 2, 3]]), torch.rand(3)))
    assert (layout.nodes, layout.edges, layout.edge_level) == (4, 3, [2])


def test_a_graph_factory_without_a_batch_size_is_not_refused(readiness_of):
    r = readiness_of(f"{MODELS}:gcn_no_batch", quantize=False)
    assert r.verdict == "ready", (r.error, r.warnings)
    assert r.latency_unit == "graph (40 nodes, 90 edges)" and r.parity.verdict == "ok"
