"""Export to ONNX Runtime of the models people ship: HF decoders with their cache off (GPT-2, Llama with grouped
key/value heads) at two sequence lengths, the zoo's Mamba through a scan export keeps symbolic, the zoo's LSTM with
its output length declared symbolic, and verdicts that name the real cause when a model cannot be exported."""

import importlib.util
from pathlib import Path

import onnx
import pytest

from benchbench.deploy.readiness import ReadinessConfig, check_readiness
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import load_target

FAST = ReadinessConfig(
    timing=TimingConfig(warmup=1, min_repeats=3, max_repeats=10, min_time_s=0.01), quantize=False
)
MODELS_FILE = str(Path(__file__).with_name("onnx_models.py"))
needs_hf = pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="needs transformers")


def _seq_lens(r) -> set:
    return {c["seq_len"] for c in r.parity.cases}


@needs_hf
@pytest.mark.parametrize("kind", ["gpt2", "llama-gqa"])
def test_hf_decoders_export_with_parity_at_two_sequence_lengths(tmp_path, kind):
    from benchbench.sources.hf import import_transformers

    tf = import_transformers()
    if kind == "gpt2":
        cfg = tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=128, n_positions=64)
    else:  # 4 query heads share 2 key/value heads
        cfg = tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, vocab_size=128, max_position_embeddings=64)  # fmt: skip
    cfg.save_pretrained(tmp_path / "cfg")
    r = check_readiness(load_target(f"hf:{tmp_path / 'cfg'}", None, 1, seq_len=12), tmp_path / "onnx", FAST)
    assert r.verdict in ("ready", "ready-with-warnings"), (r.error, r.hint)
    assert r.exporter == "dynamo" and r.parity.ok
    assert _seq_lens(r) == {12, 9} and r.dynamic_axes["input_ids"] == {"0": "batch", "1": "seq"}
    assert [o.name for o in r.parity.outputs] == ["last_hidden_state"]


def test_zoo_mamba_is_ready_with_a_dynamic_sequence_axis(tmp_path):
    r = check_readiness(load_target("mamba", "tiny", 1), tmp_path, FAST)
    assert r.verdict == "ready", (r.error, r.warnings)
    assert r.specialised_axes == [] and _seq_lens(r) == {32, 24}
    assert r.node_counts.get("Scan", 0) >= 1  # the recurrence is one ONNX Scan per layer, not unrolled


def test_zoo_lstm_output_length_is_declared_symbolic(tmp_path):
    r = check_readiness(load_target("lstm_lm", "tiny", 1), tmp_path, FAST)
    assert r.verdict == "ready" and r.specialised_axes == []
    assert any("rewritten as symbols" in n and "aten.lstm" in n for n in r.notes)
    dims = onnx.load(r.file, load_external_data=False).graph.output[0].type.tensor_type.shape.dim
    assert dims[1].dim_param and not dims[1].HasField("dim_value")


def test_a_python_loop_over_the_sequence_is_named_as_the_cause(tmp_path):
    r = check_readiness(load_target(f"{MODELS_FILE}:step_loop", None, 1, seq_len=8), tmp_path, FAST)
    assert r.verdict == "not-ready" and r.stage_failed == "parity"
    assert "Python loop over the sequence was unrolled" in r.hint


@needs_hf
def test_a_cache_in_the_outputs_gets_a_hint_that_names_it(tmp_path):
    r = check_readiness(load_target(f"{MODELS_FILE}:with_cache", None, 1), tmp_path, FAST)
    assert r.verdict == "not-ready" and r.stage_failed == "export"
    assert "cache" in r.hint and "use_cache=False" in r.hint and "no ONNX translation" not in r.hint
