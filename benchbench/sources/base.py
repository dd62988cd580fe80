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
    # Set when the inputs come from a factory at one batch size (no example_inputs(batch_size), no batch_size
    # argument): how other batches are made (repeating the inputs along their batch axis), or None where they
    # cannot be. `fixed_batch` is that factory's own batch; export keeps its batch axis fixed there.
    fixed_batch: int | None = None
    batch_derivation: str | None = None
