"""Vision Transformer: patch embedding, CLS token, learned positions, pre-norm Transformer encoder.

Paper: Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021. Base configuration (ViT-B/16): 224² images, 16×16 patches, width 768, 12 blocks,
12 heads, MLP 3,072, GELU, 1,000 classes. ViT-Ti/16 (Touvron et al. 2021, DeiT): width 192, 3 heads,
MLP 768.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import PreNormBlock
from benchbench.models.registry import Reference, register_model
from benchbench.models.resnet import image_inputs


@dataclass(frozen=True)
class ViTConfig:
    image_size: int = 224
    patch: int = 16
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp: int = 3072
    num_classes: int = 1000
    dropout: float = 0.0


class ViT(nn.Module):
    """Patchify with a strided conv, prepend CLS, add positions, encode, classify the CLS token."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        if cfg.image_size % cfg.patch:
            raise ValueError(f"image size {cfg.image_size} is not divisible by patch {cfg.patch}")
        n = (cfg.image_size // cfg.patch) ** 2
        self.patch_embed = nn.Conv2d(3, cfg.dim, cfg.patch, stride=cfg.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(
            PreNormBlock(cfg.dim, cfg.heads, cfg.mlp, dropout=cfg.dropout) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) → logits (B, num_classes)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, C)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed  # (B, N+1, C)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))


def vit_macs(cfg: ViTConfig, batch_size: int, seq_len: int | None) -> int:
    """Patch conv + per block (q, k, v, out, two MLP linears, QKᵀ and AV) + head."""
    n = (cfg.image_size // cfg.patch) ** 2
    t, d = n + 1, cfg.dim
    patch = n * 3 * cfg.patch**2 * d
    block = 4 * t * d * d + 2 * t * d * cfg.mlp + 2 * t * t * d
    return batch_size * (patch + cfg.depth * block + d * cfg.num_classes)


_PAPER = "Dosovitskiy et al. 2021, An Image is Worth 16x16 Words (ViT)"
_TINY = ViTConfig(image_size=32, patch=8, dim=64, depth=2, heads=2, mlp=128, num_classes=10)


@register_model(
    "vit_b_16",
    modality="image",
    sizes={"tiny": _TINY, "base": ViTConfig()},
    inputs=image_inputs,
    paper=_PAPER + ", ViT-B/16",
    reference=Reference(
        params=86_567_656,
        params_source="torchvision.models.vit_b_16 (IMAGENET1K_V1 weights metadata)",
        macs=17.564e9,
        macs_source="torchvision vit_b_16 weights metadata: 17.56 GFLOPS (counted as MACs) at 224×224",
    ),
    analytic_macs=vit_macs,
)
def vit_b_16(cfg: ViTConfig) -> ViT:
    """ViT-B/16 image classifier."""
    return ViT(cfg)


@register_model(
    "vit_ti_16",
    modality="image",
    sizes={"tiny": _TINY, "base": ViTConfig(dim=192, heads=3, mlp=768)},
    inputs=image_inputs,
    paper=_PAPER + "; ViT-Ti/16 from Touvron et al. 2021, Training data-efficient image transformers (DeiT)",
    reference=Reference(
        params=5_717_416,
        params_source="timm vit_tiny_patch16_224 (count of its state dict, 1,000 classes)",
    ),
    analytic_macs=vit_macs,
)
def vit_ti_16(cfg: ViTConfig) -> ViT:
    """ViT-Ti/16 image classifier."""
    return ViT(cfg)
