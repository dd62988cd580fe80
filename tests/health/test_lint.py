import importlib.util

import pytest
import torch
from torch import nn

from benchbench.health.lint import LintConfig, lint_model
from benchbench.models.layers import MultiHeadAttention


def rules(findings, rule):
    return [f for f in findings if f.rule == rule]


class ResidualBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x + self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))


def clean_resnet(depth: int = 8) -> nn.Module:
    """A ResNet-style model: 2 + 2·depth weighted layers, all inside residual blocks."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        *[ResidualBlock(8) for _ in range(depth)],
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(8, 10),
    )  # fmt: skip


def plain_stack(depth: int = 20, width: int = 16) -> nn.Sequential:
    layers = [nn.Linear(width, width) for _ in range(depth)]
    return nn.Sequential(*[m for lin in layers for m in (lin, nn.ReLU())])


def test_clean_resnet_has_no_findings():
    findings = lint_model(clean_resnet(), (torch.randn(32, 3, 8, 8),), batch_size=32)
    assert findings == []


def test_dropout_right_after_batchnorm_is_flagged_with_its_path():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))
    (f,) = rules(lint_model(model, (torch.randn(32, 4),), batch_size=32), "dropout-after-batchnorm")
    assert f.module == "2" and "BatchNorm 1" in f.message


def test_dropout_after_an_activation_is_not_flagged():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.Dropout(0.5))
    assert not rules(lint_model(model, (torch.randn(32, 4),), batch_size=32), "dropout-after-batchnorm")


def test_twenty_layer_plain_stack_is_flagged():
    model = nn.Sequential()
    model.add_module("body", plain_stack(20))
    (f,) = rules(lint_model(model, (torch.randn(4, 16),), batch_size=32), "deep-plain-stack")
    assert f.module == "body" and "20 weighted layers" in f.message and "body.0" in f.message


def test_deep_model_with_residuals_is_not_flagged():
    assert not rules(
        lint_model(clean_resnet(12), (torch.randn(2, 3, 8, 8),), batch_size=32), "deep-plain-stack"
    )


def test_shallow_plain_stack_is_not_flagged():
    assert not rules(lint_model(plain_stack(8), (torch.randn(4, 16),), batch_size=32), "deep-plain-stack")


def test_batchnorm_at_batch_two_is_flagged_per_module():
    model = clean_resnet(1)
    found = rules(lint_model(model, (torch.randn(2, 3, 8, 8),), batch_size=2), "small-batch-batchnorm")
    bn_paths = {n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert {f.module for f in found} == bn_paths and "batch of 2" in found[0].message


def test_params_per_sample_needs_and_uses_dataset_size():
    model, x = plain_stack(4, 64), (torch.randn(2, 64),)
    assert not rules(lint_model(model, x, batch_size=32), "params-per-sample")
    cfg = LintConfig(dataset_size=10, max_params_per_sample=100)
    (f,) = rules(lint_model(model, x, batch_size=32, config=cfg), "params-per-sample")
    assert "16,640 trainable parameters for 10 samples" in f.message


class TinyTransformerBlock(nn.Module):
    def __init__(self, dim: int = 8, act: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.attn = MultiHeadAttention(dim, 2)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), act(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


@pytest.mark.parametrize("seq, flagged", [(16, False), (512, True)])
def test_attention_memory_flagged_for_long_sequences(seq, flagged):
    model = nn.Sequential(TinyTransformerBlock())
    found = rules(lint_model(model, (torch.randn(1, seq, 8),), batch_size=32), "attention-memory")
    assert bool(found) == flagged
    if flagged:
        assert found[0].module == "0.attn"


def test_relu_in_a_transformer_block_is_information():
    model = nn.Sequential(TinyTransformerBlock(act=nn.ReLU))
    (f,) = rules(lint_model(model, (torch.randn(2, 5, 8),), batch_size=32), "activation-convention")
    assert f.severity == "info" and f.module == "0.mlp.1"
    gelu = nn.Sequential(TinyTransformerBlock(act=nn.GELU))
    assert not rules(lint_model(gelu, (torch.randn(2, 5, 8),), batch_size=32), "activation-convention")


def normed_stack(depth: int, width: int = 16) -> nn.Sequential:
    return nn.Sequential(
        *[m for _ in range(depth) for m in (nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU())]
    )


@pytest.mark.parametrize("depth, flagged", [(15, False), (25, True)])
def test_a_plain_stack_with_batchnorm_after_each_layer_may_go_to_20(depth, flagged):
    found = rules(lint_model(normed_stack(depth), (torch.randn(4, 16),), batch_size=32), "deep-plain-stack")
    assert bool(found) == flagged
    if flagged:
        assert "more than 20 even with normalisation" in found[0].message


def test_pointnet_through_its_t_nets_is_not_a_deep_plain_stack():
    """18 weighted layers through the T-Nets, each followed by BatchNorm: PointNet trains (Qi et al. 2017)."""
    from benchbench.sources.target import load_target

    target = load_target("pointnet", "tiny", batch_size=4)
    assert not rules(lint_model(target.model, target.inputs, batch_size=32), "deep-plain-stack")


class LevitLikeHead(nn.Module):
    """timm's LeViT head: BatchNorm1d, then `drop` = Dropout(p=drop_rate) (0.0 by default), then Linear."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.bn, self.drop, self.linear = nn.BatchNorm1d(8), nn.Dropout(p), nn.Linear(8, 3)

    def forward(self, x):
        return self.linear(self.drop(self.bn(x)))


@pytest.mark.parametrize("dropout", [nn.Dropout, nn.AlphaDropout, nn.FeatureAlphaDropout])
def test_a_dropout_of_probability_zero_after_batchnorm_is_no_dropout(dropout):
    head = LevitLikeHead(0.0)
    head.drop = dropout(0.0)
    assert not rules(lint_model(head, (torch.randn(32, 8),), batch_size=32), "dropout-after-batchnorm")
    head.drop = dropout(0.2)  # the same place with a real probability is the pitfall
    (f,) = rules(lint_model(head, (torch.randn(32, 8),), batch_size=32), "dropout-after-batchnorm")
    assert f.module == "drop"


@pytest.mark.slow  # building LeViT and tracing it: about 9 s on a loaded 2-core machine
def test_timm_levit_head_dropout_of_zero_is_not_flagged():
    from benchbench.sources.target import load_target  # imports torchvision's shims before timm does

    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed")

    target = load_target("timm:levit_128s", size=None, batch_size=32)
    assert target.model.head.drop.p == 0.0  # what the false alarm was about
    findings = lint_model(target.model, target.inputs, batch_size=32)
    assert not rules(findings, "dropout-after-batchnorm")
