"""The run report: a run's results as one page, in Markdown or self-contained HTML. Every number comes from the
results or from a hardware-table entry; a section whose data the run lacks says "not measured".

The page is built once as a list of `Section`s and rendered twice: `benchbench.report.markdown` (plots written as
SVG files beside the .md and linked) and `benchbench.report.html` (plots inline).
"""

from __future__ import annotations

from pathlib import Path

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.files import write_text
from benchbench.core.noise import UNTRUSTED, shown_ratio, untrusted
from benchbench.core.results import CompareRow, HealthReport, LatencyStats, ProfileResult, RunResult
from benchbench.core.stats import fmt_ratio
from benchbench.core.units import fmt_bytes, fmt_count, fmt_ms, fmt_num
from benchbench.estimate.cost import DEFAULT_UTILIZATION, facts_from_profile, inference_estimate
from benchbench.estimate.hardware import Hardware, cpu_entry, get_hardware, match_device_name
from benchbench.estimate.roofline import measured_ms_on, model_roofline
from benchbench.report.document import NOT_MEASURED, Block, Code, Plot, Section, Table, literal
from benchbench.report.html import render_html
from benchbench.report.markdown import render_markdown
from benchbench.report.plots import (
    latency_distribution_svg,
    latency_vs_batch_svg,
    ratio_ci_svg,
    roofline_svg,
    sweep_series,
    throughput_svg,
)
from benchbench.report.serving import serving_blocks

FORMATS = ("md", "html")
COST_DEVICES = ("h100-sxm", "a100-80gb", "l4", "t4")  # the cost table's columns
COST_BATCH = 32


# ---- sections -------------------------------------------------------------------------------------


def _model_label(p: ProfileResult) -> str:
    return f"{p.model} ({p.size})"


def summary_section(run: RunResult) -> Section:
    env = run.env
    failed = [p for p in run.profiles if not p.ok]
    comparisons = len(run.campaign.comparisons) if run.campaign else 0
    text = (
        f"Suite **{literal(run.suite)}** on **{literal(run.device)}** ({literal(env.get('device_name') or env.get('cpu_model', '?'))}, "
        f"{env.get('torch_threads', '?')} threads, torch {env.get('versions', {}).get('torch', '?')}), "
        f"{len(run.profiles)} models, {len(failed)} not ok, {comparisons} kernel comparisons, "
        f"{run.elapsed_s or 0:.1f} s. Run `{run.run_id}`, {run.created_at}."
    )
    note = (
        "MACs are one per multiply-add; FLOPs are two per multiply-add. Latency is per forward pass of one batch "
        "in eval mode, in milliseconds (p50/p90/p99 over timed repeats after warm-up)."
    )
    blocks: list[Block] = [noise_line(run), text, note]
    if run.missing:
        blocks.append(f"**{len(run.missing)} of {len(run.jobs)} jobs did not run** (the run was interrupted; "
                      f"`benchbench run --resume` runs them): {literal(', '.join(run.missing))}.")  # fmt: skip
    return Section("summary", "Summary", blocks)


def noise_line(run: RunResult) -> str:
    """The run's noise verdict, first in the report: how far its numbers can be trusted, and why."""
    if run.noise is None:
        return f"Measurement noise: {NOT_MEASURED} (a run from before noise verdicts)."
    reasons = "; ".join(run.noise.reasons) or "no sign of noise"
    return f"Measurement noise: **{run.noise.verdict}**: {literal(reasons)}."


def _ci_ms(lat: LatencyStats | None) -> str:
    return "—" if lat is None or not lat.ci95_ms else f"{fmt_ms(lat.ci95_ms[0])}–{fmt_ms(lat.ci95_ms[1])}"


def models_section(run: RunResult) -> Section:
    headers = ["model", "modality", "size", "batch", "dtype", "params", "MACs", "FLOPs", "p50 ms", "p50 95% CI",
               "CV", "p90 ms", "p99 ms", "throughput /s", "train activations", "inference peak", "status"]  # fmt: skip
    rows = []
    for p in run.profiles:
        lat, mem, flops = p.latency, p.memory, p.flops
        status = (
            p.status
            if p.ok
            else f"{p.status}: "
            + (p.outcome.detail if p.outcome else "; ".join(f"{e.stage}: {e.error}" for e in p.errors))
        )
        rows.append([
            p.model, p.modality, p.size, str(p.batch_size), p.dtype, fmt_count(p.params.total if p.params else None),
            fmt_count(flops.macs if flops else None), fmt_count(flops.flops if flops else None),
            fmt_ms(lat.p50_ms if lat else None), _ci_ms(lat), fmt_num(lat.cv if lat else None),
            fmt_ms(lat.p90_ms if lat else None),
            fmt_ms(lat.p99_ms if lat else None), fmt_count(lat.throughput_per_s if lat else None),
            fmt_bytes(mem.activation_bytes_train if mem else None), fmt_bytes(mem.peak_bytes_inference if mem else None),
            status,
        ])  # fmt: skip
    blocks: list[Block] = [Table(headers, rows)] if rows else [NOT_MEASURED]
    svg = latency_distribution_svg(run)
    if svg:
        blocks.append(Plot("latency_distribution", "latency distribution per model", svg))
    return Section("models", "Models", blocks)


def latency_section(run: RunResult) -> Section:
    series = sweep_series(run)
    if not series:
        return Section("latency", "Latency and throughput vs batch size", [f"Batch sweeps: {NOT_MEASURED}."])
    blocks: list[Block] = []
    for name, title, fn in (("latency_vs_batch", "p50 latency vs batch size", latency_vs_batch_svg),
                            ("throughput", "throughput vs batch size", throughput_svg)):  # fmt: skip
        svg = fn(run)
        if svg:
            blocks.append(Plot(name, title, svg))
    rows = [
        [label, str(r.batch_size), fmt_ms(r.latency.p50_ms), fmt_ms(r.latency.p99_ms),
         fmt_count(r.latency.throughput_per_s), str(r.latency.n)]
        for label, points in series.items()
        for r in points
    ]  # fmt: skip
    blocks.append(Table(["model", "batch", "p50 ms", "p99 ms", "throughput /s", "repeats"], rows))
    return Section("latency", "Latency and throughput vs batch size", blocks)


def run_hardware(run: RunResult) -> Hardware | None:
    """The hardware entry of the run's device, from the run alone (rendering measures nothing): the CPU from the
    ceilings the run measured when it started, a GPU from the datasheet table; None when neither is known."""
    if run.device.startswith("cpu"):
        return cpu_entry(run.ceilings) if run.ceilings is not None else None
    key = match_device_name(run.env.get("device_name") or "")
    return get_hardware(key) if key else None


def roofline_section(run: RunResult, hw: Hardware | None = None) -> Section:
    hw = hw if hw is not None else run_hardware(run)
    if hw is None:
        why = (
            "no ceilings were measured in this run"
            if run.device.startswith("cpu")
            else "not in the hardware table"
        )
        return Section("roofline", "Roofline", [f"Roofline: {NOT_MEASURED} (device {run.device}: {why})."])
    points = []
    rows = []
    for p in run.profiles:
        pt = model_roofline(p, hw, measured_ms_on(p, hw))
        if pt is None:
            rows.append(
                [_model_label(p), "—", "—", "—", fmt_ms(p.latency.p50_ms if p.latency else None), "—"]
            )
            continue
        pt.name = _model_label(p)
        points.append(pt)
        rows.append([pt.name, fmt_num(pt.intensity), pt.bound, fmt_ms(pt.bound_ms), fmt_ms(pt.measured_ms),
                     "—" if pt.efficiency is None else f"{pt.efficiency:.1%}"])  # fmt: skip
    where = "measured when the run started" if hw.measured else "datasheet"
    dtype = run.profiles[0].dtype if run.profiles else "float32"
    blocks: list[Block] = [
        f"Ceilings of **{literal(hw.name)}** ({where}): peak {hw.peak_flops(dtype) / 1e12:.3g} "
        f"TFLOP/s, bandwidth {hw.bandwidth_gbs:.3g} GB/s. Bytes = parameters + inputs + outputs once (a floor); "
        "bound = max(FLOPs/peak, bytes/bandwidth); efficiency = bound / measured p50."
    ]
    if points:
        blocks.append(Plot("roofline", "roofline", roofline_svg(points, hw, dtype)))
    blocks.append(
        Table(["model", "FLOP/byte", "bound", "bound ms", "measured p50 ms", "efficiency"], rows)
        if rows
        else NOT_MEASURED
    )
    return Section("roofline", "Roofline", blocks)


def readiness_section(run: RunResult) -> Section:
    rows = []
    for p in run.profiles:
        ex = p.export
        if ex is None:
            continue
        par = ex.parity
        parity = "—" if par is None else {"ok": "strict", "fail": "failed"}.get(par.verdict, par.verdict)
        rows.append([_model_label(p), ex.verdict, ex.exporter or "—", parity, shown_ratio(ex.ratio, ex.ratio_ci95, run.noise),
                     "; ".join(ex.warnings) or ex.error or "—"])  # fmt: skip
    if not rows:
        return Section(
            "readiness", "Deployment readiness (ONNX)", [f"ONNX export and parity: {NOT_MEASURED}."]
        )
    blocks: list[Block] = [
        "ORT/eager = the median of per-round ratios ONNX Runtime / eager over interleaved rounds, with its 95% CI "
        "(below 1: ORT is faster; n.s.: the CI contains 1, no significant difference).",
        Table(["model", "verdict", "exporter", "parity", "ORT/eager [95% CI]", "warnings or error"], rows),
    ]
    if untrusted(run.noise):  # no plot of ratios that are no findings
        blocks.append(f"ORT/eager ratios are {UNTRUSTED} ({run.noise.line()}).")
        return Section("readiness", "Deployment readiness (ONNX)", blocks)
    svg = ratio_ci_svg([(_model_label(p), p.export.ratio, p.export.ratio_ci95) for p in run.profiles if p.export],
                       "ONNX Runtime / eager (log scale; grey: no significant difference)", "ORT/eager with 95% CIs")  # fmt: skip
    if svg:
        blocks.append(Plot("ort_ratio", "ORT/eager with 95% CIs", svg))
    return Section("readiness", "Deployment readiness (ONNX)", blocks)


def _compare_table(rows: list[CompareRow]) -> Table:
    headers = ["op", "impl", "dtype", "shape", "mode", "status", "p50 ms", "speed-up [95% CI]", "TFLOP/s", "GB/s",
               "% peak", "ok", "note"]  # fmt: skip
    return Table(headers, [
        [r.op, r.impl + ("*" if r.baseline else ""), r.dtype, r.shape, r.mode, r.status, fmt_ms(r.p50_ms),
         fmt_ratio(r.speedup, r.ratio_ci95), fmt_num(r.tflops), fmt_num(r.gbps),
         "—" if r.pct_peak is None else f"{r.pct_peak:.1f} ({r.bound})", "—" if r.ok is None else "yes" if r.ok else "NO",
         r.note]
        for r in rows
    ])  # fmt: skip


def kernels_section(run: RunResult) -> Section:
    c = run.campaign
    if c is None:
        return Section("kernels", "Kernel comparison", [f"Kernel comparisons: {NOT_MEASURED}."])
    blocks: list[Block] = list(c.notes)
    if c.ceilings is not None:
        blocks.append(f"Ceilings measured in this run: {c.ceilings.dtype} matmul {c.ceilings.matmul_tflops:.3g} "
                      f"TFLOP/s ({c.ceilings.matmul_n}³), copy {c.ceilings.copy_gbs:.3g} GB/s.")  # fmt: skip
    if c.goals:
        blocks += ["**Performance goals** of the fused attention", Table(
            ["shape", "goal", "value", "threshold", "verdict", "note"],
            [[g.shape, g.goal, fmt_num(g.value), f"{g.threshold:g}",
              "not measured" if g.met is None else "met" if g.met else "MISSED", g.note] for g in c.goals])]  # fmt: skip
    for title, rows in (("Goal timings", c.goal_timings), ("Correctness checks", c.checks),
                        ("Comparisons", c.comparisons)):  # fmt: skip
        if rows:
            blocks += [f"**{title}** ({len(rows)} rows; * baseline)", _compare_table(rows)]
    if c.swaps:
        blocks += ["**Swaps** into zoo models", Table(
            ["model", "size", "status", "parity", "swapped sites", "speed-up", "note"],
            [[s.model, s.size, s.status, "—" if s.run is None else "pass" if s.run.ok else "FAIL",
              "—" if s.run is None else f"{s.run.swap.swapped_sites} of {len(s.run.swap.sites)}",
              fmt_num(s.run.speed.speedup if s.run else None), s.note] for s in c.swaps])]  # fmt: skip
    return Section("kernels", "Kernel comparison", blocks)


def _probe_cells(h: HealthReport) -> list[str]:
    """Verdict, loss, learning rate and gradient flags of a probe; why it did not run or decide, when so."""
    probe = h.probe
    if probe is None:
        return [f"not run: {h.probe_skipped or 'no reason recorded'}", "—", "—", "—"]
    verdict = probe.verdict
    if verdict == "inconclusive":
        verdict += ": " + next((n for n in probe.notes if "budget" in n), "the budget ran out")
    elif probe.shrunk:
        verdict += f" (probed at {probe.shrunk})"
    worked = next((a for a in probe.attempts if a.fell), None)
    flags = "; ".join(
        f"{f.layer} {f.kind} {'inf' if f.ratio is None else f'{f.ratio:.1e}'}" for f in probe.flags[:3]
    )
    more = f" (+{len(probe.flags) - 3})" if len(probe.flags) > 3 else ""
    return [
        verdict,
        probe.loss,
        "none fell" if worked is None else f"{worked.lr:g}",
        (flags + more) or "none",
    ]


def health_section(run: RunResult) -> Section:
    rows = []
    for p in run.profiles:
        h = p.health
        if h is None:
            continue
        sev: dict[str, int] = {}
        for f in h.lint:
            sev[f.severity] = sev.get(f.severity, 0) + 1
        rows.append([
            _model_label(p), ", ".join(f"{n} {s}" for s, n in sorted(sev.items())) or "none",
            "; ".join(f"{f.rule}: {f.message}" for f in h.lint[:3]) or "—", *_probe_cells(h),
        ])  # fmt: skip
    if not rows:
        return Section("health", "Architecture health", [f"Lint and trainability probe: {NOT_MEASURED}."])
    return Section("health", "Architecture health", [
        "The probe overfits one batch with AdamW (a learning-rate ladder with warm-up, a task-shaped loss) and "
        "flags layers whose ‖grad‖/‖weight‖ leaves its bounds.",
        Table(["model", "lint findings", "first findings", "probe", "loss", "lr that worked", "gradient flags"],
              rows),
    ])  # fmt: skip


def serving_section(run: RunResult) -> Section:
    """What the serving stage measured per model: the measured cost, the probes, the load curve."""
    blocks: list[Block] = []
    for i, p in enumerate(run.profiles):
        if p.serving is not None:
            blocks += [f"**{_model_label(p)}**", *serving_blocks(p.serving, f"serving_load_{i}")]
    return Section("serving", "Serving (measured)", blocks or [
        f"Serving scenarios: {NOT_MEASURED} (add the `serving` stage to a suite file, or run `benchbench serve`)."])  # fmt: skip


def cost_section(run: RunResult) -> Section:
    measured: list[Block] = []
    rows = [[_model_label(p), b.backend, "—" if b.cost.qps is None else f"{b.cost.qps:,.1f}/s", b.cost.qps_source,
             "no price" if b.cost.cost_per_million_usd is None else f"${b.cost.cost_per_million_usd:,.4g}"]
            for p in run.profiles if p.serving is not None for b in p.serving.backends if b.cost is not None]  # fmt: skip
    if rows:
        devices = sorted({p.serving.measured_on for p in run.profiles if p.serving is not None})
        measured = [f"**Measured on {literal(', '.join(devices))}** (the serving stage; $ per 1M = price per hour / "
                    "(measured rate × 3600) × 1e6, no price assumed where none is known):",
                    Table(["model", "backend", "measured rate", "rate from", "$ per 1M (measured)"], rows)]  # fmt: skip
    hws = [get_hardware(k) for k in COST_DEVICES]
    headers = ["model"] + [f"{hw.key} ms/sample · $/1M" for hw in hws]
    rows = []
    for p in run.profiles:
        try:
            f = facts_from_profile(p)
        except BadInputError:
            rows.append([_model_label(p)] + [NOT_MEASURED] * len(hws))
            continue
        cells = []
        for hw in hws:
            e = inference_estimate(f, hw, COST_BATCH, DEFAULT_UTILIZATION, "bfloat16")
            cells.append(f"{e['latency_per_sample_ms']:.4g} · ${e['cost_per_million_usd']:.3g}")
        rows.append([_model_label(p), *cells])
    if not rows:
        return Section("cost", "Inference cost", [*measured, f"Inference cost: {NOT_MEASURED}."])
    return Section("cost", "Inference cost", [
        *measured,
        f"**Estimated for {', '.join(hw.key for hw in hws)}**, roofline-derived (not measured on these devices): bf16 at batch {COST_BATCH}, bound / utilisation "
        f"{DEFAULT_UTILIZATION}, prices from the hardware table (`benchbench list --hardware`). Sizes as profiled.",
        Table(headers, rows),
    ])  # fmt: skip


def architecture_section(run: RunResult) -> Section:
    """Each model's block diagram: a Mermaid block in Markdown, drawn as SVG in HTML."""
    blocks: list[Block] = []
    for p in run.profiles:
        if p.diagram:
            blocks += [f"**{_model_label(p)}**", Code("mermaid", p.diagram)]
    return Section("architecture", "Architecture diagrams", blocks or [f"Diagrams: {NOT_MEASURED}."])


SECTION_BUILDERS = (summary_section, models_section, latency_section, roofline_section, readiness_section,
                    kernels_section, health_section, serving_section, cost_section, architecture_section)  # fmt: skip
SECTION_IDS = (
    "summary",
    "models",
    "latency",
    "roofline",
    "readiness",
    "kernels",
    "health",
    "serving",
    "cost",
    "architecture",
)


def build_sections(run: RunResult) -> list[Section]:
    """Every section of the report, each rendered from what the run holds; a failing builder says why."""
    out = []
    for build, sid in zip(SECTION_BUILDERS, SECTION_IDS):
        try:
            out.append(build(run))
        except Exception as exc:  # a report never dies on one section; the reason is shown in its place
            out.append(Section(sid, sid.title(), [f"could not render: {type(exc).__name__}: {exc}"]))
    return out


def write_report(run: RunResult, path: str | Path, fmt: str = "md") -> Path:
    """Write the report as `fmt` ('md' with SVG plots in `<stem>_plots/`, or self-contained 'html')."""
    if fmt not in FORMATS:
        raise unknown_name("report format", fmt, FORMATS)
    path = Path(path)
    sections = build_sections(run)
    title = f"benchbench run {run.run_id}"
    if fmt == "html":
        return write_text(path, render_html(title, sections))
    plots = [b for s in sections for b in s.blocks if isinstance(b, Plot)]
    plot_dir = f"{path.stem}_plots"
    for pl in plots:
        write_text(path.parent / plot_dir / f"{pl.name}.svg", pl.svg)
    return write_text(path, render_markdown(title, sections, plot_dir if plots else None))
