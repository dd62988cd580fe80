"""What a transformer decoder costs per token, counted from its config without allocating its weights.

A Hugging Face decoder config (`hf:llama`, `hf:DIR` with config.json) is built on the meta device
(`sources.hf.meta_model`): every parameter has a shape and no storage, so a 7B or 70B config costs a few hundred
MiB of Python objects, not its weights. On it:
- parameters: the sum of `numel` over the meta parameters (tied embeddings counted once);
- MACs per prefill token: the dispatch counter (`measure.flops`, the same one `profile` uses) over one forward
  pass of `prompt_tokens` tokens, divided by them; meta tensors carry shapes, which is all a MAC count needs;
- MACs per decode token at context C: the counter over one step of one token with a KV cache of C positions
  (the cache made by a meta prefill of C tokens, outside the count);
- KV bytes per token: `kv_bytes_per_token`, analytic from the config (2 × layers × kv_heads × head_dim × bytes
  per element). `benchbench/generate/` has the same figure for built models, checked against the cache's
  tensors; this one needs only the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from benchbench.core import units
from benchbench.core.dtypes import DTYPE_BYTES
from benchbench.core.errors import BadInputError

# model types whose AutoModelForCausalLM is a decoder-only transformer with a KV cache (config attributes
# num_hidden_layers, num_attention_heads, hidden_size through transformers' attribute maps)
DECODER_TYPES = frozenset({
    "gpt2", "llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "phi", "phi3", "gpt_neox",
    "opt", "falcon", "gptj", "starcoder2", "olmo", "granite",
})  # fmt: skip


class NotADecoder(BadInputError):
    """The config is not a decoder-only transformer with attention: there is no KV cache to count."""


@dataclass(frozen=True)
class DecoderShape:
    """The figures of a decoder config that sizes follow from."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    max_positions: int | None

    @classmethod
    def from_config(cls, config: Any) -> DecoderShape:
        """Read a transformers config; BadInputError naming the field when one is missing."""
        try:
            layers, hidden = int(config.num_hidden_layers), int(config.hidden_size)
            heads = int(config.num_attention_heads)
        except (AttributeError, TypeError) as exc:
            raise NotADecoder(
                f"{type(config).__name__} is not a decoder config with attention: {exc}"
            ) from None
        kv = getattr(config, "num_key_value_heads", None) or (
            1 if getattr(config, "multi_query", False) else heads
        )
        head_dim = getattr(config, "head_dim", None) or hidden // heads
        max_pos = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        return cls(layers, hidden, heads, int(kv), int(head_dim), int(config.vocab_size), max_pos)


def kv_bytes_per_token(shape: DecoderShape, bytes_per_element: int) -> int:
    """Bytes of K and V cached per token of context, for one sequence: 2 × layers × kv_heads × head_dim × bytes.
    MHA has kv_heads = heads, GQA fewer, MQA one (Llama-2-7B at 16-bit: 2 × 32 × 32 × 128 × 2 = 524,288)."""
    return units.kv_bytes_per_token(shape.layers, shape.kv_heads, shape.head_dim, bytes_per_element)


def is_decoder_config(config: Any, task: str | None) -> bool:
    """A decoder-only transformer: a causal-LM task, a *ForCausalLM architecture, or a known decoder type."""
    if getattr(config, "is_encoder_decoder", False):
        return False
    archs = getattr(config, "architectures", None) or ()
    return (
        task == "causal-lm"
        or any(a.endswith("ForCausalLM") for a in archs)
        or (getattr(config, "model_type", "") in DECODER_TYPES)
    )


@dataclass
class DecoderCounts:
    """Parameters, MACs per token (prefill and decode) and KV bytes of one decoder config."""

    model: str
    config_source: str
    shape: DecoderShape
    params: int
    prompt_tokens: int
    macs_per_prefill_token: float
    decode_context: int
    macs_per_decode_token: int
    dtype: str
    bytes_per_element: int
    kv_bytes_per_token: int
    counted_on: str  # "meta device (no weights allocated)" or "built model"
    notes: list[str] = field(default_factory=list)

    @property
    def weight_bytes(self) -> int:
        return self.params * self.bytes_per_element


def _macs(model: Any, call: Any) -> int:
    from benchbench.measure.flops import DispatchFlopCounter, counting_units

    counter = DispatchFlopCounter(model)
    with torch.no_grad(), counting_units(counter), counter:
        call()
    return int(sum(counter.own_macs.values()))


def count_model(model: Any, prompt_tokens: int, context: int) -> tuple[int, int, int]:
    """(parameters, MACs of a prefill of `prompt_tokens`, MACs of one decode step at `context`) of a causal LM
    taking `input_ids`, `past_key_values` and `use_cache`, on whatever device its parameters are (meta or real)."""
    device = next(model.parameters()).device
    params = sum(p.numel() for p in model.parameters())
    prompt = torch.zeros(1, prompt_tokens, dtype=torch.long, device=device)
    prefill = _macs(
        model, lambda: model(input_ids=prompt, use_cache=True)
    )  # no cache: a mask check calls .item()
    with torch.no_grad():
        cache = model(input_ids=torch.zeros(1, context, dtype=torch.long, device=device), use_cache=True)
    one = torch.zeros(1, 1, dtype=torch.long, device=device)
    kw = cache_keyword(model)
    decode = _macs(model, lambda: model(input_ids=one, **{kw: getattr(cache, kw)}, use_cache=True))
    return params, prefill, decode


def cache_keyword(model: Any) -> str:
    """The name of the KV cache argument and output field: `cache` from transformers 5.x, else `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def count_decoder(
    name: str, *, task: str | None = None, prompt_tokens: int = 512, context: int | None = None,
    dtype: str = "bfloat16", on_meta: bool = True,
) -> DecoderCounts:  # fmt: skip
    """Count an `hf:` decoder config (NAME without the prefix) on the meta device (`on_meta`, the default:
    nothing allocated) or built on the CPU (for the tests that compare the two)."""
    from benchbench.sources.hf import (
        TASKS,
        import_transformers,
        load_config,
        meta_model,
        split_task,
        trust_remote_code,
    )

    if dtype not in DTYPE_BYTES:
        raise BadInputError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPE_BYTES)}")
    base, task = split_task(name, task)  # the default, the bare model, is a decoder only by its type
    transformers = import_transformers()
    config, _, source = load_config(transformers, base)
    if not is_decoder_config(config, task):
        raise NotADecoder(f"hf:{base} ({config.model_type}) is not a decoder-only transformer; KV and per-token "
                            f"counts apply to causal LMs such as {', '.join(sorted(DECODER_TYPES)[:5])}")  # fmt: skip
    shape = DecoderShape.from_config(config)
    context = context or min(shape.max_positions or 4096, 4096)
    auto = getattr(transformers, TASKS["causal-lm"])
    model = (
        meta_model(auto, config)
        if on_meta
        else auto.from_config(config, trust_remote_code=trust_remote_code())
    )
    model.eval()
    params, prefill, decode = count_model(model, prompt_tokens, context)
    width = DTYPE_BYTES[dtype]
    return DecoderCounts(
        model=f"hf:{base}", config_source=source, shape=shape, params=params, prompt_tokens=prompt_tokens,
        macs_per_prefill_token=prefill / prompt_tokens, decode_context=context, macs_per_decode_token=decode,
        dtype=dtype, bytes_per_element=width, kv_bytes_per_token=kv_bytes_per_token(shape, width),
        counted_on="meta device (no weights allocated)" if on_meta else "built model (CPU, float32)",
    )  # fmt: skip
