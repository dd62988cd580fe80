"""Plots for reports, drawn with matplotlib's Agg backend and returned as SVG text (self-contained, no network)."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from benchbench.core import inert
from benchbench.core.errors import one_line
from benchbench.core.schema import write
from benchbench.estimate.hardware import Hardware
from benchbench.estimate.roofline import RooflinePoint
from benchbench.kernelbench.records import CompareResult
from benchbench.measure.records import SweepPoint
from benchbench.record.run import RunResult
from benchbench.serve.records import BackendServing, ServeResult, ServerProbe


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed), with SVG output that is the same for the same
    figure: fixed element ids and no creation date, so re-rendering a report changes no byte."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "benchbench"
    import matplotlib.pyplot as plt

    return plt


def inert_texts(fig: Any) -> None:
    """Every text the figure holds (titles, labels, legends, annotations: model names among them) on one line,
    its control characters as escapes (`core.inert`) and a `$` shown as itself, not starting mathtext."""
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    def clean(text: str) -> str:
        return inert.one_line(text).replace("$", r"\$") if text else text

    for t in fig.findobj(Text):
        t.set_text(clean(t.get_text()))
    for ax in fig.axes:  # tick labels given as strings are drawn later, from the formatter: wrapped to clean
        for axis in (ax.xaxis, ax.yaxis):  # (numeric formatters, whose mathtext is meant, are left alone)
            if isinstance(fmt := axis.get_major_formatter(), (FixedFormatter, FuncFormatter)):
                axis.set_major_formatter(FuncFormatter(lambda x, pos, fmt=fmt: clean(str(fmt(x, pos)))))


def _svg(fig: Any) -> str:
    inert_texts(fig)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    pyplot().close(fig)
    text = buf.getvalue()
    return inert.visible(text[text.index("<svg") :])


def sweep_series(run: RunResult) -> dict[str, list[SweepPoint]]:
    """Timed eval sweep points per 'model (size, dtype)', sorted by batch size."""
    series: dict[str, list[SweepPoint]] = {}
    for p in run.profiles:
        for point in p.sweeps or []:
            if point.latency is None or point.mode != "eval":
                continue
            label = f"{p.model} ({p.size}, {point.dtype}" + (
                f", T={point.seq_len})" if point.seq_len else ")"
            )
            series.setdefault(label, []).append(point)
    return {k: sorted(v, key=lambda r: r.batch_size) for k, v in series.items()}


def _line_plot(run: RunResult, value: Any, ylabel: str, title: str) -> str | None:
    series = sweep_series(run)
    if not series:
        return None
    fig, ax = pyplot().subplots(figsize=(6.5, 4.0))
    for label, points in series.items():
        pts = [(r.batch_size, value(r.latency)) for r in points if value(r.latency) is not None]
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} on {run.device}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def latency_vs_batch_svg(run: RunResult) -> str | None:
    """p50 latency of one batch against batch size, per model; None without sweeps."""
    return _line_plot(run, lambda s: s.p50_ms, "p50 latency per batch (ms)", "latency vs batch size")


def throughput_svg(run: RunResult) -> str | None:
    """Samples per second against batch size, per model; None without sweeps."""
    return _line_plot(run, lambda s: s.throughput_per_s, "throughput (samples/s)", "throughput vs batch size")


def plot_compare(result: CompareResult, stem: Path) -> list[Path]:
    """Bars of p50 time per shape and implementation (log scale); interpreted rows have no bar."""
    plt = pyplot()
    timed = [r for r in result.rows if r.p50_ms]
    labels = list(dict.fromkeys(f"{r.shape} {r.mode}" for r in result.rows))
    impls = list(dict.fromkeys(r.impl for r in timed))
    untimed = sorted({f"{r.impl} ({r.status})" for r in result.rows if r.impl not in impls})
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(labels) * max(1, len(impls)) / 2), 4.5))
    width = 0.8 / max(1, len(impls))
    for i, impl in enumerate(impls):
        xs, ys = [], []
        for j, label in enumerate(labels):
            r = next((r for r in timed if r.impl == impl and f"{r.shape} {r.mode}" == label), None)
            if r is not None:
                xs.append(j + i * width)
                ys.append(r.p50_ms)
        ax.bar(xs, ys, width, label=impl)
    ax.set_xticks([j + width * (len(impls) - 1) / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("p50 time (ms)")
    if timed and max(r.p50_ms for r in timed) / max(min(r.p50_ms for r in timed), 1e-9) > 20:
        ax.set_yscale("log")
    ax.set_title(f"{result.op} on {result.device}, {result.dtype}")
    if untimed:
        ax.text(0.01, 0.98, "not timed: " + ", ".join(untimed), transform=ax.transAxes, va="top", fontsize=7)
    if impls:
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in out:
        fig.savefig(p)
    plt.close(fig)
    return out


def write_compare(result: CompareResult, json_path: str | Path) -> list[Path]:
    """Write a kernel comparison as JSON and its plot (PNG and SVG) beside it; returns the paths written."""
    path = write(json_path, result)
    written = [path]
    try:
        written += plot_compare(result, path.with_suffix(""))
    except Exception as exc:  # a missing plot must not lose the numbers
        print(f"plot not written: {one_line(exc)}")
    return written


def roofline_svg(
    points: list[RooflinePoint], hw: Hardware, dtype: str = "float32", title: str | None = None
) -> str:
    """A log-log roofline plot of `points` under `hw`'s ceilings, as SVG text."""
    plt = pyplot()
    peak, bw = hw.peak_flops(dtype), hw.bandwidth_bytes_per_s
    finite = [x.intensity for x in points if math.isfinite(x.intensity) and x.intensity > 0]
    lo = min([*finite, hw.ridge_point(dtype)]) / 10
    hi = max([*finite, hw.ridge_point(dtype)]) * 10
    xs = [lo * (hi / lo) ** (i / 100) for i in range(101)]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.loglog(xs, [min(peak, bw * x) / 1e12 for x in xs], color="black", label=f"{hw.key} roofline")
    for x in points:
        if not (math.isfinite(x.intensity) and x.intensity > 0):
            continue
        attained = x.flops / (x.measured_ms / 1e3) if x.measured_ms else min(peak, bw * x.intensity)
        ax.loglog([x.intensity], [attained / 1e12], "o" if x.measured_ms else "x", label=None)
        ax.annotate(x.name[:24], (x.intensity, attained / 1e12), fontsize=7)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("TFLOP/s (o measured, x bound)")
    ax.set_title(title or f"roofline on {hw.name}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def load_curve_svg(result: ServeResult) -> str | None:
    """p50, p90 and p99 end-to-end latency against offered load (the probes of each backend's server runs), with
    the p99 budget as a line: where the curves turn up is the knee. None without server probes."""
    series = {b.backend: sorted(_probes_of(b), key=lambda p: p.target_qps) for b in result.backends}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    styles = {"p50": ":", "p90": "--", "p99": "-"}
    for i, (name, probes) in enumerate(series.items()):
        colour = f"C{i}"
        xs = [p.target_qps for p in probes]
        for q, style in styles.items():
            ax.plot(xs, [getattr(p.latency, f"{q}_ms") for p in probes], style, marker="o", markersize=3,
                    color=colour, label=f"{name} {q}")  # fmt: skip
    budget = next((b.search.budget_ms for b in result.backends if b.search is not None), None)
    if budget is not None:
        ax.axhline(budget, color="black", linewidth=0.8, label=f"p99 budget {budget:g} ms")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (queries/s, Poisson)")
    ax.set_ylabel("end-to-end latency (ms)")
    ax.set_title(f"{result.model} ({result.size}): latency vs load on {result.measured_on}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _svg(fig)


def _probes_of(b: BackendServing) -> list[ServerProbe]:
    probes = list(b.search.probes) + ([b.search.above] if b.search.above else []) if b.search else []
    return probes + ([b.server] if b.server is not None else [])


def latency_distribution_svg(run: RunResult) -> str | None:
    """Each model's timed repeats as a violin on a log axis, with the p50 and its 95% CI marked: the spread
    says how far the p50 of a noisy model can be trusted."""
    rows = [(f"{p.model} ({p.size})", p.latency) for p in run.profiles
            if p.latency is not None and len(p.latency.samples_ms) >= 5]  # fmt: skip
    if not rows:
        return None
    fig, ax = pyplot().subplots(figsize=(7.0, 0.8 + 0.32 * len(rows)))
    ys = list(range(len(rows)))
    samples = [lat.samples_ms for _, lat in rows]
    try:  # matplotlib >= 3.10 names the direction; older ones take vert=False
        parts = ax.violinplot(samples, positions=ys, orientation="horizontal", widths=0.8, showextrema=False)
    except TypeError:
        parts = ax.violinplot(samples, positions=ys, vert=False, widths=0.8, showextrema=False)
    for body in parts["bodies"]:
        body.set_alpha(0.35)
    for y, (_, lat) in zip(ys, rows):
        lo, hi = lat.ci95_ms or (lat.p50_ms, lat.p50_ms)
        ax.errorbar([lat.p50_ms], [y], xerr=[[lat.p50_ms - lo], [hi - lat.p50_ms]], fmt="o", color="black",
                    markersize=3, capsize=3)  # fmt: skip
    ax.set_yticks(ys, [label for label, _ in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("latency per batch (ms, log scale); dot and bar: p50 and its 95% CI")
    ax.set_title("latency distribution of the timed repeats")
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)


def ratio_ci_svg(rows: list[tuple[str, float, list[float] | None]], xlabel: str, title: str) -> str | None:
    """Ratios as points with their 95% CIs as error bars and the line of no difference at 1 (log axis)."""
    rows = [r for r in rows if r[1] is not None and r[1] > 0]
    if not rows:
        return None
    fig, ax = pyplot().subplots(figsize=(7.0, 0.8 + 0.32 * len(rows)))
    for y, (_, value, ci) in enumerate(rows):
        lo, hi = ci or (value, value)
        significant = not lo <= 1.0 <= hi
        ax.errorbar([value], [y], xerr=[[value - lo], [hi - value]], fmt="o", capsize=3, markersize=4,
                    color="tab:blue" if significant else "tab:gray")  # fmt: skip
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig)
