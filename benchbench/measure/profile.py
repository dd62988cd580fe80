"""Profile one model: parameters, FLOPs/MACs, layers, memory and latency, each stage recorded even if another fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchbench.core.device import check_dtype, parse_device
from benchbench.core.dtypes import parse_dtype
from benchbench.core.env import capture_env
from benchbench.core.forward import autocast_context, forward_fn, to_device
from benchbench.core.progress import announce_stage
from benchbench.core.results import StageError
from benchbench.measure.diagram import mermaid
from benchbench.measure.flops import count_flops
from benchbench.measure.layers import layer_table
from benchbench.measure.memory import profile_memory
from benchbench.measure.params import count_params
from benchbench.measure.records import LatencyStats, MemoryProfile, ProfileResult
from benchbench.measure.timing import TimingConfig, measure
from benchbench.sources.target import Target, load_target


def run_stage(result: ProfileResult, stage: str, fn: Callable[[], Any]) -> Any:
    """Run `fn`; on failure record the stage and error on `result` and return None."""
    announce_stage(stage)
    try:
        return fn()
    except Exception as exc:  # a stage failing is a result, not a crash
        result.errors.append(StageError.from_exception(stage, exc))
        return None


def _small_enough_for_cpu_train_peak(target: Target) -> bool:
    """The train-step peak copies the model and runs two steps; skipped above ~50 M parameters on the CPU."""
    return sum(p.numel() for p in target.model.parameters()) <= 50_000_000


def profile_target(
    target: Target,
    *,
    device: str = "cpu",
    dtype: str = "float32",
    timing: TimingConfig | None = None,
    memory: bool = True,
    layers: bool = True,
    train_step_peak: bool | None = None,
    flops_check: bool = True,
    latency: bool = True,
) -> ProfileResult:
    """Measure a built target: params, FLOPs (on the CPU, in fp32), layer table and diagram, memory and
    latency on `device` in `dtype`. Each is a recorded stage: one failing does not stop the others.

    `train_step_peak` None means: measured on CUDA, and on the CPU for models up to 50 M parameters.
    `latency=False` leaves the latency to the caller (e.g. several targets timed in interleaved rounds).
    """
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
    result.params = run_stage(result, "params", lambda: count_params(model))
    result.flops = run_stage(result, "flops", lambda: count_flops(model, target.inputs, check=flops_check))
    if layers:
        by_module = result.flops.by_module if result.flops else None
        result.layers = run_stage(result, "layers", lambda: layer_table(model, target.inputs, by_module))
        if result.layers is not None:
            title = f"{target.name} ({target.size})"
            result.diagram = run_stage(result, "diagram", lambda: mermaid(result.layers, title=title))
    if memory:
        peak_train = train_step_peak
        if peak_train is None:
            peak_train = dev.type == "cuda" or _small_enough_for_cpu_train_peak(target)

        def measure_memory() -> MemoryProfile:
            moved = model.to(dev)
            inputs = to_device(target.inputs, dev)
            autocast = autocast_context(dev, dt)
            return profile_memory(moved, inputs, dtype=dt, autocast=autocast, train_step_peak=peak_train)

        result.memory = run_stage(result, "memory", measure_memory)
        for key, why in (result.memory.failed if result.memory else {}).items():
            kind, _, message = why.partition(": ")
            result.errors.append(StageError(stage=f"memory.{key}", error=message, type=kind))

    def time_it() -> LatencyStats:
        moved = model.to(dev)
        fn = forward_fn(moved, to_device(target.inputs, dev), dev, dt)
        return measure(fn, device=dev, batch_size=target.batch_size, config=timing)

    if latency:
        result.latency = run_stage(result, "latency", time_it)
    return result


def profile(
    model: str,
    *,
    size: str | None = "tiny",
    batch_size: int = 1,
    seq_len: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    timing: TimingConfig | None = None,
    task: str | None = None,
    **options: Any,
) -> ProfileResult:
    """Build `model` (a zoo, torchvision:/timm:/hf: or `pkg.module:factory` name) and profile it; `options` go
    to `profile_target`."""
    check_dtype(parse_device(device), parse_dtype(dtype))
    target = load_target(model, size, batch_size, seq_len, task=task)
    return profile_target(target, device=device, dtype=dtype, timing=timing, **options)
