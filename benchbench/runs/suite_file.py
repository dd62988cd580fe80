"""A suite defined in a TOML file (`benchbench run --suite-file FILE.toml`), validated like a budgets file.

    name = "nightly"
    models = ["resnet*", "bert", "my_pkg.models:make_model"]   # zoo globs and user factories
    sizes = ["tiny", "base"]                                  # zoo sizes (a user factory has none)
    batch_sizes = [1, 8]
    dtypes = ["float32", "bfloat16"]
    stages = ["export", "health"]                             # registered stages: export, health, swap, serving, ...
    job_timeout_s = 600
    kernels = false                                           # also run the GPU kernel campaign

    [timing]                                                  # every key optional
    warmup = 2
    min_repeats = 10
    max_repeats = 1000
    min_time_s = 0.2

Every problem is one BadInputError line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from benchbench.core.dtypes import DTYPE_ALIASES, DTYPES
from benchbench.core.errors import BadInputError
from benchbench.core.files import read_toml
from benchbench.measure.timing import TimingConfig
from benchbench.runs.suite import Suite

_LISTS: dict[str, type] = {"models": str, "sizes": str, "batch_sizes": int, "dtypes": str, "stages": str}
_TIMING = {f.name: f.type for f in dataclasses.fields(TimingConfig)}


def _list(source: str, key: str, value: Any, kind: type) -> tuple:
    if not isinstance(value, list) or (not value and key != "stages"):  # no stages: profiles only
        raise BadInputError(f"{source}: key {key!r} must be a non-empty list, got {value!r}")
    for v in value:
        if kind is int and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise BadInputError(f"{source}: key {key!r} takes positive integers, got {v!r}")
        if kind is str and (not isinstance(v, str) or not v.strip()):
            raise BadInputError(f"{source}: key {key!r} takes non-empty strings, got {v!r}")
    return tuple(value)


def _positive_number(source: str, key: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BadInputError(f"{source}: key {key!r} must be a finite number > 0, got {value!r}")
    return float(value)


def _timing(source: str, table: Any) -> TimingConfig:
    if not isinstance(table, dict):
        raise BadInputError(f"{source}: [timing] must be a table")
    for key, value in table.items():
        kind = _TIMING.get(key)
        if kind is None:
            raise BadInputError(f"{source}: unknown key timing.{key}; allowed: {', '.join(_TIMING)}")
        is_bool = isinstance(value, bool)
        ok = (
            is_bool if kind == "bool"
            else isinstance(value, int) and not is_bool if kind == "int"
            else isinstance(value, (int, float)) and not is_bool and math.isfinite(value)
        )  # fmt: skip
        if not ok:
            what = {"bool": "true or false", "int": "an integer"}.get(kind, "a finite number")
            raise BadInputError(f"{source}: key timing.{key} must be {what}, got {value!r}")
    try:
        return TimingConfig(**table)
    except (TypeError, ValueError) as e:
        raise BadInputError(f"{source}: [timing]: {e}") from None


def parse_suite(data: dict[str, Any], source: str) -> Suite:
    """A Suite from a parsed TOML document; raises BadInputError naming the file and key."""
    from benchbench.core.stage import STAGES, ordered_stages

    allowed = ("name", *_LISTS, "timing", "job_timeout_s", "kernels")
    for key in data:
        if key not in allowed:
            raise BadInputError(f"{source}: unknown key {key!r}; allowed: {', '.join(allowed)}")
    if "models" not in data and not data.get("kernels"):
        raise BadInputError(f"{source}: a suite needs `models = [...]` (zoo globs or pkg.module:factory)")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        raise BadInputError(f"{source}: key 'name' must be a non-empty string, got {name!r}")
    fields: dict[str, Any] = {k: _list(source, k, data[k], kind) for k, kind in _LISTS.items() if k in data}
    for d in fields.get("dtypes", ()):
        if d not in DTYPES and d not in DTYPE_ALIASES:
            raise BadInputError(f"{source}: unknown dtype {d!r} in 'dtypes'; allowed: {', '.join(DTYPES)}")
    if "dtypes" in fields:
        fields["dtypes"] = tuple(DTYPE_ALIASES.get(d, d) for d in fields["dtypes"])
    for s in fields.get("stages", ()):
        if s not in STAGES:
            raise BadInputError(
                f"{source}: unknown stage {s!r} in 'stages'; allowed: {', '.join(spec.name for spec in ordered_stages())}"
            )
    if "timing" in data:
        fields["timing"] = _timing(source, data["timing"])
    if "job_timeout_s" in data:
        fields["job_timeout_s"] = _positive_number(source, "job_timeout_s", data["job_timeout_s"])
    if "kernels" in data:
        if not isinstance(data["kernels"], bool):
            raise BadInputError(f"{source}: key 'kernels' must be true or false, got {data['kernels']!r}")
        fields["kernels"] = data["kernels"]
    return Suite(name=name, **fields)


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite TOML file."""
    return parse_suite(read_toml(path, "suite file"), str(path))
