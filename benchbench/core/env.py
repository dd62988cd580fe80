"""Environment capture: versions, device, CPU, git commit and the machine's load, attached to every result."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from benchbench.core.noise import machine_state
from benchbench.core.results import GitState

_PACKAGES = ("torch", "triton", "onnx", "onnxruntime", "onnxscript", "fvcore", "numpy", "benchbench",
             "torchvision", "timm", "transformers")  # fmt: skip

# Facts about this process that a result should carry (e.g. that torchvision's C++ ops did not load), set by
# whoever finds them out with `note_env`.
_NOTES: dict[str, str] = {}


def note_env(key: str, text: str) -> None:
    """Record a fact about this environment; every `capture_env()` after it includes it under "notes"."""
    _NOTES[key] = text


def package_version(name: str) -> str | None:
    """The installed version of distribution `name`, or None when it is not installed."""
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


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(path: str | Path | None = None) -> GitState | None:
    """The repository holding `path` (default: the working directory): commit, branch, uncommitted changes."""
    cwd = Path(path or os.getcwd())
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if not top:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return GitState(repo=top, commit=_git(["rev-parse", "HEAD"], cwd) or None, dirty=None if status is None else bool(status),
                    branch=_git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or None)  # fmt: skip


def benchbench_commit() -> str | None:
    """benchbench's own commit when it runs from its checkout (an editable install), else None."""
    here = Path(__file__).resolve().parent
    top = _git(["rev-parse", "--show-toplevel"], here)
    if not top or not (Path(top) / "benchbench" / "core").is_dir():
        return None  # installed inside another repository: that commit is not benchbench's
    return _git(["rev-parse", "HEAD"], here) or None


def fingerprint(env: dict[str, Any]) -> str:
    """A short hash of the machine and software a measurement ran on, to tell merged results apart."""
    keys = ("hostname", "platform", "cpu_model", "device", "device_name", "driver_version", "versions")
    text = json.dumps({k: env.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cuda_info(device: torch.device) -> dict[str, Any]:
    """The CUDA device's name, memory, SM count, capability and the CUDA and driver versions (driver from nvidia-smi, None if absent)."""
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


CLOCK_FIELDS = ("clocks.sm", "clocks.max.sm", "clocks.mem", "clocks.max.mem", "power.draw", "power.limit",
                "temperature.gpu", "persistence_mode")  # fmt: skip
# Why the clocks are below their maximum: `clocks_event_reasons.active` since the 535 drivers, which still accept
# the deprecated `clocks_throttle_reasons.active`; a driver that rejects one gets the other, one that rejects both
# still gives the clocks.
REASON_FIELDS = ("clocks_event_reasons.active", "clocks_throttle_reasons.active", None)


def _query_gpu(index: int, fields: tuple[str, ...]) -> dict[str, str]:
    out = subprocess.run(
        ["nvidia-smi", f"--id={index}", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    values = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")]
    if len(values) != len(fields):
        raise ValueError(
            f"nvidia-smi gave {len(values)} values for {len(fields)} fields: {out.stdout.strip()!r}"
        )
    return dict(zip(fields, values))


def gpu_clocks(device: torch.device) -> dict[str, Any]:
    """The GPU's current and maximum clocks, power, temperature (MHz, W, °C) and the active clock-event reasons
    (bitmask) from nvidia-smi, or why not. The reasons field is tried under its current name, then its old one,
    then left out (noted under "reasons_error"), so a driver that rejects a name never costs the clocks."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    errors = []
    for reason in REASON_FIELDS:
        fields = (*CLOCK_FIELDS, reason) if reason else CLOCK_FIELDS
        try:
            got: dict[str, Any] = _query_gpu(index, fields)
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            said = (getattr(exc, "stderr", None) or "").strip() or str(exc)  # nvidia-smi names the bad field
            errors.append(f"{reason or 'clocks'}: {type(exc).__name__}: {said[:200]}")
            if isinstance(exc, OSError):  # no nvidia-smi at all
                break
            continue
        if errors:
            got["reasons_error"] = "; ".join(errors)
        return got
    return {"error": "nvidia-smi: " + "; ".join(errors)}


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
        "benchbench_commit": benchbench_commit(),
        "hostname": platform.node(),
        "machine": machine_state().to_dict(),  # load, runnable threads, CPU counters, governor: see core/noise
    }
    if _NOTES:
        env["notes"] = dict(_NOTES)
    if dev.type == "cuda" and torch.cuda.is_available():
        env.update(cuda_info(dev))
    env["fingerprint"] = fingerprint(env)
    return env
