"""PointNet classification network with input (3×3) and feature (64×64) transform nets.

Paper: Qi et al., "PointNet: Deep Learning on Point Sets for 3D Classification and Segmentation",
CVPR 2017. Base configuration: 1,024 points, 40 classes (ModelNet40), shared MLPs 64-128-1024 as
1×1 convolutions with batch norm, T-nets 64-128-1024 / 512-256, classifier 512-256-40 with dropout
0.3. Layout and parameter count follow the common PyTorch port (fxia22/pointnet.pytorch,
`PointNetCls(k=40, feature_transform=True)`): 3,471,473 parameters (own code).
MACs: 1×1 convolutions N·C_in·C_out per cloud, linears, and the two bmm's with the transforms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.layers import BatchNorm1dAnyBatch
from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class PointNetConfig:
    num_points: int = 1024
    num_classes: int = 40
    mlp1: int = 64
    mlp2: int = 128
    emb: int = 1024
    fc1: int = 512
    fc2: int = 256
    dropout: float = 0.3


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, 1), nn.BatchNorm1d(cout), nn.ReLU())


def _fc_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout), BatchNorm1dAnyBatch(cout), nn.ReLU())


class TNet(nn.Module):
    """Predicts a k×k transform from the cloud; the output is added to the identity."""

    def __init__(self, k: int, cfg: PointNetConfig) -> None:
        super().__init__()
        self.k = k
        self.register_buffer("identity", torch.eye(k), persistent=False)
        self.features = nn.Sequential(
            _conv_bn(k, cfg.mlp1), _conv_bn(cfg.mlp1, cfg.mlp2), _conv_bn(cfg.mlp2, cfg.emb)
        )
        self.head = nn.Sequential(
            _fc_bn(cfg.emb, cfg.fc1), _fc_bn(cfg.fc1, cfg.fc2), nn.Linear(cfg.fc2, k * k)
        )

    def forward(self, x: Tensor) -> Tensor:
        """x (B, k, N) → transform (B, k, k)."""
        g = self.features(x).amax(dim=2)  # (B, emb)
        return self.head(g).view(-1, self.k, self.k) + self.identity


class PointNetCls(nn.Module):
    """Input transform, shared MLP, feature transform, shared MLP, max-pool, classifier."""

    def __init__(self, cfg: PointNetConfig) -> None:
        super().__init__()
        self.stn = TNet(3, cfg)
        self.conv1 = _conv_bn(3, cfg.mlp1)
        self.fstn = TNet(cfg.mlp1, cfg)
        self.conv2 = _conv_bn(cfg.mlp1, cfg.mlp2)
        self.conv3 = nn.Sequential(nn.Conv1d(cfg.mlp2, cfg.emb, 1), nn.BatchNorm1d(cfg.emb))
        self.classifier = nn.Sequential(
            nn.Linear(cfg.emb, cfg.fc1),
            BatchNorm1dAnyBatch(cfg.fc1),
            nn.ReLU(),
            nn.Linear(cfg.fc1, cfg.fc2),
            nn.Dropout(cfg.dropout),
            BatchNorm1dAnyBatch(cfg.fc2),
            nn.ReLU(),
            nn.Linear(cfg.fc2, cfg.num_classes),
        )

    def forward(self, points: Tensor) -> Tensor:
        """points (B, 3, N) → logits (B, num_classes)."""
        x = torch.bmm(self.stn(points).transpose(1, 2), points)  # (B, 3, N)
        x = self.conv1(x)  # (B, 64, N)
        x = torch.bmm(self.fstn(x).transpose(1, 2), x)  # (B, 64, N)
        x = self.conv3(self.conv2(x)).amax(dim=2)  # (B, emb)
        return self.classifier(x)


def point_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor]:
    """Random clouds in the unit cube, (B, 3, N)."""
    return (torch.rand(batch_size, 3, cfg.num_points, generator=gen) * 2 - 1,)


def _tnet_macs(k: int, cfg: PointNetConfig, n: int) -> int:
    conv = n * (k * cfg.mlp1 + cfg.mlp1 * cfg.mlp2 + cfg.mlp2 * cfg.emb)
    return conv + cfg.emb * cfg.fc1 + cfg.fc1 * cfg.fc2 + cfg.fc2 * k * k


def pointnet_macs(cfg: PointNetConfig, batch_size: int, seq_len: int | None) -> int:
    n, m1 = cfg.num_points, cfg.mlp1
    per = _tnet_macs(3, cfg, n) + _tnet_macs(m1, cfg, n)
    per += n * 3 * 3 + n * 3 * m1 + n * m1 * m1 + n * (m1 * cfg.mlp2 + cfg.mlp2 * cfg.emb)
    per += cfg.emb * cfg.fc1 + cfg.fc1 * cfg.fc2 + cfg.fc2 * cfg.num_classes
    return batch_size * per


@register_model(
    "pointnet",
    modality="point_cloud",
    sizes={
        "tiny": PointNetConfig(num_points=128, num_classes=10, mlp1=16, mlp2=32, emb=64, fc1=32, fc2=16),
        "base": PointNetConfig(),
    },
    inputs=point_inputs,
    paper="Qi et al. 2017, PointNet: Deep Learning on Point Sets for 3D Classification and Segmentation",
    reference=Reference(
        params=3_471_473,
        params_source="fxia22/pointnet.pytorch PointNetCls(k=40, feature_transform=True): both T-nets",
    ),
    input_names=("points",),
    analytic_macs=pointnet_macs,
)
def pointnet(cfg: PointNetConfig) -> PointNetCls:
    """PointNet classifier with input and feature transform nets."""
    return PointNetCls(cfg)
