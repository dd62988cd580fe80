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

import io
import math
from dataclasses import asdict, dataclass
from typing import Any

from benchbench.core.dtypes import DTYPE_BYTES
from benchbench.core.results import ProfileResult
from benchbench.estimate.hardware import Hardware


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def model_traffic(p: ProfileResult) -> dict[str, float | None]:
    """FLOPs and the two byte estimates of one forward pass (see the module docstring)."""
    width = DTYPE_BYTES.get(p.dtype, 4)
    flops_d = p.flops or {}
    flops = flops_d.get("flops")
    if flops is None and flops_d.get("macs") is not None:
        flops = 2 * flops_d["macs"]
    if flops is not None:
        flops += flops_d.get("elementwise_flops") or 0
    params = (p.params or {}).get("total")

    rows = _rows(p)
    root = next((r for r in rows if r.get("depth") == 0), None)
    io_elems = _numel(root["input_shapes"]) + _numel(root["output_shapes"]) if root else 0
    bytes_min = (params or 0) * width + io_elems * width if params is not None else None
    leaves = _leaves(rows)
    bytes_unfused = sum(_layer_bytes(r, width) for r in leaves) if leaves else None
    return {"flops": flops, "bytes_min": bytes_min, "bytes_unfused": bytes_unfused, "dtype_bytes": width}


def _rows(p: ProfileResult) -> list[dict[str, Any]]:
    layers = p.sections.get("layers")
    if isinstance(layers, dict):
        layers = layers.get("rows") or layers.get("layers")
    return [r for r in (layers or []) if isinstance(r, dict)]


def _leaves(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [r.get("name", "") for r in rows]
    return [r for r in rows if r.get("name") and not any(n.startswith(r["name"] + ".") for n in names)]


def _layer_bytes(r: dict[str, Any], width: int) -> int:
    return (_numel(r.get("input_shapes")) + _numel(r.get("output_shapes")) + (r.get("params") or 0)) * width


def model_roofline(p: ProfileResult, hw: Hardware, measured_ms: float | None = None) -> RooflinePoint | None:
    """The whole model on `hw` at the profile's dtype, with `bytes_min`; None if FLOPs or params are missing."""
    t = model_traffic(p)
    if t["flops"] is None or t["bytes_min"] is None:
        return None
    return point(p.model, t["flops"], t["bytes_min"], hw, p.dtype, measured_ms)


def layer_rooflines(p: ProfileResult, hw: Hardware) -> list[RooflinePoint]:
    """Each leaf layer with MACs > 0 on `hw` (unfused traffic: its inputs, params and outputs)."""
    width = DTYPE_BYTES.get(p.dtype, 4)
    return [
        point(r["name"], 2.0 * r["macs"], _layer_bytes(r, width), hw, p.dtype)
        for r in _leaves(_rows(p))
        if (r.get("macs") or 0) > 0 and _layer_bytes(r, width) > 0
    ]


def measured_ms_on(p: ProfileResult, hw: Hardware) -> float | None:
    """The profile's p50 latency when it was measured on `hw` (the local CPU for 'cpu'; a matched GPU name)."""
    from benchbench.estimate.hardware import match_device_name

    lat = (p.latency or {}).get("p50_ms")
    if lat is None:
        return None
    if p.device.startswith("cpu"):
        return lat if hw.key == "cpu" else None
    name = p.env.get("device_name") or ""
    return lat if name and match_device_name(name) == hw.key else None


def roofline_section(p: ProfileResult, hw: Hardware) -> dict[str, Any]:
    """JSON-ready roofline of one profile on one device: model point, per-layer points, the ceilings used."""
    m = model_roofline(p, hw, measured_ms_on(p, hw))
    return {
        "hardware": hw.key,
        "peak_flops": hw.peak_flops(p.dtype),
        "bandwidth_bytes_per_s": hw.bandwidth_bytes_per_s,
        "ridge_intensity": hw.ridge_point(p.dtype),
        "bytes_method": "model: params + inputs + outputs once (floor); layers: inputs + params + outputs each (unfused)",
        "model": m.to_dict() if m else None,
        "traffic": model_traffic(p),
        "layers": [x.to_dict() for x in layer_rooflines(p, hw)],
    }


def roofline_svg(
    points: list[RooflinePoint], hw: Hardware, dtype: str = "float32", title: str | None = None
) -> str:
    """A log-log roofline plot (matplotlib, Agg) of `points` under `hw`'s ceilings, as SVG text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peak, bw = hw.peak_flops(dtype), hw.bandwidth_bytes_per_s
    finite = [x.intensity for x in points if math.isfinite(x.intensity) and x.intensity > 0]
    lo = min([*finite, hw.ridge_point(dtype)]) / 10
    hi = max([*finite, hw.ridge_point(dtype)]) * 10
    xs = [lo * (hi / lo) ** (i / 100) for i in range(101)]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.loglog(xs, [min(peak, bw * x) / 1e12 for x in xs], color="black", label=f"{hw.key} roofline")
    for x in points:
        if not (math.isfinite(x.intensity) and x.intensity > 0):
            continue
        attained = x.flops / (x.measured_ms / 1e3) if x.measured_ms else min(peak, bw * x.intensity)
        ax.loglog([x.intensity], [attained / 1e12], "o" if x.measured_ms else "x", label=None)
        ax.annotate(x.name[:24], (x.intensity, attained / 1e12), fontsize=7)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s (o measured, x bound)")
    ax.set_title(title or f"roofline on {hw.name}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]
