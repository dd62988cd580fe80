"""What the run's `generation` stage measures (registered in `benchbench/stages/generation.py`) and the values its
budgets read.

`generation_stage(target, result, ctx)` is cheap (a few short prompts, a few decode steps) so that gpt2 and mamba at
`tiny` add well under 10 s each to the default CPU suite. `GATE_METRICS` maps budget keys (units in the name) to
(extractor(profile) -> float | None, "max" or "min").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchbench.generate.records import GenerationRecord
from benchbench.generate.run import GenerateSettings, generate

STAGE_SETTINGS = GenerateSettings(prompt_lens=(8, 32), gen_len=8, batch_sizes=(1,), repeats=6, memory=False,
                                  fit_context=True)  # fmt: skip


def generation_stage(target: Any, result: Any, ctx: Any) -> GenerationRecord | None:
    """Per-token figures of `target` if it is a decoder (None for other models), on the run's device and dtype."""
    from benchbench.generate.build import ZOO_DECODERS

    if target.library == "zoo" and target.name not in ZOO_DECODERS:
        return None
    settings = GenerateSettings(**{**STAGE_SETTINGS.__dict__, "device": ctx.device, "dtype": ctx.dtype,
                                   "size": target.size if target.library == "zoo" else None})  # fmt: skip
    return generate(target.name, settings)


def generation_of(profile: Any) -> GenerationRecord | None:
    """A profile's generation record (the stage's field `generation`), typed even when read back from JSON."""
    record = getattr(profile, "generation", None)
    if record is None or isinstance(record, GenerationRecord):
        return record
    from benchbench.core.schema import validate

    return validate(GenerationRecord, record, "generation record")


def _first_point(profile: Any, pick: Callable[[Any], Any]) -> float | None:
    record = generation_of(profile)
    if record is None or not record.points:
        return None
    value = pick(record.points[0])
    return None if value is None else float(value.median if hasattr(value, "median") else value)


GATE_METRICS: dict[str, tuple[Callable[[Any], float | None], str]] = {
    "ttft_ms": (lambda p: _first_point(p, lambda pt: pt.ttft_ms), "max"),
    "tpot_ms": (lambda p: _first_point(p, lambda pt: pt.tpot_ms), "max"),
    "decode_tokens_per_s": (lambda p: _first_point(p, lambda pt: pt.decode_tokens_per_s), "min"),
    "kv_bytes_per_token": (
        lambda p: (
            None if (r := generation_of(p)) is None or r.cache is None else float(r.cache.bytes_per_token)
        ),
        "max",
    ),
}
