"""Decoder configs counted on the meta device: published parameter counts, KV bytes, and MACs equal to a built
model's on a small config."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("transformers")

from benchbench.estimate.decoder_counts import DecoderShape, count_decoder, count_model, kv_bytes_per_token
from benchbench.sources.hf import import_transformers, meta_model


@pytest.fixture(scope="module")
def tf():
    return import_transformers()


def llama3_8b(tf):
    """Meta-Llama-3-8B's published config.json (huggingface.co/meta-llama/Meta-Llama-3-8B)."""
    return tf.LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                          num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192,
                          rope_theta=500000.0, tie_word_embeddings=False)  # fmt: skip


def mistral_7b(tf):
    """Mistral-7B-v0.1's published config.json (huggingface.co/mistralai/Mistral-7B-v0.1)."""
    return tf.MistralConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                            num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768,
                            sliding_window=4096, tie_word_embeddings=False)  # fmt: skip


@pytest.mark.parametrize(
    ("make", "params", "kv16"),
    [
        (
            lambda tf: tf.LlamaConfig(),
            6_738_415_616,
            524_288,
        ),  # Llama-2-7B: transformers' LlamaConfig() defaults
        (llama3_8b, 8_030_261_248, 131_072),
        (mistral_7b, 7_241_732_096, 131_072),
    ],
    ids=["llama-2-7b", "llama-3-8b", "mistral-7b-v0.1"],
)
def test_published_parameter_counts_on_the_meta_device(tf, make, params, kv16):
    config = make(tf)
    model = meta_model(tf.AutoModelForCausalLM, config)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == params
    assert kv_bytes_per_token(DecoderShape.from_config(config), 2) == kv16


def test_mqa_has_one_kv_head(tf):
    shape = DecoderShape.from_config(
        tf.LlamaConfig(num_attention_heads=8, num_key_value_heads=1, hidden_size=256)
    )
    assert (shape.kv_heads, shape.head_dim) == (1, 32)
    assert kv_bytes_per_token(shape, 4) == 2 * 32 * 1 * 32 * 4


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_meta_counts_equal_the_built_models(tf, tmp_path, model_type):
    if model_type == "llama":  # GQA: 4 query heads share 2 KV heads
        config = tf.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=2, vocab_size=97, max_position_embeddings=256)  # fmt: skip
    else:
        config = tf.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=97, n_positions=256)
    config.save_pretrained(tmp_path)
    meta = count_decoder(str(tmp_path), prompt_tokens=7, context=33, dtype="float32")
    built = count_decoder(str(tmp_path), prompt_tokens=7, context=33, dtype="float32", on_meta=False)
    assert meta.counted_on.startswith("meta") and built.counted_on.startswith("built")
    for field in ("params", "macs_per_prefill_token", "macs_per_decode_token", "kv_bytes_per_token"):
        assert getattr(meta, field) == getattr(built, field) > 0, field
    # a decode step at context 33 attends to 34 positions: more MACs than a step at a shorter context
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(config).eval()
    _, _, short = count_model(model, 7, 3)
    assert meta.macs_per_decode_token > short


def test_estimate_llama2_7b_config_counts_without_building(cli, tf, tmp_path):
    tf.LlamaConfig().save_pretrained(tmp_path)
    out = tmp_path / "est.json"
    code, text, _ = cli(
        ["estimate", f"hf:{tmp_path}", "--prompt-tokens", "8", "--context", "2048", "--json", str(out)]
    )
    assert code == 0
    assert "6,738,415,616 parameters" in text and "524,288 bytes per token" in text
    data = json.loads(out.read_text())
    assert data["decoder"]["params"] == 6_738_415_616
    assert data["decoder"]["counted_on"].startswith("meta")
    plans = {p["hardware"]: p for p in data["deployment_plan"]["plans"]}
    assert data["deployment_plan"]["kind"] == "estimated" and {"h100-sxm", "t4", "a100-80gb"} <= set(plans)
    assert (
        plans["h100-sxm"]["tensor_parallel"] == 1 and plans["t4"]["tensor_parallel"] == 2
    )  # 13.5 GB of weights leave a T4 no room for 2048 tokens


def test_too_big_to_run_is_refused_in_one_line(cli, tf, tmp_path):
    """A command that must run the model refuses it (`profile` and `card` count it instead: test_counted.py)."""
    tf.LlamaConfig(num_hidden_layers=400).save_pretrained(tmp_path)  # about 80 B parameters
    code, _, err = cli(["export", f"hf:{tmp_path}", "--out", str(tmp_path / "onnx")])
    assert code == 2 and "too big to run here" in err


def test_torch_flop_counter_on_meta_counts_attention_that_the_cpu_kernel_hides(tf):
    """FlopCounterMode runs on meta tensors, but SDPA there decomposes into bmm (counted) while a built CPU model
    runs the fused kernel FlopCounterMode counts as 0; the dispatch counter (what count_decoder uses) counts SDPA
    as one unit on both, so its counts agree (test above)."""
    from torch.utils.flop_counter import FlopCounterMode

    config = tf.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, vocab_size=97, max_position_embeddings=256)  # fmt: skip
    counts = {}
    for device in ("meta", "cpu"):
        model = meta_model(tf.AutoModelForCausalLM, config) if device == "meta" else (
            tf.AutoModelForCausalLM.from_config(config))  # fmt: skip
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(input_ids=torch.zeros(1, 7, dtype=torch.long, device=device), use_cache=True)
        counts[device] = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
    assert counts["meta"]["aten.mm"] == counts["cpu"]["aten.mm"] > 0
    attention_macs = 2 * 4 * 7 * 7 * 16 * 2  # layers × heads × Tq × Tk × (Dqk + Dv)
    assert counts["meta"].get("aten.bmm", 0) == 2 * attention_macs
    assert counts["cpu"].get("aten.bmm", 0) == 0
