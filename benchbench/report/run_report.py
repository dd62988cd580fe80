"""The run report: a run's results as one page, in Markdown or self-contained HTML. Every number comes from the
results or from a hardware-table entry; a section whose data the run lacks says "not measured".

The page is built once as a list of `Section`s and rendered twice: `benchbench.report.markdown` (plots written as
SVG files beside the .md and linked) and `benchbench.report.html` (plots inline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchbench.core.errors import unknown_name
from benchbench.core.files import write_text
from benchbench.core.results import ProfileResult, RunResult
from benchbench.core.units import fmt_bytes, fmt_count, fmt_ms, fmt_num
from benchbench.report.document import NOT_MEASURED, Plot, Section, Table
from benchbench.report.html import render_html
from benchbench.report.markdown import render_markdown

FORMATS = ("md", "html")
COST_DEVICES = ("h100-sxm", "a100-80gb", "l4", "t4")  # the cost table's columns
COST_BATCH = 32


# ---- sections -------------------------------------------------------------------------------------


def _model_label(p: ProfileResult) -> str:
    return f"{p.model} ({p.size})"


def summary_section(run: RunResult) -> Section:
    env = run.env
    failed = [p for p in run.profiles if not p.ok]
    text = (
        f"Suite **{run.suite}** on **{run.device}** ({env.get('device_name') or env.get('cpu_model', '?')}, "
        f"{env.get('torch_threads', '?')} threads, torch {env.get('versions', {}).get('torch', '?')}), "
        f"{len(run.profiles)} models, {len(failed)} failed, {len(run.kernels)} kernel comparisons, "
        f"{run.elapsed_s or 0:.1f} s. Run `{run.run_id}`, {run.created_at}."
    )
    note = (
        "MACs are one per multiply-add; FLOPs are two per multiply-add. Latency is per forward pass of one batch "
        "in eval mode, in milliseconds (p50/p90/p99 over timed repeats after warm-up)."
    )
    return Section("summary", "Summary", [text, note])


def models_section(run: RunResult) -> Section:
    headers = ["model", "modality", "size", "batch", "dtype", "params", "MACs", "FLOPs", "p50 ms", "p90 ms", "p99 ms",
               "throughput /s", "train activations", "inference peak", "status"]  # fmt: skip
    rows = []
    for p in run.profiles:
        lat, mem = p.latency or {}, p.memory or {}
        status = "ok" if p.ok else "failed: " + "; ".join(f"{e.stage}: {e.error}" for e in p.errors)
        rows.append([
            p.model, p.modality, p.size, str(p.batch_size), p.dtype, fmt_count((p.params or {}).get("total")),
            fmt_count((p.flops or {}).get("macs")), fmt_count((p.flops or {}).get("flops")), fmt_ms(lat.get("p50_ms")),
            fmt_ms(lat.get("p90_ms")), fmt_ms(lat.get("p99_ms")), fmt_count(lat.get("throughput_per_s")),
            fmt_bytes(mem.get("activation_bytes_train")), fmt_bytes(mem.get("peak_bytes_inference")), status,
        ])  # fmt: skip
    blocks: list[str | Table | Plot] = [Table(headers, rows)] if rows else [NOT_MEASURED]
    return Section("models", "Models", blocks)


def latency_section(run: RunResult) -> Section:
    from benchbench.report.plots import latency_vs_batch_svg, sweep_series, throughput_svg

    series = sweep_series(run)
    if not series:
        return Section("latency", "Latency and throughput vs batch size", [f"Batch sweeps: {NOT_MEASURED}."])
    blocks: list[str | Table | Plot] = []
    for name, title, fn in (("latency_vs_batch", "p50 latency vs batch size", latency_vs_batch_svg),
                            ("throughput", "throughput vs batch size", throughput_svg)):  # fmt: skip
        svg = fn(run)
        if svg:
            blocks.append(Plot(name, title, svg))
    rows = [
        [
            label,
            str(r["batch_size"]),
            fmt_ms(r.get("p50_ms")),
            fmt_ms(r.get("p99_ms")),
            fmt_count(r.get("throughput_per_s")),
            str(r.get("n", "—")),
        ]
        for label, recs in series.items()
        for r in recs
    ]
    blocks.append(Table(["model", "batch", "p50 ms", "p99 ms", "throughput /s", "repeats"], rows))
    return Section("latency", "Latency and throughput vs batch size", blocks)


def run_hardware(run: RunResult) -> Any:
    """The hardware entry for the run's device: the local CPU (measured now) or the matched GPU; None if unknown."""
    from benchbench.estimate.hardware import get_hardware, local_cpu, match_device_name

    if run.device.startswith("cpu"):
        return local_cpu()
    key = match_device_name(run.env.get("device_name") or "")
    return get_hardware(key) if key else None


def roofline_section(run: RunResult, hw: Any = None) -> Section:
    from benchbench.estimate.roofline import measured_ms_on, model_roofline, roofline_svg

    hw = hw if hw is not None else run_hardware(run)
    if hw is None:
        return Section(
            "roofline",
            "Roofline",
            [f"Roofline: {NOT_MEASURED} (device {run.device} is not in the hardware table)."],
        )
    points = []
    rows = []
    for p in run.profiles:
        pt = model_roofline(p, hw, measured_ms_on(p, hw))
        if pt is None:
            rows.append([_model_label(p), "—", "—", "—", fmt_ms((p.latency or {}).get("p50_ms")), "—"])
            continue
        pt.name = _model_label(p)
        points.append(pt)
        rows.append([pt.name, fmt_num(pt.intensity), pt.bound, fmt_ms(pt.bound_ms), fmt_ms(pt.measured_ms),
                     "—" if pt.efficiency is None else f"{pt.efficiency:.1%}"])  # fmt: skip
    where = "measured on this machine at report time" if hw.measured else "datasheet"
    blocks: list[str | Table | Plot] = [
        f"Ceilings of **{hw.name}** ({where}): peak {hw.peak_flops(run.profiles[0].dtype if run.profiles else 'float32') / 1e12:.3g} "
        f"TFLOP/s, bandwidth {hw.bandwidth_gbs:.3g} GB/s. Bytes = parameters + inputs + outputs once (a floor); "
        "bound = max(FLOPs/peak, bytes/bandwidth); efficiency = bound / measured p50."
    ]
    if points:
        blocks.append(Plot("roofline", "roofline", roofline_svg(points, hw, run.profiles[0].dtype)))
    blocks.append(
        Table(["model", "FLOP/byte", "bound", "bound ms", "measured p50 ms", "efficiency"], rows)
        if rows
        else NOT_MEASURED
    )
    return Section("roofline", "Roofline", blocks)


def readiness_section(run: RunResult) -> Section:
    rows = []
    for p in run.profiles:
        ex = p.sections.get("export")
        if not isinstance(ex, dict):
            continue
        parity = ex.get("parity") or {}
        ok = parity.get("ok")
        rows.append([
            _model_label(p), str(ex.get("verdict", "—")), str(ex.get("exporter") or "—"),
            "strict" if ok else "loose" if parity.get("ok_loose") else "—" if ok is None else "failed",
            fmt_num(ex.get("ratio")), "; ".join(ex.get("warnings") or []) or (ex.get("error") or "—"),
        ])  # fmt: skip
    if not rows:
        return Section(
            "readiness", "Deployment readiness (ONNX)", [f"ONNX export and parity: {NOT_MEASURED}."]
        )
    return Section("readiness", "Deployment readiness (ONNX)", [
        "ratio = ONNX Runtime p50 / eager p50 (below 1: ORT is faster).",
        Table(["model", "verdict", "exporter", "parity", "ORT/eager", "warnings or error"], rows),
    ])  # fmt: skip


_KERNEL_KEYS = (
    "op",
    "impl",
    "baseline",
    "device",
    "dtype",
    "shape",
    "p50_ms",
    "baseline_p50_ms",
    "speedup",
    "ok",
    "max_abs_err",
)


def kernels_section(run: RunResult) -> Section:
    ks = [k for k in run.kernels if isinstance(k, dict)]
    if not ks:
        return Section("kernels", "Kernel comparison", [f"Kernel comparisons: {NOT_MEASURED}."])
    by_kind: dict[str, list[dict]] = {}  # the gpu campaign mixes ceilings, checks, timings, targets, swaps
    for d in ks:
        by_kind.setdefault(str(d.get("kind", "comparison")), []).append(d)
    blocks: list = []
    for kind, group in by_kind.items():
        present = [k for k in _KERNEL_KEYS if any(k in d for d in group)]
        extra = sorted(
            {
                k
                for d in group
                for k, v in d.items()
                if k not in present and k != "kind" and isinstance(v, (int, float, str, bool))
            }
        )
        headers = (present + extra)[:12]
        blocks += [
            f"**{kind}** ({len(group)} records)",
            Table(headers, [[fmt_num(d.get(h)) for h in headers] for d in group]),
        ]
    return Section("kernels", "Kernel comparison", blocks)


def health_section(run: RunResult) -> Section:
    rows = []
    for p in run.profiles:
        h = p.sections.get("health")
        if not isinstance(h, dict):
            continue
        lint = h.get("lint") or []
        sev: dict[str, int] = {}
        for f in lint:
            sev[f.get("severity", "?")] = sev.get(f.get("severity", "?"), 0) + 1
        probe = h.get("probe") or {}
        rows.append([
            _model_label(p), ", ".join(f"{n} {s}" for s, n in sorted(sev.items())) or "none",
            "; ".join(f"{f.get('rule')}: {f.get('message')}" for f in lint[:3]) or "—",
            "—" if not probe else ("yes" if probe.get("loss_fell") else "no"),
            "—" if not probe else ", ".join(probe.get("vanishing") or []) or "none",
            "—" if not probe else ", ".join(probe.get("exploding") or []) or "none",
        ])  # fmt: skip
    if not rows:
        return Section("health", "Architecture health", [f"Lint and trainability probe: {NOT_MEASURED}."])
    return Section("health", "Architecture health", [
        Table(["model", "lint findings", "first findings", "loss fell", "vanishing grads", "exploding grads"], rows)
    ])  # fmt: skip


def cost_section(run: RunResult) -> Section:
    from benchbench.core.errors import BadInputError
    from benchbench.estimate.cost import DEFAULT_UTILIZATION, facts_from_profile, inference_estimate
    from benchbench.estimate.hardware import get_hardware

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
        return Section("cost", "Inference cost", [f"Inference cost: {NOT_MEASURED}."])
    return Section("cost", "Inference cost", [
        f"Roofline-derived (not measured on these devices): bf16 at batch {COST_BATCH}, bound / utilisation "
        f"{DEFAULT_UTILIZATION}, prices from the hardware table (`benchbench list --hardware`). Sizes as profiled.",
        Table(headers, rows),
    ])  # fmt: skip


SECTION_BUILDERS = (summary_section, models_section, latency_section, roofline_section, readiness_section,
                    kernels_section, health_section, cost_section)  # fmt: skip
SECTION_IDS = ("summary", "models", "latency", "roofline", "readiness", "kernels", "health", "cost")


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
    title = f"benchbench run `{run.run_id}`"
    if fmt == "html":
        return write_text(path, render_html(title.replace("`", ""), sections))
    plots = [b for s in sections for b in s.blocks if isinstance(b, Plot)]
    plot_dir = f"{path.stem}_plots"
    for pl in plots:
        write_text(path.parent / plot_dir / f"{pl.name}.svg", pl.svg)
    return write_text(path, render_markdown(title, sections, plot_dir if plots else None))
