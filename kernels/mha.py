"""`nn.MultiheadAttention` as a call of the `attention` op: projections, heads and masks done the module's way.

torch's module takes (query, key, value) as (L, N, E), or (N, L, E) with `batch_first`, a `key_padding_mask`
(N, S) and an `attn_mask` (L, S) or (N·H, L, S), each boolean (True = masked out, the opposite of SDPA's
boolean mask) or additive. `mha_attention_call` projects q, k and v with the module's weights, splits the
heads to (N, H, L, D) and folds both masks into one SDPA-style mask (boolean True = attend, or additive);
`mha_output` merges the heads and applies the output projection. A call the fused kernels cannot reproduce
(attention weights asked for, dropout while training, bias_k/bias_v, add_zero_attn, unbatched input) gets
the reason instead, and the module then runs as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_MHA_ARGS = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal")  # fmt: skip


@dataclass
class MhaCall:
    """One nn.MultiheadAttention call as the attention op sees it."""

    q: Tensor  # (N, H, L, D)
    k: Tensor  # (N, H, S, D)
    v: Tensor
    attn_mask: Tensor | None  # SDPA convention, broadcastable to (N, H, L, S)
    is_causal: bool
    batch_first: bool


def bind_mha_args(args: tuple, kwargs: dict) -> dict[str, Any]:
    """nn.MultiheadAttention.forward's arguments by name, with its defaults."""
    bound = {"key_padding_mask": None, "need_weights": True, "attn_mask": None, "average_attn_weights": True,
             "is_causal": False}  # fmt: skip
    bound.update(dict(zip(_MHA_ARGS, args)))
    bound.update(kwargs)
    return bound


def why_not_routed(mod: nn.MultiheadAttention, bound: dict[str, Any]) -> str | None:
    """Why this call must run the module's own code (None if the attention op can take it)."""
    if bound["need_weights"]:
        return "need_weights=True: the module returns the attention weights, which a fused kernel does not produce"
    if mod.training and mod.dropout > 0:
        return f"dropout {mod.dropout} while training: the implementations compared have no dropout"
    if mod.bias_k is not None or mod.bias_v is not None:
        return "bias_k/bias_v append learned keys and values: not routed"
    if mod.add_zero_attn:
        return "add_zero_attn appends a zero key and value: not routed"
    if any(not isinstance(bound[n], Tensor) for n in ("query", "key", "value")):
        return "query, key and value must be tensors"
    if bound["query"].dim() != 3:
        return f"unbatched input ({bound['query'].dim()}-d query): not routed"
    return None


def _as_sdpa_mask(mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """An MHA mask (bool True = masked out, or additive) as an additive float mask, or None."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    return mask.to(dtype)


def mha_attention_call(mod: nn.MultiheadAttention, bound: dict[str, Any]) -> MhaCall:
    """Project and split heads as the module does; masks folded into one SDPA mask."""
    query, key, value = bound["query"], bound["key"], bound["value"]
    if not mod.batch_first:  # (L, N, E) -> (N, L, E)
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    e, h = mod.embed_dim, mod.num_heads
    bias = mod.in_proj_bias
    b_q, b_k, b_v = (None, None, None) if bias is None else bias.chunk(3)
    if mod._qkv_same_embed_dim:
        w_q, w_k, w_v = mod.in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = mod.q_proj_weight, mod.k_proj_weight, mod.v_proj_weight
    q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    n, length, s = q.shape[0], q.shape[1], k.shape[1]
    d = e // h
    q, k, v = (t.reshape(n, -1, h, d).transpose(1, 2) for t in (q, k, v))  # (N, H, T, D)

    attn_mask, kpm = bound["attn_mask"], bound["key_padding_mask"]
    mask = None
    if attn_mask is not None:
        am = _as_sdpa_mask(attn_mask, q.dtype)
        mask = am.reshape(n, h, length, s) if am.dim() == 3 else am  # (N·H, L, S) or (L, S)
    if kpm is not None:
        pad = _as_sdpa_mask(kpm, q.dtype).reshape(n, 1, 1, s)
        mask = pad if mask is None else mask + pad
    causal = bool(bound["is_causal"]) and attn_mask is None  # with a mask, is_causal only says what it is
    return MhaCall(q, k, v, mask, causal, mod.batch_first)


def mha_output(mod: nn.MultiheadAttention, call: MhaCall, out: Tensor) -> tuple[Tensor, None]:
    """(N, H, L, D) attention output -> the module's (output, None) in its own layout."""
    n, h, length, d = out.shape
    merged = out.transpose(1, 2).reshape(n, length, h * d)
    y = F.linear(merged, mod.out_proj.weight, mod.out_proj.bias)
    return (y if call.batch_first else y.transpose(0, 1)), None
