"""Swaps on library models: transformers' SDPA attention (Llama with grouped key/value heads) is routed with parity,
and a model built with attn_implementation="eager" is listed as left eager with the reason."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from benchbench.kernelbench.swap_check import check_swap
from benchbench.sources.target import load_target

pytestmark = pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="needs transformers")


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    from benchbench.sources.hf import import_transformers

    tf = import_transformers()
    folder = tmp_path_factory.mktemp("llama")
    tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=64, max_position_embeddings=32).save_pretrained(folder)  # fmt: skip
    return folder


def test_hf_sdpa_attention_with_grouped_heads_is_swapped_with_parity(llama_dir):
    t = load_target(f"hf:{llama_dir}", None, 2, seq_len=8)
    r = check_swap(t, ["attention"], "eager")
    assert r.swap.counts["attention"].swapped == 2 and r.swap.unrouted == []
    assert r.parity.ok and r.site_parity is not None and r.site_parity.ok
    assert all("F.scaled_dot_product_attention" in s.site for s in r.swap.sites)


def test_hf_eager_attention_is_listed_as_not_routed(llama_dir):
    t = load_target(f"hf:{llama_dir}", None, 1, seq_len=8)
    t.model.config._attn_implementation = "eager"
    r = check_swap(t, ["attention"], "eager")
    assert r.swap.swapped_sites == 0
    assert [u.module for u in r.swap.unrouted] == ["layers.0.self_attn", "layers.1.self_attn"]
    assert all("attn_implementation='eager'" in u.reason for u in r.swap.unrouted)


def test_fvcore_counts_gpt2_once_the_cache_is_off(tmp_path):
    from benchbench.measure.flops import count_flops
    from benchbench.sources.hf import import_transformers

    tf = import_transformers()
    tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=64, n_positions=32).save_pretrained(tmp_path)
    t = load_target(f"hf:{tmp_path}", None, 1, seq_len=8)
    with torch.no_grad():
        counters = count_flops(t.model, t.inputs).counters
    assert counters.fvcore_error is None and counters.fvcore_macs > 0
    assert 0.9 < counters.fvcore_vs_dispatch < 1.1
