"""Whisper's text decoder as a decoder: the encoder's output fixed (one audio clip's), the self-attention keys and
values cached per token, the cross-attention keys and values computed once per request and kept (constant size)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from benchbench.generate.kv import CacheAccount, attention_bytes_per_token
from benchbench.models.gpt2 import cached_self_attention
from benchbench.models.layers import attention

WHISPER_MODELS = ("whisper_tiny", "whisper_base")


class WhisperTextDecoder(nn.Module):
    """`forward_cached(tokens, cache)` over a zoo Whisper's TextDecoder, attending to `encoded` (1, S, width)."""

    def __init__(self, whisper: nn.Module, mel: Tensor) -> None:
        super().__init__()
        self.whisper = whisper
        with torch.no_grad():
            self.register_buffer("encoded", whisper.encoder(mel[:1]), persistent=False)
        dec = whisper.decoder
        self.config = {"layers": len(dec.blocks), "heads": dec.blocks[0].attn.heads,
                       "width": dec.token_embedding.embedding_dim, "vocab_size": dec.token_embedding.num_embeddings,
                       "n_text_ctx": dec.positional_embedding.shape[0]}  # fmt: skip

    def get_input_embeddings(self) -> nn.Module:
        return self.whisper.decoder.token_embedding

    def _cross(self, block: nn.Module, batch: int) -> tuple[Tensor, Tensor]:
        a, xa = block.cross_attn, self.encoded.expand(batch, -1, -1)
        k, v = (proj(xa).view(batch, xa.shape[1], a.heads, -1).transpose(1, 2) for proj in (a.key, a.value))
        return k, v

    def forward_cached(
        self, tokens: Tensor, cache: list[tuple[Tensor, ...]] | None = None
    ) -> tuple[Tensor, list]:
        """tokens (B, T) after those in `cache` (per block: self k, v and cross k, v) → logits (B, T, vocab), cache."""
        dec = self.whisper.decoder
        B, T = tokens.shape
        past = 0 if cache is None else cache[0][0].shape[2]
        x = dec.token_embedding(tokens) + dec.positional_embedding[past : past + T]
        grown = []
        for i, block in enumerate(dec.blocks):
            a = block.attn
            kv = None if cache is None else cache[i][:2]
            y, (k, v) = cached_self_attention((a.query, a.key, a.value, a.out), a.heads, block.attn_ln(x), kv)
            x = x + y
            ck, cv = self._cross(block, B) if cache is None else cache[i][2:]
            c = block.cross_attn
            q = c.query(block.cross_attn_ln(x)).view(B, T, c.heads, -1).transpose(1, 2)
            x = x + c.out(attention(q, ck, cv).transpose(1, 2).reshape(B, T, -1))
            x = x + block.mlp(block.mlp_ln(x))
            grown.append((k, v, ck, cv))
        return dec.ln(x) @ dec.token_embedding.weight.T, grown

    def cache_account(self, bytes_per_element: int) -> CacheAccount:
        """Self-attention KV per token (MHA), plus the cross-attention KV of the S encoder positions (constant)."""
        c, s = self.config, self.encoded.shape[1]
        head_dim = c["width"] // c["heads"]
        per_token = attention_bytes_per_token(c["layers"], c["heads"], head_dim, bytes_per_element)
        cross = per_token * s
        return CacheAccount(
            "attention", per_token, cross,
            f"MHA: 2 × {c['layers']} layers × {c['heads']} kv heads × {head_dim} head dim × {bytes_per_element} B = "
            f"{per_token:,} B/token, plus the cross-attention keys and values of {s} encoder positions ({cross:,} B)",
            c["layers"], c["heads"], head_dim,
        )  # fmt: skip


def whisper_decoder(target: Any) -> WhisperTextDecoder:
    """The zoo Whisper target's text decoder over its example clip's encoding."""
    return WhisperTextDecoder(target.model, target.inputs[0])
