"""Measured ceilings: the best n×n matmul rate and the best large-copy bandwidth a device reaches.

"% of peak" in kernel comparisons and the local CPU's entry in the hardware table are relative to these,
measured with the timing core on the same device (the minimum over repeats: the least disturbed one).
"""

from __future__ import annotations

import torch

from benchbench.core.dtypes import dtype_name
from benchbench.estimate.records import Ceilings
from benchbench.measure.timing import TimingConfig, measure

CEILING_TIMING = TimingConfig(warmup=3, min_repeats=10, max_repeats=50, min_time_s=0.1)
__all__ = ["CEILING_TIMING", "Ceilings", "measure_ceilings"]  # Ceilings: the record in core.results


def measure_ceilings(
    device: str = "cpu", dtype: torch.dtype = torch.float32, *, matmul_n: int | None = None,
    copy_bytes: int | None = None,
) -> Ceilings:  # fmt: skip
    """Time an n×n×n matmul (2·n³ FLOPs) in `dtype` and a large copy (read + write = 2 × size) on `device`."""
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    n = matmul_n or (8192 if cuda else 1024)
    nbytes = copy_bytes or ((1 << 30) if cuda else (64 << 20))
    mm_dtype = dtype if cuda or dtype == torch.float32 else torch.float32  # 16-bit CPU matmul is no ceiling
    a = torch.randn(n, n, device=dev, dtype=mm_dtype)
    b = torch.randn(n, n, device=dev, dtype=mm_dtype)
    mm = measure(lambda: a @ b, device=dev, config=CEILING_TIMING)
    src = torch.ones(nbytes // 4, device=dev)
    dst = torch.empty_like(src)
    cp = measure(lambda: dst.copy_(src), device=dev, config=CEILING_TIMING)
    return Ceilings(str(dev), dtype_name(mm_dtype), 2.0 * n**3 / (mm.min_ms * 1e-3) / 1e12,
                    2.0 * nbytes / (cp.min_ms * 1e-3) / 1e9, n, nbytes)  # fmt: skip
