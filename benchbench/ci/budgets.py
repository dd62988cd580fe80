"""Budgets: a TOML file of `[[budget]]` tables, each selecting results and setting limits they must meet.

Validated on load; every problem names the file, the key and what is allowed (BadInputError, exit 2).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.files import read_toml
from benchbench.core.results import ProfileResult

SELECTORS: dict[str, tuple[type, ...]] = {
    "model": (str,), "size": (str,), "batch_size": (int,), "device": (str,), "dtype": (str,),
}  # fmt: skip
LIMITS: dict[str, tuple[type, ...]] = {
    "p50_ms": (int, float), "p90_ms": (int, float), "p99_ms": (int, float),
    "peak_memory_mb": (int, float), "params_max": (int,), "macs_max": (int,),
    "onnx_ready": (bool,), "min_kernel_speedup": (int, float),
}  # fmt: skip
LATENCY_LIMITS = ("p50_ms", "p90_ms", "p99_ms")
# Serving limits, read from the run's `serving` stage, are inline tables of two positive numbers:
#   max_p99_ms_at_qps = { qps = 100, p99_ms = 20 }   at 100 queries/s offered, the p99 is at most 20 ms
#   min_qps_at_p99 = { p99_ms = 20, qps = 100 }      with the p99 at most 20 ms, at least 100 queries/s
SERVING_LIMITS = ("max_p99_ms_at_qps", "min_qps_at_p99")
SERVING_KEYS = ("qps", "p99_ms")
LIMITS.update({name: (dict,) for name in SERVING_LIMITS})


@dataclass
class Budget:
    """One `[[budget]]` table: selectors (None = any) and the limits results they select must meet."""

    index: int
    selectors: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)

    def matches(self, p: ProfileResult) -> bool:
        for key, want in self.selectors.items():
            have = getattr(p, key)
            if key == "model" and not fnmatch.fnmatch(str(have), want):
                return False
            if key != "model" and have != want:
                return False
        return True

    def label(self) -> str:
        sel = ", ".join(f"{k}={v}" for k, v in self.selectors.items()) or "all results"
        return f"budget #{self.index + 1} ({sel})"


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join(
        "number" if t is float else t.__name__ for t in types if not (t is int and float in types)
    )


def parse_budgets(data: dict[str, Any], source: str) -> list[Budget]:
    """Validate a parsed budgets document; raises BadInputError naming the file and key."""
    extra = set(data) - {"budget"}
    if extra:
        raise BadInputError(
            f"{source}: unknown top-level key {sorted(extra)[0]!r}; allowed: [[budget]] tables"
        )
    tables = data.get("budget")
    if not isinstance(tables, list) or not tables:
        raise BadInputError(f"{source}: no [[budget]] tables; write at least one `[[budget]]` with limits")
    allowed = {**SELECTORS, **LIMITS}
    budgets = []
    for i, table in enumerate(tables):
        where = f"{source}: [[budget]] #{i + 1}"
        if not isinstance(table, dict):
            raise BadInputError(f"{where}: must be a table")
        b = Budget(index=i)
        for key, value in table.items():
            if key not in allowed:
                raise BadInputError(f"{where}: unknown key {key!r}; allowed: {', '.join(allowed)}")
            types = allowed[key]
            ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if not ok:
                raise BadInputError(
                    f"{where}: key {key!r} must be {_type_names(types)}, got {type(value).__name__} {value!r}"
                )
            if key in SERVING_LIMITS:
                _check_serving_limit(where, key, value)
                (b.limits)[key] = dict(value)
                continue
            if key == "onnx_ready" and value is not True:
                raise BadInputError(f"{where}: key 'onnx_ready' may only be true (omit it to skip the check)")
            if key in LIMITS and key != "onnx_ready" and not (math.isfinite(value) and value > 0):
                raise BadInputError(f"{where}: key {key!r} must be a finite number > 0, got {value!r}")
            (b.selectors if key in SELECTORS else b.limits)[key] = value
        if not b.limits:
            raise BadInputError(f"{where}: sets no limit; allowed limits: {', '.join(LIMITS)}")
        budgets.append(b)
    return budgets


def _check_serving_limit(where: str, key: str, value: dict[str, Any]) -> None:
    if set(value) != set(SERVING_KEYS):
        raise BadInputError(f"{where}: key {key!r} must be a table of exactly qps and p99_ms, "
                            f"e.g. {key} = {{ qps = 100, p99_ms = 20 }}; got keys {sorted(value)}")  # fmt: skip
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise BadInputError(f"{where}: {key}.{k} must be a finite number > 0, got {v!r}")


def load_budgets(path: str | Path) -> list[Budget]:
    """Read and validate a budgets TOML file."""
    return parse_budgets(read_toml(path, "budgets file"), str(path))


def check_coverage(budgets: list[Budget], profiles: list[ProfileResult], source: str) -> list[Budget]:
    """Every budget must select at least one result, so a typo in a selector cannot pass silently.

    A budget for a device no result ran on (the `cuda` budgets on a CPU runner) is not an error: it is
    returned as not applicable, so one budgets file can serve every runner.
    """
    devices = {p.device for p in profiles}
    skipped = []
    for b in budgets:
        if "device" in b.selectors and b.selectors["device"] not in devices:
            skipped.append(b)
            continue
        if not any(b.matches(p) for p in profiles):
            have = sorted({f"{p.model}/{p.size}/bs{p.batch_size}/{p.device}/{p.dtype}" for p in profiles})
            raise BadInputError(
                f"{source}: {b.label()} matches no result; results are: {', '.join(have) or 'none'}"
            )
    return skipped
