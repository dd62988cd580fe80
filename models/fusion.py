"""Image + text fusion baselines at one shared size: cross-attention, early and late fusion.

Three ways to combine a ViT-style image encoder (Dosovitskiy et al. 2021) with a text encoder:
- cross-attention fusion (`fusion_cross`): text layers whose tokens also attend to the image patches,
  in the manner of ALBEF's fusion encoder (Li et al., "Align before Fuse", NeurIPS 2021);
- early fusion (`fusion_early`): one encoder over the concatenated [text; patches] sequence with
  modality-type embeddings, as in ViLT (Kim et al., "ViLT", ICML 2021);
- late fusion (`fusion_late`): separate image and text encoders, each with its own classifier, the
  logits averaged (the classic late-fusion ensemble).
Base configuration (no published model; chosen here so the three are comparable): every model has
12 pre-norm layers of width 384 (ViT-S: 6 heads, MLP 1,536) — 6 image + 6 text layers, or 12 shared
for early fusion — 224² images with 16² patches (196 patches), 40 text tokens from a 30,522-word
vocabulary (BERT WordPiece), 3,129 answer classes (the VQA v2 answer set). Cross-attention fusion
carries 6 extra cross-attention sub-layers (≈3.5 M parameters) as the price of its fusion.
MACs: patch embedding, linears, attention QKᵀ and AV (2·T·S·d per attention), classifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import PreNormBlock
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class FusionConfig:
    image_size: int = 224
    patch: int = 16
    vocab_size: int = 30522
    max_text: int = 40
    width: int = 384
    heads: int = 6
    mlp: int = 1536
    image_layers: int = 6
    text_layers: int = 6
    num_classes: int = 3129
    dropout: float = 0.1

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch) ** 2


class PatchEmbed(nn.Module):
    """Image (B, 3, H, W) → patch tokens (B, P, d) with learned positions."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.width, cfg.patch, stride=cfg.patch)
        self.positions = nn.Parameter(torch.randn(cfg.num_patches, cfg.width) * 0.02)

    def forward(self, image: Tensor) -> Tensor:
        return self.proj(image).flatten(2).transpose(1, 2) + self.positions  # (B, P, d)


class TextEmbed(nn.Module):
    """Token ids (B, T) → (B, T, d) with learned positions; position 0 serves as the [CLS] slot."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.tokens = nn.Embedding(cfg.vocab_size, cfg.width)
        self.positions = nn.Parameter(torch.randn(cfg.max_text, cfg.width) * 0.02)

    def forward(self, ids: Tensor) -> Tensor:
        T = ids.shape[1]
        if self.positions.shape[0] < T:
            raise ValueError(f"{T} text tokens exceed max_text={self.positions.shape[0]}")
        return self.tokens(ids) + self.positions[:T]


def _blocks(cfg: FusionConfig, n: int, cross: bool = False) -> nn.ModuleList:
    return nn.ModuleList(
        PreNormBlock(cfg.width, cfg.heads, cfg.mlp, cross=cross, dropout=cfg.dropout) for _ in range(n)
    )


class CrossAttentionFusion(nn.Module):
    """Image encoder; text layers with self-attention, cross-attention to patches, MLP; [CLS] classifier."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.patch_embed, self.text_embed = PatchEmbed(cfg), TextEmbed(cfg)
        self.image_blocks = _blocks(cfg, cfg.image_layers)
        self.image_norm = nn.LayerNorm(cfg.width)
        self.text_blocks = _blocks(cfg, cfg.text_layers, cross=True)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.num_classes)

    def forward(self, image: Tensor, input_ids: Tensor) -> Tensor:
        """image (B, 3, H, W), input_ids (B, T) → logits (B, num_classes)."""
        v = self.patch_embed(image)
        for block in self.image_blocks:
            v = block(v)
        v = self.image_norm(v)  # (B, P, d)
        t = self.text_embed(input_ids)
        for block in self.text_blocks:
            t = block(t, context=v)  # (B, T, d)
        return self.head(self.norm(t[:, 0]))


class EarlyFusion(nn.Module):
    """One encoder over [text; patches] with a modality-type embedding; [CLS] (first text token) classifier."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.patch_embed, self.text_embed = PatchEmbed(cfg), TextEmbed(cfg)
        self.modality = nn.Embedding(2, cfg.width)  # 0 = text, 1 = image
        self.blocks = _blocks(cfg, cfg.image_layers + cfg.text_layers)
        self.norm = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.num_classes)

    def forward(self, image: Tensor, input_ids: Tensor) -> Tensor:
        """image (B, 3, H, W), input_ids (B, T) → logits (B, num_classes)."""
        t = self.text_embed(input_ids) + self.modality.weight[0]
        v = self.patch_embed(image) + self.modality.weight[1]
        x = torch.cat([t, v], dim=1)  # (B, T + P, d)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))


class LateFusion(nn.Module):
    """Separate image and text encoders and classifiers; the two logits are averaged."""

    def __init__(self, cfg: FusionConfig) -> None:
        super().__init__()
        self.patch_embed, self.text_embed = PatchEmbed(cfg), TextEmbed(cfg)
        self.image_blocks = _blocks(cfg, cfg.image_layers)
        self.text_blocks = _blocks(cfg, cfg.text_layers)
        self.image_norm, self.text_norm = nn.LayerNorm(cfg.width), nn.LayerNorm(cfg.width)
        self.image_head = nn.Linear(cfg.width, cfg.num_classes)
        self.text_head = nn.Linear(cfg.width, cfg.num_classes)

    def forward(self, image: Tensor, input_ids: Tensor) -> Tensor:
        """image (B, 3, H, W), input_ids (B, T) → logits (B, num_classes)."""
        v = self.patch_embed(image)
        for block in self.image_blocks:
            v = block(v)
        t = self.text_embed(input_ids)
        for block in self.text_blocks:
            t = block(t)
        image_logits = self.image_head(self.image_norm(v).mean(dim=1))
        text_logits = self.text_head(self.text_norm(t)[:, 0])
        return (image_logits + text_logits) / 2


def image_text_inputs(cfg: FusionConfig, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple:
    """Standard-normal images (B, 3, H, W) and random token ids (B, seq_len)."""
    image = torch.randn(batch_size, 3, cfg.image_size, cfg.image_size, generator=gen)
    ids = torch.randint(0, cfg.vocab_size, (batch_size, seq_len), generator=gen)
    return image, ids


def _self_block(t: int, cfg: FusionConfig) -> int:
    d = cfg.width
    return 4 * t * d * d + 2 * t * t * d + 2 * t * d * cfg.mlp


def _patch_macs(cfg: FusionConfig) -> int:
    return cfg.num_patches * 3 * cfg.patch**2 * cfg.width


def cross_macs(cfg: FusionConfig, batch_size: int, seq_len: int | None) -> int:
    P, T, d = cfg.num_patches, seq_len, cfg.width
    cross = 2 * T * d * d + 2 * P * d * d + 2 * T * P * d
    macs = _patch_macs(cfg) + cfg.image_layers * _self_block(P, cfg)
    macs += cfg.text_layers * (_self_block(T, cfg) + cross) + d * cfg.num_classes
    return batch_size * macs


def early_macs(cfg: FusionConfig, batch_size: int, seq_len: int | None) -> int:
    n = cfg.num_patches + seq_len
    layers = cfg.image_layers + cfg.text_layers
    return batch_size * (_patch_macs(cfg) + layers * _self_block(n, cfg) + cfg.width * cfg.num_classes)


def late_macs(cfg: FusionConfig, batch_size: int, seq_len: int | None) -> int:
    macs = _patch_macs(cfg) + cfg.image_layers * _self_block(cfg.num_patches, cfg)
    macs += cfg.text_layers * _self_block(seq_len, cfg) + 2 * cfg.width * cfg.num_classes
    return batch_size * macs


_SIZES = {
    "tiny": FusionConfig(
        image_size=32,
        patch=8,
        vocab_size=1000,
        max_text=16,
        width=64,
        heads=2,
        mlp=128,
        image_layers=1,
        text_layers=1,
        num_classes=10,
    ),
    "base": FusionConfig(),
}
_SOURCE = (
    "no published model: base chosen so the three fusions match (12 pre-norm layers, width 384, ViT-S/16 "
    "image side, 40 tokens, vocab 30,522, 3,129 VQA v2 answers); count is the arithmetic of these layers"
)
_COMMON = dict(
    modality="multimodal",
    sizes=_SIZES,
    inputs=image_text_inputs,
    seq_len={"tiny": 16, "base": 40},
    reference=Reference(params=None, params_source=_SOURCE),
    input_names=("image", "input_ids"),
)


@register_model(
    "fusion_cross",
    paper="Li et al. 2021, Align before Fuse (ALBEF) — cross-attention fusion encoder",
    analytic_macs=cross_macs,
    **_COMMON,
)
def fusion_cross(cfg: FusionConfig) -> CrossAttentionFusion:
    """Cross-attention fusion: text tokens attend to image patches."""
    return CrossAttentionFusion(cfg)


@register_model(
    "fusion_early",
    paper="Kim et al. 2021, ViLT: Vision-and-Language Transformer — early fusion of one token sequence",
    analytic_macs=early_macs,
    **_COMMON,
)
def fusion_early(cfg: FusionConfig) -> EarlyFusion:
    """Early fusion: concatenated text and patch tokens through one encoder."""
    return EarlyFusion(cfg)


@register_model(
    "fusion_late",
    paper="Late fusion of separate unimodal encoders (logit averaging); image side Dosovitskiy et al. 2021 ViT",
    analytic_macs=late_macs,
    **_COMMON,
)
def fusion_late(cfg: FusionConfig) -> LateFusion:
    """Late fusion: separate image and text encoders, averaged logits."""
    return LateFusion(cfg)
