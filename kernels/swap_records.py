"""What a swap did to a model: its call sites, what stayed eager and why (filled by `benchbench.kernels.swap`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SwapSite:
    """One call site of a swapped op: where it is, which implementation, and what happened to its calls."""

    op: str
    site: str  # module path and what is called there, e.g. "encoder.0.attn: attention()"
    kind: str  # "dispatch" (the zoo's attention()), "sdpa" (F.scaled_dot_product_attention) or "module"
    impl: str
    calls: int = 0
    swapped_calls: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # fallback reason -> number of calls

    __derived__ = ("status",)

    @property
    def status(self) -> str:
        if self.calls == 0:
            return "not called"
        if self.swapped_calls == self.calls:
            return "swapped"
        return "fallback" if self.swapped_calls == 0 else "mixed"


@dataclass
class SiteCounts:
    sites: int = 0
    swapped: int = 0
    fallback: int = 0  # wholly or in part
    not_called: int = 0
    calls: int = 0
    swapped_calls: int = 0


@dataclass
class UnroutedSite:
    """An attention-like module that ran with no call the swap could route, and the likely reason."""

    op: str
    module: str  # module path
    type: str  # its class name
    calls: int
    reason: str


@dataclass
class SwapSummary:
    """What a swap did to a model on one forward pass."""

    ops: list[str]
    impl: dict[str, str]  # op → implementation name
    swapped_sites: int
    counts: dict[str, SiteCounts]
    sites: list[SwapSite]
    notes: list[str] = field(default_factory=list)
    unrouted: list[UnroutedSite] = field(default_factory=list)  # what stayed eager, and why
    # attention-like ops that ran outside every route, with counts: "aten::_native_multi_head_attention",
    # "matmul + softmax + matmul" (kernels/attention_ops.py)
    uncovered_ops: dict[str, int] = field(default_factory=dict)
