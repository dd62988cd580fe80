import time

import pytest
import torch
from torch import nn

from benchbench.health.check import check_health
from benchbench.health.probe import ProbeConfig, probe_trainability
from benchbench.models.registry import list_models
from benchbench.sources.target import load_target


def plain_stack(depth: int, width: int = 16, scale: float = 1.0) -> nn.Sequential:
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.mul_(scale)
        layers += [lin, nn.Tanh()]
    return nn.Sequential(*layers)


FAST = ProbeConfig(steps=20, lr_steps=10)


def test_healthy_small_mlp():
    r = probe_trainability(plain_stack(3), (torch.randn(8, 16),), FAST)
    assert r.loss_fell and not r.vanishing and not r.exploding and r.healthy and r.verdict == "healthy"
    assert set(r.grad_norms_first) == {"0", "2", "4"} == set(r.grad_to_weight)
    assert r.loss == "cross-entropy" and r.ladder == [1e-3, 3e-3, 1e-2] and r.lr == r.attempts[-1].lr
    assert r.attempts[-1].fell and r.attempts[-1].losses[-1] < 0.9 * r.attempts[-1].losses[0]


def test_weights_scaled_down_are_flagged_vanishing():
    r = probe_trainability(plain_stack(20, scale=1e-4), (torch.randn(8, 16),), FAST)
    assert (
        r.vanishing and not r.healthy and r.verdict == "unhealthy"
    )  # the last bias alone may fit the labels
    first = next(f for f in r.flags if f.layer == "0")
    assert first.kind == "vanishing" and first.ratio < FAST.bounds.floor and first.step == "first"
    assert any("vanishing gradient in 0" in n for n in r.notes)


class _ZeroInitResidual(nn.Module):
    """Residual blocks whose branch ends in a norm with its scale at 0 (timm's zero_init_last; Goyal et al. 2017):
    at the first step every branch layer's gradient is exactly 0, after the first update it is not."""

    def __init__(self, width: int = 16, blocks: int = 3, classes: int = 4) -> None:
        super().__init__()
        self.branches = nn.ModuleList()
        for _ in range(blocks):
            norm = nn.LayerNorm(width)
            nn.init.zeros_(norm.weight)
            self.branches.append(
                nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), norm)
            )
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        for branch in self.branches:
            x = x + branch(x)
        return self.head(x)


def test_a_branch_behind_a_zero_initialised_scale_is_not_called_vanishing():
    torch.manual_seed(0)
    model = _ZeroInitResidual()
    r = probe_trainability(model, (torch.randn(8, 16),), FAST)
    assert r.grad_to_weight["branches.0.0"] == 0.0  # no gradient at the first step, by design
    assert not r.vanishing and r.verdict == "healthy", r.notes


def test_a_dead_layer_that_stays_dead_is_still_vanishing():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    with torch.no_grad():  # every unit of the first layer dead: its ReLU input is always far below 0
        model[0].bias.fill_(-100.0)
    r = probe_trainability(model, (torch.randn(8, 16),), FAST)
    assert r.grad_to_weight["0"] == 0.0 and r.grad_to_weight_last["0"] == 0.0
    assert r.vanishing and any(f.layer == "0" and f.kind == "vanishing" for f in r.flags)


def test_transformers_get_the_low_ladder_with_warm_up():
    r = probe_trainability(plain_stack(3), (torch.randn(8, 16),), FAST, transformer=True)
    assert r.ladder == [1e-4, 3e-4, 1e-3] and r.warmup_steps == 5


def test_a_budget_too_short_is_inconclusive_not_unhealthy():
    class Slow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(16, 16)

        def forward(self, x):
            time.sleep(0.05)  # every step takes at least this long, however fast the machine
            return self.lin(x)

    cfg = ProbeConfig(lr=1e-9, budget_s=0.2, min_steps=6, lr_steps=0)
    r = probe_trainability(Slow(), (torch.randn(8, 16),), cfg)
    assert not r.complete and r.verdict == "inconclusive" and not r.healthy
    assert any("0.2 s budget" in n for n in r.notes) and len(r.attempts) == 1


def test_weights_scaled_up_are_flagged_exploding():
    model = nn.Sequential(*[m for _ in range(20) for m in (nn.Linear(16, 16), nn.ReLU())])
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.mul_(100.0)
    r = probe_trainability(model, (torch.randn(8, 16),), FAST)
    assert r.exploding and not r.healthy


def test_probe_leaves_the_model_untouched():
    model = plain_stack(3)
    before = [p.clone() for p in model.parameters()]
    probe_trainability(model, (torch.randn(8, 16),), FAST)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_range_test_finds_a_diverging_lr_for_plain_sgd_scale():
    r = probe_trainability(plain_stack(3), (torch.randn(8, 16),), ProbeConfig(steps=5, lr_steps=30))
    assert r.diverging_lr is None or 1e-6 < r.diverging_lr <= 10.0


@pytest.mark.parametrize("name", list_models())
def test_every_zoo_model_learns_one_batch(name):
    """Every zoo model at tiny overfits one batch of 4 (the loss falls) with no gradient flag, or says why not."""
    target = load_target(name, "tiny", batch_size=4)
    probe = check_health(target, probe=ProbeConfig(lr_steps=0)).probe
    assert probe.loss_fell, f"{name}: {probe.notes}"
    assert not probe.flags, f"{name}: {probe.notes}"


def test_run_stage_lints_for_a_training_batch_not_the_inference_batch():
    from benchbench.measure.records import LatencyStats, ProfileResult
    from benchbench.stages.health import RUN_TRAIN_BATCH, health_stage

    target = load_target("resnet18", "tiny", batch_size=1)
    result = ProfileResult(
        "resnet18", "image", "tiny", 1, "cpu", "float32", latency=LatencyStats.from_samples([1.0])
    )
    section = health_stage(target, result, None)
    assert section.train_batch_size == RUN_TRAIN_BATCH
    assert not [f for f in section.lint if f.rule == "small-batch-batchnorm"]
    assert section.probe.loss_fell


def test_the_probe_shrinks_batch_and_tokens_and_says_so():
    target = load_target("gpt2", "tiny", batch_size=8, seq_len=64)
    probe = check_health(target, probe=ProbeConfig(lr_steps=0)).probe
    assert (probe.batch_size, probe.seq_len) == (4, 16)
    assert probe.shrunk == "batch 8 → 4, sequence 64 → 16 tokens" and "batch 8 → 4" in probe.notes[0]
    assert probe.loss == "next-token cross-entropy"


class ArgMax(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        return self.lin(x).argmax(dim=-1)  # integer output: nothing to train


def test_a_model_the_probe_cannot_train_says_why_in_the_report():
    from benchbench.sources.base import Target

    target = Target("argmax", "user", "user", ArgMax(), (torch.randn(4, 4),), 4, library="user")
    health = check_health(target)
    assert health.probe is None and "no floating-point output" in health.probe_skipped
