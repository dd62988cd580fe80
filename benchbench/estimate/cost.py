"""Compute estimates from a profile and a hardware entry: training GPU-hours and cost, memory fit, inference
latency, throughput and cost per million, and the cheapest device that meets a latency budget.

Every figure follows from the stated inputs, which the result carries under `assumptions`:
- training FLOPs = 3 × forward FLOPs per sample × samples × epochs (backward ≈ 2 × forward; Kaplan et al. 2020,
  §2.1), time = FLOPs / (dense peak of the training dtype × utilisation), default utilisation 0.4 MFU;
- training memory = weights + gradients + optimizer state (from the profile's `memory.*` keys when present, else
  16 bytes per parameter: fp32 weights 4 + grads 4 + AdamW's two moments 8) + activations × batch, against 90%
  of the device memory (the rest is CUDA context, allocator slack and workspace);
- inference latency is measured where the profile was timed on that device, else the roofline floor
  (benchbench.estimate.roofline, bytes = params + inputs + outputs) divided by the same utilisation, and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchbench.core.dtypes import DTYPE_BYTES
from benchbench.core.errors import BadInputError
from benchbench.estimate.hardware import Hardware, load_table
from benchbench.estimate.roofline import measured_ms_on, model_traffic, point
from benchbench.measure.records import ProfileResult

DEFAULT_UTILIZATION = 0.4
USABLE_MEMORY_FRACTION = 0.9
DEFAULT_BATCHES = (1, 8, 32, 128)
ADAMW_FP32_BYTES_PER_PARAM = 16  # weights 4 + grads 4 + exp_avg 4 + exp_avg_sq 4


@dataclass
class ModelFacts:
    """What an estimate needs from a profile, per sample."""

    model: str
    size: str
    params: int
    forward_flops: float  # per sample
    io_bytes: float  # per sample: inputs read + outputs written, at `dtype_bytes`
    state_bytes: int  # weights + grads + optimizer state for training
    state_source: str
    activation_bytes: float | None  # saved for backward, per sample
    activation_source: str
    dtype_bytes: int
    profile: ProfileResult | None = None


def facts_from_profile(p: ProfileResult) -> ModelFacts:
    """Per-sample figures from a profile; raises BadInputError if it lacks FLOPs or params."""
    t = model_traffic(p)
    params = p.params.total if p.params else None
    if t.flops is None or params is None:
        raise BadInputError(f"profile of {p.model} lacks FLOPs or parameter counts; cannot estimate")
    b = max(p.batch_size, 1)
    width = t.dtype_bytes
    mem = p.memory
    if mem is not None:
        state = mem.param_bytes + mem.grad_bytes + mem.optimizer_bytes
        state_src = f"profile memory.param_bytes + grad_bytes + optimizer_bytes (plan {mem.plan})"
    else:
        state = ADAMW_FP32_BYTES_PER_PARAM * params
        state_src = "16 bytes/param (fp32 weights 4 + grads 4 + AdamW moments 8)"
    act = mem.activation_bytes_train if mem else None
    act_src = (
        f"profile memory.activation_bytes_train at batch {b}, divided by {b}"
        if act is not None
        else "not measured"
    )
    return ModelFacts(
        model=p.model,
        size=p.size,
        params=int(params),
        forward_flops=t.flops / b,
        io_bytes=((t.bytes_min or 0) - params * width) / b,
        state_bytes=state,
        state_source=state_src,
        activation_bytes=act / b if act is not None else None,
        activation_source=act_src,
        dtype_bytes=width,
        profile=p,
    )


def gpu_hours(
    forward_flops_per_sample: float, samples: int, epochs: float, peak_flops: float, utilization: float
) -> float:
    """The training formula on its own: 3 × F × N × E / (peak × U) / 3600."""
    return 3.0 * forward_flops_per_sample * samples * epochs / (peak_flops * utilization) / 3600


def training_estimate(
    f: ModelFacts, hw: Hardware, samples: int, epochs: float, utilization: float, dtype: str
) -> dict[str, Any]:
    """GPU-hours and cost of `epochs` passes over `samples` at `utilization` of `hw`'s dense `dtype` peak."""
    total = 3.0 * f.forward_flops * samples * epochs
    peak = hw.peak_flops(dtype)
    hours = gpu_hours(f.forward_flops, samples, epochs, peak, utilization)
    seconds = hours * 3600
    cost = hours * hw.price_per_hour if hw.price_per_hour is not None else None
    return {
        "train_samples": samples,
        "epochs": epochs,
        "forward_flops_per_sample": f.forward_flops,
        "training_flops": total,
        "peak_flops": peak,
        "utilization": utilization,
        "gpu_seconds": seconds,
        "gpu_hours": hours,
        "cost_usd": cost,
        "formula": "gpu_hours = 3 × forward_flops_per_sample × train_samples × epochs / (peak_flops × utilization) / 3600",
    }


def memory_fit(f: ModelFacts, hw: Hardware, batch_size: int) -> dict[str, Any]:
    """Whether one training step fits in `hw`'s memory at `batch_size`, and the largest batch that does."""
    usable = hw.memory_bytes * USABLE_MEMORY_FRACTION
    out: dict[str, Any] = {
        "batch_size": batch_size,
        "state_bytes": f.state_bytes,
        "state_source": f.state_source,
        "activation_bytes_per_sample": f.activation_bytes,
        "activation_source": f.activation_source,
        "usable_bytes": usable,
        "usable_fraction": USABLE_MEMORY_FRACTION,
    }
    if f.activation_bytes is None:
        out.update(fits=None, total_bytes=None, max_batch_size=None, note="activations not measured")
        return out
    total = f.state_bytes + f.activation_bytes * batch_size
    room = usable - f.state_bytes
    out.update(
        total_bytes=total,
        fits=total <= usable,
        max_batch_size=int(room // f.activation_bytes) if room > 0 and f.activation_bytes > 0 else 0,
    )
    return out


def inference_estimate(
    f: ModelFacts, hw: Hardware, batch: int, utilization: float, dtype: str
) -> dict[str, Any]:
    """Latency of one batch, per sample, throughput and cost per million on `hw`: measured or roofline-derived."""
    measured = None
    p = f.profile
    if p is not None and p.batch_size == batch and p.dtype == dtype:
        measured = measured_ms_on(p, hw)
    if measured is None and p is not None:
        for sp in p.sweeps or []:
            if sp.latency is not None and (sp.batch_size, sp.mode, sp.dtype) == (batch, "eval", dtype):
                probe = ProfileResult(
                    p.model, p.modality, p.size, batch, p.device, dtype, latency=sp.latency, env=p.env
                )
                measured = measured_ms_on(probe, hw)
                if measured is not None:
                    break
    width = DTYPE_BYTES.get(dtype, f.dtype_bytes)
    rp = point(
        f.model,
        f.forward_flops * batch,
        f.params * width + f.io_bytes / f.dtype_bytes * width * batch,
        hw,
        dtype,
    )
    if measured is not None:
        ms, source = measured, "measured"
    else:
        ms, source = rp.bound_ms / utilization, f"roofline bound / utilization {utilization}"
    throughput = batch / (ms / 1e3)
    cost = hw.price_per_hour / 3600 * 1e6 / throughput if hw.price_per_hour is not None else None
    return {
        "batch_size": batch,
        "latency_ms": ms,
        "latency_per_sample_ms": ms / batch,
        "throughput_per_s": throughput,
        "cost_per_million_usd": cost,
        "source": source,
        "roofline_bound_ms": rp.bound_ms,
        "bound": rp.bound,
        "intensity": rp.intensity,
    }


def cheapest_within_budget(
    f: ModelFacts,
    budget_ms: float,
    utilization: float,
    dtype: str,
    table: dict[str, Hardware] | None = None,
    batches: tuple[int, ...] = DEFAULT_BATCHES,
) -> dict[str, Any]:
    """Over priced devices: the largest batch whose latency meets `budget_ms`, ranked by cost per million."""
    table = table if table is not None else load_table(with_cpu=False)
    options = []
    for hw in table.values():
        if hw.price_per_hour is None:
            continue
        ok = [
            e
            for e in (inference_estimate(f, hw, b, utilization, dtype) for b in batches)
            if e["latency_ms"] <= budget_ms
        ]
        if ok:
            best = min(ok, key=lambda e: e["cost_per_million_usd"])
            options.append({"hardware": hw.key, **best})
    options.sort(key=lambda e: e["cost_per_million_usd"])
    return {"latency_budget_ms": budget_ms, "cheapest": options[0] if options else None, "ranked": options}


def estimate(
    f: ModelFacts,
    hw: Hardware,
    *,
    train_samples: int | None = None,
    epochs: float = 1,
    utilization: float = DEFAULT_UTILIZATION,
    batch_size: int = 32,
    batches: tuple[int, ...] = DEFAULT_BATCHES,
    latency_budget_ms: float | None = None,
    dtype: str = "bfloat16",
) -> dict[str, Any]:
    """All estimates for one model on one device, with every assumption stated."""
    if not 0 < utilization <= 1:
        raise BadInputError(f"utilization must be in (0, 1], got {utilization}")
    if batch_size < 1 or (train_samples is not None and train_samples < 1) or epochs <= 0:
        raise BadInputError("batch size and train samples must be positive integers, epochs positive")
    out: dict[str, Any] = {
        "model": f.model,
        "size": f.size,
        "hardware": hw.to_dict(),
        "dtype": dtype,
        "params": f.params,
        "assumptions": {
            "forward_flops_per_sample": f.forward_flops,
            "forward_flops_source": "profile flops.flops (+ elementwise_flops) / batch_size; 2 FLOPs per MAC",
            "backward_factor": "training FLOPs = 3 × forward (backward ≈ 2 × forward; Kaplan et al. 2020)",
            "peak_flops": hw.peak_flops(dtype),
            "peak_source": hw.peak_source or "hardware table",
            "utilization": utilization,
            "utilization_meaning": "model FLOPs utilisation (MFU): achieved / dense peak; default 0.4",
            "dtype": dtype,
            "price_per_hour": hw.price_per_hour,
            "price_source": f"{hw.price_source} ({hw.price_date})" if hw.price_source else "none",
            "memory": f"state ({f.state_source}) + activations per sample × batch ≤ {USABLE_MEMORY_FRACTION:.0%} of device memory",
            "inference": "measured on this device where the profile was, else roofline bound (FLOPs/peak vs "
            "(params + inputs + outputs) bytes/bandwidth) / utilization",
        },
        "memory": memory_fit(f, hw, batch_size),
        "inference": [inference_estimate(f, hw, b, utilization, dtype) for b in batches],
    }
    if train_samples is not None:
        out["training"] = training_estimate(f, hw, train_samples, epochs, utilization, dtype)
    if latency_budget_ms is not None:
        out["budget"] = cheapest_within_budget(f, latency_budget_ms, utilization, dtype, batches=batches)
    return out


# ---- cost from a measured rate (benchbench serve) ---------------------------------------------------------


def cost_per_million(price_per_hour: float | None, qps: float | None) -> float | None:
    """Dollars per 1M queries at `qps` on a device rented at `price_per_hour`: price / (qps × 3600) × 1e6;
    None without a price or a rate."""
    if price_per_hour is None or qps is None or not qps > 0:
        return None
    return price_per_hour / (qps * 3600) * 1e6


def device_price(device: str, price_per_hour: float | None = None) -> tuple[float | None, str]:
    """The hourly price of the device `serve` measured on, and where it came from: `price_per_hour` when given;
    else the hardware table's entry whose name matches the GPU torch reports; else none (the table has no CPU
    prices, and benchbench does not invent one)."""
    if price_per_hour is not None:
        return price_per_hour, "--price-per-hour"
    if device.startswith("cuda"):
        import torch

        from benchbench.estimate.hardware import match_device_name

        if torch.cuda.is_available():
            table = load_table(with_cpu=False)
            key = match_device_name(torch.cuda.get_device_name(torch.device(device)), table)
            if key is not None and table[key].price_per_hour is not None:
                hw = table[key]
                return hw.price_per_hour, f"hardware table {key}: {hw.price_source} ({hw.price_date})"
    return None, "no price: the hardware table has no entry priced for this device; pass --price-per-hour"
