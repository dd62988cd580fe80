"""Trainability probe: overfit one fixed batch with AdamW, watching the loss and each layer's gradients.

Healthy architectures, even at random initialisation, drive the loss on one batch down within a few dozen steps
at their family's customary learning rate. The probe:

- trains with a task-shaped loss (`benchbench.health.loss`): cross-entropy on logits, next-token for causal
  LMs, MSE to a fixed random target otherwise;
- tries a learning-rate ladder that fits the family, each rate with a short linear warm-up: Transformers
  (the trace saw attention) 1e-4 → 3e-4 → 1e-3, where a Transformer without warm-up is known to diverge
  above (Liu et al. 2020, 'On the Variance of the Adaptive Learning Rate and Beyond'); other networks
  (MLPs, CNNs, RNNs, GNNs) 1e-3 → 3e-3 → 1e-2, from Adam's default (Kingma & Ba 2015) up, since a small
  network fitting random labels moves slowly at 1e-3. The first rate whose loss falls by `min_loss_drop` is
  kept, and a run stops as soon as it has;
- judges each layer's gradient-to-weight ratio at the first and last step (`benchbench.health.gradients`);
- stays within `budget_s`: the number of steps is cut to what the measured first step allows (never below
  `min_steps`; below that the probe stops, `complete` false and the reason in `notes`), later rates run only
  if a full run fits, and the learning-rate range test (Smith 2017, 'Cyclical Learning Rates') only if it fits.

The model passed in is left untouched: every run trains a deep copy, in training mode but with its Dropout
modules off: dropout's noise is regularisation, not trainability, and with it a small network fitting random
labels (the zoo's GCN) wanders instead of descending.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from benchbench.health.gradients import GradientBounds, flag_layers, grad_norms, grad_to_weight
from benchbench.health.loss import TaskLoss, model_outputs, task_loss
from benchbench.health.records import GradientFlag, LrAttempt, ProbeResult

TRANSFORMER_LADDER = (1e-4, 3e-4, 1e-3)
DEFAULT_LADDER = (1e-3, 3e-3, 1e-2)


@dataclass(frozen=True)
class ProbeConfig:
    steps: int = 30  # most optimizer steps per learning rate
    min_steps: int = 6  # fewest steps worth running when the budget is short
    warmup_steps: int = 5  # linear warm-up to the peak rate (capped at a third of the steps)
    lr: float | None = None  # one rate instead of the ladder
    ladder: tuple[float, ...] | None = None  # None: by family (TRANSFORMER_LADDER or DEFAULT_LADDER)
    min_loss_drop: float = 0.1  # the loss must fall by at least this fraction of its first value
    bounds: GradientBounds = field(default_factory=GradientBounds)
    budget_s: float = 60.0  # wall-clock seconds for the whole probe
    lr_range: tuple[float, float] = (1e-6, 10.0)
    lr_steps: int = 12  # range-test steps (0: no range test)
    seed: int = 0


def family_ladder(transformer: bool) -> tuple[float, ...]:
    return TRANSFORMER_LADDER if transformer else DEFAULT_LADDER


def _adamw(params, lr: float) -> torch.optim.Optimizer:
    params = list(params)
    fused = all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
    try:  # the fused CPU kernel steps a 100M-parameter model several times faster than the loop
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0, fused=fused or None)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0)


_DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def training_copy(model: nn.Module) -> nn.Module:
    """A deep copy in training mode (BatchNorm uses batch statistics) with its Dropout modules in eval mode."""
    net = copy.deepcopy(model).train()
    for m in net.modules():
        if isinstance(m, _DROPOUTS):
            m.eval()
    return net


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass
class _Run:
    lr: float
    losses: list[float] = field(default_factory=list)
    first: dict[str, float | None] = field(default_factory=dict)  # grad-to-weight per layer, first step
    last: dict[str, float | None] = field(default_factory=dict)
    norms_first: dict[str, float] = field(default_factory=dict)
    norms_last: dict[str, float] = field(default_factory=dict)
    whole_ratio: float = math.nan
    fell: bool = False
    cut_short: bool = False  # the deadline stopped it before it fell or ran all its steps
    step_s: float = 0.0  # seconds per step, measured


def _whole_ratio(net: nn.Module) -> float:
    grads = [p.grad.float().norm() for p in net.parameters() if p.grad is not None]
    weights = [p.detach().float().norm() for p in net.parameters()]
    if not grads or not weights:
        return math.nan
    w = torch.linalg.vector_norm(torch.stack(weights)).item()
    return torch.linalg.vector_norm(torch.stack(grads)).item() / w if w > 0 else math.nan


def overfit(
    model: nn.Module, inputs: tuple, loss: TaskLoss, lr: float, steps: int, warmup: int, drop: float,
    deadline: float,
) -> _Run:  # fmt: skip
    """AdamW on a copy of `model` at peak `lr` after `warmup` linear steps, until the loss falls by `drop`."""
    start = time.perf_counter()
    net = training_copy(model)
    opt = _adamw(net.parameters(), lr)
    run = _Run(lr)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / max(warmup, 1))
        opt.zero_grad(set_to_none=True)
        value = loss(model_outputs(net, inputs))
        value.backward()
        run.losses.append(value.item())
        finite = math.isfinite(run.losses[-1])
        if step == 0:
            run.first, run.norms_first, run.whole_ratio = (
                grad_to_weight(net),
                grad_norms(net),
                _whole_ratio(net),
            )
        run.fell = finite and step >= 1 and run.losses[-1] < (1 - drop) * run.losses[0]
        if run.fell or not finite or step == steps - 1 or time.perf_counter() > deadline:
            run.last, run.norms_last = grad_to_weight(net), grad_norms(net)
            run.cut_short = not run.fell and finite and step < steps - 1
            break
        opt.step()
    run.step_s = (time.perf_counter() - start) / max(len(run.losses), 1)
    return run


def find_diverging_lr(model: nn.Module, inputs: tuple, loss: TaskLoss, cfg: ProbeConfig) -> float | None:
    """Exponential learning-rate range test on a copy: the first lr whose loss is non-finite or 4× the best."""
    trial = training_copy(model)
    lo, hi = cfg.lr_range
    opt = _adamw(trial.parameters(), lo)
    best = math.inf
    for i in range(cfg.lr_steps):
        lr = lo * (hi / lo) ** (i / max(cfg.lr_steps - 1, 1))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        value = loss(model_outputs(trial, inputs))
        if not math.isfinite(value.item()) or value.item() > 4 * best:
            return lr
        best = min(best, value.item())
        value.backward()
        opt.step()
    return None


def _climb(
    model: nn.Module, inputs: tuple, loss: TaskLoss, ladder: list[float], warmup: int, cfg: ProbeConfig,
    deadline: float,
) -> tuple[list[_Run], list[str], bool]:  # fmt: skip
    """Overfit at each rate of `ladder` until the loss falls: (the runs, notes, whether the budget allowed a verdict)."""
    runs: list[_Run] = []
    for i, lr in enumerate(ladder):
        steps = cfg.steps
        if runs:
            step_s, left = runs[-1].step_s, deadline - time.perf_counter()
            if left < step_s * cfg.min_steps:
                rest = ", ".join(f"{x:g}" for x in ladder[i:])
                return (
                    runs,
                    [f"the {cfg.budget_s:g} s budget ran out before lr {rest} (a step takes {step_s:.2f} s)"],
                    False,
                )
            steps = min(steps, int(left / max(step_s, 1e-9)))
        run = overfit(model, inputs, loss, lr, steps, warmup, cfg.min_loss_drop, deadline)
        runs.append(run)
        if run.cut_short:
            return runs, [f"the {cfg.budget_s:g} s budget stopped lr {lr:g} after {len(run.losses)} of {steps} steps "
                          f"(a step takes {run.step_s:.2f} s)"], False  # fmt: skip
        if run.fell or not math.isfinite(run.losses[0]):  # every rate starts from the same first loss
            break
    return runs, [], True


def _gradient_flags(runs: list[_Run], bounds: GradientBounds, first_ok: bool) -> list[GradientFlag]:
    """Layers flagged at the first step (exact zeros only if still vanishing at the last), then at the last."""
    last = flag_layers(runs[-1].last, bounds, "last")
    still_dead = {f.layer for f in last if f.kind == "vanishing"}
    # A gradient of exactly 0 at the first step can be by design: a branch ending in a norm whose scale starts at
    # 0 (timm's zero_init_last, Goyal et al. 2017) gets its gradient after the first update. Such a layer is
    # flagged only if it is still below the floor at the last step; a tiny non-zero ratio is flagged at once.
    flags = [
        f for f in flag_layers(runs[0].first, bounds, "first") if f.ratio != 0.0 or f.layer in still_dead
    ]
    flags += [f for f in last if f.layer not in {g.layer for g in flags}]
    if not first_ok and not any(f.kind == "exploding" for f in flags):
        flags.append(GradientFlag("(loss)", "exploding", None, "first"))
    return flags


def _flag_notes(flags: list[GradientFlag], bounds: GradientBounds, shown: int = 5) -> list[str]:
    """One note for each of the first `shown` flags, and one counting the rest."""
    notes = []
    for f in flags[:shown]:
        ratio = "not finite" if f.ratio is None else f"{f.ratio:.2e}"
        bound = f"< {bounds.floor:g}" if f.kind == "vanishing" else f"> {bounds.ceiling:g}"
        notes.append(f"{f.kind} gradient in {f.layer}: ‖grad‖/‖weight‖ {ratio} {bound} at the {f.step} step")
    if len(flags) > shown:
        notes.append(f"... and {len(flags) - shown} more layers flagged (see flags)")
    return notes


def _range_test_in_budget(
    model: nn.Module, inputs: tuple, loss: TaskLoss, cfg: ProbeConfig, deadline: float, step_s: float
) -> tuple[float | None, list[str]]:
    """The diverging learning rate when the range test fits what is left of the budget: (lr or None, notes)."""
    if deadline - time.perf_counter() < step_s * cfg.lr_steps:
        return None, [f"learning-rate range test skipped: {cfg.lr_steps} steps do not fit the budget"]
    return find_diverging_lr(model, inputs, loss, cfg), []


def probe_trainability(
    model: nn.Module,
    inputs: tuple,
    config: ProbeConfig | None = None,
    *,
    loss: TaskLoss | None = None,
    transformer: bool = False,
) -> ProbeResult:
    """Overfit `inputs` with AdamW on copies of `model` (left untouched) and judge the loss and the gradients.

    `loss` defaults to `task_loss(model, inputs)`; `transformer` picks the ladder when the config names none.
    """
    cfg = config or ProbeConfig()
    start = time.perf_counter()
    deadline = start + cfg.budget_s
    torch.manual_seed(cfg.seed)
    loss = loss or task_loss(model, inputs, seed=cfg.seed)
    ladder = [cfg.lr] if cfg.lr is not None else list(cfg.ladder or family_ladder(transformer))
    warmup = min(cfg.warmup_steps, max(cfg.steps // 3, 1))
    runs, notes, complete = _climb(model, inputs, loss, ladder, warmup, cfg, deadline)
    attempts = [LrAttempt(r.lr, [_finite(v) for v in r.losses], r.fell) for r in runs]
    run = runs[-1]
    if not run.fell and complete:
        tried = ", ".join(f"{a.lr:g}" for a in attempts)
        notes.append(f"loss did not fall by {cfg.min_loss_drop:.0%} at any lr tried ({tried}; up to {cfg.steps} steps, "
                     f"{warmup} of warm-up)")  # fmt: skip
    first_ok = math.isfinite(run.losses[0])
    if not first_ok:
        notes.append("non-finite loss at the first step")
    flags = _gradient_flags(runs, cfg.bounds, first_ok)
    notes += _flag_notes(flags, cfg.bounds)
    diverging = None
    if cfg.lr_steps > 0 and first_ok:
        diverging, skipped = _range_test_in_budget(model, inputs, loss, cfg, deadline, run.step_s)
        notes += skipped
    vanishing = sorted({f.layer for f in flags if f.kind == "vanishing"})
    exploding = sorted({f.layer for f in flags if f.kind == "exploding"})
    return ProbeResult(
        loss_first=_finite(run.losses[0]), loss_last=_finite(run.losses[-1]), loss_fell=run.fell,
        grad_norms_first=dict(run.norms_first), grad_norms_last=dict(run.norms_last),
        vanishing=vanishing, exploding=exploding, grad_to_weight_ratio=_finite(runs[0].whole_ratio),
        diverging_lr=diverging, lr=run.lr, notes=notes, loss=loss.kind, loss_outputs=loss.names,
        loss_reason=loss.reason, ladder=ladder, warmup_steps=warmup, attempts=attempts,
        grad_to_weight=runs[0].first, grad_to_weight_last=run.last, flags=flags,
        seconds=time.perf_counter() - start, budget_s=cfg.budget_s, complete=complete,
    )  # fmt: skip
