"""FT-Transformer: feature tokenizer + CLS token + pre-norm Transformer for tabular data.

Paper: Gorishniy et al., "Revisiting Deep Learning Models for Tabular Data", NeurIPS 2021.
Base configuration (the paper's default FT-Transformer): d_token 192, 3 blocks, 8 heads, FFN hidden
4/3·d_token with ReGLU, attention dropout 0.2, FFN dropout 0.1, residual dropout 0; no first norm in the
first block; head LayerNorm → ReLU → Linear on the CLS token. Features as in models/mlp.py
(8 numerical, 8 categorical of cardinality 100), 10 outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import MultiHeadAttention
from benchbench.models.mlp import tabular_inputs
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class FTTransformerConfig:
    n_num: int = 8
    cat_cardinalities: tuple[int, ...] = (100,) * 8
    d_token: int = 192
    blocks: int = 3
    heads: int = 8
    ffn_factor: float = 4 / 3
    attention_dropout: float = 0.2  # recorded; attention() has no dropout, so it is not applied
    ffn_dropout: float = 0.1
    residual_dropout: float = 0.0
    n_out: int = 10

    @property
    def ffn_hidden(self) -> int:
        return int(self.d_token * self.ffn_factor)


class FeatureTokenizer(nn.Module):
    """Numerical feature j → x_j·W_j + b_j; categorical feature j → E[offset_j + x_j] + b_j."""

    def __init__(self, cfg: FTTransformerConfig) -> None:
        super().__init__()
        d, cards = cfg.d_token, cfg.cat_cardinalities
        self.num_weight = nn.Parameter(torch.randn(cfg.n_num, d) * d**-0.5)
        self.num_bias = nn.Parameter(torch.randn(cfg.n_num, d) * d**-0.5)
        offsets = torch.tensor([0, *cards[:-1]]).cumsum(0) if cards else torch.zeros(0, dtype=torch.long)
        self.register_buffer("cat_offsets", offsets, persistent=False)
        self.cat_embedding = nn.Embedding(sum(cards), d)
        self.cat_bias = nn.Parameter(torch.randn(len(cards), d) * d**-0.5)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """x_num (B, n_num), x_cat (B, n_cat) → tokens (B, n_num + n_cat, d)."""
        num = x_num[..., None] * self.num_weight + self.num_bias  # (B, n_num, d)
        cat = self.cat_embedding(x_cat + self.cat_offsets) + self.cat_bias  # (B, n_cat, d)
        return torch.cat([num, cat], dim=1)


class ReGLU(nn.Module):
    """a · ReLU(b) for the two halves of the last dimension."""

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=-1)
        return a * torch.relu(b)


class FTBlock(nn.Module):
    """Pre-norm block: x += Attn(LN(x)); x += FFN_ReGLU(LN(x)); the first block skips the first LN."""

    def __init__(self, cfg: FTTransformerConfig, first: bool) -> None:
        super().__init__()
        d, h = cfg.d_token, cfg.ffn_hidden
        self.attn_norm = nn.Identity() if first else nn.LayerNorm(d)
        self.attn = MultiHeadAttention(d, cfg.heads)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, 2 * h), ReGLU(), nn.Dropout(cfg.ffn_dropout), nn.Linear(h, d))
        self.drop = nn.Dropout(cfg.residual_dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.attn_norm(x)))
        return x + self.drop(self.ffn(self.ffn_norm(x)))


class FTTransformer(nn.Module):
    """Tokenize features, append CLS, run the blocks, predict from the CLS token."""

    def __init__(self, cfg: FTTransformerConfig) -> None:
        super().__init__()
        self.tokenizer = FeatureTokenizer(cfg)
        self.cls_token = nn.Parameter(torch.randn(1, 1, cfg.d_token) * cfg.d_token**-0.5)
        self.blocks = nn.ModuleList(FTBlock(cfg, first=i == 0) for i in range(cfg.blocks))
        self.head = nn.Sequential(nn.LayerNorm(cfg.d_token), nn.ReLU(), nn.Linear(cfg.d_token, cfg.n_out))

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """x_num: (B, n_num) float; x_cat: (B, n_cat) int64 → (B, n_out)."""
        x = self.tokenizer(x_num, x_cat)
        x = torch.cat([x, self.cls_token.expand(x.shape[0], -1, -1)], dim=1)  # (B, F+1, d), CLS last
        for block in self.blocks:
            x = block(x)
        return self.head(x[:, -1])


def ft_transformer_macs(cfg: FTTransformerConfig, batch_size: int, seq_len: int | None) -> int:
    """Per block over T = features + 1 tokens: q/k/v/out, QKᵀ and AV, the two FFN linears; plus the head.
    The tokenizer's per-feature scaling is elementwise and not counted."""
    t, d, h = cfg.n_num + len(cfg.cat_cardinalities) + 1, cfg.d_token, cfg.ffn_hidden
    block = 4 * t * d * d + 2 * t * t * d + t * d * 2 * h + t * h * d
    return batch_size * (cfg.blocks * block + d * cfg.n_out)


def _ft_params(cfg: FTTransformerConfig) -> int:
    """Tokenizer + CLS + blocks (the first without its attention LayerNorm) + head, from the layer sizes."""
    d, h, n_cat = cfg.d_token, cfg.ffn_hidden, len(cfg.cat_cardinalities)
    tok = 2 * cfg.n_num * d + sum(cfg.cat_cardinalities) * d + n_cat * d
    block = 2 * d + (4 * d * d + 4 * d) + 2 * d + (d * 2 * h + 2 * h) + (h * d + d)
    return tok + d + cfg.blocks * block - 2 * d + 2 * d + d * cfg.n_out + cfg.n_out


_BASE = FTTransformerConfig()


@register_model(
    "ft_transformer",
    modality="tabular",
    sizes={
        "tiny": FTTransformerConfig(cat_cardinalities=(10,) * 4, d_token=32, blocks=2, heads=4, n_out=3),
        "base": _BASE,
    },
    inputs=tabular_inputs,
    paper="Gorishniy et al. 2021, Revisiting Deep Learning Models for Tabular Data (FT-Transformer, default config)",
    reference=Reference(
        params=_ft_params(_BASE),
        params_source="no published count (it depends on the data set): written out from the paper's default "
        "FT-Transformer on the 8 numerical + 8×100 categorical features used here",
    ),
    input_names=("x_num", "x_cat"),
    analytic_macs=ft_transformer_macs,
)
def ft_transformer(cfg: FTTransformerConfig) -> FTTransformer:
    """FT-Transformer for tabular data."""
    return FTTransformer(cfg)
