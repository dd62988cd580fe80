"""Results: dataclasses that serialize to versioned JSON, written atomically, loaded with clear errors.

A `ProfileResult` is everything measured for one model at one size, batch, device and dtype; a
`RunResult` is a suite run: its profiles, kernel comparisons and environment. Sections other
stages add (memory, export, health, ...) are plain dicts under their own key.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.core.files import read_json

SCHEMA_VERSION = 1

# Dotted keys every profile record carries; scripts depend on them.
PROFILE_KEYS = (
    "model", "modality", "size", "batch_size", "device", "dtype",
    "params.total", "params.trainable", "params.by_module",
    "flops.macs", "flops.flops", "flops.uncounted_ops",
    "latency.p50_ms", "latency.p90_ms", "latency.p99_ms", "latency.n", "latency.throughput_per_s",
    "env",
)  # fmt: skip


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class StageError:
    """A stage that failed for one model: which stage, the exception type and its message."""

    stage: str
    error: str
    type: str = "Exception"

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException) -> StageError:
        msg = str(exc).strip().splitlines()
        return cls(stage=stage, error=msg[0] if msg else repr(exc), type=type(exc).__name__)


@dataclass
class ProfileResult:
    """What was measured for one model configuration. Missing measurements are None, never 0."""

    model: str
    modality: str
    size: str
    batch_size: int
    device: str
    dtype: str
    seq_len: int | None = None
    params: dict[str, Any] | None = None
    flops: dict[str, Any] | None = None
    latency: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    sections: dict[str, Any] = field(default_factory=dict)  # export, health, layers, sweeps, swap ...
    errors: list[StageError] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        sections = d.pop("sections")
        d.update(sections)
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "profile",
            "status": "ok" if self.ok else "failed",
            **d,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> ProfileResult:
        _check_version(d, source)
        for key in ("model", "modality", "size", "batch_size", "device", "dtype"):
            if key not in d:
                raise BadInputError(f"{source}: profile record lacks key {key!r}")
        known = {f for f in cls.__dataclass_fields__ if f != "sections"}
        core = {k: v for k, v in d.items() if k in known}
        core["errors"] = [StageError(**e) for e in d.get("errors", [])]
        sections = {
            k: v for k, v in d.items() if k not in known and k not in ("schema_version", "kind", "status")
        }
        return cls(**core, sections=sections)


@dataclass
class RunResult:
    """A suite run: profiles and kernel comparisons measured together, with their environment."""

    suite: str
    device: str
    profiles: list[ProfileResult] = field(default_factory=list)
    kernels: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(
        default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    )
    created_at: str = field(default_factory=now_iso)
    elapsed_s: float | None = None
    shard: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "run",
            "run_id": self.run_id,
            "suite": self.suite,
            "device": self.device,
            "created_at": self.created_at,
            "elapsed_s": self.elapsed_s,
            "shard": self.shard,
            "env": self.env,
            "profiles": [p.to_dict() for p in self.profiles],
            "kernels": self.kernels,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> RunResult:
        _check_version(d, source)
        for key in ("suite", "device", "profiles"):
            if key not in d:
                raise BadInputError(f"{source}: run record lacks key {key!r}")
        return cls(
            suite=d["suite"],
            device=d["device"],
            profiles=[
                ProfileResult.from_dict(p, f"{source} profile {i}") for i, p in enumerate(d["profiles"])
            ],
            kernels=d.get("kernels", []),
            env=d.get("env", {}),
            run_id=d.get("run_id", "unknown"),
            created_at=d.get("created_at", ""),
            elapsed_s=d.get("elapsed_s"),
            shard=d.get("shard"),
        )


def _check_version(d: dict[str, Any], source: str) -> None:
    if not isinstance(d, dict):
        raise BadInputError(f"{source}: expected a JSON object, got {type(d).__name__}")
    if "schema_version" not in d:
        raise BadInputError(f"{source}: lacks key 'schema_version' (not a benchbench result?)")
    v = d["schema_version"]
    if not isinstance(v, int) or v > SCHEMA_VERSION:
        raise BadInputError(
            f"{source}: schema_version {v!r} is newer than this benchbench reads ({SCHEMA_VERSION}); upgrade benchbench"
        )


def load_run(path: str | Path) -> RunResult:
    """Load a run from `results.json` or from a run folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    d = read_json(path)
    if isinstance(d, dict) and d.get("kind") == "profile":
        p = ProfileResult.from_dict(d, str(path))
        return RunResult(suite="single", device=p.device, profiles=[p], env=p.env)
    return RunResult.from_dict(d, str(path))


def load_profile(path: str | Path) -> ProfileResult:
    return ProfileResult.from_dict(read_json(path), str(path))


def get_dotted(d: dict[str, Any], dotted: str) -> Any:
    """`get_dotted(d, "latency.p50_ms")`; raises KeyError naming the missing part."""
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur
