"""The tensors inside a nested structure of arguments or outputs (tuples, lists, dicts)."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.utils._pytree import tree_flatten


def tensors_in(obj: Any) -> list[Tensor]:
    """Every tensor in `obj`, depth first, in order."""
    return [t for t in tree_flatten(obj)[0] if isinstance(t, Tensor)]
