"""`torchvision:NAME`: a torchvision model built with random weights (`weights=None`), nothing downloaded.

The input size is the crop size of the model's default weights' transforms (224 for ResNet-50, 299 for
Inception v3, 518 for ViT-H/14's SWAG weights...), so the profile matches the figures torchvision publishes
for those weights: their `meta` gives `num_params` and `_ops` (GFLOPS in torchvision's docs, which counts one
multiply-accumulate as one operation: GMACs), kept as the target's reference with their source.

Classification, quantizable-classification, segmentation and video models are built; detection, keypoint
and optical-flow models take lists of images (and detection needs torchvision's C++ nms) and are refused
with a message saying so.
"""

from __future__ import annotations

from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.models.registry import Reference
from benchbench.sources.base import Target
from benchbench.sources.registry import register_source
from benchbench.sources.torchvision_ops import import_torchvision, ops_status

# torchvision.models submodule -> what its models take; "" is the classification models of torchvision.models.
KINDS = {"": "classification", "quantization": "classification", "segmentation": "segmentation",
         "video": "video"}  # fmt: skip
REFUSED = {"detection": "detection", "optical_flow": "optical flow"}
VIDEO_FRAMES = 16  # clip length when --seq-len is not given (torchvision's video weights are trained on 16)


def _kind_of(tv: Any, name: str) -> str:
    models = tv.models
    for module, kind in KINDS.items():
        if name in models.list_models(module=getattr(models, module) if module else models):
            return kind
    for module, kind in REFUSED.items():
        if name in models.list_models(module=getattr(models, module)):
            extra = (
                "" if ops_status() == "loaded" else "; besides, torchvision's C++ ops (nms) did not load here"
            )
            raise BadInputError(
                f"torchvision:{name} is a {kind} model: it takes a list of images of any size and returns "
                f"boxes, which benchbench does not profile yet{extra}; allowed: classification, segmentation "
                "and video models (torchvision.models.list_models())"
            )
    raise unknown_name("torchvision model", name, models.list_models())


def _crop_size(weights: Any) -> tuple[int, int]:
    crop = weights.transforms.keywords.get("crop_size", 224)
    if isinstance(crop, (list, tuple)):
        return (int(crop[0]), int(crop[-1]))
    return (int(crop), int(crop))


def _reference(weights: Any, size: tuple[int, int]) -> Reference:
    meta = weights.meta
    where = f"torchvision {type(weights).__name__}.{weights.name}.meta"
    ops = meta.get("_ops")
    return Reference(
        params=meta.get("num_params"),
        params_source=f"{where}['num_params']",
        macs=None if ops is None else float(ops) * 1e9,
        macs_source=f"{where}['_ops'] = {ops} G at {size[0]}×{size[1]} (torchvision counts a multiply-add as one op)"
        if ops is not None
        else "",
    )


@register_source("torchvision", package="torchvision", extra="torchvision", example="torchvision:resnet50")
def torchvision_target(
    name: str, batch_size: int, seq_len: int | None, seed: int, task: str | None
) -> Target:
    """Build `torchvision.models.get_model(name, weights=None)` with inputs at its weights' crop size."""
    if task is not None:
        raise BadInputError("torchvision models have no --task: the name picks the model and its head")
    tv = import_torchvision()
    kind = _kind_of(tv, name)
    if seq_len is not None and kind != "video":
        raise BadInputError(f"torchvision:{name} is a {kind} model with no sequence length; drop --seq-len")
    weights = tv.models.get_model_weights(name).DEFAULT
    height, width = _crop_size(weights)
    frames = seq_len or VIDEO_FRAMES

    def make(bs: int, sl: int | None) -> tuple:
        if kind == "video":  # (B, C, T, H, W)
            return (torch.randn(bs, 3, sl or frames, height, width),)
        return (torch.randn(bs, 3, height, width),)

    torch.manual_seed(seed)
    model = tv.models.get_model(name, weights=None)
    inputs = make(batch_size, frames if kind == "video" else None)
    notes = [] if ops_status() == "loaded" else [f"torchvision: {ops_status()}"]
    return Target(
        name=f"torchvision:{name}", size="default", modality="image", model=model, inputs=inputs,
        batch_size=batch_size, seq_len=frames if kind == "video" else None, input_maker=make,
        library="torchvision", description=f"torchvision {kind} model {name} (random weights; input "
        f"{height}×{width} from {type(weights).__name__}.{weights.name})",
        input_names=("x",), reference=_reference(weights, (height, width)), notes=notes,
    )  # fmt: skip
