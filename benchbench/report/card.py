"""Architecture card: one page per model (zoo, torchvision:/timm:/hf: or a user factory) in the seed's output
format — task, architecture diagram, parameter count, training recipe, baseline comparison, compute estimate and
scaling plan — as Markdown (the diagram as a Mermaid block) and HTML (the diagram drawn as SVG).

Every number comes from a profile made here (the model and its same-modality zoo baselines), a hardware-table
entry, or the recipe of the model's family (`benchbench.report.recipes`), each with its source named. An `hf:`
config too big to build is counted on the meta device instead (`card_profile`), and the card says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.files import write_text
from benchbench.core.stats import fmt_ratio
from benchbench.core.units import fmt_bytes, fmt_ci_ms, fmt_count, fmt_hours, fmt_ms
from benchbench.estimate.cost import estimate, facts_from_profile
from benchbench.estimate.counted import counted_profile
from benchbench.estimate.hardware import get_hardware
from benchbench.estimate.scaling import QUANTITIES, scaling_plan
from benchbench.matrix.records import DeployMatrix
from benchbench.measure.params import count_params
from benchbench.measure.profile import profile_target
from benchbench.measure.records import ProfileResult
from benchbench.measure.timing import TimingConfig
from benchbench.models.registry import MODALITIES, get_model_spec, list_models
from benchbench.report.document import NOT_MEASURED, Code, Section, Table, literal
from benchbench.report.html import render_html
from benchbench.report.markdown import render_markdown
from benchbench.report.matrix import deployment_card_section
from benchbench.report.recipes import RECIPES, Recipe, family_of
from benchbench.report.serving import serving_blocks
from benchbench.serve.records import ServeResult
from benchbench.sources.base import Target
from benchbench.sources.hf import TooBigToBuild
from benchbench.sources.target import default_size, load_target

CARD_SECTIONS = ("task", "architecture", "parameters", "recipe", "baselines", "compute", "scaling")
MAX_LAYER_ROWS = 40


def _tiny_timing() -> Any:
    return TimingConfig(warmup=2, min_repeats=5, max_repeats=50, min_time_s=0.05)


def neighbour_profiles(target: Target, params: int | None, size: str) -> dict[str, ProfileResult]:
    """The zoo models of the target's modality that the baselines table shows: those with fewer parameters than
    the target (the others are built and counted, not profiled), each at the target's sequence length capped at
    its own, without the FLOP counters' cross-checks (the table shows none).

    Where the time went before (issue 27, `card hf:DIR --task causal-lm` on a small Qwen2, > 600 s): every text
    model of the zoo was profiled at base size and its own length although none is smaller than the card's
    model, Mamba base among them at 2048 tokens (its reference scan, a Python loop of 2048 steps in each of 24
    layers, under three counters and the memory passes)."""
    if target.modality not in MODALITIES:
        return {}
    found = {}
    for name in list_models(modality=target.modality):
        if name == target.name:
            continue
        own = (get_model_spec(name).seq_len or {}).get(size)
        seq = None if target.seq_len is None or own is None else min(target.seq_len, own)
        other = load_target(name, size, 1, seq)
        if params is not None and count_params(other.model).total >= params:
            continue
        found[name] = profile_target(other, timing=_tiny_timing(), layers=False, train_step_peak=False,
                                     flops_check=False)  # fmt: skip
    return found


def _shapes(t: Any) -> str:
    if isinstance(t, torch.Tensor):
        return "×".join(map(str, t.shape)) + f" {str(t.dtype).removeprefix('torch.')}"
    return str(t)


def task_section(target: Target, p: ProfileResult, budget_ms: float | None) -> Section:
    """The card's task: inputs and outputs with their shapes, batch-1 latency with its CI, the latency budget, the origin."""
    names = target.input_names or tuple(f"input_{i}" for i in range(len(target.inputs)))
    ins = ", ".join(f"{n}: {_shapes(t)}" for n, t in zip(names, target.inputs))
    root = next((r for r in p.layers or [] if r.depth == 0), None)
    out = ", ".join("×".join(map(str, s)) for s in root.output_shapes) if root else NOT_MEASURED
    lat = p.latency.p50_ms if p.latency else None
    ci = f" (95% CI {fmt_ci_ms(p.latency.ci95_ms)})" if p.latency and p.latency.ci95_ms else ""
    perf = (f"latency budget {budget_ms} ms per batch (checked in Compute estimate)" if budget_ms else
            "no latency budget given (pass --latency-budget-ms)")  # fmt: skip
    origin = f"Paper: {target.spec.paper}." if target.spec else f"Built from {target.library}."
    here = (f"not measured: {p.counted.not_measured}" if p.counted else
            f"p50 {fmt_ms(lat)} ms{ci} on {p.device} (batch 1, {p.dtype})")  # fmt: skip
    return Section("task", "Task description", [
        f"**{literal(target.name)}** ({target.size}): {literal(target.description)} {origin}",
        Table(["input modality", "inputs (batch 1)", "output", "performance requirement", "measured here"],
              [[target.modality, ins, out, perf, here]]),
        *counted_blocks(p),
    ])  # fmt: skip


def counted_blocks(p: ProfileResult) -> list[Any]:
    """For a model too big to build: that every figure of the card is counted or estimated, not measured, and
    the decoder's counted per-token figures; nothing for a measured profile."""
    c = p.counted
    if c is None:
        return []
    blocks: list[Any] = [
        f"**Counted, not measured.** {literal(p.model)} was built on the {c.counted_on}: its parameters, MACs and "
        f"layer shapes below are counts. Latency and memory: not measured: {literal(c.not_measured)}. The compute "
        "estimate follows from the counts and the hardware table."
    ]
    if c.macs_per_prefill_token is not None:
        blocks.append(Table(["counted per token (causal LM, head included)", "value"], [
            ["parameters", f"{c.causal_lm_params:,}"],
            [f"MACs per prefill token ({c.prompt_tokens}-token prompt)", fmt_count(c.macs_per_prefill_token)],
            [f"MACs per decode token at context {c.decode_context}", fmt_count(c.macs_per_decode_token)],
            [f"KV cache bytes per token ({c.kv_dtype})", f"{c.kv_bytes_per_token:,}"],
            ["latency (TTFT, TPOT), memory", f"not measured: {c.not_measured}"],
        ]))  # fmt: skip
    return blocks


def architecture_section(p: ProfileResult) -> Section:
    """The card's architecture: the Mermaid block diagram and the layers to depth 2 with shapes, parameters and MACs."""
    blocks: list[Any] = []
    blocks.append(Code("mermaid", p.diagram) if p.diagram else f"Diagram: {NOT_MEASURED}.")
    rows = [r for r in p.layers or [] if r.depth <= 2]
    if rows:
        shown = rows[:MAX_LAYER_ROWS]
        blocks.append(Table(["layer", "type", "input shapes", "output shapes", "params", "MACs"], [
            ["  " * r.depth + (r.name or "(model)"), r.type,
             "; ".join("×".join(map(str, s)) for s in r.input_shapes),
             "; ".join("×".join(map(str, s)) for s in r.output_shapes),
             fmt_count(r.params), fmt_count(r.macs)] for r in shown]))  # fmt: skip
        if len(rows) > len(shown):
            blocks.append(f"({len(rows) - len(shown)} more layers at depth ≤ 2 not shown.)")
    else:
        blocks.append(f"Layer table: {NOT_MEASURED}.")
    return Section("architecture", "Architecture diagram", blocks)


def parameters_section(p: ProfileResult) -> Section:
    """The card's parameter count: the total, trainable, and each top-level component's share."""
    if p.params is None:
        return Section("parameters", "Parameter count", [f"Parameters: {NOT_MEASURED}."])
    total = p.params.total
    rows = [[name, f"{n:,}", f"{n / total:.1%}" if total else "—"] for name, n in p.params.by_module.items()]
    return Section("parameters", "Parameter count", [
        f"Total **{total:,}** parameters ({fmt_count(total)}), {p.params.trainable:,} trainable.",
        Table(["component", "params", "share"], [*rows, ["total", f"{total:,}", "100%"]]),
    ])  # fmt: skip


def recipe_section(target: Target, p: ProfileResult, samples: int | None) -> tuple[Section, Recipe, int]:
    """(the card's training-recipe section, the recipe chosen from the profile's evidence, the sample count it was scaled to)."""
    family, seen = family_of(target.modality, p)
    r = RECIPES[family]
    n = samples or r.reference_samples
    steps_per_epoch = max(1, math.ceil(n / r.batch_size))
    total_steps = steps_per_epoch * r.epochs
    params = p.params.total if p.params else 0
    ratio = n / params if params else None
    reg = r.regularization + (
        "; data is small for the model (fewer samples than parameters/100): raise weight decay and augmentation, "
        "or pick a smaller size"
        if ratio is not None and ratio < 0.01
        else ""
    )
    data_source = "--train-samples" if samples else f"{r.reference_data}, the recipe's own"
    rows = [
        ["optimizer", r.optimizer, r.source], ["learning rate", r.lr, r.source], ["schedule", r.schedule, r.source],
        ["batch size", str(r.batch_size), r.source], ["epochs", str(r.epochs), r.source],
        ["regularisation", reg, r.source + ("; the data-size advice is benchbench's" if reg != r.regularization else "")],
        ["data", f"{n:,} samples", data_source],
        ["steps", f"{steps_per_epoch:,}/epoch, {total_steps:,} in all", "computed: ⌈samples / batch⌉ × epochs"],
        ["warm-up steps", f"{int(total_steps * r.warmup_fraction):,}",
         f"computed: steps × {r.warmup_fraction:.4g} (the recipe's warm-up share)"],
        ["samples per parameter", "—" if ratio is None else f"{ratio:.3g}", "computed: samples / measured parameters"],
    ]  # fmt: skip
    return Section("recipe", "Training recipe", [
        f"The recipe of a **{r.family}** ({r.source}), chosen because the profile shows {seen.says()} in "
        f"{'an' if target.modality[:1] in 'aeiou' else 'a'} {target.modality} model; scaled to {n:,} samples: steps and warm-up follow the data size, the learning "
        "rate follows the batch size.",
        Table(["setting", "value", "source"], rows),
    ]), r, n  # fmt: skip


def baselines_section(
    target: Target, size: str, p: ProfileResult, profiles: dict[str, ProfileResult]
) -> Section:
    """The card's baselines: zoo models of the same modality with fewer parameters, their cost beside this model's."""
    total = p.params.total if p.params else math.inf
    rows = []
    for name, q in [(target.name, p), *profiles.items()]:
        qp = q.params.total if q.params else None
        if name != target.name and (qp is None or qp >= total):
            continue
        rows.append([name + (" (this)" if name == target.name else ""), fmt_count(qp),
                     fmt_count(q.flops.macs if q.flops else None), fmt_ms(q.latency.p50_ms if q.latency else None),
                     fmt_ci_ms(q.latency.ci95_ms if q.latency else None),
                     fmt_bytes(q.memory.activation_bytes_train if q.memory else None),
                     fmt_bytes(q.memory.peak_bytes_inference if q.memory else None)])  # fmt: skip
    if target.modality not in MODALITIES:
        return Section("baselines", "Baseline comparison", [
            f"No zoo baseline: the modality of {literal(target.name)} is not known; give one of {', '.join(MODALITIES)} with "
            "--modality to compare it with the zoo models of that modality."])  # fmt: skip
    blocks: list[Any] = [
        f"Zoo models of the same modality ({target.modality}) with fewer parameters, at size {size}, batch 1"
        + (f", at most {target.seq_len} tokens (this model's length)" if target.seq_len else "")
        + f", on {_measured_device(p, profiles)} ({p.dtype}). Accuracy is not measured by benchbench: compare cost here, quality on your data."
    ]
    if len(rows) == 1:
        blocks.append(f"No simpler {target.modality} model in the zoo.")
    blocks.append(Table(["model", "params", "MACs", "p50 ms", "95% CI ms", "train activations", "inference peak"],
                        rows))  # fmt: skip
    return Section("baselines", "Baseline comparison", blocks)


def _measured_device(p: ProfileResult, profiles: dict[str, ProfileResult]) -> str:
    """Where the baselines ran: the model's device, or theirs when the model was only counted (on meta)."""
    return next(iter(profiles.values())).device if p.counted and profiles else p.device


def measured_serving_blocks(p: ProfileResult, serving: ServeResult | None) -> list[Any]:
    """What serving measured on this machine, headed "Measured on"; or how to measure it."""
    if serving is None:
        return [f"**Measured on this machine**: serving cost {NOT_MEASURED} (run `benchbench serve MODEL --scenario "
                "server --find-max-qps --p99-ms B --json F` and pass `--serving F`)."]  # fmt: skip
    return serving_blocks(serving, "serving_load")


def compute_section(
    p: ProfileResult,
    hw_name: str,
    recipe: Recipe,
    samples: int,
    budget_ms: float | None,
    serving: ServeResult | None = None,
) -> Section:
    """The card's compute: what serving measured here, then training and inference estimated for the table device `hw_name`."""
    hw = get_hardware(hw_name)
    try:
        est = estimate(facts_from_profile(p), hw, train_samples=samples, epochs=recipe.epochs,
                       batch_size=recipe.batch_size, latency_budget_ms=budget_ms)  # fmt: skip
    except BadInputError as e:
        return Section("compute", "Compute estimate", [f"Compute estimate: {NOT_MEASURED} ({e})."])
    tr, mem, a = est["training"], est["memory"], est["assumptions"]
    cost = f"${tr['cost_usd']:,.2f}" if tr["cost_usd"] is not None else "no price"
    fits = "not measured" if mem["fits"] is None else ("fits" if mem["fits"] else "does NOT fit")
    blocks: list[Any] = [
        *measured_serving_blocks(p, serving),
        f"**Estimated for {literal(hw.name)}** (from the hardware table and this profile's FLOPs and bytes; "
        "nothing was run there).",
        f"Training on **{literal(hw.name)}** ({est['dtype']}, utilisation {a['utilization']} MFU): {tr['training_flops']:.3g} FLOPs "
        f"= 3 × {a['forward_flops_per_sample']:.3g} forward FLOPs/sample × {samples:,} samples × {recipe.epochs} epochs "
        f"→ **{tr['gpu_hours']:,.2f} GPU-hours** ({fmt_hours(tr['gpu_hours'])}), **{cost}** at ${hw.price_per_hour}/h "
        f"({a['price_source']}). Training step at batch {recipe.batch_size}: {fits}; largest batch {mem['max_batch_size']}.",
        Table(["batch", "latency ms", "per sample ms", "throughput /s", "$ per 1M (estimated)", "source"], [
            [str(e["batch_size"]), f"{e['latency_ms']:.4g}", f"{e['latency_per_sample_ms']:.4g}",
             f"{e['throughput_per_s']:,.0f}", "—" if e["cost_per_million_usd"] is None else f"{e['cost_per_million_usd']:.4g}",
             e["source"] if e["source"] == "measured" else f"estimated: {e['source']}"] for e in est["inference"]]),
    ]  # fmt: skip
    b = est.get("budget")
    if b:
        c = b["cheapest"]
        blocks.append(f"Cheapest device within {budget_ms} ms per batch: " + (
            f"**{c['hardware']}** at batch {c['batch_size']}, ${c['cost_per_million_usd']:.4g} per 1M ({c['source']})."
            if c else "none in the table."))  # fmt: skip
    return Section("compute", "Compute estimate", blocks)


def scaling_blocks(plan: Any) -> list[Any]:
    """The scaling plan's measured points and doubling costs as tables, then its notes."""
    seq = plan.sequence_model
    rows = [
        [p.axis, f"{p.factor:g}", fmt_count(p.params), fmt_count(p.flops), fmt_bytes(p.activation_bytes),
         fmt_ms(p.latency_ms), fmt_ci_ms(p.latency_ci95_ms)]
        + ([fmt_count(p.compute_optimal_tokens)] if seq else [])
        for p in plan.points
    ]  # fmt: skip
    points = Table(
        ["axis", "factor", "params", "FLOPs", "train activations", "p50 ms", "95% CI ms"]
        + (["tokens (20/param)"] if seq else []),
        rows,
    )

    def cell(axis: str, q: str, d: dict[str, float | None]) -> str:
        if q == "latency_ms":
            return fmt_ratio(d[q], plan.doubling_ci95.get(axis), ".2f", "×")
        return "—" if d[q] is None else f"{d[q]:.2f}"

    doubling = Table(
        ["doubling", "params ×", "FLOPs ×", "activations ×", "latency × [95% CI]"],
        [[axis, *(cell(axis, q, d) for q in QUANTITIES)] for axis, d in plan.doubling.items()],
    )
    return [points, doubling, *plan.notes]


def scaling_section(spec: Any) -> Section:
    """The card's scaling plan: how parameters, FLOPs and latency grow when a zoo family doubles its width or depth."""
    if spec is None:
        return Section("scaling", "Scaling plan", [
            f"Scaling plan: {NOT_MEASURED} (a user factory has no config dataclass to scale; scale it yourself and "
            "profile each size)."])  # fmt: skip
    plan = scaling_plan(spec.name, size="tiny", factors=(1.0, 2.0), timing=_tiny_timing())
    d = plan.doubling
    advice = []
    for axis in d:
        if d[axis].get("params") and d[axis].get("flops"):
            advice.append(
                f"doubling {axis} multiplies params by {d[axis]['params']:.2f} and FLOPs by {d[axis]['flops']:.2f}"
            )
    more = ("With more data, grow parameters to about tokens / 20 (Hoffmann et al. 2022) before training longer."
            if plan.sequence_model else
            "With more data, grow capacity along the axis that adds parameters most cheaply in FLOPs and memory, "
            "and check validation loss still falls before scaling further.")  # fmt: skip
    return Section("scaling", "Scaling plan", [
        f"Measured on the tiny config scaled ×1 and ×2 (dataclasses.replace); {'; '.join(advice) or 'no scalable axis'}. {more}",
        *scaling_blocks(plan),
    ])  # fmt: skip


def no_scaling_section(target: Target) -> Section:
    """The card's scaling section for a model without a zoo config to scale: why there is none, and what to do."""
    return Section("scaling", "Scaling plan", [
        f"Scaling plan: {NOT_MEASURED}. It scales a zoo family's config dataclass by width and depth; "
        f"{target.name} is built as {target.library} defines it. Profile a wider or deeper configuration "
        "(for hf:, a config directory) next to this one to see how its costs grow."
    ])  # fmt: skip


def card_profile(
    model: str, size: str | None, task: str | None, modality: str | None
) -> tuple[Target, ProfileResult]:
    """The card's model and its profile: built and measured here, or, for an `hf:` config too big to build,
    counted on the meta device (`estimate.counted`) with latency and memory not measured. `modality` is the
    user's word on what the model is: it picks the baselines and the recipe."""
    too_big = None
    try:  # a factory's own batch
        target = load_target(model, size or default_size(model, "base"), None, task=task)
    except TooBigToBuild as exc:
        too_big = exc
    if too_big is not None:  # outside the handler: a failure while counting is not chained to the refusal
        target, p = counted_profile(model, too_big, task=task)
    if modality is not None:
        target.modality = modality
    if too_big is None:
        p = profile_target(target, timing=_tiny_timing(), train_step_peak=False)
    p.modality = target.modality
    return target, p


def build_card(
    model: str,
    *,
    size: str | None = None,
    hardware: str = "h100-sxm",
    train_samples: int | None = None,
    latency_budget_ms: float | None = None,
    with_scaling: bool = True,
    task: str | None = None,
    baseline_size: str | None = None,
    modality: str | None = None,
    serving: ServeResult | None = None,
    deploy: DeployMatrix | None = None,
) -> tuple[list[Section], ProfileResult]:
    """Profile `model` and its simpler same-modality zoo neighbours, and assemble the card's sections (the seed's
    seven, and the deployment matrix's best row within its quality budget when `deploy` is given).
    `size` is a zoo preset (default base); library models are built as their library defines them. The
    neighbours are profiled at `baseline_size` (default: the model's own zoo size, base for other models)."""
    if modality is not None and modality not in MODALITIES:
        raise unknown_name("modality", modality, MODALITIES)
    target, p = card_profile(model, size, task, modality)
    zoo_size = baseline_size or (target.size if target.library == "zoo" else "base")
    others = neighbour_profiles(target, p.params.total if p.params else None, zoo_size)
    recipe_sec, recipe, n = recipe_section(target, p, train_samples)
    if target.spec is None:
        scaling = no_scaling_section(target)
    elif with_scaling:
        scaling = scaling_section(target.spec)
    else:
        scaling = Section("scaling", "Scaling plan", [f"Scaling plan: {NOT_MEASURED} (--no-scaling)."])
    sections = [
        task_section(target, p, latency_budget_ms),
        architecture_section(p),
        parameters_section(p),
        recipe_sec,
        baselines_section(target, zoo_size, p, others),
        compute_section(p, hardware, recipe, n, latency_budget_ms, serving),
        scaling,
    ]
    return sections + ([deployment_card_section(deploy)] if deploy is not None else []), p


def write_card(sections: list[Section], p: ProfileResult, path: str | Path) -> Path:
    """Write the card as Markdown (.md) or self-contained HTML (.html), by the file's suffix."""
    path = Path(path)
    title = f"Architecture card: {p.model} ({p.size})"
    if path.suffix == ".html":
        return write_text(path, render_html(title, sections))
    if path.suffix != ".md":
        raise BadInputError(f"card file must end in .md or .html, got {path.name!r}")
    return write_text(path, render_markdown(title, sections))
