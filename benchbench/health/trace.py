"""One traced forward pass, recording what the architecture lint needs to see.

While the model runs once, a `TorchFunctionMode` and module hooks record: the order in which leaf
modules ran and which tensor each consumed and produced; for every tensor, how many weighted layers
(linear, convolution, parametrised matmul) lie on the longest path from the inputs to it; every
merge (add, cat) of two tensors whose depths differ — a skip connection; and every attention call with
its shapes and the modules it ran inside.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from benchbench.core.tensors import tensors_in

# Functions that apply a learned weight: each adds one layer of depth to its output.
_WEIGHTED = {
    F.linear, F.bilinear, F.conv1d, F.conv2d, F.conv3d,
    F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d,
}  # fmt: skip
_MATMULS = {torch.matmul, torch.mm, torch.bmm, Tensor.matmul, Tensor.__matmul__, Tensor.mm, Tensor.bmm}
_MERGES = {
    torch.add,
    Tensor.add,
    Tensor.__add__,
    Tensor.__radd__,
    Tensor.add_,
    Tensor.__iadd__,
    torch.cat,
    torch.concat,
}
_ATTENTION = {F.scaled_dot_product_attention}


@dataclass
class ModuleCall:
    """A leaf module's call: its qualified name, type, and the ids of the tensors in and out."""

    name: str
    type: str
    inputs: list[int]
    outputs: list[int]


@dataclass
class AttentionCall:
    q_shape: tuple[int, ...]
    k_shape: tuple[int, ...]
    dtype: str
    module_stack: list[str]  # qualified names of the modules running when attention was called

    @property
    def score_bytes(self) -> int:
        """Bytes of the (B, H, Tq, Tk) score matrix an unfused kernel materialises, in fp32."""
        *lead, tq, _ = self.q_shape
        n = 1
        for d in lead:
            n *= d
        return n * tq * self.k_shape[-2] * 4


@dataclass
class ForwardTrace:
    calls: list[ModuleCall] = field(default_factory=list)
    max_depth: int = 0  # weighted layers on the longest input→output path
    deepest_chain: list[str] = field(default_factory=list)  # weighted modules along that path
    skip_spans: list[int] = field(default_factory=list)  # depth difference at each skip merge
    attention: list[AttentionCall] = field(default_factory=list)
    activation_bytes: int = 0  # bytes of every distinct tensor produced during the pass


class _Recorder(TorchFunctionMode):
    def __init__(self, trace: ForwardTrace, stack: list[str]) -> None:
        super().__init__()
        self.trace = trace
        self.stack = stack
        self.depth: dict[int, tuple[int, list[str]]] = {}  # tensor id → (depth, chain of weighted modules)
        self.keep: list[Tensor] = []  # keeps tensors alive so that ids are not reused during the pass
        self.storages: set[int] = set()

    def depth_of(self, t: Tensor) -> tuple[int, list[str]] | None:
        return None if isinstance(t, nn.Parameter) else self.depth.get(id(t))

    def mark(self, t: Tensor, depth: int, chain: list[str]) -> None:
        self.depth[id(t)] = (depth, chain)
        self.keep.append(t)
        if depth > self.trace.max_depth:
            self.trace.max_depth, self.trace.deepest_chain = depth, chain
        try:
            ptr = t.untyped_storage().data_ptr()
        except (RuntimeError, NotImplementedError):
            return
        if ptr not in self.storages:
            self.storages.add(ptr)
            self.trace.activation_bytes += t.untyped_storage().nbytes()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        ins = [(t, self.depth_of(t)) for t in tensors_in((args, kwargs))]
        known = [d for _, d in ins if d is not None]
        if not known:
            return out
        depth, chain = max(known, key=lambda d: d[0])
        weighted = func in _WEIGHTED or (
            func in _MATMULS and any(isinstance(t, nn.Parameter) for t in tensors_in(args))
        )
        if weighted:
            depth, chain = depth + 1, [*chain, self.stack[-1] if self.stack else func.__name__]
        if func in _MERGES and len(known) >= 2:
            spread = max(d[0] for d in known) - min(d[0] for d in known)
            if spread > 0:
                self.trace.skip_spans.append(spread)
        if func in _ATTENTION:
            q, k = args[0], args[1]
            self.trace.attention.append(
                AttentionCall(
                    tuple(q.shape), tuple(k.shape), str(q.dtype).removeprefix("torch."), list(self.stack)
                )
            )
        for t in tensors_in(out):
            if self.depth.get(id(t), (-1,))[0] < depth:
                self.mark(t, depth, chain)
        return out


def trace_forward(model: nn.Module, inputs: tuple) -> ForwardTrace:
    """Run `model(*inputs)` once (no grad) and record its structure as it executes."""
    trace = ForwardTrace()
    stack: list[str] = []
    names = {m: n for n, m in model.named_modules()}
    recorder = _Recorder(trace, stack)
    handles = []

    def pre(mod, args):
        stack.append(names.get(mod, type(mod).__name__))

    def post(mod, args, out):
        stack.pop()
        if not list(mod.children()):
            trace.calls.append(
                ModuleCall(names.get(mod, "?"), type(mod).__name__, [id(t) for t in tensors_in(args)],
                           [id(t) for t in tensors_in(out)])
            )  # fmt: skip

    for mod in model.modules():
        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        with torch.no_grad(), recorder:
            for t in tensors_in(inputs):
                recorder.mark(t, 0, [])
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return trace
