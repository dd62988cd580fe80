"""GPT-2: decoder-only Transformer language model with learned positions and tied LM head.

Paper: Radford et al., "Language Models are Unsupervised Multitask Learners", 2019.
Base configuration (GPT-2 small): vocabulary 50,257, 1,024 positions, width 768, 12 blocks,
12 heads, MLP 3,072, pre-norm, tanh-GELU, output projection tied to the token embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.kernels.registry import dispatch, selected
from benchbench.models.layers import MultiHeadAttention, attention
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class GPT2Config:
    vocab_size: int = 50257
    max_positions: int = 1024
    dim: int = 768
    layers: int = 12
    heads: int = 12
    dropout: float = 0.1
    eps: float = 1e-5


class GPT2Block(nn.Module):
    """x += CausalAttn(LN(x)); x += MLP(LN(x)) with a 4× tanh-GELU MLP."""

    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.attn = MultiHeadAttention(cfg.dim, cfg.heads, causal=True)
        self.ln_2 = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, 4 * cfg.dim), nn.GELU(approximate="tanh"), nn.Linear(4 * cfg.dim, cfg.dim)
        )
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.mlp(self.ln_2(x)))

    def forward_cached(
        self, x: Tensor, past: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """`forward` over the new positions x (B, T, C) attending to the cached keys and values too."""
        y, kv = cached_attention(self.attn, self.ln_1(x), past)
        x = x + self.drop(y)
        return x + self.drop(self.mlp(self.ln_2(x))), kv


def cached_attention(
    attn: MultiHeadAttention, x: Tensor, past: tuple[Tensor, Tensor] | None
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Causal self-attention of the new positions x (B, T, C) over past + new keys; returns (y, (k, v)) with k, v
    (B, H, past + T, D): the KV cache, grown by T positions."""
    return cached_self_attention((attn.q, attn.k, attn.v, attn.out), attn.heads, x, past)


def cached_self_attention(
    projections: tuple[nn.Module, nn.Module, nn.Module, nn.Module], heads: int, x: Tensor,
    past: tuple[Tensor, Tensor] | None,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:  # fmt: skip
    """`cached_attention` over any attention's (q, k, v, out) projections. New position i sees every past position
    and the new positions up to i, as in the full causal forward. A decode step (one new position) goes through
    the `decode_attention` op when an implementation of it is selected (`use_kernels(decode_attention=...)`,
    `benchbench generate --decode-attention`), else through `attention` like the prefill."""
    B, T, C = x.shape
    q, k, v = (proj(x).view(B, T, heads, -1).transpose(1, 2) for proj in projections[:3])
    if past is not None:
        k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
    offset = k.shape[2] - T
    mask = None
    if T > 1:  # a single new position sees everything; several see a causal band shifted by the past
        mask = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=offset)
    if T == 1 and selected("decode_attention") is not None:
        y = dispatch("decode_attention")(q, k, v)  # (B, H, 1, D) against the whole cache
    else:
        y = attention(q, k, v, attn_mask=mask)
    return projections[3](y.transpose(1, 2).reshape(B, T, C)), (k, v)


class GPT2(nn.Module):
    """Token + position embeddings, causal blocks, final LN, logits through the tied embedding."""

    def __init__(self, cfg: GPT2Config) -> None:
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.wpe = nn.Embedding(cfg.max_positions, cfg.dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(GPT2Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, input_ids: Tensor) -> Tensor:
        """input_ids: (B, T) int64 → logits (B, T, vocab)."""
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.drop(self.wte(input_ids) + self.wpe(pos))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))

    def forward_cached(
        self, input_ids: Tensor, cache: list[tuple[Tensor, Tensor]] | None = None
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Incremental decoding: input_ids (B, T) are the positions after those in `cache` (one (k, v) pair per
        block, each (B, heads, past, head_dim)); returns logits (B, T, vocab) and the cache grown by T positions.
        `forward_cached(ids)` then `forward_cached(next, cache)` gives the logits `forward` gives on the whole."""
        past = 0 if cache is None else cache[0][0].shape[2]
        pos = torch.arange(past, past + input_ids.shape[1], device=input_ids.device)
        x = self.drop(self.wte(input_ids) + self.wpe(pos))
        grown = []
        for i, block in enumerate(self.blocks):
            x, kv = block.forward_cached(x, None if cache is None else cache[i])
            grown.append(kv)
        return self.lm_head(self.ln_f(x)), grown


def lm_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor]:
    """Uniform random token ids, (B, T)."""
    return (torch.randint(0, cfg.vocab_size, (batch_size, seq_len), generator=gen),)


def gpt2_macs(cfg: GPT2Config, batch_size: int, seq_len: int | None) -> int:
    """Per block: q/k/v/out (4·T·d²), MLP (8·T·d²), QKᵀ and AV (2·T²·d, full square); plus the LM head."""
    t, d = seq_len, cfg.dim
    block = 12 * t * d * d + 2 * t * t * d
    return batch_size * (cfg.layers * block + t * d * cfg.vocab_size)


def _gpt2_params(cfg: GPT2Config) -> int:
    """wte + wpe + blocks + ln_f, with the LM head tied (adds nothing)."""
    d = cfg.dim
    block = 2 * 2 * d + (4 * d * d + 4 * d) + (8 * d * d + 5 * d)
    return cfg.vocab_size * d + cfg.max_positions * d + cfg.layers * block + 2 * d


_BASE = GPT2Config()
assert _gpt2_params(_BASE) == 124_439_808  # HF GPT2LMHeadModel("gpt2"), tied weights counted once


@register_model(
    "gpt2",
    modality="text",
    sizes={
        "tiny": GPT2Config(vocab_size=1000, max_positions=128, dim=64, layers=2, heads=2),
        "base": _BASE,
    },
    inputs=lm_inputs,
    seq_len={"tiny": 32, "base": 1024},
    paper="Radford et al. 2019, Language Models are Unsupervised Multitask Learners (GPT-2 small)",
    reference=Reference(
        params=124_439_808,
        params_source="HuggingFace transformers GPT2LMHeadModel 'gpt2' (tied embeddings counted once); "
        "the paper's Table 2 lists 117M",
    ),
    input_names=("input_ids",),
    analytic_macs=gpt2_macs,
)
def gpt2(cfg: GPT2Config) -> GPT2:
    """GPT-2 causal language model."""
    return GPT2(cfg)
