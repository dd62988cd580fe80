"""Analytic cache bytes from a config alone, and the tensors actually held agree within 1%."""

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.generate.build import build_decoder, decoder_account
from benchbench.generate.check import cache_figures
from benchbench.generate.kv import attention_bytes_per_token, cache_account
from benchbench.models.registry import get_model_spec
from benchbench.sources.hf import import_transformers


def test_published_configs_bytes_per_token():
    t = import_transformers()
    # Llama-2-7B: transformers' LlamaConfig() defaults (32 layers, 32 heads of 128, MHA) at 16-bit
    assert cache_account(t.LlamaConfig(), 2).bytes_per_token == 524_288
    # Llama-3-8B: 32 layers, 32 query heads sharing 8 kv heads (GQA), head dim 128, 16-bit
    llama3 = t.LlamaConfig(
        hidden_size=4096, num_attention_heads=32, num_key_value_heads=8, num_hidden_layers=32
    )
    account = cache_account(llama3, 2)
    assert account.bytes_per_token == 131_072 and account.formula.startswith("GQA")
    assert cache_account(t.MistralConfig(), 2).bytes_per_token == 131_072  # Mistral-7B-v0.1: 8 kv heads


def test_mha_gqa_mqa_formula():
    assert attention_bytes_per_token(2, 4, 16, 4) == 2 * 2 * 4 * 16 * 4
    t = import_transformers()
    for kv, shape in ((8, "MHA"), (2, "GQA"), (1, "MQA")):
        cfg = t.LlamaConfig(
            hidden_size=256, num_attention_heads=8, num_key_value_heads=kv, num_hidden_layers=3
        )
        account = cache_account(cfg, 2)
        assert account.bytes_per_token == 2 * 3 * kv * 32 * 2
        assert account.formula.startswith(shape)


def test_recurrent_states_are_constant():
    mamba = cache_account(get_model_spec("mamba").config("base"), 2, ssm_bytes=4)
    assert mamba.bytes_per_token == 0 and mamba.state_bytes == 24 * 1536 * (4 * 2 + 16 * 4)
    lstm = cache_account(get_model_spec("lstm_lm").config("base"), 4)
    assert lstm.state_bytes == 2 * 2 * 650 * 4 and lstm.bytes_at(10_000) == lstm.bytes_at(1)
    with pytest.raises(BadInputError):
        cache_account(object(), 2)


@pytest.mark.parametrize("name", ["gpt2", "lstm_lm", "mamba", "llama_gqa", "whisper_tiny"])
def test_held_bytes_match_the_analytic_figure(name, llama_gqa_dir):
    model = f"hf:{llama_gqa_dir}" if name == "llama_gqa" else name
    decoder, _ = build_decoder(model, size=None if name == "llama_gqa" else "tiny")
    account = decoder_account(decoder, torch.float32)
    figures = cache_figures(decoder, account, [1, 5, 23])
    for ctx, held in figures.measured:
        assert abs(held - account.bytes_at(ctx)) <= 0.01 * account.bytes_at(ctx), (ctx, held, account.formula)
    assert figures.agrees
    assert (account.bytes_per_token > 0) == (name in ("gpt2", "llama_gqa", "whisper_tiny"))
