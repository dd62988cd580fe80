"""The zoo registry: a decorator that files each architecture family under its name.

A registration carries everything the rest of benchbench needs to know about a model without
building it: its modality, its size presets (config dataclasses), the paper, the published
parameter count with its source, and a maker of example inputs for any batch size.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.registry import Registry

MODALITIES = ("tabular", "image", "text", "audio", "graph", "point_cloud", "multimodal")
REQUIRED_SIZES = ("tiny", "base")

# (config, batch_size, seq_len or None, torch.Generator) -> tuple of input tensors
InputMaker = Callable[[Any, int, "int | None", torch.Generator], tuple]


@dataclass(frozen=True)
class Reference:
    """A published figure for the `base` size and where it comes from."""

    params: int | None = None
    params_source: str = ""
    macs: float | None = None  # multiply-accumulates at the stated input
    macs_source: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: how to build it at each size and how to feed it."""

    name: str
    modality: str
    builder: Callable[[Any], nn.Module]
    sizes: Mapping[str, Any]
    make_inputs: InputMaker
    paper: str
    reference: Reference = field(default_factory=Reference)
    seq_len: Mapping[str, int] | None = None  # default sequence length per size, for sequence models
    input_names: tuple[str, ...] = ("x",)
    description: str = ""
    # (config, batch_size, seq_len) -> matmul-like MACs of one forward pass, written from the architecture
    analytic_macs: Callable[[Any, int, int | None], int] | None = None

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"model {self.name!r}: modality {self.modality!r} not in {MODALITIES}")
        missing = [s for s in REQUIRED_SIZES if s not in self.sizes]
        if missing:
            raise ValueError(f"model {self.name!r} lacks required sizes {missing}; has {list(self.sizes)}")
        if not self.paper:
            raise ValueError(f"model {self.name!r} must name its paper")

    @property
    def is_sequence(self) -> bool:
        return self.seq_len is not None

    def config(self, size: str) -> Any:
        if size not in self.sizes:
            raise unknown_name(f"size for {self.name}", size, self.sizes)
        return self.sizes[size]

    def build(self, size: str = "tiny") -> nn.Module:
        return self.builder(self.config(size))

    def example_inputs(
        self, size: str = "tiny", batch_size: int = 1, seq_len: int | None = None, seed: int = 0
    ) -> tuple:
        """Fresh inputs for `batch_size` (and `seq_len` for sequence models), reproducible from `seed`."""
        if batch_size < 1:
            raise BadInputError(f"batch size must be >= 1, got {batch_size}")
        if seq_len is not None and not self.is_sequence:
            raise BadInputError(f"model {self.name!r} has no sequence length; drop --seq-len")
        if self.is_sequence and seq_len is None:
            seq_len = self.seq_len[size] if size in self.seq_len else next(iter(self.seq_len.values()))
        gen = torch.Generator().manual_seed(seed)
        return tuple(self.make_inputs(self.config(size), batch_size, seq_len, gen))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "modality": self.modality,
            "sizes": list(self.sizes),
            "paper": self.paper,
            "description": self.description,
            "reference_params": self.reference.params,
            "reference_params_source": self.reference.params_source,
            "reference_macs": self.reference.macs,
            "reference_macs_source": self.reference.macs_source,
            "sequence": self.is_sequence,
            "inputs": list(self.input_names),
        }


_REGISTRY: Registry[ModelSpec] = Registry("model")

# Modules of this package that are not model families.
_NOT_FAMILIES = frozenset({"registry", "layers", "zoo_index"})


def register_model(
    name: str,
    *,
    modality: str,
    sizes: Mapping[str, Any],
    inputs: InputMaker,
    paper: str,
    reference: Reference | None = None,
    seq_len: Mapping[str, int] | None = None,
    input_names: tuple[str, ...] = ("x",),
    description: str = "",
    analytic_macs: Callable[[Any, int, int | None], int] | None = None,
) -> Callable[[Callable[[Any], nn.Module]], Callable[[Any], nn.Module]]:
    """Register `builder(config) -> nn.Module` as zoo model `name`."""

    def wrap(builder: Callable[[Any], nn.Module]) -> Callable[[Any], nn.Module]:
        _REGISTRY.add(name, ModelSpec(
            name=name,
            modality=modality,
            builder=builder,
            sizes=dict(sizes),
            make_inputs=inputs,
            paper=paper,
            reference=reference or Reference(),
            seq_len=dict(seq_len) if seq_len else None,
            input_names=input_names,
            description=description or (builder.__doc__ or "").strip().split("\n")[0],
            analytic_macs=analytic_macs,
        ))  # fmt: skip
        return builder

    return wrap


def _load_zoo() -> None:
    """Import every family module of this package; each fills the registry on import."""
    import benchbench.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in _NOT_FAMILIES and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def list_models(pattern: str = "*", modality: str | None = None) -> list[str]:
    """Registered model names matching an fnmatch `pattern`, optionally of one modality."""
    _load_zoo()
    if modality is not None and modality not in MODALITIES:
        raise unknown_name("modality", modality, MODALITIES)
    return sorted(
        n
        for n, s in _REGISTRY.items()
        if fnmatch.fnmatch(n, pattern) and (modality is None or s.modality == modality)
    )


def get_model_spec(name: str) -> ModelSpec:
    """The spec of zoo model `name`; an unknown name raises BadInputError listing the known ones."""
    _load_zoo()
    return _REGISTRY.get(name)
