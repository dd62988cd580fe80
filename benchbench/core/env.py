"""Environment capture: versions, device, CPU, git commit and the machine's load, attached to every result."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from benchbench.core.noise import machine_state

_PACKAGES = ("torch", "triton", "onnx", "onnxruntime", "onnxscript", "fvcore", "numpy", "benchbench")


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(path: Path | None = None) -> str | None:
    """The commit of the checkout holding this package, if it is one; None otherwise."""
    cwd = path or Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def cuda_info(device: torch.device) -> dict[str, Any]:
    props = torch.cuda.get_device_properties(device)
    driver = None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        driver = out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return {
        "device_name": props.name,
        "cuda_version": torch.version.cuda,
        "hip_version": getattr(torch.version, "hip", None),
        "driver_version": driver,
        "compute_capability": f"{props.major}.{props.minor}",
        "device_memory_bytes": props.total_memory,
        "multiprocessors": props.multi_processor_count,
    }


def capture_env(device: str | torch.device = "cpu") -> dict[str, Any]:
    """A plain dict describing where a measurement was taken."""
    dev = torch.device(device)
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: package_version(p) for p in _PACKAGES},
        "device": str(dev),
        "device_name": cpu_model() if dev.type == "cpu" else None,
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "git_commit": git_commit(),
        "hostname": platform.node(),
        "machine": machine_state().to_dict(),  # load, runnable threads, CPU counters, governor: see core/noise
    }
    if dev.type == "cuda" and torch.cuda.is_available():
        env.update(cuda_info(dev))
    return env
