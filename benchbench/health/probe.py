"""Trainability probe: a few AdamW steps on one synthetic batch, watching gradients and the loss.

The target is the model's own output at initialisation plus noise of the same scale, so every model
can fit it (a regression on its own outputs). The probe reports per-layer gradient norms at the first
and last step, flags vanishing gradients (a layer below `vanish` × the median layer — or the largest, when most get none —, or a whole-model
gradient-to-weight ratio below `min_grad_ratio`) and exploding ones (above `explode` × the median, or
non-finite), whether the loss fell when overfitting the batch (at the first of a few customary
learning rates that works), and the learning rate at which the loss diverges in a short exponential
range test (Smith 2017, 'Cyclical Learning Rates').
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from benchbench.core.results import ProbeResult
from benchbench.core.tensors import tensors_in

LR_LADDER = (1e-3, 3e-3, 1e-2)  # AdamW rates tried in turn until the loss falls


@dataclass(frozen=True)
class ProbeConfig:
    steps: int = 30
    lr: float | None = None  # None: try LR_LADDER in turn
    vanish: float = 1e-3  # a layer's gradient norm below this × the median layer's is vanishing
    explode: float = 1e3  # above this × the median is exploding
    min_grad_ratio: float = 1e-7  # whole-model ‖grad‖ / ‖weights‖ below this is vanishing
    min_loss_drop: float = 0.1  # the loss must fall by at least this fraction when overfitting
    lr_range: tuple[float, float] = (1e-6, 10.0)
    lr_steps: int = 20
    seed: int = 0


def _float_outputs(out: Any) -> list[Tensor]:
    return [t for t in tensors_in(out) if t.is_floating_point()]


def _make_targets(model: nn.Module, inputs: tuple, gen: torch.Generator) -> list[Tensor]:
    with torch.no_grad():
        outs = _float_outputs(model(*inputs))
    if not outs:
        raise ValueError("the model returns no floating-point output to fit")
    targets = []
    for o in outs:
        scale = o.float().std().item() if o.numel() > 1 else 1.0
        scale = scale if math.isfinite(scale) and scale > 0 else 1.0
        targets.append(o.detach() + scale * torch.randn(o.shape, generator=gen, dtype=o.dtype))
    return targets


def _loss(model: nn.Module, inputs: tuple, targets: list[Tensor]) -> Tensor:
    outs = _float_outputs(model(*inputs))
    return sum(nn.functional.mse_loss(o.float(), t.float()) for o, t in zip(outs, targets))


def grad_norms(model: nn.Module) -> dict[str, float]:
    """Gradient norm of each module that directly holds parameters (a 'layer')."""
    norms = {}
    for name, m in model.named_modules():
        grads = [p.grad for p in m.parameters(recurse=False) if p.grad is not None]
        if grads:
            norms[name or "(root)"] = torch.linalg.vector_norm(
                torch.stack([g.float().norm() for g in grads])
            ).item()
    return norms


def _flag(norms: dict[str, float], cfg: ProbeConfig) -> tuple[list[str], list[str]]:
    finite = [v for v in norms.values() if math.isfinite(v)]
    # The median layer is the reference; when most layers get no gradient at all, the largest one is.
    ref = statistics.median(finite) if finite else 0.0
    ref = ref if ref > 0 else max(finite, default=0.0)
    exploding = [n for n, v in norms.items() if not math.isfinite(v) or (ref > 0 and v > cfg.explode * ref)]
    vanishing = [n for n, v in norms.items() if math.isfinite(v) and ref > 0 and v < cfg.vanish * ref]
    return vanishing, exploding


def find_diverging_lr(
    model: nn.Module, inputs: tuple, targets: list[Tensor], cfg: ProbeConfig
) -> float | None:
    """Exponential learning-rate range test on a copy: the first lr whose loss is non-finite or 4× the best."""
    trial = copy.deepcopy(model).train()
    lo, hi = cfg.lr_range
    opt = torch.optim.AdamW(trial.parameters(), lr=lo)
    best = math.inf
    for i in range(cfg.lr_steps):
        lr = lo * (hi / lo) ** (i / max(cfg.lr_steps - 1, 1))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = _loss(trial, inputs, targets)
        value = loss.item()
        if not math.isfinite(value) or value > 4 * best:
            return lr
        best = min(best, value)
        loss.backward()
        opt.step()
    return None


@dataclass
class _Overfit:
    losses: list[float]
    first: dict[str, float]  # per-layer gradient norms at the first step
    last: dict[str, float]  # and at the last
    grad_to_weight: float


def _overfit(model: nn.Module, inputs: tuple, targets: list[Tensor], lr: float, steps: int) -> _Overfit:
    net = copy.deepcopy(model).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    run = _Overfit([], {}, {}, math.nan)
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = _loss(net, inputs, targets)
        loss.backward()
        run.losses.append(loss.item())
        if step == 0:
            run.first = grad_norms(net)
            weights = torch.linalg.vector_norm(
                torch.stack([p.detach().float().norm() for p in net.parameters()])
            )
            grads = [p.grad.float().norm() for p in net.parameters() if p.grad is not None]
            gnorm = torch.linalg.vector_norm(torch.stack(grads)).item() if grads else 0.0
            run.grad_to_weight = gnorm / weights.item() if weights.item() > 0 else math.nan
        if step == steps - 1 or not math.isfinite(run.losses[-1]):
            run.last = grad_norms(net)
            break
        opt.step()
    return run


def probe_trainability(model: nn.Module, inputs: tuple, config: ProbeConfig | None = None) -> ProbeResult:
    """Overfit one batch with AdamW on a copy of `model` (which is left untouched) and judge its gradients.

    Without a stated lr, the learning rates of `LR_LADDER` are tried in turn until the loss falls, as a
    practitioner would before calling a model untrainable; the one used is recorded.
    """
    cfg = config or ProbeConfig()
    torch.manual_seed(cfg.seed)
    targets = _make_targets(copy.deepcopy(model).train(), inputs, torch.Generator().manual_seed(cfg.seed))
    notes: list[str] = []
    for lr in [cfg.lr] if cfg.lr is not None else LR_LADDER:
        run = _overfit(model, inputs, targets, lr, cfg.steps)
        losses = run.losses
        fell = math.isfinite(losses[-1]) and losses[-1] < (1 - cfg.min_loss_drop) * losses[0]
        if fell:
            break
        notes.append(f"loss did not fall by {cfg.min_loss_drop:.0%} in {len(losses)} steps at lr {lr:g}")
    if fell:
        notes = []  # an lr that works was found; the ones that did not are not a finding
    vanishing, exploding = _flag(run.first, cfg)
    exploding += [n for n in _flag(run.last, cfg)[1] if n not in exploding]
    if math.isfinite(run.grad_to_weight) and run.grad_to_weight < cfg.min_grad_ratio:
        vanishing = vanishing or ["(whole model)"]
        notes.append(
            f"gradient-to-weight ratio {run.grad_to_weight:.2e} < {cfg.min_grad_ratio:g}: gradients vanish"
        )
    if not all(math.isfinite(v) for v in run.first.values()) or not math.isfinite(losses[0]):
        notes.append("non-finite loss or gradients at the first step")
    diverging = (
        find_diverging_lr(model, inputs, targets, cfg)
        if cfg.lr_steps > 0 and math.isfinite(losses[0])
        else None
    )
    return ProbeResult(
        loss_first=losses[0], loss_last=losses[-1], loss_fell=fell,
        grad_norms_first=run.first, grad_norms_last=run.last, vanishing=vanishing, exploding=exploding,
        grad_to_weight_ratio=run.grad_to_weight, diverging_lr=diverging, lr=lr, notes=notes,
    )  # fmt: skip
