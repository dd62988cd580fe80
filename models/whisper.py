"""Whisper encoder-decoder speech model over log-mel spectrograms.

Paper: Radford et al., "Robust Speech Recognition via Large-Scale Weak Supervision", 2022 (arXiv
2212.04356). Layout as the authors' reference (openai/whisper `whisper/model.py`): encoder = two conv1d
(kernel 3, the second with stride 2) with GELU, fixed sinusoidal positions, pre-norm blocks, final
LayerNorm; decoder = token embedding + learned positions, pre-norm blocks with causal self-attention and
cross-attention to the encoder, final LayerNorm, logits through the tied token embedding. Attention
projections: key without bias. 80 mel bins, 100 frames per second, 30 s windows (3,000 frames →
1,500 encoder positions), vocabulary 51,865, 448 text positions.
Named configurations: Whisper tiny (384 wide, 6 heads, 4 + 4 layers) and base (512, 8, 6 + 6).
Parameter counts follow the reference implementation, where the encoder's sinusoidal positions are a
buffer: tiny 37,184,640, base 71,825,920 (the paper's table rounds to 39 M and 74 M; HuggingFace's
WhisperModel stores the 1,500 encoder positions as a parameter and reports 576,000 / 768,000 more).
MACs: convolutions, linears, attention QKᵀ and AV (self-attention in full, not halved for causality),
and the tied output projection T·d·vocab; the embedding lookup is excluded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import attention
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class WhisperConfig:
    n_mels: int = 80
    n_audio_ctx: int = 1500
    width: int = 384
    heads: int = 6
    encoder_layers: int = 4
    decoder_layers: int = 4
    n_vocab: int = 51865
    n_text_ctx: int = 448
    text_tokens: int = 32  # decoder tokens in the example inputs
    frames_per_second: int = 100


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> Tensor:
    """Fixed positions (length, channels): sin ‖ cos over geometric timescales from 1 to max_timescale."""
    half = channels // 2
    inv = torch.exp(-math.log(max_timescale) / (half - 1) * torch.arange(half, dtype=torch.float32))
    t = torch.arange(length, dtype=torch.float32)[:, None] * inv[None]  # (length, half)
    return torch.cat([t.sin(), t.cos()], dim=1)


class WhisperAttention(nn.Module):
    """Multi-head attention with the reference's projections: query, value and out with bias, key without."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, context: Tensor | None = None, causal: bool = False) -> Tensor:
        """x (B, T, C); context (B, S, C) for cross-attention."""
        B, T, C = x.shape
        ctx = x if context is None else context
        S = ctx.shape[1]
        q = self.query(x).view(B, T, self.heads, -1).transpose(1, 2)  # (B, H, T, D)
        k = self.key(ctx).view(B, S, self.heads, -1).transpose(1, 2)  # (B, H, S, D)
        v = self.value(ctx).view(B, S, self.heads, -1).transpose(1, 2)
        y = attention(q, k, v, is_causal=causal)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class ResidualAttentionBlock(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention, 4× GELU MLP, each with a residual."""

    def __init__(self, dim: int, heads: int, cross: bool) -> None:
        super().__init__()
        self.attn, self.attn_ln = WhisperAttention(dim, heads), nn.LayerNorm(dim)
        self.cross_attn = WhisperAttention(dim, heads) if cross else None
        self.cross_attn_ln = nn.LayerNorm(dim) if cross else None
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.mlp_ln = nn.LayerNorm(dim)

    def forward(self, x: Tensor, xa: Tensor | None = None, causal: bool = False) -> Tensor:
        x = x + self.attn(self.attn_ln(x), causal=causal)
        if self.cross_attn is not None:
            x = x + self.cross_attn(self.cross_attn_ln(x), context=xa)
        return x + self.mlp(self.mlp_ln(x))


class AudioEncoder(nn.Module):
    """Log-mel (B, n_mels, frames) → (B, ⌈frames/2⌉, width)."""

    def __init__(self, cfg: WhisperConfig) -> None:
        super().__init__()
        d = cfg.width
        self.conv1 = nn.Conv1d(cfg.n_mels, d, 3, padding=1)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        self.act = nn.GELU()
        self.register_buffer("positional_embedding", sinusoids(cfg.n_audio_ctx, d), persistent=False)
        self.blocks = nn.ModuleList(
            ResidualAttentionBlock(d, cfg.heads, cross=False) for _ in range(cfg.encoder_layers)
        )
        self.ln_post = nn.LayerNorm(d)

    def forward(self, mel: Tensor) -> Tensor:
        x = self.act(self.conv2(self.act(self.conv1(mel)))).transpose(1, 2)  # (B, T, d)
        T = x.shape[1]
        if self.positional_embedding.shape[0] < T:
            raise ValueError(f"{T} encoder positions exceed n_audio_ctx={self.positional_embedding.shape[0]}")
        x = x + self.positional_embedding[:T].to(x.dtype)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x)


class TextDecoder(nn.Module):
    """Tokens (B, T) + encoder states → logits (B, T, vocab) through the tied token embedding."""

    def __init__(self, cfg: WhisperConfig) -> None:
        super().__init__()
        d = cfg.width
        self.token_embedding = nn.Embedding(cfg.n_vocab, d)
        self.positional_embedding = nn.Parameter(torch.randn(cfg.n_text_ctx, d) * 0.01)
        self.blocks = nn.ModuleList(
            ResidualAttentionBlock(d, cfg.heads, cross=True) for _ in range(cfg.decoder_layers)
        )
        self.ln = nn.LayerNorm(d)

    def forward(self, tokens: Tensor, xa: Tensor) -> Tensor:
        T = tokens.shape[1]
        x = self.token_embedding(tokens) + self.positional_embedding[:T]  # (B, T, d)
        for block in self.blocks:
            x = block(x, xa, causal=True)
        return self.ln(x) @ self.token_embedding.weight.T  # (B, T, vocab)


class Whisper(nn.Module):
    def __init__(self, cfg: WhisperConfig) -> None:
        super().__init__()
        self.encoder = AudioEncoder(cfg)
        self.decoder = TextDecoder(cfg)

    def forward(self, mel: Tensor, tokens: Tensor) -> Tensor:
        """mel (B, n_mels, frames), tokens (B, T) int64 → next-token logits (B, T, vocab)."""
        return self.decoder(tokens, self.encoder(mel))


def whisper_inputs(cfg: WhisperConfig, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple:
    """A standard-normal log-mel spectrogram of `seq_len` frames (100 per second) and random decoder tokens."""
    mel = torch.randn(batch_size, cfg.n_mels, seq_len, generator=gen)
    tokens = torch.randint(0, cfg.n_vocab, (batch_size, cfg.text_tokens), generator=gen)
    return mel, tokens


def _block_macs(t: int, d: int, s: int | None) -> int:
    macs = 4 * t * d * d + 2 * t * t * d + 8 * t * d * d  # self-attention projections, QKᵀ+AV, MLP
    if s is not None:
        macs += 2 * t * d * d + 2 * s * d * d + 2 * t * s * d  # cross: q/out on t, k/v on s, QKᵀ+AV
    return macs


def whisper_macs(cfg: WhisperConfig, batch_size: int, seq_len: int | None) -> int:
    d, frames = cfg.width, seq_len
    ta = (frames - 1) // 2 + 1  # conv2: kernel 3, stride 2, padding 1
    tt = cfg.text_tokens
    macs = frames * cfg.n_mels * d * 3 + ta * d * d * 3
    macs += cfg.encoder_layers * _block_macs(ta, d, None)
    macs += cfg.decoder_layers * _block_macs(tt, d, ta) + tt * d * cfg.n_vocab
    return batch_size * macs


_CI = WhisperConfig(
    n_mels=16,
    n_audio_ctx=50,
    width=64,
    heads=2,
    encoder_layers=2,
    decoder_layers=2,
    n_vocab=500,
    n_text_ctx=32,
    text_tokens=8,
)
_PAPER = "Radford et al. 2022, Robust Speech Recognition via Large-Scale Weak Supervision (Whisper)"
_SEQ = {"tiny": 100, "base": 3000}  # log-mel frames: 1 s at tiny, the 30 s window at base


@register_model(
    "whisper_tiny",
    modality="audio",
    sizes={"tiny": _CI, "base": WhisperConfig()},
    inputs=whisper_inputs,
    seq_len=_SEQ,
    paper=_PAPER + ", Whisper tiny",
    reference=Reference(
        params=37_184_640,
        params_source="openai/whisper model.py at tiny dims (encoder positions a buffer, output tied); "
        "the paper's table says 39 M",
    ),
    input_names=("mel", "tokens"),
    analytic_macs=whisper_macs,
)
def whisper_tiny(cfg: WhisperConfig) -> Whisper:
    """Whisper encoder-decoder; `base` size is Whisper tiny (384 wide, 4+4 layers)."""
    return Whisper(cfg)


@register_model(
    "whisper_base",
    modality="audio",
    sizes={"tiny": _CI, "base": WhisperConfig(width=512, heads=8, encoder_layers=6, decoder_layers=6)},
    inputs=whisper_inputs,
    seq_len=_SEQ,
    paper=_PAPER + ", Whisper base",
    reference=Reference(
        params=71_825_920,
        params_source="openai/whisper model.py at base dims (encoder positions a buffer, output tied); "
        "the paper's table says 74 M",
    ),
    input_names=("mel", "tokens"),
    analytic_macs=whisper_macs,
)
def whisper_base(cfg: WhisperConfig) -> Whisper:
    """Whisper encoder-decoder; `base` size is Whisper base (512 wide, 6+6 layers)."""
    return Whisper(cfg)
