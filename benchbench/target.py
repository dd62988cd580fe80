"""What to profile: a zoo model by name, or a user's model given as `pkg.module:factory`.

A user factory is a callable taking no required arguments that returns either `(model, inputs)` or a
model with an `example_inputs(batch_size)` method. Everything downstream sees a `Target`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import torch
from torch import nn

from benchbench.errors import BadInputError, unknown_name
from benchbench.models.registry import ModelSpec, get_model_spec

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


@dataclass
class Target:
    """A built model with example inputs, and what it is."""

    name: str
    size: str
    modality: str
    model: nn.Module
    inputs: tuple
    batch_size: int
    seq_len: int | None = None
    spec: ModelSpec | None = None


def parse_dtype(name: str) -> torch.dtype:
    """'float32' / 'bf16' / ... → torch dtype; anything else is a BadInputError listing the allowed names."""
    key = DTYPE_ALIASES.get(name, name)
    if key not in DTYPES:
        raise unknown_name("dtype", name, list(DTYPES) + list(DTYPE_ALIASES))
    return DTYPES[key]


def parse_device(name: str) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N', checked against what this machine has."""
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise unknown_name("device", name, ["cpu", "cuda", "cuda:N"]) from None
    if dev.type not in ("cpu", "cuda"):
        raise unknown_name("device", name, ["cpu", "cuda", "cuda:N"])
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BadInputError(
                f"device {name!r} requested but this machine has no CUDA device; allowed: cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BadInputError(f"device {name!r}: only {torch.cuda.device_count()} CUDA devices (cuda:0..)")
    return dev


def is_user_model(model: str) -> bool:
    return ":" in model


def _load_factory(path: str):
    mod_name, _, attr = path.partition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise BadInputError(f"cannot import module {mod_name!r} of model {path!r}: {e}") from None
    try:
        return getattr(mod, attr)
    except AttributeError:
        names = [n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n))]
        raise unknown_name(f"factory in {mod_name}", attr, names) from None


def load_target(
    model: str, size: str = "tiny", batch_size: int = 1, seq_len: int | None = None, seed: int = 0
) -> Target:
    """Build `model` (zoo name or `pkg.module:factory`) at `size` with inputs for `batch_size`."""
    if batch_size < 1:
        raise BadInputError(f"batch size must be >= 1, got {batch_size}")
    if not is_user_model(model):
        spec = get_model_spec(model)
        spec.config(size)  # validates the size before anything is built
        torch.manual_seed(seed)
        inputs = spec.example_inputs(size, batch_size, seq_len, seed=seed)
        seq = seq_len if seq_len is not None else (spec.seq_len or {}).get(size)
        return Target(model, size, spec.modality, spec.build(size), inputs, batch_size, seq, spec)
    factory = _load_factory(model)
    torch.manual_seed(seed)
    made = factory()
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
        net, inputs = made
        if batch_size != 1 and hasattr(net, "example_inputs"):
            inputs = net.example_inputs(batch_size)
    elif isinstance(made, nn.Module) and hasattr(made, "example_inputs"):
        net, inputs = made, made.example_inputs(batch_size)
    else:
        raise BadInputError(
            f"factory {model!r} must return (model, inputs) or a model with example_inputs(batch_size); "
            f"got {type(made).__name__}"
        )
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
    actual_batch = first.shape[0] if first is not None and first.dim() else batch_size
    return Target(model, "user", "user", net, inputs, actual_batch, seq_len, None)
