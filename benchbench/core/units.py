"""Units and how numbers are written for people: counts (1.23 M), bytes (4.00 MiB), milliseconds, hours."""

from __future__ import annotations

import math
from typing import Any


def fmt_count(n: float | None, unit: str = "") -> str:
    """1234567 → '1.23 M'; 0.205 → '0.205'; None → '—'."""
    if n is None:
        return "—"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    spec = ".0f" if abs(n) >= 100 else ".3g"  # a rate below 1 keeps its digits, never "0"
    return f"{n:{spec}} {unit}".rstrip()


def fmt_bytes(n: int | None) -> str:
    """A byte count in binary units: 4194304 → '4.00 MiB'; None → '—'."""
    if n is None:
        return "—"
    for scale, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {suffix}"
    return f"{n} B"


def fmt_ms(x: float | None) -> str:
    """Milliseconds to three decimals: '1.234'; None → '—'."""
    return "—" if x is None else f"{x:.3f}"


def fmt_ci_ms(ci: list[float] | None) -> str:
    """A latency's 95% CI as '[0.981, 1.020]'; '—' when there is none."""
    return "—" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def fmt_num(x: Any, spec: str = ".3g") -> str:
    """A number in `spec` (3 significant digits by default), any other value as its str; None → '—'."""
    return "—" if x is None else format(x, spec) if isinstance(x, (int, float)) else str(x)


def fmt_hours(h: float | None) -> str:
    """A duration in hours as '12.3 h', under an hour as '45.0 min'; None or infinite → '—'."""
    return "—" if h is None or not math.isfinite(h) else f"{h:,.1f} h" if h >= 1 else f"{h * 60:,.1f} min"


# ---- serving and goal figures: one writer each, used by the reports and the terminal alike -------------------


def fmt_bound_ci(ci: list[float | None] | None) -> str:
    """A quantile's 95% CI as '[26.8, 39.2]'; a side the sample cannot bound is '—' (a p99 from fewer than 368
    queries), and no interval at all is '—'."""
    if not ci:
        return "—"
    return "[" + ", ".join("—" if v is None else f"{v:.3g}" for v in ci) + "]"


def fmt_rate(per_s: float | None, unit: str = "/s") -> str:
    """A rate as '1,234.5/s'; None → '—'."""
    return "—" if per_s is None else f"{per_s:,.1f}{unit}"


def fmt_usd_per_million(usd: float | None) -> str:
    """Dollars per 1M queries as '$0.1234'; None → 'no price' (benchbench never assumes a price)."""
    return "no price" if usd is None else f"${usd:,.4g}"


def fmt_price_per_hour(usd: float | None) -> str:
    """An hourly price as '$0.5/h'; None → '—'."""
    return "—" if usd is None else f"${usd:g}/h"


def fmt_met(met: bool | None) -> str:
    """A goal's verdict: 'met', 'MISSED', or 'not measured' (None)."""
    return "not measured" if met is None else "met" if met else "MISSED"


def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int, bytes_per_element: int) -> int:
    """Bytes of keys and values an attention cache holds per token of one sequence: 2 × layers × kv_heads ×
    head_dim × bytes per element (MHA: kv_heads = heads; GQA fewer; MQA one). Llama-2-7B at 16-bit: 524,288."""
    return 2 * layers * kv_heads * head_dim * bytes_per_element
