"""Dtypes by name: what the CLI accepts ('bf16', 'float16', ...), their torch dtype, their names and widths."""

from __future__ import annotations

import torch

from benchbench.core.errors import unknown_name

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


def parse_dtype(name: str) -> torch.dtype:
    """'float32' / 'bf16' / ... → torch dtype; anything else is a BadInputError listing the allowed names."""
    key = DTYPE_ALIASES.get(name, name)
    if key not in DTYPES:
        raise unknown_name("dtype", name, list(DTYPES) + list(DTYPE_ALIASES))
    return DTYPES[key]


def dtype_name(dtype: torch.dtype) -> str:
    """torch.bfloat16 → 'bfloat16'."""
    return str(dtype).removeprefix("torch.")
