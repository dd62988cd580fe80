"""Small transformers configs written to a folder, so that tests build `hf:DIR` decoders offline."""

import pytest

from benchbench.sources.hf import import_transformers

LLAMA_GQA = dict(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=128)  # fmt: skip


@pytest.fixture(scope="session")
def llama_gqa_dir(tmp_path_factory):
    """A 2-layer Llama with 4 query heads sharing 2 key/value heads (GQA)."""
    t = import_transformers()
    folder = tmp_path_factory.mktemp("llama_gqa")
    cfg = t.LlamaConfig(**LLAMA_GQA)
    assert cfg.num_key_value_heads < cfg.num_attention_heads
    cfg.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hf_mamba_dir(tmp_path_factory):
    t = import_transformers()
    folder = tmp_path_factory.mktemp("hf_mamba")
    t.MambaConfig(
        vocab_size=256, hidden_size=32, state_size=8, num_hidden_layers=2, expand=2, conv_kernel=4
    ).save_pretrained(folder)
    return folder
