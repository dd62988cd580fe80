"""Attention computed by ops no swap route covers, seen in a trace of one forward pass.

A swap routes the zoo's `attention()`, F.scaled_dot_product_attention and nn.MultiheadAttention modules. Attention
can also run as ops none of them catches: torch's fused `aten::_native_multi_head_attention` (nn.MultiheadAttention's
inference fast path, torchvision's ViT), an SDPA kernel reached without the Python function, or attention written
out as matmul, softmax, matmul (torchvision's Swin, timm with `fused_attn` off). `trace_uncovered` runs the model
once under a TorchDispatchMode and counts, outside routed calls (`skip()` says when a route is running):
- fused attention ops by their ATen name (`FUSED_ATTENTION`);
- the pattern "matmul + softmax + matmul": a softmax whose input derives from a matmul's output through a few
  views or elementwise ops (scale, mask), and whose output (through the same) feeds a matmul.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakTensorKeyDictionary

FUSED_ATTENTION = (
    "_native_multi_head_attention",
    "_scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "scaled_dot_product_attention",
)
PATTERN = "matmul + softmax + matmul"
_MATMUL = {"bmm", "mm", "baddbmm", "addmm", "matmul", "einsum"}
_SOFTMAX = {"_softmax", "softmax", "_safe_softmax"}
_PASS = {  # ops a score or probability tensor goes through between its matmul and its softmax (or after)
    "view", "_unsafe_view", "reshape", "transpose", "permute", "expand", "clone", "contiguous", "div", "mul",
    "add", "sub", "masked_fill", "where", "_to_copy", "dropout", "native_dropout", "unsqueeze", "squeeze",
    "slice", "select", "alias", "t", "neg",
}  # fmt: skip
_MAX_HOPS = 6


class _Tracer(TorchDispatchMode):
    def __init__(self, skip: Callable[[], bool]) -> None:
        super().__init__()
        self.skip = skip
        self.counts: Counter[str] = Counter()
        self.scores = WeakTensorKeyDictionary()  # tensor -> hops since a matmul
        self.probs = WeakTensorKeyDictionary()  # tensor -> hops since a softmax of scores

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.skip():
            return out
        name = func.overloadpacket.__name__
        ins = [t for t in tree_leaves((args, kwargs or {})) if isinstance(t, torch.Tensor)]
        outs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if name in FUSED_ATTENTION:
            self.counts[f"aten::{name}"] += 1
        elif name in _MATMUL:
            if any(t in self.probs for t in ins):
                self.counts[PATTERN] += 1
            for t in outs:
                self.scores[t] = 0
        elif name in _SOFTMAX:
            if any(t in self.scores for t in ins):
                for t in outs:
                    self.probs[t] = 0
        elif name in _PASS:
            for marks in (self.scores, self.probs):
                hops = [marks[t] for t in ins if t in marks]
                if hops and min(hops) < _MAX_HOPS:
                    for t in outs:
                        marks[t] = min(hops) + 1
        return out


def trace_uncovered(run: Callable[[], Any], skip: Callable[[], bool]) -> dict[str, int]:
    """Attention-like ops (or patterns) and their counts on one call of `run`, not counting calls made while
    `skip()` is true (inside a routed call)."""
    tracer = _Tracer(skip)
    with tracer:
        run()
    return dict(tracer.counts.most_common())
