"""Tabular MLP over numerical features and embedded categorical features.

Paper: Gorishniy et al., "Revisiting Deep Learning Models for Tabular Data", NeurIPS 2021 (the MLP
baseline: Linear → activation → dropout blocks, categorical features through embeddings).
Base configuration: 8 numerical and 8 categorical features (cardinality 100 each, 16-dim embeddings),
three hidden layers of 512 units, dropout 0.1, 10 outputs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class MLPConfig:
    n_num: int = 8
    cat_cardinalities: tuple[int, ...] = (100,) * 8
    emb_dim: int = 16
    widths: tuple[int, ...] = (512, 512, 512)
    dropout: float = 0.1
    norm: str | None = None  # None, "batch" or "layer"
    n_out: int = 10


class TabularMLP(nn.Module):
    """Embeddings for categorical columns, concatenated with numerical ones, through an MLP."""

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        if cfg.norm not in (None, "batch", "layer"):
            raise ValueError(f"norm must be None, 'batch' or 'layer', got {cfg.norm!r}")
        self.embeddings = nn.ModuleList(nn.Embedding(c, cfg.emb_dim) for c in cfg.cat_cardinalities)
        layers: list[nn.Module] = []
        width = cfg.n_num + cfg.emb_dim * len(cfg.cat_cardinalities)
        for w in cfg.widths:
            layers.append(nn.Linear(width, w))
            if cfg.norm == "batch":
                layers.append(nn.BatchNorm1d(w))
            elif cfg.norm == "layer":
                layers.append(nn.LayerNorm(w))
            layers += [nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = w
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(width, cfg.n_out)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """x_num: (B, n_num) float; x_cat: (B, n_cat) int64 → (B, n_out)."""
        embs = [emb(x_cat[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.head(self.blocks(torch.cat([x_num, *embs], dim=1)))


def tabular_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Standard-normal numerical features and uniform categorical indices."""
    x_num = torch.randn(batch_size, cfg.n_num, generator=gen)
    x_cat = torch.stack(
        [torch.randint(0, c, (batch_size,), generator=gen) for c in cfg.cat_cardinalities], dim=1
    )
    return x_num, x_cat


def _mlp_params(cfg: MLPConfig) -> int:
    """Parameter count of the base MLP, written out from its layer sizes."""
    emb = sum(c * cfg.emb_dim for c in cfg.cat_cardinalities)
    dims = [cfg.n_num + cfg.emb_dim * len(cfg.cat_cardinalities), *cfg.widths, cfg.n_out]
    return emb + sum(a * b + b for a, b in itertools.pairwise(dims))


def mlp_macs(cfg: MLPConfig, batch_size: int, seq_len: int | None) -> int:
    """The hidden linears and the head; embedding lookups are not counted."""
    dims = [cfg.n_num + cfg.emb_dim * len(cfg.cat_cardinalities), *cfg.widths, cfg.n_out]
    return batch_size * sum(a * b for a, b in itertools.pairwise(dims))


MLP_SIZES = {
    "tiny": MLPConfig(n_num=8, cat_cardinalities=(10,) * 4, emb_dim=4, widths=(64, 64), n_out=3),
    "base": MLPConfig(),
}


@register_model(
    "mlp",
    modality="tabular",
    sizes=MLP_SIZES,
    inputs=tabular_inputs,
    paper="Gorishniy et al. 2021, Revisiting Deep Learning Models for Tabular Data (MLP baseline)",
    reference=Reference(
        params=_mlp_params(MLP_SIZES["base"]),
        params_source="no published count: base configuration chosen here (3×512, 8 num + 8 cat features); "
        "count written out from its layer sizes",
    ),
    input_names=("x_num", "x_cat"),
    analytic_macs=mlp_macs,
)
def mlp(cfg: MLPConfig) -> TabularMLP:
    """Tabular MLP with categorical embeddings."""
    return TabularMLP(cfg)
