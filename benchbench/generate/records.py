"""The typed results of `benchbench generate` and of the run's generation stage (JSON kind "generate")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Estimate:
    """A median with its distribution-free 95% CI and the number of samples it comes from; `coverage` is the
    interval's exact coverage, below 0.95 only when n < 6 (then the interval is the sample's range)."""

    median: float
    ci95: list[float]
    n: int
    unit: str
    coverage: float = 0.95


@dataclass
class PositionTPOT:
    """Time per output token for the decode steps that attended to contexts in [start, end)."""

    start: int
    end: int
    tpot_ms: Estimate


@dataclass
class GenerationPoint:
    """One (backend, batch size, prompt length) cell: `repeats` requests of `gen_len` tokens each."""

    backend: str
    batch_size: int
    prompt_len: int
    gen_len: int
    repeats: int
    ttft_ms: Estimate
    tpot_ms: Estimate | None
    e2e_ms: Estimate
    prefill_tokens_per_s: Estimate
    decode_tokens_per_s: Estimate | None
    tpot_by_position: list[PositionTPOT] = field(default_factory=list)
    peak_bytes: int | None = None
    peak_memory_method: str = ""
    cache_bytes_end: int = 0  # bytes the cache held after the last token (batch_size sequences)


@dataclass
class CacheFigures:
    """The cache of one sequence: analytic (from the config) beside the bytes of the tensors actually held."""

    family: str
    formula: str
    bytes_per_token: int
    state_bytes: int
    measured: list[list[int]] = field(default_factory=list)  # [context, bytes held per sequence]
    agrees: bool | None = None  # measured within 1% of analytic at every context


@dataclass
class GenerationRecord:
    """What a decoder costs per token on this machine, with the cache on."""

    model: str
    size: str | None
    decoder: str  # "step" or "hf": the interface used (see benchbench.generate.decoder)
    dtype: str
    device: str
    points: list[GenerationPoint]
    cache: CacheFigures | None
    cache_check_ok: bool = True  # greedy tokens with the cache equal recomputation, one token per decode step
    skipped: dict[str, str] = field(default_factory=dict)  # backend → why it did not run
    env: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


KIND = "generate"


def to_json(record: GenerationRecord) -> dict[str, Any]:
    """The record as versioned JSON (the schema layer's version, kind "generate")."""
    from benchbench.core.files import to_jsonable
    from benchbench.core.schema import SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "kind": KIND, **to_jsonable(record)}


def from_json(data: Any, source: str) -> GenerationRecord:
    """A "generate" JSON object back to its record, validated field by field (one-line error when wrong)."""
    from benchbench.core.errors import BadInputError
    from benchbench.core.schema import SCHEMA_VERSION, validate

    if not isinstance(data, dict) or data.get("kind") != KIND or data.get("schema_version") != SCHEMA_VERSION:
        raise BadInputError(f"{source}: not a benchbench generate result of schema version {SCHEMA_VERSION}")
    body = {k: v for k, v in data.items() if k not in ("schema_version", "kind")}
    return validate(GenerationRecord, body, source)
