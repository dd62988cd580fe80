"""Audio classifier: a 1-D CNN front end over log-mel frames, then a pre-norm Transformer encoder.

Design: the convolutional subsampling front end of the Speech-Transformer family (Dong et al.,
"Speech-Transformer", ICASSP 2018; here as two 1-D convolutions, kernel 3, stride 2, GELU, as in
Whisper's stem) gives 4× fewer frames; a pre-norm Transformer encoder (Vaswani et al. 2017) with learned
positions; mean pooling and a linear classifier, the clip-classification set-up of AST (Gong et al.,
"AST: Audio Spectrogram Transformer", Interspeech 2021: AudioSet, 10 s clips, 527 classes).
Base configuration (no single published model; chosen here): 80 mel bins at 100 frames/s, 10 s clips
(1,000 frames → 250 tokens), ViT-S/Whisper-tiny-like width 384, 6 heads, MLP 1,536, 12 layers,
527 classes. Its parameter count is the arithmetic of these layers.
MACs: convolutions, linears, attention QKᵀ and AV (2·T²·d per layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import PreNormBlock
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class AudioTransformerConfig:
    n_mels: int = 80
    width: int = 384
    heads: int = 6
    mlp: int = 1536
    layers: int = 12
    max_tokens: int = 1024  # learned positions after 4× subsampling
    num_classes: int = 527
    dropout: float = 0.1


class AudioTransformer(nn.Module):
    """Conv stem (4× subsampling) → + positions → pre-norm encoder → LayerNorm → mean pool → classifier."""

    def __init__(self, cfg: AudioTransformerConfig) -> None:
        super().__init__()
        d = cfg.width
        self.stem = nn.Sequential(
            nn.Conv1d(cfg.n_mels, d, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv1d(d, d, 3, stride=2, padding=1),
            nn.GELU(),
        )
        self.positions = nn.Parameter(torch.randn(cfg.max_tokens, d) * 0.02)
        self.blocks = nn.ModuleList(
            PreNormBlock(d, cfg.heads, cfg.mlp, dropout=cfg.dropout) for _ in range(cfg.layers)
        )
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.num_classes)

    def forward(self, mel: Tensor) -> Tensor:
        """mel (B, n_mels, frames) → logits (B, num_classes)."""
        x = self.stem(mel).transpose(1, 2)  # (B, T, d)
        T = x.shape[1]
        if self.positions.shape[0] < T:
            raise ValueError(f"{T} tokens exceed max_tokens={self.positions.shape[0]}")
        x = x + self.positions[:T]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x).mean(dim=1))


def mel_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor]:
    """Standard-normal log-mel spectrograms (B, n_mels, seq_len frames), 100 frames per second."""
    return (torch.randn(batch_size, cfg.n_mels, seq_len, generator=gen),)


def audio_transformer_macs(cfg: AudioTransformerConfig, batch_size: int, seq_len: int | None) -> int:
    d = cfg.width
    t1 = (seq_len - 1) // 2 + 1
    t2 = (t1 - 1) // 2 + 1
    macs = t1 * cfg.n_mels * d * 3 + t2 * d * d * 3
    macs += cfg.layers * (4 * t2 * d * d + 2 * t2 * t2 * d + 2 * t2 * d * cfg.mlp)
    macs += d * cfg.num_classes
    return batch_size * macs


@register_model(
    "audio_transformer",
    modality="audio",
    sizes={
        "tiny": AudioTransformerConfig(
            n_mels=16, width=64, heads=2, mlp=128, layers=2, max_tokens=64, num_classes=10
        ),
        "base": AudioTransformerConfig(),
    },
    inputs=mel_inputs,
    seq_len={"tiny": 100, "base": 1000},  # log-mel frames: 1 s and 10 s
    paper="Dong et al. 2018 Speech-Transformer conv front end + Gong et al. 2021 AST clip classification",
    reference=Reference(
        params=None,
        params_source="no published model: base chosen as 80 mels, 10 s, width 384, 12 layers, 6 heads, "
        "527 AudioSet classes; count is the arithmetic of these layers",
    ),
    input_names=("mel",),
    analytic_macs=audio_transformer_macs,
)
def audio_transformer(cfg: AudioTransformerConfig) -> AudioTransformer:
    """1-D CNN front end + pre-norm Transformer encoder clip classifier over log-mel frames."""
    return AudioTransformer(cfg)
