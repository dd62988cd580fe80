"""Parameter counts: total, trainable, and by top-level module."""

from __future__ import annotations

from torch import nn

from benchbench.measure.records import ParamCount


def count_params(model: nn.Module) -> ParamCount:
    """Count each parameter once, even when shared (tied embeddings), by the first module that holds it."""
    seen: set[int] = set()
    by_module: dict[str, int] = {}
    total = trainable = nbytes = 0
    for name, p in model.named_parameters():  # named_parameters already skips shared duplicates
        if id(p) in seen:
            continue
        seen.add(id(p))
        top = name.split(".", 1)[0] if "." in name else "(own)"
        by_module[top] = by_module.get(top, 0) + p.numel()
        total += p.numel()
        nbytes += p.numel() * p.element_size()
        if p.requires_grad:
            trainable += p.numel()
    return ParamCount(total=total, trainable=trainable, by_module=by_module, bytes=nbytes)
