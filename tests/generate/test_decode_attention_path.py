"""The decode_attention op in the generation path: `generate --decode-attention IMPL` runs every decode step's
attention through that implementation, the cache check still matches recomputation (which goes through the
prefill's `attention`), and a decoder that never calls the op is refused."""

from __future__ import annotations

import pytest
import torch

from benchbench.core.errors import BadInputError
from benchbench.generate.run import GenerateSettings, generate
from benchbench.kernels.registry import route_kernels, use_kernels
from benchbench.models.gpt2 import GPT2, GPT2Config

QUICK = dict(prompt_lens=(7,), gen_len=4, repeats=2, memory=False)


@pytest.mark.parametrize("impl", ["eager", "sdpa", "triton"])
def test_each_decode_attention_gives_the_recomputed_tokens(impl):
    record = generate("gpt2", GenerateSettings(**QUICK, decode_attention=impl))
    assert record.cache_check_ok
    (note,) = [n for n in record.notes if n.startswith("decode attention")]
    assert note.startswith(f"decode attention: {impl} (") and " 0 calls" not in note


def test_a_decode_step_calls_the_op_once_per_layer_and_the_prefill_never():
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=50, dim=32, heads=4, layers=3, max_positions=64)
    model = GPT2(cfg).eval()
    shapes = []

    def spy(q, k, v, **kw):
        shapes.append((tuple(q.shape), tuple(k.shape)))
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    with torch.no_grad(), use_kernels(decode_attention="eager"), route_kernels(decode_attention=spy):
        _, cache = model.forward_cached(torch.randint(0, 50, (2, 5)))
        assert shapes == []  # the prefill's 5 positions go through `attention`
        model.forward_cached(torch.randint(0, 50, (2, 1)), cache)
    assert shapes == [((2, 4, 1, 8), (2, 4, 6, 8))] * 3  # one query against the 6 cached positions, per layer


def test_without_a_selection_the_decode_step_keeps_the_attention_op():
    model = GPT2(GPT2Config(vocab_size=50, dim=32, heads=4, layers=2, max_positions=64)).eval()
    with torch.no_grad(), route_kernels(decode_attention=lambda *a, **k: pytest.fail("decode op called")):
        _, cache = model.forward_cached(torch.randint(0, 50, (1, 3)))
        model.forward_cached(torch.randint(0, 50, (1, 1)), cache)


def test_a_decoder_without_attention_is_refused():
    with pytest.raises(BadInputError, match="lstm_lm's decode steps never call the decode_attention op"):
        generate("lstm_lm", GenerateSettings(**QUICK, decode_attention="triton"))


def test_an_unknown_implementation_is_one_line(cli):
    code, _, err = cli(["generate", "gpt2", "--decode-attention", "tritn"])
    assert code == 2 and "Did you mean 'triton'" in err and len(err.strip().splitlines()) == 1
