"""`timm:NAME`: a timm model built with `timm.create_model(NAME, pretrained=False)`, nothing downloaded.

The input is one image batch at the model's own `pretrained_cfg["input_size"]` (C, H, W). A pretrained tag
(`vit_small_patch16_224.augreg_in21k`) picks that config (its input size and class count), still with random
weights. timm imports torchvision, so torchvision is imported first through `import_torchvision()`, which
copes with a torchvision whose C++ ops do not load.
"""

from __future__ import annotations

from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.sources.base import Target
from benchbench.sources.registry import register_source
from benchbench.sources.torchvision_ops import import_torchvision, ops_status, torchvision_installed


def import_timm() -> Any:
    if torchvision_installed():
        import_torchvision()
    import timm

    return timm


def input_size(model: Any) -> tuple[int, int, int]:
    """(C, H, W) from the model's pretrained config (timm's default, 3×224×224, when it has none)."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    size = cfg.get("input_size") or (3, 224, 224)
    return tuple(int(s) for s in size)  # type: ignore[return-value]


@register_source("timm", package="timm", extra="timm", example="timm:deit_tiny_patch16_224")
def timm_target(name: str, batch_size: int, seq_len: int | None, seed: int, task: str | None) -> Target:
    """Build `timm.create_model(name, pretrained=False)` with inputs at its pretrained config's input size."""
    if task is not None:
        raise BadInputError(
            "timm models have no --task: they are image classifiers (num_classes from the config)"
        )
    if seq_len is not None:
        raise BadInputError(f"timm:{name} is an image model with no sequence length; drop --seq-len")
    timm = import_timm()
    if not timm.is_model(name):
        raise unknown_name("timm model", name, timm.list_models())
    torch.manual_seed(seed)
    model = timm.create_model(name, pretrained=False)
    c, h, w = input_size(model)

    def make(bs: int, sl: int | None) -> tuple:
        return (torch.randn(bs, c, h, w),)

    cfg = getattr(model, "pretrained_cfg", None) or {}
    tag = f"{cfg.get('architecture', name)}.{cfg['tag']}" if cfg.get("tag") else cfg.get("architecture", name)
    notes = [] if ops_status() in (None, "loaded") else [f"torchvision: {ops_status()}"]
    return Target(
        name=f"timm:{name}", size="default", modality="image", model=model, inputs=make(batch_size, None),
        batch_size=batch_size, input_maker=make, library="timm",
        description=f"timm {type(model).__name__} {tag} (random weights; input {c}×{h}×{w} from its "
        f"pretrained_cfg, {getattr(model, 'num_classes', '?')} classes)",
        input_names=("x",), notes=notes,
    )  # fmt: skip
