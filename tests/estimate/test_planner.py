"""The deployment planner's floors: TPOT never below one read of the weights, KV capacity and TP from memory."""

from __future__ import annotations

import pytest

from benchbench.estimate.decoder_counts import DecoderCounts, DecoderShape, kv_bytes_per_token
from benchbench.estimate.hardware import get_hardware
from benchbench.estimate.planner import (
    MAX_SEQS,
    kv_per_device,
    min_tensor_parallel,
    plan_gpu,
    tpot_ms,
    workspace_bytes,
)

LLAMA2_7B = DecoderShape(
    layers=32, hidden=4096, heads=32, kv_heads=32, head_dim=128, vocab=32000, max_positions=4096
)
LLAMA2_70B = DecoderShape(
    layers=80, hidden=8192, heads=64, kv_heads=8, head_dim=128, vocab=32000, max_positions=4096
)


def counts(shape: DecoderShape, params: int, width: int = 2) -> DecoderCounts:
    macs = params - shape.vocab * shape.hidden  # the embedding does no MACs; attention left out: a floor
    return DecoderCounts("test", "test", shape, params, 512, float(macs), 4096, macs, "bfloat16" if width == 2 else
                         "float32", width, kv_bytes_per_token(shape, width), "given")  # fmt: skip


@pytest.mark.parametrize("batch", [1, 8, 64])
@pytest.mark.parametrize("context", [1, 512, 4096])
def test_tpot_never_below_weight_bytes_over_bandwidth_on_h100(batch, context):
    c = counts(LLAMA2_7B, 6_738_415_616)
    hw = get_hardware("h100-sxm")
    floor_ms = c.weight_bytes / hw.bandwidth_bytes_per_s * 1e3
    assert 3.9 < floor_ms < 4.1  # 13.5 GB / 3.35 TB/s
    assert tpot_ms(c, hw, 1, batch, context) >= floor_ms
    plan = plan_gpu(c, hw, context=context, prompt_tokens=512)
    assert plan.kind == "estimated" and plan.tpot_ms_single >= floor_ms and plan.tpot_ms_at_max >= floor_ms


def test_kv_capacity_fills_the_memory_left():
    c = counts(LLAMA2_7B, 6_738_415_616)
    hw = get_hardware("a100-80gb")
    plan = plan_gpu(c, hw, context=4096, prompt_tokens=512)
    room = 0.9 * hw.memory_bytes - c.weight_bytes - workspace_bytes(c)
    assert plan.tensor_parallel == 1
    assert plan.kv_capacity_tokens == int(room // 524_288)
    assert plan.max_concurrency == plan.kv_capacity_tokens // 4096
    # more sequences read more KV each step: the full batch is slower per step, faster per device
    assert plan.tpot_ms_at_max > plan.tpot_ms_single
    assert plan.decode_tokens_per_s_per_device > 1000 / plan.tpot_ms_single
    assert plan.usd_per_million_output == pytest.approx(
        hw.price_per_hour / (plan.decode_tokens_per_s_per_device * 3600) * 1e6
    )


def test_70b_needs_tensor_parallelism_and_splits_kv_heads():
    c = counts(LLAMA2_70B, 68_976_648_192)
    h100 = get_hardware("h100-sxm")
    assert min_tensor_parallel(c, h100, 4096) == 2  # 138 GB of 16-bit weights over 72 GB usable
    assert kv_per_device(c, 2) * 2 == c.kv_bytes_per_token
    assert kv_per_device(c, 16) == kv_per_device(c, 8)  # 8 KV heads: replicated past TP 8
    t4 = plan_gpu(c, get_hardware("t4"), context=4096, prompt_tokens=512)
    assert not t4.fits and t4.ttft_ms is None and "does not fit" in t4.note


def test_ttft_is_compute_bound_for_long_prompts():
    c = counts(LLAMA2_7B, 6_738_415_616)
    hw = get_hardware("h100-sxm")
    plan = plan_gpu(c, hw, context=4096, prompt_tokens=2048)
    assert plan.ttft_ms == pytest.approx(
        2 * c.macs_per_prefill_token * 2048 / hw.peak_flops("bfloat16") * 1e3
    )


def test_concurrency_is_capped_where_the_kv_cache_would_hold_more():
    small = DecoderShape(
        layers=12, hidden=768, heads=12, kv_heads=12, head_dim=64, vocab=50257, max_positions=1024
    )
    plan = plan_gpu(counts(small, 124_439_808), get_hardware("h100-sxm"), context=64, prompt_tokens=16)
    assert plan.kv_capacity_tokens // 64 > MAX_SEQS and plan.max_concurrency == MAX_SEQS
