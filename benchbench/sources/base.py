"""What every command profiles: a `Target`, a built model with example inputs and where it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from benchbench.models.registry import ModelSpec, Reference

InputMaker = Callable[[int, "int | None"], tuple]  # (batch_size, seq_len) -> inputs


@dataclass
class Target:
    """A built model with example inputs, and what it is.

    `library` says where the model came from: "zoo", "user" (a factory), "torchvision", "timm" or "hf".
    `input_names` name the positional inputs (the ONNX graph inputs); `reference` holds published figures
    for this exact configuration with their source; `notes` say what the adapter did that a user should know.
    """

    name: str
    size: str
    modality: str
    model: nn.Module
    inputs: tuple
    batch_size: int
    seq_len: int | None = None
    spec: ModelSpec | None = None
    input_maker: InputMaker | None = None  # (batch_size, seq_len) -> inputs
    library: str = "zoo"
    description: str = ""
    input_names: tuple[str, ...] | None = None
    output_names: tuple[str, ...] | None = None
    reference: Reference | None = None
    notes: list[str] = field(default_factory=list)
    task: str | None = None
