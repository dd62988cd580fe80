"""Budgets: a TOML file of `[[budget]]` tables, each selecting results and setting limits they must meet.

Validated on load; every problem names the file, the key and what is allowed (BadInputError, exit 2).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchbench.stages  # noqa: F401  (registers the built-in stages, whose budget keys this file accepts)
from benchbench.core.errors import BadInputError
from benchbench.core.files import read_toml
from benchbench.core.stage import stage_budgets
from benchbench.measure.records import ProfileResult

SELECTORS: dict[str, tuple[type, ...]] = {
    "model": (str,), "size": (str,), "batch_size": (int,), "device": (str,), "dtype": (str,),
}  # fmt: skip
# The profile's own limits; each registered stage adds its budget keys (`StageSpec.budgets`), with their types.
PROFILE_LIMITS: dict[str, tuple[type, ...]] = {
    "p50_ms": (int, float), "p90_ms": (int, float), "p99_ms": (int, float),
    "peak_memory_mb": (int, float), "params_max": (int,), "macs_max": (int,),
}  # fmt: skip


def limits() -> dict[str, tuple[type, ...]]:
    """Every limit a budget may set, with the TOML types it takes: the profile's and the registered stages'."""
    return {**PROFILE_LIMITS, **{k: m.types for k, m in stage_budgets().items()}}


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
    stage_keys = stage_budgets()
    allowed = {**SELECTORS, **limits()}
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
            metric = stage_keys.get(key)
            if metric is not None and metric.validate is not None:
                metric.validate(where, key, value)
            elif key not in SELECTORS and not (math.isfinite(value) and value > 0):
                raise BadInputError(f"{where}: key {key!r} must be a finite number > 0, got {value!r}")
            (b.selectors if key in SELECTORS else b.limits)[key] = (
                dict(value) if isinstance(value, dict) else value
            )
        if not b.limits:
            raise BadInputError(f"{where}: sets no limit; allowed limits: {', '.join(limits())}")
        budgets.append(b)
    return budgets


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
