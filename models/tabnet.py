"""TabNet: sequential attentive feature selection with sparsemax masks and GLU feature transformers.

Paper: Arik & Pfister, "TabNet: Attentive Interpretable Tabular Learning", AAAI 2021.
Base configuration (the paper's / pytorch-tabnet defaults): N_d = N_a = 8, 3 decision steps,
relaxation γ = 1.3, 2 shared + 2 step-specific GLU layers, ghost batch norm with virtual batch 128
and momentum 0.02, 1-dim categorical embeddings. Features as in models/mlp.py (8 numerical,
8 categorical of cardinality 100), 10 outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import BatchNorm1dAnyBatch
from benchbench.models.mlp import tabular_inputs
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class TabNetConfig:
    n_num: int = 8
    cat_cardinalities: tuple[int, ...] = (100,) * 8
    cat_emb_dim: int = 1
    n_d: int = 8
    n_a: int = 8
    n_steps: int = 3
    gamma: float = 1.3
    n_shared: int = 2
    n_independent: int = 2
    virtual_batch_size: int = 128
    momentum: float = 0.02
    n_out: int = 10

    @property
    def input_dim(self) -> int:
        return self.n_num + self.cat_emb_dim * len(self.cat_cardinalities)


def sparsemax(z: Tensor, dim: int = -1) -> Tensor:
    """Euclidean projection of z onto the probability simplex (Martins & Astudillo 2016)."""
    z = z - z.max(dim=dim, keepdim=True).values  # shift for stability; the projection is shift-invariant
    zs = z.sort(dim=dim, descending=True).values
    k = torch.arange(1, z.shape[dim] + 1, device=z.device, dtype=z.dtype)
    k = k.view([-1 if i == (dim % z.dim()) else 1 for i in range(z.dim())])
    cumsum = zs.cumsum(dim)
    support = (1 + k * zs) > cumsum  # True on the first k(z) sorted entries
    k_z = support.sum(dim=dim, keepdim=True)  # (…, 1)
    tau = (cumsum.gather(dim, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


class GhostBatchNorm(nn.Module):
    """BatchNorm1d applied to virtual batches of at most `virtual_batch_size` rows."""

    def __init__(self, dim: int, virtual_batch_size: int, momentum: float) -> None:
        super().__init__()
        self.virtual_batch_size = virtual_batch_size
        self.bn = BatchNorm1dAnyBatch(dim, momentum=momentum)

    def forward(self, x: Tensor) -> Tensor:
        chunks = math.ceil(x.shape[0] / self.virtual_batch_size)
        if chunks <= 1:
            return self.bn(x)
        return torch.cat([self.bn(c) for c in x.chunk(chunks, dim=0)], dim=0)


class GLULayer(nn.Module):
    """Linear (no bias) to 2·out → ghost BN → GLU."""

    def __init__(self, fc: nn.Linear, cfg: TabNetConfig) -> None:
        super().__init__()
        self.fc = fc
        self.bn = GhostBatchNorm(fc.out_features, cfg.virtual_batch_size, cfg.momentum)

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.bn(self.fc(x)).chunk(2, dim=-1)
        return a * torch.sigmoid(b)


class FeatureTransformer(nn.Module):
    """Shared GLU layers (weights shared across steps) then step-specific ones, √0.5-scaled residuals."""

    def __init__(self, shared: nn.ModuleList, cfg: TabNetConfig) -> None:
        super().__init__()
        width = cfg.n_d + cfg.n_a
        self.layers = nn.ModuleList(GLULayer(fc, cfg) for fc in shared)
        first = len(shared) == 0
        for i in range(cfg.n_independent):
            fc = nn.Linear(cfg.input_dim if first and i == 0 else width, 2 * width, bias=False)
            self.layers.append(GLULayer(fc, cfg))

    def forward(self, x: Tensor) -> Tensor:
        x = self.layers[0](x)
        for layer in self.layers[1:]:
            x = (x + layer(x)) * math.sqrt(0.5)
        return x


class AttentiveTransformer(nn.Module):
    """Mask = sparsemax(prior · GBN(Linear(a)))."""

    def __init__(self, cfg: TabNetConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.n_a, cfg.input_dim, bias=False)
        self.bn = GhostBatchNorm(cfg.input_dim, cfg.virtual_batch_size, cfg.momentum)

    def forward(self, a: Tensor, prior: Tensor) -> Tensor:
        return sparsemax(self.bn(self.fc(a)) * prior)


class TabNet(nn.Module):
    """Embed, batch-normalise, then n_steps of (attentive mask → feature transformer → split d / a)."""

    def __init__(self, cfg: TabNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        width = cfg.n_d + cfg.n_a
        self.embeddings = nn.ModuleList(nn.Embedding(c, cfg.cat_emb_dim) for c in cfg.cat_cardinalities)
        self.initial_bn = BatchNorm1dAnyBatch(cfg.input_dim, momentum=0.01)
        shared = nn.ModuleList(
            nn.Linear(cfg.input_dim if i == 0 else width, 2 * width, bias=False) for i in range(cfg.n_shared)
        )
        self.initial_splitter = FeatureTransformer(shared, cfg)
        self.feat_transformers = nn.ModuleList(FeatureTransformer(shared, cfg) for _ in range(cfg.n_steps))
        self.att_transformers = nn.ModuleList(AttentiveTransformer(cfg) for _ in range(cfg.n_steps))
        self.head = nn.Linear(cfg.n_d, cfg.n_out, bias=False)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """x_num: (B, n_num) float; x_cat: (B, n_cat) int64 → (B, n_out)."""
        embs = [emb(x_cat[:, i]) for i, emb in enumerate(self.embeddings)]
        x = self.initial_bn(torch.cat([x_num, *embs], dim=1))  # (B, input_dim)
        prior = torch.ones_like(x)
        a = self.initial_splitter(x)[:, self.cfg.n_d :]  # (B, n_a)
        out = x.new_zeros(x.shape[0], self.cfg.n_d)
        for att, feat in zip(self.att_transformers, self.feat_transformers):
            mask = att(a, prior)  # (B, input_dim), rows on the simplex
            prior = prior * (self.cfg.gamma - mask)
            h = feat(mask * x)  # (B, n_d + n_a)
            out = out + torch.relu(h[:, : self.cfg.n_d])
            a = h[:, self.cfg.n_d :]
        return self.head(out)


def tabnet_macs(cfg: TabNetConfig, batch_size: int, seq_len: int | None) -> int:
    """The GLU linears of n_steps + 1 feature transformers, n_steps attentive linears, and the head."""
    w = cfg.n_d + cfg.n_a
    layers = cfg.n_shared + cfg.n_independent
    feat = cfg.input_dim * 2 * w + (layers - 1) * w * 2 * w
    att = cfg.n_a * cfg.input_dim
    return batch_size * ((cfg.n_steps + 1) * feat + cfg.n_steps * att + cfg.n_d * cfg.n_out)


def _tabnet_params(cfg: TabNetConfig) -> int:
    """Embeddings, initial BN, shared + per-transformer GLU linears and BNs, attentive linears and BNs, head."""
    w, d_in = cfg.n_d + cfg.n_a, cfg.input_dim
    emb = sum(cfg.cat_cardinalities) * cfg.cat_emb_dim
    shared = d_in * 2 * w + (cfg.n_shared - 1) * w * 2 * w
    per_feat = cfg.n_independent * w * 2 * w + (cfg.n_shared + cfg.n_independent) * 2 * (2 * w)
    att = cfg.n_a * d_in + 2 * d_in
    return emb + 2 * d_in + shared + (cfg.n_steps + 1) * per_feat + cfg.n_steps * att + cfg.n_d * cfg.n_out


_BASE = TabNetConfig()


@register_model(
    "tabnet",
    modality="tabular",
    sizes={
        "tiny": TabNetConfig(
            cat_cardinalities=(10,) * 4, cat_emb_dim=2, n_steps=2, virtual_batch_size=16, n_out=3
        ),
        "base": _BASE,
    },
    inputs=tabular_inputs,
    paper="Arik & Pfister 2021, TabNet: Attentive Interpretable Tabular Learning",
    reference=Reference(
        params=_tabnet_params(_BASE),
        params_source="no published count (it depends on the data set): written out from the default "
        "TabNet (N_d=N_a=8, 3 steps, 2+2 GLU layers) on the 8 numerical + 8×100 categorical features used here",
    ),
    input_names=("x_num", "x_cat"),
    analytic_macs=tabnet_macs,
)
def tabnet(cfg: TabNetConfig) -> TabNet:
    """TabNet classifier."""
    return TabNet(cfg)
