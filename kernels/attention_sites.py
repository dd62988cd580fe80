"""Attention-like modules a swap could not route, and why, so a user knows what stayed eager.

While an `attention` swap is live, every module whose class name says attention (`Attention`, `Attn`, ...)
counts its calls. After a forward pass, a called module with no routed call site inside it (an SDPA call, an
nn.MultiheadAttention, the zoo's `dispatch("attention")`) is listed with the likely reason: timm's
`fused_attn` switched off, a transformers model built with an attention implementation other than SDPA, or
attention written out as matmul + softmax (torchvision's Swin, for one). The innermost such module is listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from torch import nn

from benchbench.kernels.swap_records import UnroutedSite

_ATTENTION_NAME = re.compile(r"attention|attn", re.IGNORECASE)
_NOT_ATTENTION = re.compile(r"(Output|Norm|Dropout|Linear|Pool|Embedding)$")


@dataclass
class WatchedModule:
    path: str
    type: str
    module: nn.Module
    calls: int = 0


def is_attention_like(mod: nn.Module) -> bool:
    name = type(mod).__name__
    return isinstance(mod, nn.MultiheadAttention) or (
        bool(_ATTENTION_NAME.search(name)) and not _NOT_ATTENTION.search(name)
    )


def watch_attention_modules(report: Any, model: nn.Module) -> None:
    """Count calls of `model`'s attention-like modules on `report.watched` until `report.restore()`."""
    for path, mod in model.named_modules():
        if not is_attention_like(mod):
            continue
        watched = WatchedModule(path or "<root>", type(mod).__name__, mod)
        report.watched.append(watched)

        def count(m: nn.Module, args: Any, w: WatchedModule = watched) -> None:
            if report.enabled:
                w.calls += 1

        report._undo.append(mod.register_forward_pre_hook(count).remove)


def _reason(mod: nn.Module) -> str:
    if getattr(mod, "fused_attn", None) is False:
        return ("timm fused_attn is off (TIMM_FUSED_ATTN=0, or the model turns it off): q·kᵀ, softmax and ·v run "
                "as separate ops")  # fmt: skip
    impl = getattr(getattr(mod, "config", None), "_attn_implementation", None)
    if impl is not None and impl != "sdpa":
        return (f"transformers attn_implementation={impl!r}: its attention function makes no SDPA call "
                "(build it with attn_implementation='sdpa' to route it)")  # fmt: skip
    return ("no routable call ran inside it (F.scaled_dot_product_attention, nn.MultiheadAttention or the zoo's "
            "attention()): its attention is computed by other ops, e.g. matmul + softmax")  # fmt: skip


def _inside(path: str, ancestor: str) -> bool:
    return ancestor == "<root>" or path == ancestor or path.startswith(ancestor + ".")


def unrouted_sites(watched: list[WatchedModule], routed_paths: set[str]) -> list[UnroutedSite]:
    """The innermost called attention-like modules with no routed call site inside or around them."""
    called = [w for w in watched if w.calls]
    out = []
    for w in called:
        if any(o is not w and _inside(o.path, w.path) for o in called):
            continue  # an inner attention-like module is the one to name
        if any(_inside(p, w.path) or _inside(w.path, p) for p in routed_paths):
            continue
        out.append(UnroutedSite("attention", w.path, w.type, w.calls, _reason(w.module)))
    return out
