"""Gradient health relative to each layer: ‖grad‖ / ‖weight‖ of the layer's own parameters.

A raw gradient norm says little by itself: it grows with the layer's width and the loss's scale, and
normalisation layers rescale it. Its ratio to the layer's weight norm is the relative change one SGD step of
rate 1 would make (You et al. 2017, 'Large Batch Training of Convolutional Networks', the LARS trust ratio),
comparable across layers, depths and normalisation types. A *layer* is a module that directly holds a weight
of two or more dimensions (linear, convolution, embedding, a position table); biases and norm scales count
with their module. An embedding's ratio is taken over the rows the batch used.

Bounds (`GradientBounds`) are absolute and were set from the calibration in
`benchmarks/health_calibration.py`: a layer below the floor learns nothing in the probe's steps (0 is a dead
layer), one above the ceiling, or not finite, is exploding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from benchbench.health.records import GradientFlag


@dataclass(frozen=True)
class GradientBounds:
    # Calibrated (benchmarks/health_calibration.py): the known-good layers' ratios at initialisation ran from
    # 1.7e-7 (timm ConvNeXt-T's blocks, behind a layer scale of 1e-6) to 1.6e2 (torchvision ResNet-50's stem
    # conv, ahead of BatchNorm); the broken models' from 0 (dead ReLUs) and 4e-14 (weights × 1e-4) to 8e5
    # (weights × 100). Each bound sits about mid-way, in log scale, between the two.
    floor: float = 1e-10  # a layer's ‖grad‖/‖weight‖ below this is vanishing
    ceiling: float = 1e4  # above this (or not finite) it is exploding


def weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Modules that directly hold a parameter of two or more dimensions, by qualified name."""
    return {
        name or "(root)": m
        for name, m in model.named_modules()
        if any(p.dim() >= 2 and p.requires_grad for p in m.parameters(recurse=False))
    }


def _ratio(module: nn.Module) -> float | None:
    """‖grad‖/‖weight‖ over the module's own parameters that took part; None when none got a gradient or the
    weights are all zero (a zero-initialised head)."""
    grads, weights = [], []
    for p in module.parameters(recurse=False):
        if p.grad is None:
            continue
        g, w = p.grad.detach().float(), p.detach().float()
        if isinstance(module, nn.Embedding) and p.dim() == 2:
            used = g.abs().sum(dim=1) > 0  # the rows of the tokens in the batch; the rest get no gradient
            g, w = g[used], w[used]
        grads.append(g.norm())
        weights.append(w.norm())
    if not grads:
        return None
    gnorm = torch.linalg.vector_norm(torch.stack(grads)).item()
    wnorm = torch.linalg.vector_norm(torch.stack(weights)).item()
    if not math.isfinite(gnorm):
        return math.inf
    if wnorm == 0:  # a zero-initialised layer (some heads are): no ratio to judge
        return None
    return gnorm / wnorm


def grad_to_weight(model: nn.Module) -> dict[str, float | None]:
    """Every layer's ‖grad‖/‖weight‖ after a backward pass (None: not used by this forward pass)."""
    return {name: _ratio(m) for name, m in weight_layers(model).items()}


def flag_layers(ratios: dict[str, float | None], bounds: GradientBounds, step: str) -> list[GradientFlag]:
    """Layers outside the bounds, with their ratio; unused layers (None) are not judged."""
    flags = []
    for layer, r in ratios.items():
        if r is None:
            continue
        if not math.isfinite(r) or r > bounds.ceiling:
            flags.append(GradientFlag(layer, "exploding", r if math.isfinite(r) else None, step))
        elif r < bounds.floor:
            flags.append(GradientFlag(layer, "vanishing", r, step))
    return flags


def grad_norms(model: nn.Module) -> dict[str, float]:
    """Gradient norm of each module that directly holds parameters."""
    norms = {}
    for name, m in model.named_modules():
        grads = [p.grad for p in m.parameters(recurse=False) if p.grad is not None]
        if grads:
            norms[name or "(root)"] = torch.linalg.vector_norm(
                torch.stack([g.float().norm() for g in grads])
            ).item()
    return norms
