"""Devices by name ('cpu', 'cuda', 'cuda:1') checked against this machine, and what each can run in which dtype."""

from __future__ import annotations

import os

import torch

from benchbench.core.errors import BadInputError, unknown_name


def parse_device(name: str) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N', checked against what this machine has."""
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise unknown_name("device", name, ["cpu", "cuda", "cuda:N"]) from None
    if dev.type not in ("cpu", "cuda"):
        raise unknown_name("device", name, ["cpu", "cuda", "cuda:N"])
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BadInputError(
                f"device {name!r} requested but this machine has no CUDA device; allowed: cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BadInputError(f"device {name!r}: only {torch.cuda.device_count()} CUDA devices (cuda:0..)")
    return dev


def dtype_support(device: torch.device, dtype: torch.dtype) -> str | None:
    """None if `dtype` can run (under autocast) on `device`, else why not."""
    if dtype == torch.float32:
        return None
    name = str(dtype).removeprefix("torch.")
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} has no bfloat16 support"
    if not torch.amp.is_autocast_available(device.type):
        return f"autocast is not available on {device.type}"
    try:
        layer = torch.nn.Linear(4, 4).to(device)
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=dtype):
            out = layer(torch.ones(2, 4, device=device))
        if out.dtype != dtype:
            return f"autocast on {device.type} runs linear layers in {out.dtype}, not {name}"
    except Exception as exc:  # the probe failing is the answer
        return f"autocast to {name} fails on {device.type}: {type(exc).__name__}: {exc}"
    return None


def check_dtype(device: torch.device, dtype: torch.dtype) -> None:
    """Refuse, with the reason and the dtypes this device can run, a dtype it cannot."""
    why = dtype_support(device, dtype)
    if why is not None:
        ok = [n for n, d in (("float32", torch.float32), ("bfloat16", torch.bfloat16), ("float16", torch.float16))
              if dtype_support(device, d) is None]  # fmt: skip
        raise BadInputError(
            f"dtype {str(dtype).removeprefix('torch.')} on {device}: {why}; allowed here: {', '.join(ok)}"
        )


def available_memory_bytes(device: str | torch.device = "cpu") -> int | None:
    """Memory free now on `device` (the system's available RAM on the CPU), or None where it cannot be known."""
    dev = torch.device(device)
    if dev.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(dev)[0])
        except RuntimeError:
            return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
