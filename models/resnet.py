"""ResNet in torchvision's layout (v1.5: the stride-2 sits in the bottleneck's 3×3 convolution).

Paper: He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
Base configurations: ResNet-18 (BasicBlock, [2, 2, 2, 2]) and ResNet-50 (Bottleneck, [3, 4, 6, 3]),
width 64, 1000 classes, 224×224 inputs; parameter counts equal torchvision's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from benchbench.models.registry import Reference, register_model


@dataclass(frozen=True)
class ResNetConfig:
    block: str = "basic"  # "basic" or "bottleneck"
    layers: tuple[int, ...] = (2, 2, 2, 2)
    width: int = 64
    num_classes: int = 1000
    image_size: int = 224


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, width, stride), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width), nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, width, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride)

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def _downsample(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class ResNet(nn.Module):
    """Stem (7×7/2 conv, 3×3/2 max-pool), four stages, global average pool, linear classifier."""

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        block = {"basic": BasicBlock, "bottleneck": Bottleneck}[cfg.block]
        w = cfg.width
        self.conv1 = nn.Conv2d(3, w, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin, stages = w, []
        for i, n in enumerate(cfg.layers):
            width = w * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block(cin, width, stride=2 if (i > 0 and j == 0) else 1))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, cfg.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, 3, H, W) → logits (B, num_classes)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def image_inputs(cfg, batch_size: int, seq_len: int | None, gen: torch.Generator) -> tuple[Tensor]:
    """Standard-normal images of the configured size, (B, 3, H, W)."""
    return (torch.randn(batch_size, 3, cfg.image_size, cfg.image_size, generator=gen),)


def resnet_macs(cfg: ResNetConfig, batch_size: int, seq_len: int | None) -> int:
    """Conv MACs (out pixels × cout × cin × k²) of stem, blocks and downsamples, plus the fc layer."""
    s = (cfg.image_size - 1) // 2 + 1  # 7×7/2 stem
    macs = s * s * cfg.width * 3 * 49
    s = (s - 1) // 2 + 1  # 3×3/2 max-pool
    cin, exp = cfg.width, 4 if cfg.block == "bottleneck" else 1
    for i, n in enumerate(cfg.layers):
        w = cfg.width * 2**i
        for j in range(n):
            stride = 2 if (i > 0 and j == 0) else 1
            so = (s - 1) // stride + 1
            if cfg.block == "bottleneck":
                macs += s * s * w * cin + so * so * w * w * 9 + so * so * w * exp * w
            else:
                macs += so * so * w * cin * 9 + so * so * w * w * 9
            if stride != 1 or cin != w * exp:
                macs += so * so * w * exp * cin
            cin, s = w * exp, so
    return batch_size * (macs + cin * cfg.num_classes)


_PAPER = "He et al. 2016, Deep Residual Learning for Image Recognition (torchvision v1.5 layout)"


@register_model(
    "resnet18",
    modality="image",
    sizes={
        "tiny": ResNetConfig(layers=(1, 1, 1, 1), width=16, num_classes=10, image_size=64),
        "base": ResNetConfig(),
    },
    inputs=image_inputs,
    paper=_PAPER,
    reference=Reference(
        params=11_689_512,
        params_source="torchvision.models.resnet18 (IMAGENET1K_V1 weights metadata)",
        macs=1.814e9,
        macs_source="torchvision resnet18 weights metadata: 1.81 GFLOPS (counted as MACs) at 224×224",
    ),
    analytic_macs=resnet_macs,
)
def resnet18(cfg: ResNetConfig) -> ResNet:
    """ResNet-18 (BasicBlock)."""
    return ResNet(cfg)


@register_model(
    "resnet50",
    modality="image",
    sizes={
        "tiny": ResNetConfig(block="bottleneck", layers=(1, 1, 1, 1), width=8, num_classes=10, image_size=64),
        "base": ResNetConfig(block="bottleneck", layers=(3, 4, 6, 3)),
    },
    inputs=image_inputs,
    paper=_PAPER,
    reference=Reference(
        params=25_557_032,
        params_source="torchvision.models.resnet50 (IMAGENET1K_V1 weights metadata)",
        macs=4.089e9,
        macs_source="torchvision resnet50 weights metadata: 4.09 GFLOPS (counted as MACs) at 224×224",
    ),
    analytic_macs=resnet_macs,
)
def resnet50(cfg: ResNetConfig) -> ResNet:
    """ResNet-50 (Bottleneck)."""
    return ResNet(cfg)
