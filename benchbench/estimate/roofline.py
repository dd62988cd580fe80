"""Roofline (Williams, Waterman & Patterson, CACM 2009): arithmetic intensity, bound type and latency floor.

FLOPs are the profile's `flops.flops` (2 per multiply-accumulate) plus `flops.elementwise_flops` when counted.
Bytes a pass must move are estimated two ways, both from shapes in the profile, at the run's dtype width:
- `bytes_min` (model): every parameter read once + the model's inputs read once + its outputs written once,
  as if every intermediate stayed on chip. It is a true floor, so the latency bound below never overstates.
- `bytes_unfused` (model) and per-layer bytes: each leaf layer reads its inputs and parameters and writes its
  outputs (no fusion across layers) — the traffic of an eager run; the per-layer intensity uses this.
The bound is max(FLOPs / peak, bytes / bandwidth); efficiency is bound / measured time on that device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from benchbench.core.dtypes import DTYPE_BYTES
from benchbench.estimate.hardware import Hardware, match_device_name
from benchbench.measure.records import LayerRow, ProfileResult


@dataclass
class RooflinePoint:
    """One model or layer on one device: intensity, whether compute- or memory-bound, the latency floor."""

    name: str
    flops: float
    bytes: float
    intensity: float  # FLOP / byte
    bound: str  # "compute" or "memory"
    bound_ms: float
    measured_ms: float | None = None
    efficiency: float | None = None  # bound_ms / measured_ms, in (0, 1] when the ceilings are right


def _numel(shapes: Any) -> int:
    total = 0
    for s in shapes or []:
        if isinstance(s, (list, tuple)) and all(isinstance(x, int) for x in s):
            total += math.prod(s)
        elif isinstance(s, (list, tuple)):
            total += _numel(s)
    return total


def point(
    name: str, flops: float, nbytes: float, hw: Hardware, dtype: str, measured_ms: float | None = None
) -> RooflinePoint:
    """Place `flops` over `nbytes` on `hw`'s roofline for `dtype`."""
    peak, bw = hw.peak_flops(dtype), hw.bandwidth_bytes_per_s
    t_compute, t_memory = flops / peak, nbytes / bw
    bound_ms = max(t_compute, t_memory) * 1e3
    eff = bound_ms / measured_ms if measured_ms and measured_ms > 0 else None
    return RooflinePoint(
        name=name,
        flops=flops,
        bytes=nbytes,
        intensity=flops / nbytes if nbytes else math.inf,
        bound="compute" if t_compute >= t_memory else "memory",
        bound_ms=bound_ms,
        measured_ms=measured_ms,
        efficiency=eff,
    )


@dataclass
class Traffic:
    """FLOPs and the two byte estimates of one forward pass (see the module docstring)."""

    flops: float | None
    bytes_min: float | None
    bytes_unfused: float | None
    dtype_bytes: int


def model_traffic(p: ProfileResult) -> Traffic:
    """The work and bytes of one forward pass of the profile, at its dtype's width."""
    width = DTYPE_BYTES.get(p.dtype, 4)
    flops = None
    if p.flops is not None:
        flops = float(p.flops.flops + (p.flops.elementwise_flops or 0))
    params = p.params.total if p.params else None
    rows = p.layers or []
    root = next((r for r in rows if r.depth == 0), None)
    io_elems = _numel(root.input_shapes) + _numel(root.output_shapes) if root else 0
    bytes_min = (params * width + io_elems * width) if params is not None else None
    leaves = _leaves(rows)
    bytes_unfused = sum(_layer_bytes(r, width) for r in leaves) if leaves else None
    return Traffic(flops, bytes_min, bytes_unfused, width)


def _leaves(rows: list[LayerRow]) -> list[LayerRow]:
    names = [r.name for r in rows]
    return [r for r in rows if r.name and not any(n.startswith(r.name + ".") for n in names)]


def _layer_bytes(r: LayerRow, width: int) -> int:
    return (_numel(r.input_shapes) + _numel(r.output_shapes) + r.params) * width


def model_roofline(p: ProfileResult, hw: Hardware, measured_ms: float | None = None) -> RooflinePoint | None:
    """The whole model on `hw` at the profile's dtype, with `bytes_min`; None if FLOPs or params are missing."""
    t = model_traffic(p)
    if t.flops is None or t.bytes_min is None:
        return None
    return point(p.model, t.flops, t.bytes_min, hw, p.dtype, measured_ms)


def measured_ms_on(p: ProfileResult, hw: Hardware) -> float | None:
    """The profile's p50 latency when it was measured on `hw` (the local CPU for 'cpu'; a matched GPU name)."""
    lat = p.latency.p50_ms if p.latency else None
    if lat is None:
        return None
    if p.device.startswith("cpu"):
        return lat if hw.key == "cpu" else None
    name = p.env.get("device_name") or ""
    return lat if name and match_device_name(name) == hw.key else None
