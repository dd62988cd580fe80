"""KV cache accounting from a configuration alone (nothing built): bytes per token of an attention cache and the
constant state of a recurrent one.

Attention (MHA, GQA, MQA alike): 2 (keys and values) × layers × kv_heads × head_dim × bytes per element per token
of context, per sequence. Mamba: per layer the conv's last d_conv inputs (d_inner × d_conv, in the model's dtype)
and the scan state (d_inner × d_state, `ssm_bytes` per element: fp32 in the zoo, the model's dtype in
transformers), whatever the context. LSTM: h and c, 2 × layers × hidden. Works on transformers configs (GPT-2,
Llama, Mistral, Qwen2, Mamba, ...) and the zoo's dataclass configs, so that 7B-70B configs are sized without
building them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.units import kv_bytes_per_token


@dataclass(frozen=True)
class CacheAccount:
    """What a decoder's cache holds per sequence: `bytes_per_token` grows with context (attention);
    `state_bytes` does not (recurrent). `formula` says how the figure was made."""

    family: str  # "attention" or "recurrent"
    bytes_per_token: int
    state_bytes: int
    formula: str
    layers: int
    kv_heads: int | None = None
    head_dim: int | None = None

    def bytes_at(self, context: int, batch_size: int = 1) -> int:
        """Cache bytes held for `batch_size` sequences of `context` positions."""
        return batch_size * (self.bytes_per_token * context + self.state_bytes)


def attention_bytes_per_token(layers: int, kv_heads: int, head_dim: int, bytes_per_element: int) -> int:
    """2 × layers × kv_heads × head_dim × bytes per element: keys and values of one position, every layer."""
    return kv_bytes_per_token(layers, kv_heads, head_dim, bytes_per_element)


def _first(config: Any, *keys: str) -> Any:
    for key in keys:
        value = getattr(config, key, None)
        if value is not None:
            return value
    return None


def _attention(config: Any, bpe: int) -> CacheAccount | None:
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers", "layers")
    heads = _first(config, "num_attention_heads", "n_head", "heads")
    width = _first(config, "hidden_size", "n_embd", "d_model", "dim")
    if not (isinstance(layers, int) and isinstance(heads, int) and isinstance(width, int)):
        return None
    kv_heads = _first(config, "num_key_value_heads", "multi_query_group_num") or heads
    if getattr(config, "multi_query", False):  # GPT-BigCode / Falcon's MQA flag
        kv_heads = 1
    head_dim = _first(config, "head_dim") or width // heads
    per_token = attention_bytes_per_token(layers, kv_heads, head_dim, bpe)
    shape = (
        "MHA" if kv_heads == heads else ("MQA" if kv_heads == 1 else f"GQA ({heads // kv_heads} q per kv)")
    )
    return CacheAccount(
        "attention", per_token, 0,
        f"{shape}: 2 × {layers} layers × {kv_heads} kv heads × {head_dim} head dim × {bpe} B = {per_token:,} B/token",
        layers, kv_heads, head_dim,
    )  # fmt: skip


def _mamba(config: Any, bpe: int, ssm_bytes: int) -> CacheAccount | None:
    layers = _first(config, "num_hidden_layers", "n_layer", "layers")
    state = _first(config, "state_size", "d_state")
    inner = _first(config, "intermediate_size", "d_inner")
    conv = _first(config, "conv_kernel", "d_conv")
    if not all(isinstance(v, int) for v in (layers, state, inner, conv)):
        return None
    total = layers * inner * (conv * bpe + state * ssm_bytes)
    return CacheAccount(
        "recurrent", 0, total,
        f"Mamba: {layers} layers × {inner} channels × ({conv} conv × {bpe} B + {state} state × {ssm_bytes} B) "
        f"= {total:,} B per sequence, whatever the context",
        layers,
    )  # fmt: skip


def _lstm(config: Any, bpe: int) -> CacheAccount | None:
    hidden, layers = _first(config, "hidden"), _first(config, "layers")
    if not (isinstance(hidden, int) and isinstance(layers, int)) or hasattr(config, "heads"):
        return None
    total = 2 * layers * hidden * bpe
    return CacheAccount(
        "recurrent", 0, total,
        f"LSTM: 2 (h, c) × {layers} layers × {hidden} units × {bpe} B = {total:,} B per sequence",
        layers,
    )  # fmt: skip


def cache_account(config: Any, bytes_per_element: int, *, ssm_bytes: int | None = None) -> CacheAccount:
    """The cache a decoder with this config holds, from the config alone (a transformers config or a zoo one).

    `bytes_per_element`: the cache's dtype size (2 for 16-bit); `ssm_bytes`: a Mamba scan state's element size
    (default: the same). Raises BadInputError for a config of no known decoder family."""
    for account in (
        _mamba(config, bytes_per_element, ssm_bytes or bytes_per_element),
        _lstm(config, bytes_per_element),
        _attention(config, bytes_per_element),
    ):
        if account is not None:
            return account
    raise BadInputError(
        f"cannot size the cache of a {type(config).__name__}: it names no attention layers/heads/width, Mamba "
        "state or LSTM hidden size"
    )
