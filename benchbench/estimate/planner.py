"""A deployment plan for a decoder on each GPU of the hardware table: what fits, how fast at best, what it costs.

Every figure is **estimated** (a roofline floor at 100% of the datasheet peak and bandwidth, no measurement), and
follows from these assumptions, which the plan carries:
- memory: 90% of the device memory is usable (vLLM's default `gpu_memory_utilization`; the rest is the CUDA
  context, allocator slack and NCCL buffers). From it come the weights (params × bytes per element, split evenly
  over the tensor-parallel devices), a workspace for the live activations of one prefill chunk of
  `WORKSPACE_CHUNK` tokens (residual, q/k/v/o, two MLP intermediates: (6 × hidden + 2 × 4 × hidden) elements per
  token, and the chunk's logits: vocab per token), and the KV cache, which takes the rest;
- tensor parallelism: the smallest power of two (1 to `MAX_TP`) whose share of the weights, the workspace and one
  sequence's KV cache at the stated context fit; KV heads are split over the devices (replicated when fewer KV
  heads than devices);
- concurrency: the sequences whose KV cache fits at the stated context, at most `MAX_SEQS` per decode step;
- TTFT (compute-bound): 2 × MACs per prefill token × prompt tokens / (TP × dense peak at the dtype), never below
  the time to read the weights once;
- TPOT (bandwidth-bound): (weight bytes per device + KV bytes read per step per device) / memory bandwidth, never
  below the step's FLOPs / peak; a step at concurrency B and context C reads B × C tokens of KV;
- cost: the table's hourly price × TP devices, over the tokens/s of the whole replica.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from benchbench.estimate.decoder_counts import DecoderCounts
from benchbench.estimate.hardware import Hardware

USABLE_FRACTION = 0.9
WORKSPACE_CHUNK = 2048
MAX_TP = 8
MAX_SEQS = 256  # sequences per decode step: vLLM's default max_num_seqs
KIND = "estimated"  # never mixed with measured figures: every plan says so

ASSUMPTIONS = {
    "kind": "estimated: roofline floors at 100% of datasheet peak and bandwidth; real serving is slower",
    "usable_memory": f"{USABLE_FRACTION:.0%} of device memory (vLLM's default gpu_memory_utilization)",
    "workspace": f"activations of one {WORKSPACE_CHUNK}-token prefill chunk: (14 × hidden + vocab) elements "
    "per token",
    "concurrency": f"sequences that fit at the context, at most {MAX_SEQS} (vLLM's default max_num_seqs)",
    "tensor_parallel": f"smallest power of two up to {MAX_TP} fitting weights / TP + workspace + one sequence's KV",
    "ttft": "max(2 × MACs/prefill token × prompt / (TP × peak), weight bytes per device / bandwidth)",
    "tpot": "max((weight bytes per device + B × context × KV bytes per token per device) / bandwidth, "
    "B × 2 × MACs/decode token / (TP × peak))",
    "cost": "price per hour × TP / (tokens per second of the replica × 3600) × 1e6",
}


@dataclass
class GpuPlan:
    """One decoder on one GPU type, at one context and prompt length: fit, speed floors, cost. All estimated."""

    hardware: str
    kind: str
    fits: bool
    tensor_parallel: int | None
    weight_bytes_per_device: int
    workspace_bytes: int
    kv_bytes_per_token_per_device: int
    kv_capacity_tokens: int  # context × concurrency that fits, per replica
    context: int
    max_concurrency: int  # at `context`
    max_context_single: int  # for one sequence, capped by the config's positions
    prompt_tokens: int
    ttft_ms: float | None
    tpot_ms_single: float | None  # one sequence at `context`
    tpot_ms_at_max: float | None  # max_concurrency sequences at `context`
    decode_tokens_per_s_per_device: float | None
    prefill_tokens_per_s_per_device: float | None
    usd_per_million_input: float | None
    usd_per_million_output: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def workspace_bytes(c: DecoderCounts) -> int:
    """Live activations of one prefill chunk (see the module docstring)."""
    return WORKSPACE_CHUNK * (14 * c.shape.hidden + c.shape.vocab) * c.bytes_per_element


def kv_per_device(c: DecoderCounts, tp: int) -> int:
    """KV bytes per token on one device when KV heads are split over `tp` devices (at least one head each)."""
    heads = math.ceil(c.shape.kv_heads / tp)
    return 2 * c.shape.layers * heads * c.shape.head_dim * c.bytes_per_element


def _kv_room(c: DecoderCounts, hw: Hardware, tp: int) -> int:
    return int(hw.memory_bytes * USABLE_FRACTION) - math.ceil(c.weight_bytes / tp) - workspace_bytes(c)


def min_tensor_parallel(c: DecoderCounts, hw: Hardware, context: int) -> int | None:
    """The smallest power-of-two TP degree where weights, workspace and one sequence at `context` fit."""
    tp = 1
    while tp <= MAX_TP:
        if _kv_room(c, hw, tp) >= context * kv_per_device(c, tp):
            return tp
        tp *= 2
    return None


def tpot_ms(c: DecoderCounts, hw: Hardware, tp: int, batch: int, context: int) -> float:
    """Roofline time of one decode step for `batch` sequences at `context`: bandwidth- or compute-bound."""
    read = math.ceil(c.weight_bytes / tp) + batch * context * kv_per_device(c, tp)
    compute = batch * 2.0 * c.macs_per_decode_token / (tp * hw.peak_flops(c.dtype))
    return max(read / hw.bandwidth_bytes_per_s, compute) * 1e3


def ttft_ms(c: DecoderCounts, hw: Hardware, tp: int, prompt_tokens: int) -> float:
    """Roofline prefill time of one prompt: compute-bound, never below one read of the weights."""
    compute = 2.0 * c.macs_per_prefill_token * prompt_tokens / (tp * hw.peak_flops(c.dtype))
    return max(compute, math.ceil(c.weight_bytes / tp) / hw.bandwidth_bytes_per_s) * 1e3


def _per_million(hw: Hardware, tp: int, tokens_per_s: float | None) -> float | None:
    if hw.price_per_hour is None or not tokens_per_s:
        return None
    return hw.price_per_hour * tp / (tokens_per_s * 3600) * 1e6


def plan_gpu(c: DecoderCounts, hw: Hardware, *, context: int, prompt_tokens: int) -> GpuPlan:
    """The plan of `c` on `hw` at `context` tokens per sequence and prompts of `prompt_tokens`."""
    tp = min_tensor_parallel(c, hw, context)
    ws = workspace_bytes(c)
    if tp is None:
        return GpuPlan(hw.key, KIND, False, None, math.ceil(c.weight_bytes / MAX_TP), ws,
                       kv_per_device(c, MAX_TP), 0, context, 0, 0, prompt_tokens, None, None, None, None, None,
                       None, None, note=f"does not fit on {MAX_TP} devices at context {context}")  # fmt: skip
    kv = kv_per_device(c, tp)
    capacity = _kv_room(c, hw, tp) // kv
    batch = min(capacity // context, MAX_SEQS)
    single = tpot_ms(c, hw, tp, 1, context)
    at_max = tpot_ms(c, hw, tp, batch, context)
    first = ttft_ms(c, hw, tp, prompt_tokens)
    decode_tps = batch / (at_max / 1e3) / tp
    prefill_tps = prompt_tokens / (first / 1e3) / tp
    return GpuPlan(
        hardware=hw.key, kind=KIND, fits=True, tensor_parallel=tp, weight_bytes_per_device=math.ceil(c.weight_bytes / tp),
        workspace_bytes=ws, kv_bytes_per_token_per_device=kv, kv_capacity_tokens=int(capacity), context=context,
        max_concurrency=int(batch), max_context_single=int(min(capacity, c.shape.max_positions or capacity)),
        prompt_tokens=prompt_tokens, ttft_ms=first, tpot_ms_single=single, tpot_ms_at_max=at_max,
        decode_tokens_per_s_per_device=decode_tps, prefill_tokens_per_s_per_device=prefill_tps,
        usd_per_million_input=_per_million(hw, tp, prefill_tps * tp),
        usd_per_million_output=_per_million(hw, tp, decode_tps * tp),
    )  # fmt: skip


def plan_all(
    c: DecoderCounts, table: dict[str, Hardware], *, context: int, prompt_tokens: int
) -> list[GpuPlan]:
    """A plan per device of `table` (the local CPU excluded: it has no datasheet)."""
    return [
        plan_gpu(c, hw, context=context, prompt_tokens=prompt_tokens) for k, hw in table.items() if k != "cpu"
    ]
