"""Greedy decoding with the cache equals recomputing the whole sequence at every step, token for token; the cache
is really used: it covers one more position per step (attention) or keeps its size (recurrent), and every decode
step embeds one token per sequence, never the prompt again."""

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.generate.build import build_decoder
from benchbench.generate.check import check_cache
from benchbench.generate.decoder import as_decoder, cache_positions

PROMPT, GEN = 7, 6


def _check(name, size="tiny"):
    decoder, _ = build_decoder(name, size=size)
    prompt = torch.randint(0, decoder.vocab_size, (2, PROMPT), generator=torch.Generator().manual_seed(3))
    return decoder, check_cache(decoder, prompt, GEN)


@pytest.mark.parametrize("name", ["gpt2", "lstm_lm", "mamba"])
def test_zoo_cache_equals_recompute(name):
    _, check = _check(name)
    assert check.same_tokens, (check.tokens_cached, check.tokens_recomputed)
    assert len(check.tokens_cached[0]) == GEN
    assert check.tokens_seen == [PROMPT] + [1] * (GEN - 1)  # the prompt once, then one token per step
    assert check.ok


def test_attention_cache_grows_one_position_per_step():
    _, check = _check("gpt2")
    assert check.positions == list(range(PROMPT, PROMPT + GEN))
    assert all(b > a for a, b in zip(check.bytes_held, check.bytes_held[1:]))


@pytest.mark.parametrize("name", ["lstm_lm", "mamba"])
def test_recurrent_state_keeps_its_size(name):
    _, check = _check(name)
    assert check.positions == [None] * GEN
    assert len(set(check.bytes_held)) == 1 and check.bytes_held[0] > 0


def test_whisper_decoder_cache_equals_recompute():
    """Whisper's text decoder over a fixed clip: self-attention KV grows, cross-attention KV is computed once."""
    _, check = _check("whisper_tiny")
    assert check.same_tokens and check.ok
    assert check.positions == list(range(PROMPT, PROMPT + GEN))


def test_hf_llama_gqa_cache_equals_recompute(llama_gqa_dir):
    decoder, check = _check(f"hf:{llama_gqa_dir}", size=None)
    assert decoder.kind == "hf" and decoder.config.num_key_value_heads < decoder.config.num_attention_heads
    assert check.same_tokens and check.ok
    assert check.positions == list(range(PROMPT, PROMPT + GEN))
    assert check.tokens_seen == [PROMPT] + [1] * (GEN - 1)


def test_hf_mamba_cache_equals_recompute(hf_mamba_dir):
    _, check = _check(f"hf:{hf_mamba_dir}", size=None)
    assert check.same_tokens and check.ok and len(set(check.bytes_held)) == 1


def test_check_catches_a_cache_that_is_ignored():
    """A decoder whose step ignores the cache (sees only the new token) is caught: its tokens differ."""
    decoder, _ = build_decoder("gpt2")
    real = decoder.forward
    decoder.forward = lambda ids, cache: real(ids, None)
    prompt = torch.randint(0, decoder.vocab_size, (2, PROMPT), generator=torch.Generator().manual_seed(3))
    check = check_cache(decoder, prompt, GEN)
    assert not check.grows_by_one or not check.same_tokens
    assert not check.ok


def test_not_a_decoder_is_refused_in_one_line():
    with pytest.raises(BadInputError, match="forward_cached"):
        as_decoder("mlp", torch.nn.Linear(2, 2))
    with pytest.raises(BadInputError, match="not a decoder"):
        build_decoder("resnet18")
    assert cache_positions((torch.zeros(1),)) is None
