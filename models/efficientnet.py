"""EfficientNet-B0: MBConv blocks with squeeze-excitation, SiLU and stochastic depth.

Paper: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
ICML 2019. Base configuration (B0, torchvision layout): stem 3×3/2 conv to 32, seven MBConv stages
(expand, kernel, stride, out, repeats) = (1,3,1,16,1) (6,3,2,24,2) (6,5,2,40,2) (6,3,2,80,3)
(6,5,1,112,3) (6,5,2,192,4) (6,3,1,320,1), 1×1 head conv to 1,280, dropout 0.2, 1,000 classes,
stochastic depth 0.2 (linearly increasing over blocks), SE squeeze to input_channels / 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.registry import Reference, register_model
from benchbench.models.resnet import image_inputs

# (expand ratio, kernel, stride, out channels, repeats)
B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # fmt: skip


@dataclass(frozen=True)
class EfficientNetConfig:
    stages: tuple[tuple[int, int, int, int, int], ...] = B0_STAGES
    stem: int = 32
    head: int = 1280
    num_classes: int = 1000
    image_size: int = 224
    dropout: float = 0.2
    stochastic_depth: float = 0.2


def conv_bn_act(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    """Conv (no bias, 'same' padding) → BatchNorm → optional SiLU."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout, eps=1e-3),
    ]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Global pool → 1×1 conv down → SiLU → 1×1 conv up → sigmoid gate on the channels."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.act = nn.Conv2d(channels, squeeze, 1), nn.SiLU()
        self.fc2, self.gate = nn.Conv2d(squeeze, channels, 1), nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class StochasticDepth(nn.Module):
    """Drop the whole residual branch per sample with probability p during training (row mode)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
        return x * mask / keep


class MBConv(nn.Module):
    """Inverted bottleneck: [1×1 expand] → depthwise k×k → SE → 1×1 project, residual when shapes match."""

    def __init__(self, cin: int, cout: int, expand: int, k: int, stride: int, drop: float) -> None:
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_act(cin, mid, 1))
        layers += [
            conv_bn_act(mid, mid, k, stride, groups=mid),
            SqueezeExcitation(mid, max(1, cin // 4)),
            conv_bn_act(mid, cout, 1, act=False),
        ]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout
        self.drop = StochasticDepth(drop)

    def forward(self, x: Tensor) -> Tensor:
        y = self.block(x)
        return x + self.drop(y) if self.residual else y


class EfficientNet(nn.Module):
    """Stem, MBConv stages, 1×1 head conv, global pool, dropout, linear classifier."""

    def __init__(self, cfg: EfficientNetConfig) -> None:
        super().__init__()
        total = sum(s[4] for s in cfg.stages)
        layers: list[nn.Module] = [conv_bn_act(3, cfg.stem, 3, 2)]
        cin, idx = cfg.stem, 0
        for expand, k, stride, cout, repeats in cfg.stages:
            for r in range(repeats):
                drop = cfg.stochastic_depth * idx / total
                layers.append(MBConv(cin, cout, expand, k, stride if r == 0 else 1, drop))
                cin, idx = cout, idx + 1
        layers.append(conv_bn_act(cin, cfg.head, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.head, cfg.num_classes))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) → logits (B, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1  # 'same' padding with odd kernels


def efficientnet_macs(cfg: EfficientNetConfig, batch_size: int, seq_len: int | None) -> int:
    """Conv MACs (out pixels × cout × cin/groups × k²), SE 1×1 convs on 1×1 maps, and the classifier."""
    s = _out(cfg.image_size, 2)
    macs = s * s * cfg.stem * 3 * 9
    cin = cfg.stem
    for expand, k, stride, cout, repeats in cfg.stages:
        for r in range(repeats):
            st = stride if r == 0 else 1
            mid, sq = cin * expand, max(1, cin // 4)
            if expand != 1:
                macs += s * s * mid * cin
            s = _out(s, st)
            macs += s * s * mid * k * k + 2 * mid * sq + s * s * cout * mid
            cin = cout
    macs += s * s * cfg.head * cin + cfg.head * cfg.num_classes
    return batch_size * macs


@register_model(
    "efficientnet_b0",
    modality="image",
    sizes={
        "tiny": EfficientNetConfig(
            stages=((1, 3, 1, 8, 1), (4, 3, 2, 16, 1), (4, 5, 2, 24, 1)),
            stem=8,
            head=64,
            num_classes=10,
            image_size=64,
        ),
        "base": EfficientNetConfig(),
    },
    inputs=image_inputs,
    paper="Tan & Le 2019, EfficientNet: Rethinking Model Scaling for CNNs (B0, torchvision layout)",
    reference=Reference(
        params=5_288_548,
        params_source="torchvision.models.efficientnet_b0 (IMAGENET1K_V1 weights metadata)",
        macs=0.386e9,
        macs_source="torchvision efficientnet_b0 weights metadata: 0.39 GFLOPS (counted as MACs) at 224×224; "
        "the paper lists 0.39B FLOPS",
    ),
    analytic_macs=efficientnet_macs,
)
def efficientnet_b0(cfg: EfficientNetConfig) -> EfficientNet:
    """EfficientNet-B0 image classifier."""
    return EfficientNet(cfg)
