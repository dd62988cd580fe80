"""A Hugging Face model as benchbench runs every model: positional tensors in, plain tensors out, no cache.

transformers' forward takes keyword inputs and returns a `ModelOutput` that, for decoders, holds a
`DynamicCache`: an object neither torch.onnx nor fvcore's tracer can flatten, so export and FLOP counting fail
on it. `make_positional(model, names)` gives the model (in place, on the instance) a forward taking `names`
positionally that calls the original with `use_cache=False` and returns the output's tensors as a tuple in
the ModelOutput's field order (`plain_outputs` also gives their names). Parameters, module names and types are untouched,
so parameter counts, layer tables and kernel swaps see the model as transformers built it; a deep copy
copies the bound forward with it.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import torch
from torch import nn

from benchbench.core.tensors import tensors_in


def is_hf_model(model: Any) -> bool:
    """A transformers PreTrainedModel, without importing transformers."""
    return any(
        c.__name__ == "PreTrainedModel" and c.__module__.startswith("transformers")
        for c in type(model).__mro__
    )


def _is_cache(value: Any) -> bool:
    return any(c.__name__ == "Cache" and c.__module__.startswith("transformers") for c in type(value).__mro__)


def plain_outputs(out: Any) -> tuple[tuple[torch.Tensor, ...], list[str], list[str]]:
    """(tensors, their names, dropped fields) of a ModelOutput, tuple or tensor; caches are dropped by name."""
    if isinstance(out, torch.Tensor):
        return (out,), ["output"], []
    items = list(out.items()) if hasattr(out, "items") else [(f"output_{i}", v) for i, v in enumerate(out)]
    tensors: list[torch.Tensor] = []
    names: list[str] = []
    dropped: list[str] = []
    for key, value in items:
        if value is None:
            continue
        if _is_cache(value):
            dropped.append(key)
            continue
        leaves = tensors_in(value)
        if not leaves:
            dropped.append(key)
        for i, t in enumerate(leaves):
            tensors.append(t)
            names.append(key if len(leaves) == 1 else f"{key}_{i}")
    return tuple(tensors), names, dropped


def make_positional(model: nn.Module, names: tuple[str, ...], *, use_cache: bool = False) -> list[str]:
    """Give `model` a forward over `names` (positional), cache off, tuple of tensors out; returns notes.
    `use_cache=True` keeps the cache on (and drops it from the outputs): on the meta device, where transformers'
    mask preparation reads tensor values when there is neither a mask nor a cache."""
    original = type(model).forward
    params = inspect.signature(original).parameters
    fixed: dict[str, Any] = {}
    notes: list[str] = []
    if "use_cache" in params:
        fixed["use_cache"] = use_cache
        notes.append(
            "called with use_cache=True (on the meta device): the cache is made and left out of the outputs"
            if use_cache
            else "called with use_cache=False: the outputs hold no key/value cache"
        )
    if "return_dict" in params:
        fixed["return_dict"] = True

    def forward(self: nn.Module, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return plain_outputs(original(self, **dict(zip(names, args)), **fixed))[0]

    forward.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    forward.__doc__ = (
        f"{type(model).__name__}.forward over ({', '.join(names)}), {fixed or 'as is'}, tensors out"
    )
    model.forward = types.MethodType(forward, model)
    return notes
