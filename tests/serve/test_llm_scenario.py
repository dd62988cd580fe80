"""The LLM scenario: continuous batching, the goodput search bracketing a decoder of known step time, and a small
zoo decoder served on this CPU."""

from __future__ import annotations

import json

import pytest
from sleepy_decoder import PREFILL_MS, STEP_MS, SleepyDecoder, capacity_qps

from benchbench.serve.decoder import CachedDecoder
from benchbench.serve.llm_records import RequestRecord, Slo
from benchbench.serve.llm_scenario import LlmConfig, serve_llm_decoder
from benchbench.serve.llm_server import allowed_misses, serve_decoder
from benchbench.serve.llm_workload import Lengths, draw_requests


def test_lengths_and_requests_are_seeded_and_bounded():
    assert Lengths.parse("16", "x") == Lengths(16, 16) and Lengths.parse("8:32", "x") == Lengths(8, 32)
    for bad in ("0", "9:3", "a", "1:2:3"):
        with pytest.raises(ValueError):
            Lengths.parse(bad, "--prompt-tokens")
    a = draw_requests(50, 10.0, Lengths(4, 9), Lengths(2, 5), 100, seed=3)
    b = draw_requests(50, 20.0, Lengths(4, 9), Lengths(2, 5), 100, seed=3)
    assert [r.prompt for r in a] == [r.prompt for r in b]  # the same requests at another rate
    assert all(4 <= len(r.prompt) <= 9 and 2 <= r.output_tokens <= 5 for r in a)
    assert a[-1].offset_s <= 5.0 and b[-1].offset_s <= 2.5


def test_request_metrics_and_slo():
    r = RequestRecord(due=1.0, prompt_tokens=4, output_tokens=3, token_times=[1.010, 1.015, 1.022])
    assert r.ttft_ms == pytest.approx(10.0) and r.tpot_ms == pytest.approx(6.0)
    assert Slo(ttft_ms=10.5, tpot_ms=6.5).met(r) and not Slo(ttft_ms=9.0, tpot_ms=6.5).met(r)
    assert not Slo(ttft_ms=10.5, tpot_ms=5.0).met(r)
    assert not Slo(100, 100).met(RequestRecord(1.0, 4, 5, [1.01]))  # unfinished never meets it
    assert allowed_misses(100, 0.9) == 10 and allowed_misses(7, 1.0) == 0


def test_continuous_batching_admits_into_freed_slots():
    dec = SleepyDecoder()
    reqs = draw_requests(12, 2000.0, Lengths(3, 3), Lengths(2, 6), 100, seed=0)  # all at once, batch of 4
    probe = serve_decoder(dec, reqs, 2000.0, Slo(1e6, 1e6), max_batch=4, max_duration_s=10)
    assert probe.answered == 12 and probe.within_budget and probe.stop_reason == "done"
    assert probe.output_tokens == sum(r.output_tokens for r in reqs)
    assert 2 < probe.mean_batch <= 4  # slots refilled as sequences finish, never more than 4
    # 12 requests with 2..6 tokens through 4 slots need fewer steps than running three static batches to their max
    assert dec.steps < 3 * 5
    assert probe.tpot.p50_ms >= STEP_MS * 0.9


def test_goodput_search_brackets_a_decoder_of_known_step_time():
    out = 6
    cap = capacity_qps(4, out)
    slo = Slo(ttft_ms=10 * STEP_MS, tpot_ms=3 * STEP_MS, share=0.9)
    cfg = LlmConfig(slo=slo, prompt=Lengths(4, 4), output=Lengths(out, out), requests=40, max_batch=4,
                    max_duration_s=20, max_probes=8, tolerance=0.15)  # fmt: skip
    res = serve_llm_decoder(SleepyDecoder(), cfg, model="sleepy", measured_on="test")
    assert res.goodput_qps is not None, [(p.target_qps, p.slo_share, p.stop_reason) for p in res.probes]
    assert res.lowest_failing_qps is not None  # bracketed: a passing and a failing rate
    # a probe lasts 20 TTFT budgets, so a rate above capacity piles up more than a budget of queue: it fails
    assert res.goodput_qps <= 1.1 * cap
    assert res.goodput_qps >= 0.2 * cap
    assert res.lowest_failing_qps > res.goodput_qps
    assert res.at.ttft.p50_ms >= PREFILL_MS * 0.9
    assert res.cost.usd_per_million_output is None and res.cost.price_source.startswith("no price")


@pytest.mark.slow
def test_goodput_on_a_zoo_decoder(cli, tmp_path):
    out = tmp_path / "llm.json"
    code, text, _ = cli(["serve", "gpt2", "--size", "tiny", "--scenario", "llm", "--ttft-ms", "50", "--tpot-ms", "40",
                         "--prompt-tokens", "8:16", "--output-tokens", "4:8", "--requests", "20", "--max-probes", "3",
                         "--max-duration-s", "20", "--price-per-hour", "0.5", "--json", str(out)])  # fmt: skip
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["kind"] == "llm_serve" and data["probes"]
    assert "goodput" in text and "TTFT" in text
    if data["goodput_qps"] is not None:  # found on this CPU: its probe met the share and the cost follows
        assert data["at"]["slo_share"] >= 0.9
        assert data["cost"]["usd_per_million_output"] == pytest.approx(
            0.5 / (data["at"]["output_tokens_per_s"] * 3600) * 1e6
        )


def _gpt2_tiny():
    from benchbench.generate.build import build_decoder

    model, _ = build_decoder("gpt2", size="tiny")
    return model


def test_cached_decoder_decodes_like_recomputation_one_token_per_step():
    """Each sequence's cache serves its steps: the tokens equal greedy recomputation, a prefill embeds the prompt
    once, every later step embeds one token per sequence, and the KV cache grows by one position per step."""
    import torch

    from benchbench.generate.decoder import cache_positions
    from benchbench.generate.request import greedy_by_recompute

    model = _gpt2_tiny()
    dec = CachedDecoder(model)
    prompts = [[1, 2, 3], [4, 5, 6, 7, 8], [9]]
    remove = model.count_tokens()
    try:
        seqs = [dec.prefill(p) for p in prompts]
        lengths = [[cache_positions(s.state)] for s in seqs]
        for _ in range(3):
            dec.step(seqs)
            for grown, s in zip(lengths, seqs):
                grown.append(cache_positions(s.state))
    finally:
        remove()
    assert model.tokens_seen == [3, 5, 1] + [1] * 9  # no step reprocesses its sequence
    assert lengths == [[n + i for i in range(4)] for n in (3, 5, 1)]
    for p, s in zip(prompts, seqs):
        assert s.generated == 4 and s.tokens[: len(p)] == p
        assert s.tokens[len(p) :] == greedy_by_recompute(model, torch.tensor([p]), 4)[0].tolist()


def test_a_probe_embeds_each_token_once():
    """Through the continuous-batching loop, the positions embedded are the prompts once plus one per later
    token: what recomputation would make quadratic stays linear."""
    model = _gpt2_tiny()
    dec = CachedDecoder(model)
    reqs = draw_requests(20, 500.0, Lengths(4, 12), Lengths(2, 6), dec.vocab_size, seed=1)
    remove = model.count_tokens()
    try:
        probe = serve_decoder(dec, reqs, 500.0, Slo(1e6, 1e6), max_batch=4, max_duration_s=30)
    finally:
        remove()
    assert probe.answered == 20 and probe.stop_reason == "done"
    assert sorted(n for n in model.tokens_seen if n > 1) == sorted(
        len(r.prompt) for r in reqs if len(r.prompt) > 1
    )
    assert sum(model.tokens_seen) == sum(len(r.prompt) + r.output_tokens - 1 for r in reqs)


def test_hf_llama_with_gqa_decodes_like_recomputation(tmp_path):
    pytest.importorskip("transformers")
    import torch

    from benchbench.generate.build import build_decoder
    from benchbench.generate.request import greedy_by_recompute
    from benchbench.sources.hf import import_transformers

    import_transformers().LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      num_key_value_heads=2, vocab_size=50, max_position_embeddings=64,
                                      ).save_pretrained(tmp_path)  # fmt: skip
    model, _ = build_decoder(f"hf:{tmp_path}", size=None)
    dec = CachedDecoder(model)
    assert (dec.vocab_size, dec.max_positions) == (50, 64)
    prompts = [[1, 2, 3, 4], [5], [6, 7]]
    seqs = [dec.prefill(p) for p in prompts]
    dec.step(seqs)
    dec.step(seqs)
    for p, s in zip(prompts, seqs):
        assert s.tokens[len(p) :] == greedy_by_recompute(model, torch.tensor([p]), 3)[0].tolist()


def test_a_model_that_is_not_a_decoder_is_refused(cli):
    code, _, err = cli(
        ["serve", "mlp", "--size", "tiny", "--scenario", "llm", "--ttft-ms", "9", "--tpot-ms", "9"]
    )
    assert code == 2 and "not a decoder" in err
