"""Architecture card: one page per zoo model in the seed's output format — task, architecture diagram, parameter
count, training recipe, baseline comparison, compute estimate and scaling plan — as Markdown and HTML.

Every number comes from a profile made here (the model and its same-modality baselines), a hardware-table entry
or a stated recipe default with its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.files import write_text
from benchbench.core.results import ProfileResult
from benchbench.core.stats import fmt_ratio
from benchbench.core.units import fmt_bytes, fmt_ci_ms, fmt_count, fmt_hours, fmt_ms
from benchbench.estimate.cost import estimate, facts_from_profile
from benchbench.estimate.hardware import get_hardware
from benchbench.estimate.scaling import QUANTITIES, scaling_plan
from benchbench.measure.profile import profile
from benchbench.measure.timing import TimingConfig
from benchbench.models.registry import get_model_spec, list_models
from benchbench.report.document import NOT_MEASURED, Code, Section, Table
from benchbench.report.html import render_html
from benchbench.report.markdown import render_markdown

CARD_SECTIONS = ("task", "architecture", "parameters", "recipe", "baselines", "compute", "scaling")
MAX_LAYER_ROWS = 40


@dataclass(frozen=True)
class Recipe:
    """A standard training recipe for a modality, with its source and the dataset size it was made for."""

    optimizer: str
    lr: str
    schedule: str
    batch_size: int
    epochs: int
    regularization: str
    reference_samples: int
    reference_data: str
    source: str
    warmup_fraction: float = 0.0


RECIPES = {
    "image": Recipe("SGD, momentum 0.9, nesterov", "0.1 × batch/256", "cosine decay to 0 (5 warm-up epochs)", 256, 90,
                    "weight decay 1e-4, label smoothing 0.1, random-resized-crop + flip", 1_281_167, "ImageNet-1k",
                    "He et al. 2016; Goyal et al. 2017 (linear LR scaling, warm-up)", 5 / 90),
    "text": Recipe("AdamW (β 0.9, 0.999)", "1e-4 peak", "linear warm-up (1%), linear decay", 256, 40,
                   "weight decay 0.01, dropout 0.1", 3_300_000_000 // 128, "BooksCorpus + Wikipedia (128-token sequences)",
                   "Devlin et al. 2019 (BERT pre-training)", 0.01),
    "audio": Recipe("AdamW (β 0.9, 0.98)", "5e-4 peak", "linear warm-up (8%), then linear decay", 64, 100,
                    "weight decay 0.01, dropout 0.1, SpecAugment", 281_241, "LibriSpeech 960 h utterances",
                    "Baevski et al. 2020; Park et al. 2019 (SpecAugment)", 0.08),
    "tabular": Recipe("AdamW", "1e-3", "constant, early stopping on validation (patience 16)", 256, 100,
                      "weight decay 1e-5, dropout 0.1", 500_000, "a mid-sized tabular benchmark",
                      "Gorishniy et al. 2021 (Revisiting Deep Learning Models for Tabular Data)"),
    "graph": Recipe("Adam", "0.01", "constant, 200 epochs, early stopping (patience 10)", 1, 200,
                    "weight decay 5e-4, dropout 0.5", 1, "one citation graph (full-batch)", "Kipf & Welling 2017"),
    "point_cloud": Recipe("Adam", "1e-3", "step decay ×0.7 every 20 epochs", 32, 250,
                          "weight decay 1e-4, dropout 0.3, random rotation/jitter", 9_843, "ModelNet40 train split",
                          "Qi et al. 2017 (PointNet)"),
    "multimodal": Recipe("AdamW", "1e-4 peak", "linear warm-up (5%), cosine decay", 256, 20,
                         "weight decay 0.05, dropout 0.1", 443_757, "VQA v2 train questions",
                         "Kim et al. 2021 (ViLT)", 0.05),
}  # fmt: skip


def _tiny_timing() -> Any:
    return TimingConfig(warmup=2, min_repeats=5, max_repeats=50, min_time_s=0.05)


def _profile(name: str, size: str, layers: bool = True) -> ProfileResult:
    return profile(name, size=size, batch_size=1, timing=_tiny_timing(), layers=layers, train_step_peak=False)


def _shapes(t: Any) -> str:
    if isinstance(t, torch.Tensor):
        return "×".join(map(str, t.shape)) + f" {str(t.dtype).removeprefix('torch.')}"
    return str(t)


def task_section(spec: Any, size: str, p: ProfileResult, budget_ms: float | None) -> Section:
    inputs = spec.example_inputs(size, 1)
    ins = ", ".join(f"{n}: {_shapes(t)}" for n, t in zip(spec.input_names, inputs))
    root = next((r for r in p.layers or [] if r.depth == 0), None)
    out = ", ".join("×".join(map(str, s)) for s in root.output_shapes) if root else NOT_MEASURED
    lat = p.latency.p50_ms if p.latency else None
    ci = f" (95% CI {fmt_ci_ms(p.latency.ci95_ms)})" if p.latency and p.latency.ci95_ms else ""
    perf = (f"latency budget {budget_ms} ms per batch (checked in Compute estimate)" if budget_ms else
            "no latency budget given (pass --latency-budget-ms)")  # fmt: skip
    return Section("task", "Task description", [
        f"**{spec.name}** ({size}): {spec.description} Paper: {spec.paper}.",
        Table(["input modality", "inputs (batch 1)", "output", "performance requirement", "measured here"],
              [[spec.modality, ins, out, perf, f"p50 {fmt_ms(lat)} ms{ci} on {p.device} (batch 1, {p.dtype})"]]),
    ])  # fmt: skip


def architecture_section(p: ProfileResult) -> Section:
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
    if p.params is None:
        return Section("parameters", "Parameter count", [f"Parameters: {NOT_MEASURED}."])
    total = p.params.total
    rows = [[name, f"{n:,}", f"{n / total:.1%}" if total else "—"] for name, n in p.params.by_module.items()]
    return Section("parameters", "Parameter count", [
        f"Total **{total:,}** parameters ({fmt_count(total)}), {p.params.trainable:,} trainable.",
        Table(["component", "params", "share"], [*rows, ["total", f"{total:,}", "100%"]]),
    ])  # fmt: skip


def recipe_section(spec: Any, p: ProfileResult, samples: int | None) -> tuple[Section, Recipe, int]:
    r = RECIPES.get(spec.modality, RECIPES["tabular"])
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
    rows = [
        ["optimizer", r.optimizer], ["learning rate", r.lr], ["schedule", r.schedule],
        ["batch size", str(r.batch_size)], ["epochs", str(r.epochs)], ["regularisation", reg],
        ["data", f"{n:,} samples" + (" (stated)" if samples else f" ({r.reference_data}, the recipe's own)")],
        ["steps", f"{steps_per_epoch:,}/epoch, {total_steps:,} in all, warm-up {int(total_steps * r.warmup_fraction):,}"],
        ["samples per parameter", "—" if ratio is None else f"{ratio:.3g}"],
    ]  # fmt: skip
    return Section("recipe", "Training recipe", [
        f"The standard {spec.modality} recipe ({r.source}), scaled to {n:,} samples: steps and warm-up follow "
        "the data size; the learning rate follows the batch size.",
        Table(["setting", "value"], rows),
    ]), r, n  # fmt: skip


def baselines_section(spec: Any, size: str, p: ProfileResult, profiles: dict[str, ProfileResult]) -> Section:
    total = p.params.total if p.params else math.inf
    rows = []
    for name, q in [(spec.name, p), *profiles.items()]:
        qp = q.params.total if q.params else None
        if name != spec.name and (qp is None or qp >= total):
            continue
        rows.append([name + (" (this)" if name == spec.name else ""), fmt_count(qp),
                     fmt_count(q.flops.macs if q.flops else None), fmt_ms(q.latency.p50_ms if q.latency else None),
                     fmt_ci_ms(q.latency.ci95_ms if q.latency else None),
                     fmt_bytes(q.memory.activation_bytes_train if q.memory else None),
                     fmt_bytes(q.memory.peak_bytes_inference if q.memory else None)])  # fmt: skip
    blocks: list[Any] = [
        f"Zoo models of the same modality ({spec.modality}) with fewer parameters, at size {size}, batch 1, "
        f"on {p.device} ({p.dtype}). Accuracy is not measured by benchbench: compare cost here, quality on your data."
    ]
    if len(rows) == 1:
        blocks.append(f"No simpler {spec.modality} model in the zoo.")
    blocks.append(Table(["model", "params", "MACs", "p50 ms", "95% CI ms", "train activations", "inference peak"],
                        rows))  # fmt: skip
    return Section("baselines", "Baseline comparison", blocks)


def compute_section(
    p: ProfileResult, hw_name: str, recipe: Recipe, samples: int, budget_ms: float | None
) -> Section:
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
        f"Training on **{hw.name}** ({est['dtype']}, utilisation {a['utilization']} MFU): {tr['training_flops']:.3g} FLOPs "
        f"= 3 × {a['forward_flops_per_sample']:.3g} forward FLOPs/sample × {samples:,} samples × {recipe.epochs} epochs "
        f"→ **{tr['gpu_hours']:,.2f} GPU-hours** ({fmt_hours(tr['gpu_hours'])}), **{cost}** at ${hw.price_per_hour}/h "
        f"({a['price_source']}). Training step at batch {recipe.batch_size}: {fits}; largest batch {mem['max_batch_size']}.",
        Table(["batch", "latency ms", "per sample ms", "throughput /s", "$ per 1M", "source"], [
            [str(e["batch_size"]), f"{e['latency_ms']:.4g}", f"{e['latency_per_sample_ms']:.4g}",
             f"{e['throughput_per_s']:,.0f}", "—" if e["cost_per_million_usd"] is None else f"{e['cost_per_million_usd']:.4g}",
             e["source"]] for e in est["inference"]]),
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


def build_card(
    model: str,
    *,
    size: str = "base",
    hardware: str = "h100-sxm",
    train_samples: int | None = None,
    latency_budget_ms: float | None = None,
    with_scaling: bool = True,
) -> tuple[list[Section], ProfileResult]:
    """Profile `model` and its simpler same-modality zoo neighbours, and assemble the seven card sections."""
    spec = get_model_spec(model)
    if size not in spec.sizes:
        raise unknown_name("size", size, list(spec.sizes))
    p = _profile(model, size)
    others = {n: _profile(n, size, layers=False) for n in list_models(modality=spec.modality) if n != model}
    recipe_sec, recipe, n = recipe_section(spec, p, train_samples)
    scaling = (
        scaling_section(spec)
        if with_scaling
        else Section("scaling", "Scaling plan", [f"Scaling plan: {NOT_MEASURED}."])
    )
    return [
        task_section(spec, size, p, latency_budget_ms),
        architecture_section(p),
        parameters_section(p),
        recipe_sec,
        baselines_section(spec, size, p, others),
        compute_section(p, hardware, recipe, n, latency_budget_ms),
        scaling,
    ], p


def write_card(sections: list[Section], p: ProfileResult, path: str | Path) -> Path:
    """Write the card as Markdown (.md) or self-contained HTML (.html), by the file's suffix."""
    path = Path(path)
    title = f"Architecture card: {p.model} ({p.size})"
    if path.suffix == ".html":
        return write_text(path, render_html(title, sections))
    if path.suffix != ".md":
        raise BadInputError(f"card file must end in .md or .html, got {path.name!r}")
    return write_text(path, render_markdown(title, sections))
