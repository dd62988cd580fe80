"""Scaling plan: profile a zoo family at several widths or depths and fit how its costs grow.

Scaled configs come from `dataclasses.replace` on the family's config dataclass: width fields (hidden, width,
intermediate, mlp, emb, widths, ...) are multiplied by the factor (rounded to a multiple of `heads` where the
config has heads), depth fields (layers, encoder_layers, ...) likewise (at least 1). For each quantity y
(params, FLOPs, activation memory) the exponent b of y ∝ factor^b is a least-squares fit in log space; doubling then
costs 2^b. Latency is measured with every config in interleaved rounds (`measure.interleave`): the ×1 config once,
shared by both axes, and the latency exponent comes from the paired ratio of the largest to the smallest factor,
with its 95% CI (`doubling_ci95`). For sequence models the compute-optimal data size is about 20 training tokens per
parameter (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", Table 3 / §3).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.models.registry import get_model_spec

WIDTH_FIELDS = (
    "hidden",
    "width",
    "dim",
    "d_model",
    "intermediate",
    "mlp",
    "emb",
    "mlp1",
    "mlp2",
    "fc1",
    "fc2",
    "conv_dim",
    "widths",
    "stem",
    "head",
)
DEPTH_FIELDS = ("layers", "depth", "encoder_layers", "decoder_layers", "image_layers", "text_layers")
AXES = ("width", "depth")
TOKENS_PER_PARAM = 20  # Hoffmann et al. 2022 (Chinchilla)
SEQUENCE_MODALITIES = ("text", "audio")
QUANTITIES = ("params", "flops", "activation_bytes", "latency_ms")


def _scale_int(v: int, f: float, multiple: int = 1) -> int:
    return max(multiple, round(v * f / multiple) * multiple)


def scaled_config(cfg: Any, axis: str, factor: float) -> Any:
    """`cfg` with its width or depth fields multiplied by `factor`; BadInputError if it has none."""
    if axis not in AXES:
        raise unknown_name("scaling axis", axis, AXES)
    names = WIDTH_FIELDS if axis == "width" else DEPTH_FIELDS
    fields = {f.name for f in dataclasses.fields(cfg)}
    heads = getattr(cfg, "heads", 1) if axis == "width" else 1
    changes: dict[str, Any] = {}
    for name in names:
        if name not in fields:
            continue
        v = getattr(cfg, name)
        mult = heads if name in ("hidden", "width", "dim", "d_model") else 1
        if isinstance(v, int) and not isinstance(v, bool):
            changes[name] = _scale_int(v, factor, mult) if axis == "width" else max(1, round(v * factor))
        elif isinstance(v, tuple) and all(isinstance(x, int) for x in v):
            changes[name] = tuple(
                _scale_int(x, factor) if axis == "width" else max(1, round(x * factor)) for x in v
            )
    if not changes:
        raise BadInputError(f"{type(cfg).__name__} has no {axis} field (looked for {', '.join(names)})")
    return dataclasses.replace(cfg, **changes)


def fit_exponent(factors: list[float], values: list[float | None]) -> float | None:
    """b in y ∝ x^b, least squares on log-log; None with fewer than two positive points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(factors, values) if y is not None and y > 0 and x > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx else None


@dataclass
class ScalingPoint:
    axis: str
    factor: float
    config: dict[str, Any]
    params: int | None
    flops: float | None
    activation_bytes: int | None
    latency_ms: float | None  # p50 over interleaved rounds with every other config of the plan
    compute_optimal_tokens: int | None = None
    latency_ci95_ms: list[float] | None = None


@dataclass
class ScalingPlan:
    model: str
    size: str
    batch_size: int
    points: list[ScalingPoint] = field(default_factory=list)
    exponents: dict[str, dict[str, float | None]] = field(default_factory=dict)  # axis → quantity → b
    doubling: dict[str, dict[str, float | None]] = field(default_factory=dict)  # axis → quantity → 2^b
    doubling_ci95: dict[str, list[float]] = field(default_factory=dict)  # axis → 95% CI of latency's 2^b
    sequence_model: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _target(spec: Any, cfg: Any, size: str, batch_size: int) -> Any:
    import torch

    from benchbench.sources.target import Target

    seq_len = spec.seq_len.get(size) if spec.seq_len else None
    torch.manual_seed(0)
    model = spec.builder(cfg).eval()
    inputs = spec.make_inputs(cfg, batch_size, seq_len, torch.Generator().manual_seed(0))
    return Target(name=spec.name, size=size, modality=spec.modality, model=model, inputs=inputs,
                  batch_size=batch_size, seq_len=seq_len, spec=spec)  # fmt: skip


def _counts(target: Any) -> dict[str, Any]:
    from benchbench.measure.profile import profile_target

    p = profile_target(target, layers=False, train_step_peak=False, flops_check=False, latency=False)
    return {
        "params": p.params.total if p.params else None,
        "flops": p.flops.flops if p.flops else None,
        "activation_bytes": p.memory.activation_bytes_train if p.memory else None,
    }


def _time_together(targets: dict[str, Any], timing: Any) -> Any:
    """Every config's forward pass in interleaved rounds, so that load on the machine hits all alike."""
    import torch

    from benchbench.core.forward import forward_fn
    from benchbench.measure.interleave import interleave

    dev = torch.device("cpu")
    fns = {key: forward_fn(t.model, t.inputs, dev, torch.float32) for key, t in targets.items()}
    return interleave(fns, device=dev, config=timing)


def _key(axis: str, factor: float) -> str:
    return "x1" if factor == 1.0 else f"{axis} x{factor:g}"


def scaling_plan(
    model: str,
    *,
    size: str = "tiny",
    factors: tuple[float, ...] = (1.0, 2.0),
    axes: tuple[str, ...] = AXES,
    batch_size: int = 1,
    timing: Any = None,
) -> ScalingPlan:
    """Profile `model`'s `size` config scaled by each factor along each axis that its config has; fit exponents."""
    if len(factors) < 2:
        raise BadInputError(f"a scaling fit needs two or more factors, got {factors}")
    spec = get_model_spec(model)
    base = spec.config(size)
    plan = ScalingPlan(
        model=model, size=size, batch_size=batch_size, sequence_model=spec.modality in SEQUENCE_MODALITIES
    )
    configs: dict[str, dict[float, Any]] = {}
    for axis in axes:
        try:
            configs[axis] = {f: base if f == 1.0 else scaled_config(base, axis, f) for f in factors}
        except BadInputError as e:
            plan.notes.append(str(e))
    # One target per distinct config: x1 is the same model on every axis, built and timed once.
    targets = {
        _key(a, f): _target(spec, cfg, size, batch_size) for a, fc in configs.items() for f, cfg in fc.items()
    }
    counts = {key: _counts(t) for key, t in targets.items()}
    timed = _time_together(targets, timing) if len(targets) > 1 else None
    latency = {key: timed.stats(key) for key in targets} if timed else {}
    for axis, fc in configs.items():
        pts = []
        for f, cfg in fc.items():
            key = _key(axis, f)
            m, lat = counts[key], latency.get(key)
            tokens = TOKENS_PER_PARAM * m["params"] if plan.sequence_model and m["params"] else None
            pts.append(ScalingPoint(axis, f, dataclasses.asdict(cfg), latency_ms=lat.p50_ms if lat else None,
                                    compute_optimal_tokens=tokens, latency_ci95_ms=lat.ci95_ms if lat else None,
                                    **m))  # fmt: skip
        plan.points += pts
        plan.exponents[axis] = {
            q: fit_exponent([p.factor for p in pts], [getattr(p, q) for p in pts]) for q in QUANTITIES
        }
        plan.doubling[axis] = {q: None if b is None else 2.0**b for q, b in plan.exponents[axis].items()}
        lo_f, hi_f = min(fc), max(fc)
        if timed is not None and hi_f > lo_f:  # latency from the paired ratio of the extremes, timed together
            r = timed.ratio(_key(axis, hi_f), _key(axis, lo_f))
            span = math.log(hi_f / lo_f)

            def doubling(x: float, span: float = span) -> float:
                return 2.0 ** (math.log(x) / span) if x > 0 else 0.0

            plan.exponents[axis]["latency_ms"] = math.log(r.value) / span if r.value > 0 else None
            plan.doubling[axis]["latency_ms"] = doubling(r.value)
            plan.doubling_ci95[axis] = [doubling(r.lo), doubling(r.hi)]
    if plan.sequence_model:
        plan.notes.append(
            f"compute-optimal data: about {TOKENS_PER_PARAM} training tokens per parameter (Hoffmann et al. 2022)"
        )
    plan.notes.append(
        "latency: p50 of each config timed in interleaved rounds with the others (x1 once, shared by the axes); "
        "latency x is the paired ratio of the largest to the smallest factor, with its 95% CI"
    )
    return plan
