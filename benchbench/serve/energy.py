"""Energy over a probe, from the device's own counter, or "not measured" with the reason; never a guess.

- NVIDIA GPUs: NVML's total energy since the driver loaded (`nvmlDeviceGetTotalEnergyConsumption`, millijoules,
  Volta and later), through nvidia-ml-py (`pip install 'benchbench[energy]'`, imported as `pynvml`). CUDA's
  device number is mapped to NVML's through CUDA_VISIBLE_DEVICES (`nvml_index`). The counter updates every 20-100 ms on recent GPUs, so a probe of a few
  hundred milliseconds carries that much error; a probe is seconds long.
- CPUs: Linux powercap RAPL, each package zone's `energy_uj` under /sys/class/powercap (`intel-rapl:N`; the
  subzones `intel-rapl:N:M` are parts of their package and not added again). The counter wraps at
  `max_energy_range_uj`; one wrap per probe is undone. Reading it needs permission (root on recent kernels).
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path
from typing import Any, Protocol

from benchbench.serve.llm_records import Energy

POWERCAP = "/sys/class/powercap"
PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")


class EnergyMeter(Protocol):
    def start(self) -> None: ...

    def stop(self) -> Energy: ...


class NotMeasured:
    """No counter here: every probe says why."""

    def __init__(self, why: str) -> None:
        self.why = why

    def start(self) -> None:
        pass

    def stop(self) -> Energy:
        return Energy(source=f"not measured: {self.why}")


class RaplMeter:
    """Sum of the package zones' `energy_uj` counters under `root`, in joules, wrap-around undone."""

    def __init__(self, zones: list[Path]) -> None:
        self.zones = zones
        self.begin: list[int] = []

    @staticmethod
    def _read(path: Path) -> int:
        return int(path.read_text().strip())

    def start(self) -> None:
        self.begin = [self._read(z / "energy_uj") for z in self.zones]

    def stop(self) -> Energy:
        total = 0
        for zone, first in zip(self.zones, self.begin):
            now = self._read(zone / "energy_uj")
            if now < first:  # wrapped once
                now += self._read(zone / "max_energy_range_uj")
            total += now - first
        return Energy(source=f"rapl ({len(self.zones)} package zones)", joules=total / 1e6)


def rapl_zones(root: str = POWERCAP) -> tuple[list[Path], str]:
    """The readable package zones under `root`, or none with the reason."""
    zones = sorted(
        Path(p) for p in glob.glob(os.path.join(root, "intel-rapl:*")) if PACKAGE_ZONE.match(Path(p).name)
    )
    if not zones:
        return [], f"no RAPL package zone under {root}"
    try:
        for z in zones:
            RaplMeter._read(z / "energy_uj")
    except (OSError, ValueError) as exc:
        return (
            [],
            f"RAPL counters not readable ({type(exc).__name__}: {getattr(exc, 'strerror', None) or exc})",
        )
    return zones, ""


class NvmlMeter:
    """NVML's total energy counter of one GPU (`nvml` is the `pynvml` module, or a stand-in with its API), in joules."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self.nvml, self.handle = nvml, handle
        self.begin = 0

    def _read_mj(self) -> int:
        return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))

    def start(self) -> None:
        self.begin = self._read_mj()

    def stop(self) -> Energy:
        return Energy(source="nvml total energy", joules=(self._read_mj() - self.begin) / 1e3)


def nvml_index(cuda_index: int) -> int:
    """NVML's number for CUDA device `cuda_index` under CUDA_VISIBLE_DEVICES (indices or UUIDs), through torch's
    own mapping (`torch.cuda._get_nvml_device_index`, what torch.cuda.power_draw uses); the index itself when
    CUDA is absent or torch has no such helper."""
    import torch

    mapping = getattr(torch.cuda, "_get_nvml_device_index", None)
    if mapping is None or not torch.cuda.is_available():
        return cuda_index
    return int(mapping(cuda_index))


def _nvml_meter(device: str) -> EnergyMeter:
    try:
        import pynvml
    except ImportError:
        return NotMeasured("nvidia-ml-py is not installed (pip install 'benchbench[energy]')")
    try:
        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(nvml_index(int(device.partition(":")[2] or 0)))
        meter = NvmlMeter(pynvml, handle)
        meter.start()
        return meter
    except Exception as exc:  # NVML raises its own error per missing feature; the reason is kept
        return NotMeasured(f"NVML energy counter unavailable ({type(exc).__name__}: {exc})")


def energy_meter(device: str, *, powercap_root: str = POWERCAP) -> EnergyMeter:
    """The counter for `device` ('cpu', 'cuda', 'cuda:N'; anything else, such as an endpoint: not measured)."""
    if device.startswith("cuda"):
        return _nvml_meter(device)
    if device == "cpu":
        zones, why = rapl_zones(powercap_root)
        return RaplMeter(zones) if zones else NotMeasured(why)
    return NotMeasured(f"no energy counter for {device}")
