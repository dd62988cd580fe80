"""The records of kernel benchmarks: `kernels compare` rows, a model before and after a swap, the GPU kernel
campaign of a run (read by the run report, so below it) and `kernels check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.core.results import Parity, now_iso
from benchbench.core.schema import record_kind
from benchbench.estimate.records import Ceilings
from benchbench.kernels.swap_records import SwapSummary


@dataclass
class CompareRow:
    """One implementation of an op at one shape, forward or backward."""

    op: str
    impl: str
    baseline: bool
    device: str
    dtype: str
    shape: str
    mode: str  # "fwd" or "bwd"
    status: str  # "timed", "checked" (not timed), "interpreted", "unsupported", "error" or "skipped"
    p50_ms: float | None = None
    p90_ms: float | None = None
    repeats: int = 0
    ci95_ms: list[float] | None = None  # 95% CI of p50 (order statistics)
    cv: float | None = None
    stop_reason: str | None = None
    baseline_p50_ms: float | None = None
    reference: str | None = None  # the row the speed-up is against (the baseline unless asked otherwise)
    speedup: float | None = None  # reference / this, the median of interleaved rounds' ratios (> 1: faster)
    ratio_ci95: list[float] | None = None  # 95% CI of speedup; containing 1 means no significant difference
    tflops: float | None = None
    gbps: float | None = None
    pct_peak: float | None = None  # of the measured ceiling of the bound resource
    bound: str | None = None  # "compute" or "memory"
    ok: bool | None = None  # every output (and gradient) within tolerance of the fp32 baseline
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@record_kind("kernel_compare")
@dataclass
class CompareResult:
    """All rows of one `kernels compare`, with the ceilings they are measured against."""

    op: str
    device: str
    dtype: str
    ceilings: Ceilings | None
    rows: list[CompareRow]
    env: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class SwapSpeed:
    """Latency before and after the swap, measured side by side."""

    status: str  # "timed", "interpreted" (Triton in the CPU interpreter: no meaningful time) or "skipped"
    before_p50_ms: float | None = None
    after_p50_ms: float | None = None
    speedup: float | None = (
        None  # before / after (> 1: the swap is faster), median of interleaved rounds' ratios
    )
    ratio_ci95: list[float] | None = None  # 95% CI of speedup; containing 1 means no significant difference
    samples: int = 0
    rounds: int = 0
    before_ci95_ms: list[float] | None = None
    after_ci95_ms: list[float] | None = None
    stop_reason: str | None = None
    note: str = ""


@record_kind("swap")
@dataclass
class SwapRun:
    """One swap: what was swapped, whether the answers stayed, and how the speed changed."""

    model: str
    size: str
    device: str
    dtype: str
    batch_size: int
    ops: list[str]
    impl: dict[str, str]
    swap: SwapSummary
    parity: Parity
    speed: SwapSpeed
    env: dict[str, Any] = field(default_factory=dict)
    # each swapped site's module output against the unswapped model's (None: no site module to compare)
    site_parity: Parity | None = None
    notes: list[str] = field(default_factory=list)

    __derived__ = ("ok", "verdict")

    @property
    def verdict(self) -> str:
        """'nothing-swapped' (no call site was swapped: nothing was tested), 'fail' (an output or a site's output
        is outside the tolerance), 'inconclusive' (too small or flat to judge), else 'ok'."""
        if self.swap.swapped_sites == 0:
            return "nothing-swapped"
        checks = [self.parity] + ([self.site_parity] if self.site_parity is not None else [])
        verdicts = {p.verdict for p in checks}
        if verdicts - {"ok", "inconclusive"}:
            return "fail"
        return "inconclusive" if "inconclusive" in verdicts else "ok"

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


@dataclass
class GoalVerdict:
    """One performance goal of the fused attention at one shape: measured value against its threshold."""

    goal: str
    op: str
    mode: str
    metric: str  # "speedup_vs_flash", "tflops", "bwd_vs_fwd_rate", "copy_fraction", "speedup_vs_<impl>"
    shape: str
    threshold: float
    value: float | None
    met: bool | None  # None: not measured
    value_ci95: list[float] | None = None  # 95% CI of a speed-up value (interleaved rounds)
    ours_p50_ms: float | None = None
    yardstick: str = ""
    yardstick_p50_ms: float | None = None
    ours_tflops: float | None = None
    matmul_tflops: float | None = None
    note: str = ""


@dataclass
class CampaignSwap:
    """A zoo model swapped to fused kernels in the campaign, or why it was not."""

    model: str
    size: str
    batch_size: int
    status: str  # the swap's speed status, "error" or "skipped"
    note: str = ""
    run: SwapRun | None = None


@record_kind("campaign")
@dataclass
class Campaign:
    """The GPU kernel campaign of a run (`--suite gpu`)."""

    notes: list[str] = field(default_factory=list)
    ceilings: Ceilings | None = None
    goal_timings: list[CompareRow] = field(default_factory=list)
    goals: list[GoalVerdict] = field(default_factory=list)
    checks: list[CompareRow] = field(default_factory=list)  # correctness on awkward shapes, every dtype
    comparisons: list[CompareRow] = field(default_factory=list)
    swaps: list[CampaignSwap] = field(default_factory=list)
    status: str = "done"  # "running" in a checkpoint written mid-way, then "done" or "budget spent"
    budget_s: float | None = None
    elapsed_s: float | None = None


@dataclass
class KernelCompileRow:
    """One Triton kernel, at one recorded launch and one config, compiled for a GPU target without running it."""

    op: str
    kernel: str  # the @triton.jit function, e.g. "_attn_fwd"
    case: str  # the host call whose launch this is, e.g. "bfloat16 B=1,H=2,T=256,D=128,causal=1"
    dtype: str
    config: str  # e.g. "BLOCK_M=128 BLOCK_N=64 warps=8 stages=3"
    source: str  # "autotune" (one of the autotuner's configs), "fixed" (autotuning off) or "host" (its only launch)
    target: str  # "sm_90", "sm_100"
    num_warps: int
    num_stages: int
    compiled: bool
    launchable: bool  # compiled, and within the target's shared-memory, register and thread limits
    spills: bool  # local memory per thread > 0: registers spilled (ptxas puts them in the stack frame)
    registers: int | None = None  # per thread
    shared_bytes: int | None = None  # dynamic shared memory the launch requests
    local_bytes: int | None = (
        None  # local memory per thread: the stack frame (spilled registers) + local arrays
    )
    stack_bytes: int | None = None  # of which the stack frame
    tensor_core: dict[str, int] = field(default_factory=dict)  # SASS mnemonic → count: HGMMA, HMMA, UTC*MMA
    problem: str = ""  # why it cannot launch, or the compile error
    compile_s: float = 0.0
    compile_cpu_s: float | None = None  # CPU seconds of triton.compile (ptxas included): load-independent
    spill_stores: int | None = None  # ptxas -v's "bytes spill stores" (None: no report; local memory judged)
    tma_loads: int = 0  # SASS UTMALDG: tensor-memory-accelerator (TMA) loads
    setmaxreg: int = 0  # SASS USETMAXREG (PTX setmaxnreg): warp groups trading registers
    warp_partitions: int = 0  # worker partitions of warp-specialised loops in Triton's TTGIR (0: none)
    note: str = ""

    __derived__ = ("ok",)

    @property
    def ok(self) -> bool:
        """Launchable without spilling."""
        return self.launchable and not self.spills


@record_kind("kernel_check")
@dataclass
class KernelCheck:
    """`benchbench kernels check`: every Triton kernel × config compiled for each target, and what failed."""

    targets: list[str]
    subset: str  # "full" or "ci"
    rows: list[KernelCompileRow]
    failures: list[str] = field(default_factory=list)  # each one line; any makes the check fail (exit 1)
    notes: list[str] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    created_at: str = field(default_factory=now_iso)

    __derived__ = ("ok",)

    @property
    def ok(self) -> bool:
        return not self.failures
