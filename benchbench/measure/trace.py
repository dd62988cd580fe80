"""A trace that explains a slow model: torch.profiler's Chrome/Perfetto trace of a few forward passes.

`capture_trace` records `steps` inference forward passes (after one warm-up) with torch.profiler, on the CPU
and, on a GPU, CUDA too, and writes the trace as Chrome trace-event JSON (`{"traceEvents": [...]}`), which
Perfetto (ui.perfetto.dev) and chrome://tracing open. On a GPU it also writes a CUDA memory snapshot
(`torch.cuda.memory._dump_snapshot`, opened at pytorch.org/memory_viz). The record names the files and the
ops that took the most self time, so a report can say where the time went and link the trace.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from benchbench.core.dtypes import parse_dtype
from benchbench.core.files import write_bytes
from benchbench.core.forward import forward_fn, to_device
from benchbench.sources.target import Target

TOP_OPS = 10  # ops listed in the record, by self time


@dataclass
class TraceOp:
    """One op's share of the traced passes: calls and self time (device time on a GPU, else CPU time)."""

    name: str
    calls: int
    self_time_ms: float


@dataclass
class TraceRecord:
    """Where a job's trace is and what it shows."""

    path: str  # Chrome/Perfetto trace-event JSON
    steps: int  # forward passes recorded (after one warm-up)
    device: str
    events: int  # trace events written
    top_ops: list[TraceOp] = field(default_factory=list)
    memory_snapshot: str | None = None  # CUDA memory snapshot (pickle), GPUs only


def trace_file_name(model: str, size: str, batch_size: int, dtype: str) -> str:
    """A file name for the trace of one configuration, safe whatever the model name holds."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{model}-{size}-bs{batch_size}-{dtype}").strip("._") or "model"
    return f"{stem[:120]}.trace.json"


def capture_trace(
    target: Target, out_dir: str | Path, *, device: str = "cpu", dtype: str = "float32", steps: int = 3
) -> TraceRecord:
    """Trace `steps` forward passes of `target` and write the trace (and, on CUDA, a memory snapshot) under
    `out_dir`."""
    dev, dt = torch.device(device), parse_dtype(dtype)
    model = target.model.to(dev).eval()
    run = forward_fn(model, to_device(target.inputs, dev), dev, dt)
    name = trace_file_name(target.name, target.size, target.batch_size, str(dt).removeprefix("torch."))
    return trace_calls(run, Path(out_dir) / name, device=device, steps=steps)


def trace_calls(
    run: Callable[[], Any], path: str | Path, *, device: str = "cpu", steps: int = 3
) -> TraceRecord:
    """Trace `steps` calls of `run` (after one warm-up call) into the Chrome trace `path` (a `.trace.json`), and on
    CUDA a memory snapshot beside it."""
    from torch.profiler import ProfilerActivity, profile

    dev, path = torch.device(device), Path(path)
    cuda = dev.type == "cuda"
    run()  # warm-up: lazy initialisation stays out of the trace
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.memory._record_memory_history(max_entries=100_000)
    with profile(activities=activities, record_shapes=True, profile_memory=True) as prof:
        for _ in range(steps):
            run()
        if cuda:
            torch.cuda.synchronize(dev)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "trace.json"
        prof.export_chrome_trace(str(raw))
        data = raw.read_bytes()
    written = write_bytes(path, data)
    snapshot = (
        _memory_snapshot(path.with_name(path.name.replace(".trace.json", ".memory.pickle"))) if cuda else None
    )
    return TraceRecord(path=str(written), steps=steps, device=str(dev), events=data.count(b'"ph"'),
                       top_ops=_top_ops(prof, cuda), memory_snapshot=snapshot)  # fmt: skip


def _top_ops(prof, cuda: bool) -> list[TraceOp]:
    """The TOP_OPS ops with the most self time (device time on a GPU)."""
    rows = []
    for e in prof.key_averages():
        us = (getattr(e, "self_device_time_total", 0) or 0) if cuda else e.self_cpu_time_total
        rows.append(TraceOp(name=e.key, calls=e.count, self_time_ms=us / 1000))
    return sorted(rows, key=lambda r: r.self_time_ms, reverse=True)[:TOP_OPS]


def _memory_snapshot(path: Path) -> str:
    """Dump the CUDA allocator's recorded history to `path` and stop recording."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "snapshot.pickle"
        torch.cuda.memory._dump_snapshot(str(raw))
        torch.cuda.memory._record_memory_history(enabled=None)
        write_bytes(path, raw.read_bytes())
    return str(path)
