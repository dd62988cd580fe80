"""Units and how numbers are written for people: counts (1.23 M), bytes (4.00 MiB), milliseconds, hours."""

from __future__ import annotations

import math
from typing import Any


def fmt_count(n: float | None, unit: str = "") -> str:
    """1234567 → '1.23 M'; None → '—'."""
    if n is None:
        return "—"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{n:.0f} {unit}".rstrip()


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n} B"


def fmt_ms(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def fmt_ci_ms(ci: list[float] | None) -> str:
    """A latency's 95% CI as '[0.981, 1.020]'; '—' when there is none."""
    return "—" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def fmt_num(x: Any, spec: str = ".3g") -> str:
    return "—" if x is None else format(x, spec) if isinstance(x, (int, float)) else str(x)


def fmt_hours(h: float | None) -> str:
    return "—" if h is None or not math.isfinite(h) else f"{h:,.1f} h" if h >= 1 else f"{h * 60:,.1f} min"
