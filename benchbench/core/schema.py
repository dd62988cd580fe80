"""The one schema layer: records to versioned JSON and back, validated on load with one-line errors.

Every file benchbench writes is a JSON object with `schema_version` and `kind` (profile, run, export, health,
swap, kernel_compare, kernel_check, gpu_check, campaign, serve) beside the record's own keys. Each kind's
record type is registered by its role (`@record_kind`), and `benchbench.record.run` imports them all. Loading checks the version, migrates older versions, and
validates every field against the record's dataclass (pydantic), so a wrong file is refused with one line
that names the file, the key and what was wrong, never a traceback from deep inside a report.

Version 2 (this one) nests each sweep point's latency, lists parity per tensor, and groups a run's kernel
records by type under `campaign`; `migrate_v1` reads version 1 files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.files import read_json, to_jsonable, write_json
from benchbench.core.registry import Registry
from benchbench.core.stage import STAGES

SCHEMA_VERSION = 2
# kind -> its top-level record type; each role registers its own with `@record_kind("...")` beside the record
# (profile, run, export, health, swap, kernel_compare, kernel_check, gpu_check, campaign, serve).
KINDS: Registry[type] = Registry("result kind")


def record_kind(kind: str):
    """Class decorator: `cls` is a top-level record written as `kind` (see the module doc)."""
    return KINDS.register(kind)


def dump(record: Any) -> dict[str, Any]:
    """A top-level record as a JSON object headed by `schema_version` and `kind`."""
    kind = next((k for k, cls in KINDS.items() if cls is type(record)), None)
    if kind is None:
        raise TypeError(f"{type(record).__name__} is not a top-level record; allowed: {', '.join(KINDS)}")
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **to_jsonable(record)}


def _adapter(cls: type) -> Any:
    """The pydantic validator of `cls`, rebuilt when a stage is registered (profiles validate stage records)."""
    return _cached_adapter(cls, tuple(STAGES.names()))


@functools.cache
def _cached_adapter(cls: type, stages: tuple[str, ...]) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)


def _first_error(exc: Any) -> str:
    errors = exc.errors()
    e = errors[0]
    where = ".".join(str(x) for x in e["loc"]) or "(top level)"
    got = repr(e.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"key {where}: {e['msg']}, got {got}{more}"


def validate(cls: type, data: Any, source: str) -> Any:
    """Build `cls` from plain data, or raise BadInputError naming `source`, the key and the problem."""
    from pydantic import ValidationError

    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as e:
        raise BadInputError(f"{source}: not a valid {cls.__name__} record: {_first_error(e)}") from None


def load(data: Any, source: str, kinds: tuple[str, ...] | None = None) -> Any:
    """The record in a parsed JSON file, after version checks and migration; `kinds` limits what is accepted."""
    if not isinstance(data, dict):
        raise BadInputError(f"{source}: expected a JSON object, got {type(data).__name__}")
    if "schema_version" not in data:
        raise BadInputError(f"{source}: lacks key 'schema_version' (not a benchbench result?)")
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BadInputError(f"{source}: schema_version must be a positive integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise BadInputError(
            f"{source}: schema_version {version} is newer than this benchbench reads ({SCHEMA_VERSION}); "
            "upgrade benchbench"
        )
    kind = data.get("kind")
    allowed = kinds or tuple(KINDS)
    if kind not in allowed:
        raise BadInputError(f"{source}: kind {kind!r} is not one of {', '.join(allowed)}")
    body = {k: v for k, v in data.items() if k not in ("schema_version", "kind")}
    if version == 1:
        body = migrate_v1(kind, body)
    return validate(KINDS.get(kind), body, source)


def write(path: str | Path, record: Any) -> Path:
    """Write a top-level record as versioned JSON, atomically."""
    return write_json(path, dump(record))


def read(path: str | Path, kinds: tuple[str, ...] | None = None) -> Any:
    """Load the record in a JSON file (see `load`)."""
    return load(read_json(path), str(path), kinds)


# ---- pytest-benchmark's --benchmark-json -------------------------------------------------------------


@dataclass
class BenchmarkStats:
    """pytest-benchmark's statistics of one test, in seconds per call (`data` only with --benchmark-save-data)."""

    min: float
    max: float
    mean: float
    median: float
    stddev: float = 0.0
    rounds: int | None = None
    data: list[float] = field(default_factory=list)


@dataclass
class BenchmarkExtra:
    """What a benchmark may say of itself in `extra_info` (benchbench's own benchmarks set these)."""

    model: str | None = None
    modality: str = "unknown"
    size: str = "tiny"
    batch_size: int = 1
    device: str = "cpu"
    dtype: str = "float32"


@dataclass
class BenchmarkEntry:
    """One benchmark of a pytest-benchmark JSON file: its name, timing statistics and extra_info."""

    name: str
    stats: BenchmarkStats
    fullname: str | None = None
    extra_info: BenchmarkExtra = field(default_factory=BenchmarkExtra)


@dataclass
class BenchmarkFile:
    """A pytest-benchmark JSON file, as far as benchbench reads it: the benchmarks and the machine."""

    benchmarks: list[BenchmarkEntry]
    machine_info: dict[str, Any]
    datetime: str = ""
    version: str | None = None


def is_pytest_benchmark(d: Any) -> bool:
    """True when `d` looks like pytest-benchmark's JSON (benchmarks and machine_info, no schema_version)."""
    return isinstance(d, dict) and "benchmarks" in d and "machine_info" in d and "schema_version" not in d


def load_pytest_benchmark(d: Any, source: str) -> BenchmarkFile:
    """`d` validated as a pytest-benchmark file; a mismatch is a BadInputError naming `source`."""
    return validate(BenchmarkFile, d, f"{source} (pytest-benchmark JSON)")


# ---- version 1 -------------------------------------------------------------------------------------


def migrate_v1(kind: str, d: dict[str, Any]) -> dict[str, Any]:
    """Version 1 data in version 2's shape (sweeps, parity and the run's kernel records changed)."""
    d = dict(d)
    d.pop("status", None)
    if kind == "profile":
        return _v1_profile(d)
    if kind == "run":
        d["profiles"] = [_v1_profile(dict(p)) if isinstance(p, dict) else p for p in d.get("profiles") or []]
        kernels = d.pop("kernels", None)
        if isinstance(kernels, list) and kernels:
            d["campaign"] = _v1_campaign(kernels)
        return d
    if kind in ("export",) and isinstance(d.get("export"), dict):
        d["export"] = _v1_export(d["export"])
    if kind == "swap" and isinstance(d.get("parity"), dict):
        d["parity"] = _v1_swap_parity(d["parity"])
    if kind == "kernel_compare":
        for row in d.get("rows") or []:
            if isinstance(row, dict):
                row.pop("kind", None)
    return d


def _v1_profile(p: dict[str, Any]) -> dict[str, Any]:
    p.pop("status", None)
    sweeps = p.get("sweeps")
    if isinstance(sweeps, list):
        p["sweeps"] = [_v1_sweep(r) for r in sweeps]
    if isinstance(p.get("export"), dict):
        p["export"] = _v1_export(p["export"])
    return p


_POINT_KEYS = ("batch_size", "seq_len", "dtype", "mode", "error")


def _v1_sweep(r: Any) -> Any:
    if not isinstance(r, dict):
        return r
    point = {k: r.get(k) for k in _POINT_KEYS}
    if "error" not in r:
        point["latency"] = {k: v for k, v in r.items() if k not in ("seq_len", "dtype", "mode")}
    return point


def _v1_tensor(name: str, o: dict[str, Any], loose_tol: Any = None) -> dict[str, Any]:
    tol = o.get("tol")
    tol = tol if isinstance(tol, dict) else {"atol": tol or 0.0, "rtol": 0.0}
    return {
        "name": name, "dtype": o.get("dtype", "float32"), "shape": [], "ok": bool(o.get("ok")),
        "ok_loose": bool(o.get("ok_loose", o.get("ok"))), "tol": tol, "loose_tol": o.get("loose_tol") or loose_tol or tol,
        "reason": o.get("error"), "max_abs": o.get("max_abs"), "max_rel": o.get("max_rel"), "n_bad": o.get("n_bad", 0),
        "worst": [{"index": w.get("index", []), "got": w.get("onnx"), "want": w.get("torch")}
                  for w in o.get("worst") or [] if isinstance(w, dict)],
        "case": o.get("case"),
    }  # fmt: skip


def _v1_parity(par: Any) -> Any:
    if not isinstance(par, dict) or not isinstance(par.get("outputs"), dict):
        return par
    outputs = [_v1_tensor(name, o) for name, o in par["outputs"].items() if isinstance(o, dict)]
    return {"ok": bool(par.get("ok")), "ok_loose": bool(par.get("ok_loose", par.get("ok"))), "outputs": outputs,
            "cases": par.get("cases") or []}  # fmt: skip


def _v1_export(ex: dict[str, Any]) -> dict[str, Any]:
    ex = dict(ex)
    ex["parity"] = _v1_parity(ex.get("parity"))
    q = ex.get("quantized")
    if isinstance(q, dict):
        q = dict(q)
        if isinstance(q.get("parity"), dict):
            q["rule"] = q["parity"].get("rule", "")
            q["parity"] = _v1_parity(q["parity"])
        ex["quantized"] = q
    return ex


def _v1_swap_parity(p: dict[str, Any]) -> dict[str, Any]:
    ok = p.get("verdict") == "pass"
    reason = None if ok else f"max rel err {p.get('max_rel_err')} > tolerance {p.get('tolerance')}"
    return {"ok": ok, "ok_loose": ok, "outputs": [], "reason": reason}


_V1_GOAL_KEYS = {"target": "goal", "triton_p50_ms": "ours_p50_ms", "triton_tflops": "ours_tflops"}


def _v1_campaign(records: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "notes": [],
        "goal_timings": [],
        "goals": [],
        "checks": [],
        "comparisons": [],
        "swaps": [],
    }
    rows = {"target_timing": "goal_timings", "check": "checks", "compare": "comparisons"}
    for r in records:
        if not isinstance(r, dict):
            continue
        r = dict(r)
        kind = r.pop("kind", "compare")
        if kind == "note":
            out["notes"].append(str(r.get("note", "")))
        elif kind == "ceiling":
            out["ceilings"] = r
        elif kind in rows:
            out[rows[kind]].append(r)
        elif kind == "target":
            out["goals"].append({_V1_GOAL_KEYS.get(k, k): v for k, v in r.items()})
        elif kind == "swap":
            summary = ", ".join(
                f"{k} {r[k]}" for k in ("parity", "swapped_sites", "sites", "speedup") if k in r
            )
            out["swaps"].append({"model": r.get("model", "?"), "size": r.get("size", "?"),
                                 "batch_size": r.get("batch_size", 1), "status": r.get("status", "?"),
                                 "note": "; ".join(x for x in (str(r.get("note") or ""), summary) if x)})  # fmt: skip
    return out
