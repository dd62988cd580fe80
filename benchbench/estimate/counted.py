"""A profile of an `hf:` config too big to build here (`sources.hf.TooBigToBuild`): counted, not measured.

The model is built on the meta device (`sources.hf.meta_target`): every tensor has its shape and no storage, so
a 7B or 70B config costs its Python objects, not its weights. On it, the counters `profile` uses give the
parameters, the MACs of one forward pass and the layer table (`measure.profile.profile_target` without its
memory and latency stages, which would have to run the model), and for a decoder config the per-token figures
of `estimate.decoder_counts` (MACs per prefill token and per decode token at a context, KV bytes per token).
The profile says so in `counted` (`measure.records.CountedOnly`), with the reason nothing was measured.
"""

from __future__ import annotations

from typing import Any

from benchbench.estimate.decoder_counts import NotADecoder, count_decoder
from benchbench.measure.profile import profile_target
from benchbench.measure.records import CountedOnly, ProfileResult
from benchbench.sources.base import Target

COUNTED_ON = "meta device (no weights allocated)"


def decoder_figures(name: str, task: str | None, prompt_tokens: int, dtype: str) -> dict[str, Any]:
    """The per-token fields of `CountedOnly` for a decoder config (its causal LM, head included); none for
    another model (an encoder has no decode step and no KV cache)."""
    try:
        c = count_decoder(name, task=task, prompt_tokens=prompt_tokens, dtype=dtype)
    except NotADecoder:
        return {}
    return {"causal_lm_params": c.params, "prompt_tokens": c.prompt_tokens,
            "macs_per_prefill_token": c.macs_per_prefill_token, "decode_context": c.decode_context,
            "macs_per_decode_token": c.macs_per_decode_token, "kv_bytes_per_token": c.kv_bytes_per_token,
            "kv_dtype": c.dtype}  # fmt: skip


def counted_profile(
    model: str, too_big: Any, *, task: str | None = None, seq_len: int | None = None, dtype: str = "float32"
) -> tuple[Target, ProfileResult]:
    """(the meta target, its profile) for `model` (an `hf:` name) that `too_big` (TooBigToBuild) refused:
    parameters, MACs and layers counted on the meta device, latency and memory not measured (None)."""
    from benchbench.sources.hf import meta_target

    name = model.removeprefix("hf:")
    target = meta_target(name, seq_len, task)
    p = profile_target(target, dtype=dtype, memory=False, latency=False, flops_check=False)
    p.device = "meta"
    p.counted = CountedOnly(
        counted_on=COUNTED_ON, not_measured=too_big.why, weight_bytes_float32=4 * too_big.params,
        memory_free_bytes=too_big.free_bytes,
        **decoder_figures(name, target.task, target.seq_len or 128, p.dtype),
    )  # fmt: skip
    return target, p
