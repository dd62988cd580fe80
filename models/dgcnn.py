"""DGCNN classification: EdgeConv layers over k-NN graphs recomputed in feature space at every layer.

Paper: Wang et al., "Dynamic Graph CNN for Learning on Point Clouds", ACM TOG 2019. Base configuration
(the authors' PyTorch reference, WangYueFB/dgcnn `pytorch/model.py` DGCNN): 1,024 points, k = 20,
EdgeConv widths 64-64-128-256, embedding 1,024, max+mean pooling, classifier 512-256-40, dropout 0.5,
LeakyReLU(0.2); 1,809,576 parameters (own code, same layer set).

k-NN: pairwise squared distances -‖x_i - x_j‖² via one batched inner product, then top-k (ties between
duplicate points are broken by `topk`, a point is its own nearest neighbour). MACs: per cloud and
EdgeConv layer N·N·C for the distance matrix, N·k·2C·C_out for the 1×1 edge convolution; the final
1×1 conv and the linears as usual. Gathering, max over neighbours, norms and pooling are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import BatchNorm1dAnyBatch
from benchbench.models.pointnet import point_inputs
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class DGCNNConfig:
    num_points: int = 1024
    num_classes: int = 40
    k: int = 20
    widths: tuple[int, ...] = (64, 64, 128, 256)
    emb: int = 1024
    fc1: int = 512
    fc2: int = 256
    dropout: float = 0.5


def knn(x: Tensor, k: int) -> Tensor:
    """Indices (B, N, k) of the k nearest points to each point of x (B, C, N), itself included."""
    if k > x.shape[2]:
        raise ValueError(f"k={k} exceeds the number of points {x.shape[2]}")
    inner = torch.matmul(x.transpose(1, 2), x)  # (B, N, N)
    sq = (x * x).sum(dim=1, keepdim=True)  # (B, 1, N)
    neg_dist = 2 * inner - sq - sq.transpose(1, 2)  # -‖x_i - x_j‖²
    return neg_dist.topk(k, dim=-1).indices


def edge_features(x: Tensor, k: int) -> Tensor:
    """EdgeConv input (B, 2C, N, k): [x_j - x_i, x_i] over the k nearest neighbours j of each i."""
    B, C, N = x.shape
    idx = knn(x, k)  # (B, N, k)
    xt = x.transpose(1, 2)  # (B, N, C)
    nbr = torch.gather(xt, 1, idx.reshape(B, N * k, 1).expand(-1, -1, C)).view(B, N, k, C)
    center = xt[:, :, None, :].expand(-1, -1, k, -1)
    return torch.cat([nbr - center, center], dim=3).permute(0, 3, 1, 2)  # (B, 2C, N, k)


class EdgeConv(nn.Module):
    """1×1 conv + BN + LeakyReLU on edge features, then max over the k neighbours."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.conv = nn.Conv2d(2 * cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, N) → (B, cout, N)."""
        return self.act(self.bn(self.conv(edge_features(x, self.k)))).amax(dim=-1)


class DGCNN(nn.Module):
    """Four EdgeConvs (dynamic graphs), concat, 1×1 conv to emb, max ‖ mean pool, MLP classifier."""

    def __init__(self, cfg: DGCNNConfig) -> None:
        super().__init__()
        cin, convs = 3, []
        for w in cfg.widths:
            convs.append(EdgeConv(cin, w, cfg.k))
            cin = w
        self.edge_convs = nn.ModuleList(convs)
        self.conv5 = nn.Sequential(
            nn.Conv1d(sum(cfg.widths), cfg.emb, 1, bias=False), nn.BatchNorm1d(cfg.emb), nn.LeakyReLU(0.2)
        )
        self.classifier = nn.Sequential(
            nn.Linear(2 * cfg.emb, cfg.fc1, bias=False),
            BatchNorm1dAnyBatch(cfg.fc1),
            nn.LeakyReLU(0.2),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc1, cfg.fc2),
            BatchNorm1dAnyBatch(cfg.fc2),
            nn.LeakyReLU(0.2),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc2, cfg.num_classes),
        )

    def forward(self, points: Tensor) -> Tensor:
        """points (B, 3, N) → logits (B, num_classes)."""
        feats, x = [], points
        for conv in self.edge_convs:
            x = conv(x)
            feats.append(x)
        x = self.conv5(torch.cat(feats, dim=1))  # (B, emb, N)
        x = torch.cat([x.amax(dim=2), x.mean(dim=2)], dim=1)  # (B, 2·emb)
        return self.classifier(x)


def dgcnn_macs(cfg: DGCNNConfig, batch_size: int, seq_len: int | None) -> int:
    n, k, cin, per = cfg.num_points, cfg.k, 3, 0
    for w in cfg.widths:
        per += n * n * cin + n * k * 2 * cin * w  # distance matrix + edge conv
        cin = w
    per += n * sum(cfg.widths) * cfg.emb
    per += 2 * cfg.emb * cfg.fc1 + cfg.fc1 * cfg.fc2 + cfg.fc2 * cfg.num_classes
    return batch_size * per


@register_model(
    "dgcnn",
    modality="point_cloud",
    sizes={
        "tiny": DGCNNConfig(
            num_points=128, num_classes=10, k=8, widths=(16, 16, 32, 32), emb=64, fc1=32, fc2=16
        ),
        "base": DGCNNConfig(),
    },
    inputs=point_inputs,
    paper="Wang et al. 2019, Dynamic Graph CNN for Learning on Point Clouds (classification, k=20, emb 1024)",
    reference=Reference(
        params=1_809_576,
        params_source="WangYueFB/dgcnn pytorch/model.py DGCNN(k=20, emb_dims=1024, output_channels=40)",
    ),
    input_names=("points",),
    analytic_macs=dgcnn_macs,
)
def dgcnn(cfg: DGCNNConfig) -> DGCNN:
    """DGCNN classifier with four dynamic-graph EdgeConv layers."""
    return DGCNN(cfg)
