"""The `trace` stage (`benchbench run --trace`): torch.profiler's Chrome/Perfetto trace of three forward passes of
each job (and a CUDA memory snapshot on GPUs) under the run folder's `traces/`, and a report section that links
each trace and names the ops with the most self time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from benchbench.core.stage import StageContext, stage
from benchbench.measure.records import ProfileResult
from benchbench.measure.trace import TraceRecord, capture_trace
from benchbench.record.run import RunResult
from benchbench.report.document import Block, Section
from benchbench.report.run_report import model_label

if TYPE_CHECKING:
    from benchbench.sources.target import Target

TRACES = "traces"  # under the run folder


def trace_section(run: RunResult) -> Section | None:
    """One line per traced job: a link to its trace and its three ops with the most self time; None when the
    run traced nothing (it was not started with --trace)."""
    blocks: list[Block] = []
    for p in run.profiles:
        t = p.stages.get("trace")
        if t is None:
            continue
        top = ", ".join(f"`{op.name}` {op.self_time_ms:.3g} ms" for op in t.top_ops[:3]) or "no op recorded"
        line = f"**{model_label(p)}**: [{t.path}]({t.path}) ({t.steps} passes; most self time: {top})"
        if t.memory_snapshot:
            line += f"; CUDA memory snapshot [{t.memory_snapshot}]({t.memory_snapshot})"
        blocks.append(line)
    if not blocks:
        return None
    intro = (
        "Chrome/Perfetto traces (open in ui.perfetto.dev or chrome://tracing), paths relative to this report:"
    )
    return Section("traces", "Traces", [intro, *blocks])


@stage("trace", record=TraceRecord, section=trace_section, section_id="traces", order=95)
def trace_stage(target: Target, result: ProfileResult, ctx: StageContext) -> TraceRecord:
    """The trace of `target` under `ctx.out_dir/traces/`, its paths relative to the run folder."""
    record = capture_trace(target, Path(ctx.out_dir) / TRACES, device=ctx.device, dtype=ctx.dtype)
    record.path = str(Path(record.path).relative_to(ctx.out_dir))
    if record.memory_snapshot:
        record.memory_snapshot = str(Path(record.memory_snapshot).relative_to(ctx.out_dir))
    return record
