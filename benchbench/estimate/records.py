"""The records of estimates: the ceilings (matmul rate, copy bandwidth) measured on a device."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Ceilings:
    """What this device reached in this run: the best n×n matmul rate and the best large-copy bandwidth."""

    device: str
    dtype: str
    matmul_tflops: float
    copy_gbs: float
    matmul_n: int
    copy_bytes: int
    source: str = "measured in this run (best of repeats)"

    @property
    def ridge(self) -> float:
        """FLOPs per byte above which a kernel is compute-bound on this device."""
        return self.matmul_tflops * 1e12 / (self.copy_gbs * 1e9)
