"""Profile one model: parameters, FLOPs/MACs and latency, each stage recorded even if another fails."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from benchbench.env import capture_env
from benchbench.flops import count_flops
from benchbench.params import count_params
from benchbench.results import ProfileResult, StageError
from benchbench.target import Target, load_target, parse_device, parse_dtype
from benchbench.timing import TimingConfig, measure


def to_device(inputs: tuple, device: torch.device) -> tuple:
    return tuple(x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs)


def autocast_context(device: torch.device, dtype: torch.dtype) -> contextlib.AbstractContextManager:
    """fp32 runs as is; bf16/fp16 run under autocast on the device."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def forward_fn(
    model: nn.Module, inputs: tuple, device: torch.device, dtype: torch.dtype
) -> Callable[[], Any]:
    """A zero-argument closure running one inference forward pass."""

    def run() -> Any:
        with torch.no_grad(), autocast_context(device, dtype):
            return model(*inputs)

    return run


def run_stage(result: ProfileResult, stage: str, fn: Callable[[], Any]) -> Any:
    """Run `fn`; on failure record the stage and error on `result` and return None."""
    try:
        return fn()
    except Exception as exc:  # a stage failing is a result, not a crash
        result.errors.append(StageError.from_exception(stage, exc))
        return None


def profile_target(
    target: Target, *, device: str = "cpu", dtype: str = "float32", timing: TimingConfig | None = None
) -> ProfileResult:
    """Measure a built target: params, FLOPs (on the CPU, in fp32) and latency on `device` in `dtype`."""
    dev, dt = parse_device(device), parse_dtype(dtype)
    result = ProfileResult(
        model=target.name,
        modality=target.modality,
        size=target.size,
        batch_size=target.batch_size,
        seq_len=target.seq_len,
        device=str(dev),
        dtype=str(dt).removeprefix("torch."),
        env=capture_env(dev),
    )
    model = target.model.eval()
    params = run_stage(result, "params", lambda: count_params(model))
    result.params = params.to_dict() if params else None
    flops = run_stage(result, "flops", lambda: count_flops(model, target.inputs))
    result.flops = flops.to_dict() if flops else None

    def time_it() -> dict[str, Any]:
        moved = model.to(dev)
        fn = forward_fn(moved, to_device(target.inputs, dev), dev, dt)
        return measure(fn, device=dev, batch_size=target.batch_size, config=timing).to_dict()

    result.latency = run_stage(result, "latency", time_it)
    return result


def profile(
    model: str,
    *,
    size: str = "tiny",
    batch_size: int = 1,
    seq_len: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    timing: TimingConfig | None = None,
) -> ProfileResult:
    """Build `model` (a zoo name or `pkg.module:factory`) and profile it."""
    parse_device(device)
    parse_dtype(dtype)
    return profile_target(
        load_target(model, size, batch_size, seq_len), device=device, dtype=dtype, timing=timing
    )
