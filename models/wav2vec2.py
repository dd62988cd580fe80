"""Wav2Vec2 encoder over raw 16 kHz waveforms.

Paper: Baevski et al., "wav2vec 2.0: A Framework for Self-Supervised Learning of Speech
Representations", NeurIPS 2020. Base configuration (wav2vec2-base): feature encoder of 7 conv layers
(512 channels, kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2, no bias, GroupNorm(512, 512) after the
first only, GELU), feature projection (LayerNorm 512 → Linear 768), grouped positional convolution
(kernel 128, 16 groups, weight norm over the kernel axis, GELU), post-norm Transformer encoder of 12
layers, 768 wide, 12 heads, feed-forward 3,072. 20 ms frames: 320 samples per frame.

Parameter set: HuggingFace transformers `Wav2Vec2Model` (facebook/wav2vec2-base) without
`masked_spec_embed` (768 values used only for pre-training time masking): 94,371,712 − 768 = 94,370,944.
The weight-normed positional conv keeps weight_g (1, 1, 128) and weight_v as parameters, as
`torch.nn.utils.weight_norm(conv, dim=2)` does in the reference.
MACs: convolutions, linears, attention QKᵀ and AV (2·T²·d per layer).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchbench.models.layers import PostNormBlock
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class Wav2Vec2Config:
    conv_dim: int = 512
    conv_kernels: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_strides: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
    hidden: int = 768
    layers: int = 12
    heads: int = 12
    intermediate: int = 3072
    pos_kernel: int = 128
    pos_groups: int = 16
    dropout: float = 0.1
    eps: float = 1e-5
    sample_rate: int = 16000


def num_frames(cfg: Wav2Vec2Config, samples: int) -> int:
    """Output frames of the feature encoder for `samples` input samples (no padding)."""
    t = samples
    for k, s in zip(cfg.conv_kernels, cfg.conv_strides, strict=True):
        t = (t - k) // s + 1
    return t


class FeatureEncoder(nn.Module):
    """Seven strided 1-D convolutions; GroupNorm (one group per channel) after the first."""

    def __init__(self, cfg: Wav2Vec2Config) -> None:
        super().__init__()
        layers, cin = [], 1
        for i, (k, s) in enumerate(zip(cfg.conv_kernels, cfg.conv_strides, strict=True)):
            block = [nn.Conv1d(cin, cfg.conv_dim, k, stride=s, bias=False)]
            if i == 0:
                block.append(nn.GroupNorm(cfg.conv_dim, cfg.conv_dim, eps=cfg.eps))
            block.append(nn.GELU())
            layers.append(nn.Sequential(*block))
            cin = cfg.conv_dim
        self.convs = nn.Sequential(*layers)

    def forward(self, wav: Tensor) -> Tensor:
        """wav (B, S) → features (B, C, T)."""
        return self.convs(wav[:, None, :])


class WeightNormConv1d(nn.Module):
    """Grouped conv whose weight is g · v / ‖v‖, the norm taken over all axes but the kernel axis (dim=2)."""

    def __init__(self, channels: int, kernel: int, groups: int) -> None:
        super().__init__()
        self.padding, self.groups = kernel // 2, groups
        v = torch.empty(channels, channels // groups, kernel)
        nn.init.normal_(v, std=(4.0 / (kernel * channels)) ** 0.5)
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(v.norm(dim=(0, 1), keepdim=True))  # (1, 1, K)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight_g * self.weight_v / self.weight_v.norm(dim=(0, 1), keepdim=True)
        return F.conv1d(x, w, self.bias, padding=self.padding, groups=self.groups)


class PositionalConv(nn.Module):
    """Relative positions by convolution; an even kernel gives one frame too many, which is dropped."""

    def __init__(self, cfg: Wav2Vec2Config) -> None:
        super().__init__()
        self.conv = WeightNormConv1d(cfg.hidden, cfg.pos_kernel, cfg.pos_groups)
        self.trim = 1 if cfg.pos_kernel % 2 == 0 else 0
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, C) → (B, T, C)."""
        T = x.shape[1]
        y = self.conv(x.transpose(1, 2))[:, :, :T]  # (B, C, T)
        return self.act(y).transpose(1, 2)


class Wav2Vec2(nn.Module):
    """Feature encoder → projection → + positional conv → LayerNorm → post-norm Transformer."""

    def __init__(self, cfg: Wav2Vec2Config) -> None:
        super().__init__()
        self.feature_encoder = FeatureEncoder(cfg)
        self.proj_norm = nn.LayerNorm(cfg.conv_dim, eps=cfg.eps)
        self.projection = nn.Linear(cfg.conv_dim, cfg.hidden)
        self.pos_conv = PositionalConv(cfg)
        self.encoder_norm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.layers = nn.ModuleList(
            PostNormBlock(cfg.hidden, cfg.heads, cfg.intermediate, cfg.eps, cfg.dropout)
            for _ in range(cfg.layers)
        )
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, waveform: Tensor) -> Tensor:
        """waveform (B, S) float → hidden states (B, T, hidden), T = num_frames(S)."""
        feats = self.feature_encoder(waveform).transpose(1, 2)  # (B, T, C)
        x = self.dropout(self.projection(self.proj_norm(feats)))  # (B, T, d)
        x = self.dropout(self.encoder_norm(x + self.pos_conv(x)))
        for layer in self.layers:
            x = layer(x)
        return x


def waveform_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor]:
    """Zero-mean unit-variance noise waveforms (B, seq_len samples), as the feature extractor normalises."""
    return (torch.randn(batch_size, seq_len, generator=gen),)


def wav2vec2_macs(cfg: Wav2Vec2Config, batch_size: int, seq_len: int | None) -> int:
    t, cin, macs = seq_len, 1, 0
    for k, s in zip(cfg.conv_kernels, cfg.conv_strides, strict=True):
        t = (t - k) // s + 1
        macs += t * cin * cfg.conv_dim * k
        cin = cfg.conv_dim
    d = cfg.hidden
    macs += t * cfg.conv_dim * d  # projection
    t_pos = t + 1 - cfg.pos_kernel % 2  # an even kernel computes one extra frame that is then trimmed
    macs += t_pos * d * (d // cfg.pos_groups) * cfg.pos_kernel  # grouped positional conv
    macs += cfg.layers * (4 * t * d * d + 2 * t * t * d + 2 * t * d * cfg.intermediate)
    return batch_size * macs


@register_model(
    "wav2vec2",
    modality="audio",
    sizes={
        "tiny": Wav2Vec2Config(
            conv_dim=32, hidden=64, layers=2, heads=2, intermediate=128, pos_kernel=16, pos_groups=4
        ),
        "base": Wav2Vec2Config(),
    },
    inputs=waveform_inputs,
    seq_len={"tiny": 8000, "base": 160000},  # samples at 16 kHz: 0.5 s and 10 s
    paper="Baevski et al. 2020, wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations",
    reference=Reference(
        params=94_370_944,
        params_source="HuggingFace Wav2Vec2Model facebook/wav2vec2-base, 94,371,712, "
        "less masked_spec_embed (768, pre-training masking only)",
    ),
    input_names=("waveform",),
    analytic_macs=wav2vec2_macs,
)
def wav2vec2(cfg: Wav2Vec2Config) -> Wav2Vec2:
    """wav2vec 2.0 encoder (conv feature encoder, positional conv, post-norm Transformer)."""
    return Wav2Vec2(cfg)
