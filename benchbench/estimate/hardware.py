"""The hardware table: peak throughput, memory, bandwidth, power and price per device, keyed by short names.

Datasheet figures live in `benchbench/data/hardware.toml` (dense peaks, each with its source; prices with a
source and date). A user TOML file of the same shape adds or overrides entries. The local CPU is an entry
too, with its peak estimated from a measured fp32 matmul and its bandwidth from a measured large copy;
the same measured ceilings can replace datasheet figures for any device the suite runs on.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.files import read_toml
from benchbench.estimate.ceilings import Ceilings, measure_ceilings

USER_TABLE_ENV = "BENCHBENCH_HARDWARE"  # path of a user TOML file read on every lookup
DTYPE_KEYS = {
    "float32": "fp32", "fp32": "fp32", "tf32": "tf32", "bfloat16": "bf16", "bf16": "bf16",
    "float16": "fp16", "fp16": "fp16", "half": "fp16", "fp8": "fp8", "int8": "int8",
}  # fmt: skip


@dataclass(frozen=True)
class Hardware:
    """One device: dense peaks in TFLOP/s per dtype, memory in GB, bandwidth in GB/s, TDP, hourly price."""

    key: str
    name: str
    peak_tflops: dict[str, float]
    memory_gb: float
    bandwidth_gbs: float
    tdp_w: float | None = None
    price_per_hour: float | None = None
    price_source: str = ""
    price_date: str = ""
    peak_source: str = ""
    vendor: str = ""
    match: tuple[str, ...] = ()
    measured: dict[str, Any] = field(default_factory=dict)  # which figures were measured, and how

    def __post_init__(self) -> None:
        if not self.peak_tflops or any(not (math.isfinite(v) and v > 0) for v in self.peak_tflops.values()):
            raise BadInputError(
                f"hardware {self.key!r}: peak_tflops must hold finite positive numbers, got {self.peak_tflops}"
            )
        for name in ("bandwidth_gbs", "memory_gb"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise BadInputError(f"hardware {self.key!r}: {name} must be a finite number > 0")
        for name in ("price_per_hour", "tdp_w"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):  # fmt: skip
                raise BadInputError(
                    f"hardware {self.key!r}: {name} must be a finite number >= 0, got {value!r}"
                )

    def peak_flops(self, dtype: str = "float32") -> float:
        """Peak FLOP/s for a dtype; fp16/bf16 fall back to each other, anything missing to fp32."""
        key = DTYPE_KEYS.get(dtype.removeprefix("torch."))
        if key is None:
            raise unknown_name("dtype", dtype, sorted(DTYPE_KEYS))
        for k in (key, {"bf16": "fp16", "fp16": "bf16"}.get(key), "fp32"):
            if k and k in self.peak_tflops:
                return self.peak_tflops[k] * 1e12
        return min(self.peak_tflops.values()) * 1e12

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.bandwidth_gbs * 1e9

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gb * 1e9)

    def ridge_point(self, dtype: str = "float32") -> float:
        """Arithmetic intensity (FLOP/byte) above which a kernel is compute-bound on this device."""
        return self.peak_flops(dtype) / self.bandwidth_bytes_per_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["match"] = list(self.match)
        return d


def _entry(key: str, d: dict[str, Any], source: str) -> Hardware:
    try:
        return Hardware(
            key=key,
            name=str(d.get("name", key)),
            peak_tflops={str(k): float(v) for k, v in d["peak_tflops"].items()},
            memory_gb=float(d["memory_gb"]),
            bandwidth_gbs=float(d["bandwidth_gbs"]),
            tdp_w=d.get("tdp_w"),
            price_per_hour=d.get("price_per_hour"),
            price_source=d.get("price_source", ""),
            price_date=str(d.get("price_date", "")),
            peak_source=d.get("peak_source", ""),
            vendor=d.get("vendor", ""),
            match=tuple(d.get("match", ())),
            measured=dict(d.get("measured", {})),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BadInputError(
            f"{source}: hardware entry [{key}] is malformed ({type(e).__name__}: {e}); it needs "
            "peak_tflops = {{fp32 = ..}}, memory_gb, bandwidth_gbs"
        ) from None


def _parse(data: dict[str, Any], source: str) -> dict[str, Hardware]:
    return {k: _entry(k, v, source) for k, v in data.items() if isinstance(v, dict)}


@functools.cache
def _builtin() -> dict[str, Hardware]:
    text = resources.files("benchbench").joinpath("data/hardware.toml").read_text()
    return _parse(tomllib.loads(text), "benchbench/data/hardware.toml")


def load_table(user_file: str | Path | None = None, *, with_cpu: bool = True) -> dict[str, Hardware]:
    """Built-in entries, then the local CPU (measured), then the user's file (`user_file` or $BENCHBENCH_HARDWARE)."""
    table = dict(_builtin())
    if with_cpu:
        table["cpu"] = local_cpu()
    path = user_file or os.environ.get(USER_TABLE_ENV)
    if path:
        for key, entry in _parse(read_toml(path, "hardware file"), str(path)).items():
            table[key] = entry
    return table


def match_device_name(reported: str, table: dict[str, Hardware] | None = None) -> str | None:
    """The table key whose `match` substrings occur in a name torch reports ('NVIDIA H100 80GB HBM3' → 'h100-sxm')."""
    table = table if table is not None else load_table(with_cpu=False)
    low = reported.lower()
    best: tuple[int, str] | None = None
    for key, hw in table.items():
        for m in hw.match:
            pattern = r"(?<![a-z0-9])" + re.escape(m.lower()) + r"(?![a-z0-9])"  # 'L4' must not match 'L40S'
            if re.search(pattern, low) and (best is None or len(m) > best[0]):
                best = (len(m), key)  # the longest match wins: 'H100 PCIe' over 'H100'
    return best[1] if best else None


def get_hardware(name: str, user_file: str | Path | None = None) -> Hardware:
    """Look a device up by short key ('h100-sxm'), by the name torch reports, or 'cpu' (this machine, measured)."""
    if name == "cpu":
        table = load_table(user_file)
        return table["cpu"]
    table = load_table(user_file, with_cpu=False)
    if name in table:
        return table[name]
    key = match_device_name(name, table)
    if key:
        return table[key]
    raise unknown_name("hardware", name, sorted([*table, "cpu"]))


# ---- measured entries ----------------------------------------------------------------------------


def with_measured(hw: Hardware, ceilings: Ceilings) -> Hardware:
    """A copy of `hw` whose peak (for the ceilings' dtype) and bandwidth are the measured ceilings."""
    key = DTYPE_KEYS.get(ceilings.dtype, ceilings.dtype)
    measured = {**hw.measured, f"peak_tflops.{key}": f"measured: best {ceilings.matmul_n}³ {ceilings.dtype} matmul",
                "bandwidth_gbs": f"measured: best {ceilings.copy_bytes >> 20} MiB copy (read + write)"}  # fmt: skip
    peaks = {**hw.peak_tflops, key: ceilings.matmul_tflops}
    return replace(hw, peak_tflops=peaks, bandwidth_gbs=ceilings.copy_gbs, measured=measured)


def cpu_entry(ceilings: Ceilings) -> Hardware:
    """This machine's CPU as a table entry: its fp32 peak and bandwidth are the measured ceilings."""
    import platform

    base = Hardware(
        key="cpu",
        name=f"local CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        peak_tflops={"fp32": ceilings.matmul_tflops},
        memory_gb=_total_memory_bytes() / 1e9,
        bandwidth_gbs=ceilings.copy_gbs,
        peak_source=f"measured here: best fp32 {ceilings.matmul_n}³ matmul",
        vendor="local",
    )
    return with_measured(base, ceilings)


@functools.cache
def local_cpu() -> Hardware:
    """The local CPU's entry, measured once per process."""
    return cpu_entry(measure_ceilings("cpu"))


def _total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 10**9
