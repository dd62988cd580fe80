"""The records of `benchbench gpu-check`: its steps, the checked and timed calls, and the check itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.core.results import now_iso
from benchbench.core.schema import record_kind
from benchbench.estimate.records import Ceilings
from benchbench.kernelbench.records import CompareRow, GoalVerdict
from benchbench.measure.records import TimerReading


@dataclass
class TimedCall:
    """One implementation at one shape and direction: checked once against the fp32 reference, then timed with
    each timer side by side."""

    op: str
    impl: str
    shape: str
    mode: str  # "fwd" or "bwd"
    dtype: str
    status: str  # "timed", "interpreted" (checked, not timed), "unsupported", "error" or "skipped"
    ok: bool | None = None
    max_rel_err: float | None = None
    backend: str = ""  # SDPA: the backend that ran, read from the names of the GPU kernels that ran
    kernels: list[str] = field(default_factory=list)  # those names (SDPA rows)
    timers: list[TimerReading] = field(default_factory=list)
    spread: float | None = None  # slowest p50 / fastest p50 across the timers
    disagree: bool = False  # spread > 1.10: the timers tell different stories, read them side by side
    flops: float | None = None
    nbytes: float | None = None
    tflops: float | None = None  # from the primary timer (batched)
    gbps: float | None = None
    note: str = ""

    def p50(self, timer: str = "batched") -> float | None:
        return next((t.p50_ms for t in self.timers if t.timer == timer), None)


@dataclass
class GpuCheckStep:
    """One step of `benchbench gpu-check`; the JSON is rewritten after each, so a timeout keeps what was done."""

    name: str
    status: str  # "done", "failed" (a check in it failed), "error" (it raised), "skipped" (budget spent)
    started_s: float  # seconds since the check began
    elapsed_s: float = 0.0
    note: str = ""


@record_kind("gpu_check")
@dataclass
class GpuCheck:
    """`benchbench gpu-check`: versions, device, clocks, ceilings, every kernel checked once, the attention targets
    and norms timed with three timers, and the goals judged where they were measured."""

    device: str
    budget_s: float
    status: str = "running"  # "running" until the last step, then "done" or "budget spent"
    device_name: str = ""
    interpreted: bool = False  # a CPU run: Triton kernels ran in the interpreter, checked but not timed
    env: dict[str, Any] = field(default_factory=dict)
    clocks: dict[str, Any] = field(default_factory=dict)
    ceilings: Ceilings | None = None
    steps: list[GpuCheckStep] = field(default_factory=list)
    checks: list[CompareRow] = field(default_factory=list)
    timings: list[TimedCall] = field(default_factory=list)
    goals: list[GoalVerdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    elapsed_s: float = 0.0

    __derived__ = ("failures",)

    @property
    def failures(self) -> list[str]:
        """What failed: a wrong or non-finite kernel output, or a step that raised."""
        out = [f"{r.op}/{r.impl} {r.dtype} {r.shape} {r.mode}: {r.note or 'wrong'}" for r in self.checks
               if r.ok is False]  # fmt: skip
        out += [f"{t.op}/{t.impl} {t.dtype} {t.shape} {t.mode}: {t.note or 'wrong'}" for t in self.timings
                if t.ok is False]  # fmt: skip
        out += [f"step {s.name}: {s.note}" for s in self.steps if s.status == "error"]
        return out
