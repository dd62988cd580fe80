"""The run report: a run's results as one page, in Markdown or self-contained HTML. Every number comes from the
results or from a hardware-table entry; a section whose data the run lacks says "not measured".

The page is built once as a list of `Section`s and rendered twice: `benchbench.report.markdown` (plots written as
SVG files beside the .md and linked) and `benchbench.report.html` (plots inline).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchbench.core.errors import BadInputError, unknown_name
from benchbench.core.files import write_text
from benchbench.core.stage import STAGES
from benchbench.core.stats import fmt_ratio
from benchbench.core.units import fmt_bytes, fmt_count, fmt_ms, fmt_num, fmt_rate, fmt_usd_per_million
from benchbench.estimate.cost import DEFAULT_UTILIZATION, facts_from_profile, inference_estimate
from benchbench.estimate.hardware import Hardware, cpu_entry, get_hardware, match_device_name
from benchbench.estimate.roofline import measured_ms_on, model_roofline
from benchbench.kernelbench.records import CompareRow
from benchbench.measure.records import LatencyStats, ProfileResult
from benchbench.record.run import RunResult
from benchbench.report.document import NOT_MEASURED, Block, Code, Plot, Section, Table, literal
from benchbench.report.html import render_html
from benchbench.report.kernel_tables import goals_table, swap_summary_table
from benchbench.report.markdown import render_markdown
from benchbench.report.plots import (
    latency_distribution_svg,
    latency_vs_batch_svg,
    roofline_svg,
    sweep_series,
    throughput_svg,
)

FORMATS = ("md", "html")
COST_DEVICES = ("h100-sxm", "a100-80gb", "l4", "t4")  # the cost table's columns
COST_BATCH = 32


# ---- sections -------------------------------------------------------------------------------------


def model_label(p: ProfileResult) -> str:
    """How a report names one profile: "resnet18 (tiny)"."""
    return f"{p.model} ({p.size})"


def summary_section(run: RunResult) -> Section:
    """The report's summary: the noise verdict, suite, device, versions, counts and run id, and the jobs that did not run."""
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
    """Two tables of one row per profile, so that each fits a page: what the model is and costs (size,
    parameters, MACs/FLOPs, memory, status), then how fast it ran (latency with its CI, throughput)."""
    what, speed = [], []
    for p in run.profiles:
        lat, mem, flops = p.latency, p.memory, p.flops
        status = (
            p.status
            if p.ok
            else f"{p.status}: "
            + (p.outcome.detail if p.outcome else "; ".join(f"{e.stage}: {e.error}" for e in p.errors))
        )
        what.append([
            p.model, p.modality, p.size, str(p.batch_size), p.dtype, fmt_count(p.params.total if p.params else None),
            fmt_count(flops.macs if flops else None), fmt_count(flops.flops if flops else None),
            fmt_bytes(mem.activation_bytes_train if mem else None), fmt_bytes(mem.peak_bytes_inference if mem else None),
            status,
        ])  # fmt: skip
        speed.append([
            model_label(p), fmt_ms(lat.p50_ms if lat else None), _ci_ms(lat), fmt_num(lat.cv if lat else None),
            fmt_ms(lat.p90_ms if lat else None), fmt_ms(lat.p99_ms if lat else None),
            fmt_count(lat.throughput_per_s if lat else None),
        ])  # fmt: skip
    if not what:
        return Section("models", "Models", [f"Models: {NOT_MEASURED}: the run holds no finished job."])
    blocks: list[Block] = [
        Table(["model", "modality", "size", "batch", "dtype", "params", "MACs", "FLOPs", "train activations",
               "inference peak", "status"], what),
        Table(["model", "p50 ms", "p50 95% CI", "CV", "p90 ms", "p99 ms", "throughput /s"], speed),
    ]  # fmt: skip
    svg = latency_distribution_svg(run)
    if svg:
        blocks.append(Plot("latency_distribution", "latency distribution per model", svg))
    return Section("models", "Models", blocks)


def latency_section(run: RunResult) -> Section:
    """The batch sweeps: latency and throughput against batch size, as plots and a table."""
    series = sweep_series(run)
    if not series:
        return Section("latency", "Latency and throughput vs batch size", [
            f"Batch sweeps: {NOT_MEASURED}: each job of this run times one batch size (`benchbench profile MODEL "
            "--batch-size 1,8,32` sweeps them, as does a suite file listing several `batch_sizes`)."])  # fmt: skip
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
    """Each model against the device's ceilings: FLOP/byte, the bound and its time, measured p50 and the efficiency, with a roofline plot."""
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
            rows.append([model_label(p), "—", "—", "—", fmt_ms(p.latency.p50_ms if p.latency else None), "—"])
            continue
        pt.name = model_label(p)
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
    """The kernel campaign: ceilings, the performance goals, the checks and comparisons, and the swaps into zoo models."""
    c = run.campaign
    if c is None:
        return Section("kernels", "Kernel comparison", [
            f"Kernel comparisons: {NOT_MEASURED}: the kernel campaign runs in the `gpu` suite on a CUDA device "
            "(`benchbench run --suite gpu --device cuda`, or `benchbench gpu-check` on a lent GPU)."])  # fmt: skip
    blocks: list[Block] = list(c.notes)
    if c.ceilings is not None:
        blocks.append(f"Ceilings measured in this run: {c.ceilings.dtype} matmul {c.ceilings.matmul_tflops:.3g} "
                      f"TFLOP/s ({c.ceilings.matmul_n}³), copy {c.ceilings.copy_gbs:.3g} GB/s.")  # fmt: skip
    if c.goals:
        blocks += ["**Performance goals** of the fused attention", goals_table(c.goals)]
    for title, rows in (("Goal timings", c.goal_timings), ("Correctness checks", c.checks),
                        ("Comparisons", c.comparisons)):  # fmt: skip
        if rows:
            blocks += [f"**{title}** ({len(rows)} rows; * baseline)", _compare_table(rows)]
    if c.swaps:
        blocks += ["**Swaps** into zoo models", swap_summary_table(c.swaps)]
    return Section("kernels", "Kernel comparison", blocks)


def cost_section(run: RunResult) -> Section:
    """Inference cost: measured by the serving stage where it ran, then roofline estimates for the table's GPUs."""
    measured: list[Block] = []
    served = [(p, p.stages["serving"]) for p in run.profiles if p.stages.get("serving") is not None]
    rows = [[model_label(p), b.backend, fmt_rate(b.cost.qps), b.cost.qps_source, fmt_usd_per_million(b.cost.cost_per_million_usd)]
            for p, serving in served for b in serving.backends if b.cost is not None]  # fmt: skip
    if rows:
        devices = sorted({serving.measured_on for _, serving in served})
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
            rows.append([model_label(p)] + [NOT_MEASURED] * len(hws))
            continue
        cells = []
        for hw in hws:
            e = inference_estimate(f, hw, COST_BATCH, DEFAULT_UTILIZATION, "bfloat16")
            cells.append(f"{e['latency_per_sample_ms']:.4g} · ${e['cost_per_million_usd']:.3g}")
        rows.append([model_label(p), *cells])
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
            blocks += [f"**{model_label(p)}**", Code("mermaid", p.diagram)]
    return Section("architecture", "Architecture diagrams", blocks or [f"Diagrams: {NOT_MEASURED}."])


# The report's own sections, (order, id, builder); each registered stage's section (`StageSpec.section`) is
# placed among them by its `order` (export 50, health 70, serving 80).
SECTIONS = ((10, "summary", summary_section), (20, "models", models_section), (30, "latency", latency_section),
            (40, "roofline", roofline_section), (60, "kernels", kernels_section), (90, "cost", cost_section),
            (100, "architecture", architecture_section))  # fmt: skip


def section_builders() -> list[tuple[str, Callable[[RunResult], Section | None]]]:
    """(id, builder) of every section, the report's own and the registered stages', in page order."""
    stages = [(s.order, s.section_id or s.name, s.section) for s in STAGES.values() if s.section is not None]
    return [(sid, build) for _, sid, build in sorted([*SECTIONS, *stages], key=lambda x: x[0])]


def section_ids() -> list[str]:
    """The ids of the report's sections, in page order."""
    return [sid for sid, _ in section_builders()]


def build_sections(run: RunResult) -> list[Section]:
    """Every section of the report, each rendered from what the run holds; a failing builder says why."""
    out = []
    for sid, build in section_builders():
        try:
            section = build(run)
        except Exception as exc:  # a report never dies on one section; the reason is shown in its place
            section = Section(sid, sid.title(), [f"could not render: {type(exc).__name__}: {exc}"])
        if section is not None:
            out.append(section)
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
